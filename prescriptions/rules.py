"""Prescription rules (处方管理办法; 长期处方管理规范; 互联网诊疗管理办法 第十九条), checked on
a draft before anything is saved. Each refusal has a stable code; a controlled drug is never
overridable."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, replace

from core import transitions
from core.errors import DomainError
from prescriptions import dosing
from prescriptions.catalogue import Product
from prescriptions.medication import Finding, Severity
from prescriptions.models import PrescriptionState
from prescriptions.screening import Screened, normalise, screen

MAX_ITEMS = 5  # 处方管理办法 第六条
NORMAL_MAX_DAYS = 28  # 长期处方: normally ≤ 4 weeks
STABLE_CHRONIC_MAX_DAYS = 84  # up to 12 weeks for a stable chronic patient, with a reason
STABLE_CHRONIC_ADVICE = "；病情稳定的慢性病患者须写明理由，最长 12 周"
GUARDIAN_AGE = 6  # 第十九条: under 6 needs a guardian and an accompanying physician


# The prescription's life (core.transitions.move): written and revised by its doctor, signed,
# reviewed, and expired when its validity runs out undispensed.
PRESCRIPTION_MOVES: dict[PrescriptionState | None, frozenset[PrescriptionState]] = {
    None: frozenset({PrescriptionState.written}),
    PrescriptionState.written: frozenset(
        {PrescriptionState.written, PrescriptionState.signed, PrescriptionState.expired}
    ),
    PrescriptionState.signed: frozenset(
        {PrescriptionState.approved, PrescriptionState.rejected, PrescriptionState.expired}
    ),
    PrescriptionState.approved: frozenset({PrescriptionState.expired}),
    PrescriptionState.rejected: frozenset({PrescriptionState.written, PrescriptionState.expired}),
    PrescriptionState.expired: frozenset(),
}
PRESCRIPTION = transitions.Machine(
    "prescription",
    "处方",
    PRESCRIPTION_MOVES,
    {
        PrescriptionState.written: "prescription.write",
        PrescriptionState.signed: "prescription.sign",
        PrescriptionState.approved: "prescription.approve",
        PrescriptionState.rejected: "prescription.reject",
        PrescriptionState.expired: "prescription.expire",
    },
)


class PrescriptionRefused(DomainError):
    status = 422


class ControlledDrug(PrescriptionRefused):
    code = "controlled_drug"
    title = "特殊管理药品不得在互联网医院开具"
    keeps_effects = True  # the attempt stays in the audit trail


class UnknownDrug(PrescriptionRefused):
    code = "unknown_drug"
    title = "药品目录中没有该药品"


class TooManyItems(PrescriptionRefused):
    code = "too_many_items"
    title = "每张处方不得超过 5 种药品"


class SupplyTooLong(PrescriptionRefused):
    code = "supply_too_long"
    title = "处方用量超过规定天数"


class GuardianRequired(PrescriptionRefused):
    code = "guardian_required"
    title = "6 岁以下儿童须有监护人和相关专业医师陪同"


class DuplicateTherapy(PrescriptionRefused):
    code = "duplicate_therapy"
    title = "同一成分重复用药"


class AllergyConflict(PrescriptionRefused):
    code = "allergy_conflict"
    title = "患者对该药品成分过敏"


class DoseExceedsMax(PrescriptionRefused):
    code = "dose_exceeds_max"
    title = "日剂量超过最大剂量"


class LongTermExcluded(PrescriptionRefused):
    code = "long_term_excluded"
    title = "该药品不得用于长期处方（超过 4 周）"


# 长期处方管理规范（试行）2021: never on a long-term prescription — antimicrobials (except for
# tuberculosis and other chronic bacterial or fungal infections) and drugs with special
# storage needs (the cold chain: insulins, GLP-1 injections, biologics). Controlled drugs are
# refused online anyway.
LONG_TERM_EXCLUDED_ATC = {
    "J01": "抗菌药物",
    "J02": "抗真菌药物",
    "J05": "抗病毒药物",
    "A10A": "胰岛素（须冷链储存）",
    "A10BJ": "GLP-1 受体激动剂注射剂（须冷链储存）",
    "L04AB": "生物制剂（须冷链储存）",
}


class InteractionContraindicated(PrescriptionRefused):
    code = "interaction_contraindicated"
    title = "药物相互作用：禁止合用"


class SupplyInForceTooLong(PrescriptionRefused):
    code = "supply_too_long_in_force"
    title = "同一药物在用天数合计超过规定"


class EmptyPrescription(PrescriptionRefused):
    code = "empty_prescription"
    title = "处方中没有药品"


# Each finding that refuses, as the error the prescribing door raises.
REFUSALS: dict[str, type[DomainError]] = {
    cls.code: cls
    for cls in (
        ControlledDrug,
        UnknownDrug,
        EmptyPrescription,
        TooManyItems,
        GuardianRequired,
        SupplyTooLong,
        LongTermExcluded,
        DuplicateTherapy,
        AllergyConflict,
        DoseExceedsMax,
        dosing.DoseUnitMismatch,
        dosing.UnknownFrequency,
        InteractionContraindicated,
        SupplyInForceTooLong,
    )
}


def refuse_first(found: list[Finding]) -> None:
    """The prescribing door refuses the first finding that refuses; the others are shown."""
    for finding in found:
        if finding.severity is Severity.refuse:
            source = {"source": finding.source} if finding.source else {}
            raise REFUSALS[finding.code](finding.message, **source, **finding.extra)


@dataclass(frozen=True)
class ItemDraft:
    drug_name: str
    dose: float
    times_per_day: int | None  # with frequency "prn", the most doses a day
    days: int
    dose_unit: str | None = None  # the product's dose unit if not written
    frequency: str | None = None  # 用法 (dosing.FREQUENCIES, or as written: 每日两次, bid)
    drug_id: str | None = None  # the product picked, where a name has several strengths

    def dosing(self, product: Product) -> tuple[float, dosing.Frequency]:
        """The dose in the product's own unit, and how often: refused if either is unclear."""
        freq = dosing.frequency(self.frequency, self.times_per_day)
        unit = dosing.dose_unit(self.dose_unit) if self.dose_unit else product.dose_unit
        dose = dosing.convert(self.dose, unit, product.dose_unit, drug=self.drug_name)
        return dose, freq


