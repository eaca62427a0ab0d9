"""The one triage engine every door calls: a patient's words and numbers → red flags, each with
the concept, the words or number that fired and the rule's source, and the questions to ask
back when a vital sign was named without a number that can be read.

Pure functions over plain data; compiled once per process (nothing of a caller is kept)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from followup.triage import context, numbers
from followup.triage.lexicon import CONCEPT_BY_CODE, CONCEPTS, SOURCES, Concept, pinyin_pattern
from followup.triage.model import RedFlag, Urgency, Vitals
from followup.triage.normalise import Text, normalise


@dataclass(frozen=True)
class TextTriage:
    red_flags: tuple[RedFlag, ...]
    questions: tuple[str, ...]


@dataclass(frozen=True)
class _Compiled:
    concept: Concept
    plain: re.Pattern[str] | None
    pinyin: re.Pattern[str] | None
    typed_pinyin: re.Pattern[str] | None  # the plain patterns over pinyin the patient typed
    unless: re.Pattern[str] | None


@cache
def _compiled() -> tuple[_Compiled, ...]:
    out = []
    for concept in CONCEPTS:
        plain = (
            re.compile("|".join(f"(?:{p})" for p in concept.patterns)) if concept.patterns else None
        )
        pinyin = (
            re.compile(" (?:" + "|".join(re.escape(p) for p in concept.pinyin) + ") ")
            if concept.pinyin
            else None
        )
        typed = (
            re.compile("|".join(pinyin_pattern(p) for p in concept.patterns))
            if concept.patterns
            else None
        )
        unless = re.compile(concept.unless) if concept.unless else None
        out.append(_Compiled(concept, plain, pinyin, typed, unless))
    return tuple(out)


def flag(concept_code: str, words: str, urgency: Urgency | None = None, label: str = "") -> RedFlag:
    concept = CONCEPT_BY_CODE[concept_code]
    return RedFlag(
        concept.code,
        label or concept.label,
        urgency or concept.urgency,
        words=words,
        source=SOURCES[concept.source],
    )


def _not_now(clause: context.Clause | None, timeless: bool = False) -> bool:
    return clause is not None and (clause.general or (clause.past and not timeless))


def _words_in(text: Text, compiled: _Compiled, found: list[context.Clause]) -> str | None:
    """The words of the first mention of the concept that is the patient's, now."""
    if compiled.plain is not None:
        for m in compiled.plain.finditer(text.plain):
            clause = context.clause_at(found, m.start())
            timeless = compiled.concept.timeless
            if _not_now(clause, timeless) and _not_now(
                context.clause_at(found, m.end() - 1), timeless
            ):
                continue
            if context.denied(text.plain, clause, m.start()) or context.figurative(
                text.plain, m.start()
            ):
                continue
            if compiled.unless is not None and compiled.unless.search(
                context.sentence_of(text.plain, m.start())
            ):
                continue
            return m.group(0)
    if compiled.pinyin is not None:
        for m in compiled.pinyin.finditer(text.pinyin):
            at = text.plain_index(m.start() + 1)
            if m.group(0).count(" ") < 4 and not ("a" <= text.plain[at] <= "z"):
                continue  # two syllables read from characters collide too often (美脲 mei niao)
            clause = context.clause_at(found, at)
            if _not_now(clause, compiled.concept.timeless):
                continue
            if context.denied(text.plain, clause, at) or context.pinyin_denied(
                text.pinyin, m.start()
            ):
                continue
            return m.group(0).strip()
    if compiled.typed_pinyin is not None and text.typed:
        for m in compiled.typed_pinyin.finditer(text.pinyin):
            at = text.plain_index(m.start())
            if not ("a" <= text.plain[at] <= "z"):
                continue  # characters have their own patterns; this is for typed pinyin
            clause = context.clause_at(found, at)
            if _not_now(clause, compiled.concept.timeless) or context.pinyin_denied(
                text.pinyin, m.start() - 1
            ):
                continue
            return m.group(0).strip()
    return None


# --- vital signs -----------------------------------------------------------------------------
# Thresholds, each with its source (lexicon.SOURCES):
#   BP ≥180 systolic or ≥110 diastolic; glucose ≥16.7 or ≤3.9 mmol/L; temperature >39 ℃
#     — GW2017 (国家基本公共卫生服务规范 第三版, emergency referral; FACTS.md §4)
#   heart rate >120 or <45 /min at rest; SpO2 <93 % — NEWS2 (scores 2–3) and the 2018 Chinese
#     emergency triage consensus [memory]
#   fever ≥38 ℃ under 3 months, ≥39 ℃ under 6 years or from 65 — FEVER
SYSTOLIC_HIGH, DIASTOLIC_HIGH = 180.0, 110.0
GLUCOSE_HIGH, GLUCOSE_LOW = 16.7, 3.9
HEART_HIGH, HEART_LOW = 120.0, 45.0
SPO2_LOW = 93.0
FEVER_ANY_AGE = 39.0
ADULT_AGE = 18


