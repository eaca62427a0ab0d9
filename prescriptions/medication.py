"""Medication safety across everything the patient takes: the drugs of the prescription being
written against each other and against the medicines already in force (other prescriptions
still valid or still being taken). One engine, called by the prescribing door and by the
pharmacist's pre-review. Pure functions over plain data.

Severity decides what happens: `refuse` (contraindicated; more days in force of a drug than
the rules allow) is refused where the prescription is written; `major` needs the pharmacist's
recorded reason to pass review; `minor` is shown."""

from __future__ import annotations

import csv
import enum
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import combinations

# Classes where two different drugs together are standard treatment, not a duplication
# (dual antiplatelet therapy; basal + mealtime insulin; inhalers of one class in two devices).
CLASS_COMBINATIONS_ALLOWED = frozenset({"B01AC", "A10AB", "A10AE", "R03AC"})


class Severity(enum.StrEnum):
    refuse = "refuse"
    major = "major"
    minor = "minor"

    @property
    def label(self) -> str:
        return {"refuse": "禁忌", "major": "严重", "minor": "提示"}[self.value]


@dataclass(frozen=True)
class Medicine:
    """A drug as the checks see it: on the new prescription, or in force already."""

    name: str
    ingredients: tuple[str, ...]
    atc: str
    days: int  # of supply (new), or left (in force); 0 for what the patient reports taking
    source: str = "本处方"  # or "处方 #12（已取药，剩 9 天）"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    source: str | None = None
    # What the refusal names (the drug, the allergen, the limit): the problem document's fields.
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def text(self) -> str:
        return f"【{self.severity.label}】{self.message}"


@dataclass(frozen=True)
class Interaction:
    a: str
    b: str
    severity: str  # contraindicated | major | moderate | minor
    effect: str
    advice: str
    source: str


def _matches(selector: str, medicine: Medicine) -> bool:
    """`atc:C09A|C09B` (any of the classes, combinations included) or `ing:华法林`."""
    kind, _, value = selector.partition(":")
    if kind == "atc":
        return bool(medicine.atc) and medicine.atc.startswith(tuple(value.split("|")))
    return any(v in medicine.ingredients for v in value.split("|"))


@cache
def interactions() -> tuple[Interaction, ...]:
    text = resources.files("prescriptions.data").joinpath("interactions.csv").read_text("utf-8")
    return tuple(Interaction(**row) for row in csv.DictReader(text.splitlines()))


@cache
def qt_prolonging() -> frozenset[str]:
    text = resources.files("prescriptions.data").joinpath("qt_prolonging.csv").read_text("utf-8")
    return frozenset(row["ingredient"] for row in csv.DictReader(text.splitlines()))


SEVERITY_OF = {
    "contraindicated": Severity.refuse,
    "major": Severity.major,
    "moderate": Severity.minor,
    "minor": Severity.minor,
}


def _pair_findings(x: Medicine, y: Medicine) -> list[Finding]:
    found = []
    for rule in interactions():
        if (_matches(rule.a, x) and _matches(rule.b, y)) or (
            _matches(rule.a, y) and _matches(rule.b, x)
        ):
            found.append(
                Finding(
                    "interaction_contraindicated"
                    if rule.severity == "contraindicated"
                    else "interaction",
                    SEVERITY_OF[rule.severity],
                    f"{_named(x)}与{_named(y)}：{rule.effect}。{rule.advice}",
                    rule.source,
                )
            )
    qt = qt_prolonging()
    x_qt = [i for i in x.ingredients if i in qt]
    y_qt = [i for i in y.ingredients if i in qt]
    if x_qt and y_qt and set(x_qt) != set(y_qt):
        found.append(
            Finding(
                "qt_prolongation",
                Severity.major,
                f"{_named(x)}与{_named(y)}均可延长 QT 间期：尖端扭转型室速风险。"
                "避免合用；须合用时做心电图并纠正低钾、低镁",
                "CredibleMeds QTdrugs List (Known Risk of TdP)",
            )
        )
    return found


def _named(medicine: Medicine) -> str:
    where = "" if medicine.source == "本处方" else f"（{medicine.source}）"
    return f"“{medicine.name}”{where}"


def findings(new: list[Medicine], in_force: list[Medicine], supply_limit: int) -> list[Finding]:
    """Every finding for the new drugs, among themselves and against what is in force."""
    found: list[Finding] = []
    for x, y in combinations(new, 2):
        found.extend(_class_duplicate(x, y))
        found.extend(_pair_findings(x, y))
    for x in new:
        found.extend(_supply_findings(x, in_force, supply_limit))
        for y in in_force:
            found.extend(_duplicate_findings(x, y))
            found.extend(_pair_findings(x, y))
    order = {Severity.refuse: 0, Severity.major: 1, Severity.minor: 2}
    return sorted(found, key=lambda f: order[f.severity])


def _supply_findings(new: Medicine, in_force: list[Medicine], limit: int) -> list[Finding]:
    """Days of one ingredient add up over every prescription in force: two doctors, the next
    day, or a split into small prescriptions never hold more than the rules allow."""
    same = [y for y in in_force if y.days > 0 and set(new.ingredients) & set(y.ingredients)]
    if not same:
        return []
    total = new.days + sum(y.days for y in same)
    others = "、".join(_named(y) for y in same)
    if total > limit:
        return [
            Finding(
                "supply_too_long_in_force",
                Severity.refuse,
                f"{_named(new)}与在用的{others}同一成分，合计 {total} 天，超过 {limit} 天",
                "处方管理办法 第十九条；长期处方管理规范（试行）2021",
            )
        ]
    return [
        Finding(
            "already_in_force",
            Severity.minor,
            f"{_named(new)}与在用的{others}同一成分（续方，合计 {total} 天）",
        )
    ]


def _duplicate_findings(new: Medicine, current: Medicine) -> list[Finding]:
    shared = sorted(set(new.ingredients) & set(current.ingredients))
    if shared and current.days == 0:  # reported by the patient: no supply to add up
        return [
            Finding(
                "already_in_force",
                Severity.major,
                f"{_named(new)}含{'、'.join(shared)}，患者自述正在服用{_named(current)}："
                "重复用药，请核实后停用其一",
            )
        ]
    if shared:
        return []  # counted by _supply_findings
    return _class_duplicate(new, current)


def _class_duplicate(x: Medicine, y: Medicine) -> list[Finding]:
    """Two different drugs of one therapeutic class (ATC level 4): two ARBs, two statins."""
    klass = x.atc[:5]
    if (
        len(klass) == 5
        and klass == y.atc[:5]
        and klass not in CLASS_COMBINATIONS_ALLOWED
        and not set(x.ingredients) & set(y.ingredients)
    ):
        return [
            Finding(
                "therapeutic_duplication",
                Severity.major,
                f"{_named(x)}与{_named(y)}同属一类药物（ATC {klass}）：重复用药",
                "WHO ATC/DDD 分类",
            )
        ]
    return []