@dataclass(frozen=True)
class Context:
    patient_age: int
    guardian_recorded: bool
    accompanying_physician: str | None
    stable_chronic_reason: str | None
    # What the patient is allergic to, resolved to ingredient names (see allergens_of).
    allergens: frozenset[str] = frozenset()


# An allergy to a drug class reaches every ingredient that carries the class's mark in its
# generic name (青霉素类 → 阿莫西林, 氨苄西林; 头孢菌素 → 头孢呋辛; 磺胺 → 磺胺甲噁唑).
ALLERGY_CLASSES: dict[str, tuple[str, ...]] = {
    "青霉素": ("西林", "青霉素"),
    "头孢": ("头孢",),
    "磺胺": ("磺胺",),
    "他汀": ("他汀",),
    "沙坦": ("沙坦",),
    "普利": ("普利",),
}


def allergens_of(allergies: list[str], day: dt.date) -> frozenset[str]:
    """Each declared allergy as ingredient names: a product or brand resolves to what it
    contains; anything else is kept as written (normalised), to match ingredients by name."""
    found: set[str] = set()
    for allergy in allergies:
        result = screen(allergy, day)
        for product in result.products:
            found.update(product.ingredients)
        key = normalise(allergy)
        key = key.removeprefix("对").removeprefix("有")
        for marker in ("过敏", "类", "药物", "药"):
            key = key.removesuffix(marker)
        result = screen(key, day) if key != normalise(allergy) else result
        for product in result.products:
            found.update(product.ingredients)
        if len(key) >= 2:
            found.add(key)
    return frozenset(found)