@dataclass(frozen=True)
class _Threshold:
    vital: str
    concept: str
    label: str
    above: float | None = None  # flag when the value is ≥ this (or > when strict)
    below: float | None = None  # flag when the value is ≤ this (or < when strict)
    strict: bool = False
    urgency: Urgency | None = None


def _crosses(t: _Threshold, low: float, high: float) -> bool | None:
    """True: the whole range crosses; False: none of it; None: it straddles the line."""
    answers = []
    for value in (low, high):
        hit = False
        if t.above is not None:
            hit = value > t.above if t.strict else value >= t.above
        if t.below is not None and not hit:
            hit = value < t.below if t.strict else value <= t.below
        answers.append(hit)
    if all(answers):
        return True
    if not any(answers):
        return False
    return None


THRESHOLDS = (
    _Threshold("systolic", "hypertensive_emergency", "收缩压≥180 mmHg", above=SYSTOLIC_HIGH),
    _Threshold("diastolic", "hypertensive_emergency", "舒张压≥110 mmHg", above=DIASTOLIC_HIGH),
    _Threshold("glucose", "hyperglycaemia_crisis", "血糖≥16.7 mmol/L", above=GLUCOSE_HIGH),
    _Threshold("glucose", "hypoglycaemia", "血糖≤3.9 mmol/L（低血糖）", below=GLUCOSE_LOW),
    _Threshold(
        "heart_rate", "dangerous_heart_rate", "心率>120 次/分", above=HEART_HIGH, strict=True
    ),
    _Threshold("heart_rate", "dangerous_heart_rate", "心率<45 次/分", below=HEART_LOW, strict=True),
    _Threshold("spo2", "low_spo2", "血氧饱和度<93%", below=SPO2_LOW, strict=True),
)

VITAL_NAMES = {
    "systolic": "血压", "diastolic": "血压", "glucose": "血糖", "heart_rate": "心率",
    "spo2": "血氧", "temperature": "体温",
}  # fmt: skip


EXAMPLES = {"血压": "血压 150/95", "血糖": "血糖 12.5", "血氧": "血氧 95", "心率": "心率 88",
            "体温": "体温 38.5"}  # fmt: skip


def _ask(name: str) -> str:
    example = EXAMPLES.get(name)
    hint = f"（例如“{example}”）" if example else ""
    return f"请告诉我们{name}的具体读数{hint}，我们才能判断是否需要马上就医。"


def fever_threshold(age_years: float | None) -> tuple[float, str]:
    if age_years is not None and age_years < 0.25:
        return 38.0, "3 月龄以下婴儿体温≥38 ℃"
    if age_years is not None and (age_years < 6 or age_years >= 65):
        return 39.0, "幼儿或 65 岁以上老人体温≥39 ℃"
    return 41.0, "体温≥41 ℃（超高热）"


def vital_flags(
    values: dict[str, list[numbers.Value]], age_years: float | None, infant: bool = False
) -> tuple[list[RedFlag], list[str]]:
    flags: list[RedFlag] = []
    questions: list[str] = []
    for t in THRESHOLDS:
        for value in values.get(t.vital, []):
            crossed = _crosses(t, value.low, value.high)
            if crossed:
                flags.append(flag(t.concept, value.words, t.urgency, t.label))
                break
            if crossed is None:
                questions.append(_ask(VITAL_NAMES[t.vital]))
    for value in values.get("temperature", []):
        if infant and age_years is None and value.low >= 38.0:
            questions.append("宝宝多大了（几个月）？3 个月以下的宝宝发烧需要立即就医。")
        limit, label = fever_threshold(age_years)
        if value.low >= limit:
            flags.append(flag("high_fever_vulnerable", value.words, label=label))
            break
        if value.low > FEVER_ANY_AGE:
            flags.append(
                RedFlag("high_fever", "体温>39 ℃", Urgency.urgent, value.words, SOURCES["GW2017"])
            )
            break
    return flags, questions


def structured_vitals(vitals: Vitals, age_years: float | None = None) -> list[RedFlag]:
    """The same thresholds for vital signs entered in a form."""

    def one(x: float | None, label: str) -> list[numbers.Value]:
        return [] if x is None else [numbers.Value(float(x), float(x), 0, f"{label} {x}")]

    values = {
        "systolic": one(vitals.systolic, "收缩压"),
        "diastolic": one(vitals.diastolic, "舒张压"),
        "glucose": one(vitals.glucose_mmol, "血糖"),
        "heart_rate": one(vitals.heart_rate, "心率"),
        "spo2": one(vitals.spo2, "血氧"),
        "temperature": one(vitals.temperature_c, "体温"),
    }
    flags, _ = vital_flags(values, age_years)
    return flags


def _current(values: list[numbers.Value], found: list[context.Clause]) -> list[numbers.Value]:
    out = []
    for value in values:
        clause = context.clause_at(found, value.start)
        if clause is not None and (clause.past or clause.general):
            continue
        out.append(value)
    return out


# A reading taken again ("袖带没绑好，重新量了是135/85") replaces the first one; a fast pulse
# during exercise that settled at rest is not a dangerous rate.
_RETAKEN = re.compile(r"后来|重新|再测|再量|复测|结果是|发现是|换了新|又量了|又测了")
_EXERTION = re.compile(r"跑步|运动|锻炼|爬楼|爬山|干活|刚爬完|走得急|健身")
_SETTLED = re.compile(r"停下来|休息|歇|降到|就\d+以下|恢复")


def _latest_counts(values: dict[str, list[numbers.Value]], plain: str) -> None:
    if _RETAKEN.search(plain):
        for name, found in values.items():
            if len(found) > 1:
                values[name] = [max(found, key=lambda v: v.start)]
    if _EXERTION.search(plain) and _SETTLED.search(plain):
        values["heart_rate"] = []


@dataclass(frozen=True)
class ReadingsInText:
    """Home readings written inside a sentence ("在家量血压 190/120"), exact and current."""

    blood_pressure: tuple[int, int] | None
    glucose_mmol: float | None


def readings_in(text: str) -> ReadingsInText:
    normal = normalise(text)
    found = context.clauses(normal.plain)
    r = numbers.read(normal.plain)
    pairs = {
        (int(s.low), int(d.low))
        for s in _current(r.systolic, found)
        for d in _current(r.diastolic, found)
        if s.start == d.start and s.low == s.high and d.low == d.high
    }
    glucose = {
        round(v.low, 1) for v in _current(r.glucose_mmol, found) if v.low == v.high and v.low > 1.0
    }
    return ReadingsInText(
        next(iter(pairs)) if len(pairs) == 1 else None,
        next(iter(glucose)) if len(glucose) == 1 else None,
    )


def read_message(text: str, age_years: float | None = None) -> TextTriage:
    """Every red flag in what the patient wrote, and what to ask back."""
    if not text or not text.strip():
        return TextTriage((), ())
    normal = normalise(text)
    found = context.clauses(normal.plain)
    flags: dict[str, RedFlag] = {}
    for compiled in _compiled():
        words = _words_in(normal, compiled, found)
        if words is not None:
            urgency = compiled.concept.urgency
            if urgency is Urgency.urgent and context.SUDDEN.search(normal.plain):
                urgency = Urgency.emergency  # 突然 / 刚才: a sudden severe headache cannot wait
            flags[compiled.concept.code] = flag(compiled.concept.code, words, urgency)
    readings = numbers.read(normal.plain)
    values = {
        "systolic": readings.systolic,
        "diastolic": readings.diastolic,
        "glucose": readings.glucose_mmol,
        "heart_rate": readings.heart_rate,
        "spo2": readings.spo2,
        "temperature": readings.temperature,
    }
    _latest_counts(values, normal.plain)
    values = {name: _current(found_values, found) for name, found_values in values.items()}
    infant = numbers.is_infant_unknown_age(normal.plain)
    age = readings.age_years if readings.age_years is not None else age_years
    if readings.age_years is None and infant and age is not None and age >= ADULT_AGE:
        # A parent writing about their baby: the writer's age is not the baby's, so the age is
        # unknown (and asked) rather than an adult's fever threshold applied to an infant.
        age = None
    vital, questions = vital_flags(values, age, infant)
    for f in vital:
        flags.setdefault(f.code, f)
    said = {name for name, v in values.items() if v}
    for vital_word, at, _words in readings.vague:
        clause = context.clause_at(found, at)
        if clause is not None and (clause.past or clause.general):
            continue
        kinds = {k for k, n in VITAL_NAMES.items() if n == vital_word.replace("心跳", "心率")}
        if not kinds & said:
            questions.append(_ask(VITAL_NAMES.get(next(iter(kinds), ""), vital_word)))
    return TextTriage(tuple(flags.values()), tuple(dict.fromkeys(questions)) if not flags else ())