def allergy_match(
    ingredients: tuple[str, ...] | list[str], allergens: frozenset[str]
) -> str | None:
    """The allergen an item's ingredients hit, if any."""
    for ingredient in ingredients:
        for allergen in allergens:
            if allergen == ingredient or allergen in ingredient:
                return allergen
            for word, marks in ALLERGY_CLASSES.items():
                if word in allergen and any(mark in ingredient for mark in marks):
                    return allergen
    return None


def supply_limit(stable_chronic_reason: str | None) -> int:
    """Days of supply allowed: 4 weeks, or 12 for a stable chronic patient with the reason."""
    return STABLE_CHRONIC_MAX_DAYS if (stable_chronic_reason or "").strip() else NORMAL_MAX_DAYS


def picked(result: Screened, item: ItemDraft) -> Screened:
    """A name with several products narrowed to the one the doctor means: by its id, by the
    exact generic or brand name, by the strength written in the name (氨氯地平 2.5mg), or —
    only among products of one medicine (_medicine) — the one that makes the dose in the
    fewest whole units (5 mg: the 5 mg tablet, not two of 2.5 mg). A different release
    (硝苯地平片 and its 控释片) is never chosen between: the doctor must pick. The name is
    what was screened, so a picked id must be among the name's products."""
    if item.drug_id:
        chosen = tuple(p for p in result.products if p.code == item.drug_id)
        if not chosen and result.known and not result.blocked:
            raise UnknownDrug(
                f"“{result.name}”与所选药品（{item.drug_id}）不符，请重新选择", drug=result.name
            )
        return replace(result, products=chosen) if chosen else result
    if result.blocked or len(result.products) < 2:
        return result
    name = normalise(result.name)
    candidates = (
        tuple(
            p
            for p in result.products
            if name in {normalise(n) for n in (p.generic_name, *p.brands)}
        )
        or result.products
    )
    written = _strength_text(result.name)
    chosen = tuple(
        p
        for p in candidates
        if p.strength and re.search(rf"(?<![\d.]){re.escape(_strength_text(p.strength))}", written)
    )
    if len(chosen) == 1:
        candidates = chosen
    if len(candidates) > 1 and len({_medicine(p) for p in candidates}) == 1:
        best = _fewest_whole_units(candidates, item)
        candidates = (best,) if best is not None else candidates
    return replace(result, products=candidates)


MODIFIED_RELEASE = ("缓释", "控释", "肠溶", "长效", "分散")


def _medicine(product: Product) -> tuple[object, ...]:
    """What makes two products the same medicine for a dose: the ingredients, the route, and
    whether the form changes the release (a tablet and a capsule of valsartan are one medicine;
    nifedipine and its controlled-release tablet are not)."""
    release = next((m for m in MODIFIED_RELEASE if m in product.dosage_form), "")
    return (tuple(sorted(product.ingredients)), product.route, release, product.dose_unit)


def _fewest_whole_units(products: tuple[Product, ...], item: ItemDraft) -> Product | None:
    fits: list[tuple[float, Product]] = []
    for product in products:
        dose, _ = item.dosing(product)  # an unclear dose or 用法 is said as such
        units = dose / product.dose_per_unit if product.dose_per_unit > 0 else 0
        if units > 0 and abs(units - round(units)) < 1e-9:
            fits.append((units, product))
    # Fewest units; between a tablet and a capsule of one strength, the first in the formulary.
    return min(fits, key=lambda f: f[0])[1] if fits else None


def _strength_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace(" ", "")
    return text.replace("mcg", "μg").replace("ug", "μg")


def findings(items: list[tuple[ItemDraft, Screened]], context: Context) -> list[Finding]:
    """Every rule the items break, in the order the prescribing door refuses them, controlled
    drugs first. The door raises the first (check); the pharmacist's pre-review shows all."""
    found: list[Finding] = []

    def refuse(code: str, message: str, **extra: object) -> None:
        found.append(Finding(code, Severity.refuse, message, extra=extra))

    for item, result in items:
        if result.blocked:
            control = result.control_class.value if result.control_class else None
            refuse(
                "controlled_drug",
                f"“{item.drug_name}”{result.reason}",
                drug=item.drug_name,
                control_class=control,
            )
    known: list[tuple[ItemDraft, Product]] = []
    for item, result in items:
        if result.blocked:
            continue
        if result.known and len(result.products) == 1:
            known.append((item, result.products[0]))
            continue
        detail = "请从药品目录中选择" if not result.known else "名称对应多个药品，请选择具体规格"
        refuse("unknown_drug", f"“{item.drug_name}”：{detail}", drug=item.drug_name)
    if not items:
        refuse("empty_prescription", "处方中没有药品")
    if len(items) > MAX_ITEMS:
        refuse("too_many_items", f"共 {len(items)} 种药品")
    if context.patient_age < GUARDIAN_AGE and not (
        context.guardian_recorded and (context.accompanying_physician or "").strip()
    ):
        refuse("guardian_required", "请确认并登记监护人及陪同的相关专业医师")
    limit = supply_limit(context.stable_chronic_reason)
    for item, _ in items:
        if item.days < 1 or item.days > limit:
            advice = "" if limit == STABLE_CHRONIC_MAX_DAYS else STABLE_CHRONIC_ADVICE
            refuse(
                "supply_too_long",
                f"“{item.drug_name}” {item.days} 天超过 {limit} 天{advice}",
                max_days=limit,
            )
    for item, product in known:
        excluded = next(
            (v for k, v in LONG_TERM_EXCLUDED_ATC.items() if product.atc.startswith(k)), None
        )
        if item.days > NORMAL_MAX_DAYS and excluded:
            refuse(
                "long_term_excluded",
                f"“{item.drug_name}”属{excluded}，不得开具超过 {NORMAL_MAX_DAYS} 天",
                max_days=NORMAL_MAX_DAYS,
            )
    seen: dict[str, str] = {}
    for item, product in known:
        for ingredient in product.ingredients:
            if ingredient in seen:
                refuse(
                    "duplicate_therapy",
                    f"“{seen[ingredient]}”与“{item.drug_name}”均含{ingredient}",
                    ingredient=ingredient,
                )
            seen[ingredient] = item.drug_name
    for item, product in known:
        allergen = allergy_match(product.ingredients, context.allergens)
        if allergen is not None:
            refuse(
                "allergy_conflict",
                f"“{item.drug_name}”与患者过敏史（{allergen}）冲突",
                allergen=allergen,
            )
    for item, product in known:
        try:
            dose, freq = item.dosing(product)
        except dosing.DosingRefused as exc:
            refuse(exc.code, exc.detail, **exc.extra)
            continue
        over = dose_over_max(product.max_daily_dose, product.dose_unit, dose, freq)
        if over is not None:
            refuse(
                "dose_exceeds_max", f"“{item.drug_name}”{over}", max_daily=product.max_daily_dose
            )
    return found


def check(items: list[tuple[ItemDraft, Screened]], context: Context) -> None:
    """Refuse the draft with the first rule it breaks, controlled drugs first of all."""
    refuse_first(findings(items, context))


def dose_over_max(
    maximum: float | None, unit: str, dose: float, freq: dosing.Frequency
) -> str | None:
    """What is wrong with the daily dose (in `unit`), if it exceeds the product's maximum."""
    daily = dosing.daily_dose(dose, freq)
    if maximum is None or daily <= maximum + 1e-9:
        return None
    return f"日剂量 {dosing.dose_text(daily, unit)} 超过最大 {dosing.dose_text(maximum, unit)}"


def valid_until(issued: dt.date, extra_days: int) -> dt.date:
    """Valid on the day issued; the doctor may extend it to at most 3 days (第十八条)."""
    return issued + dt.timedelta(days=min(max(extra_days, 0), 2))
