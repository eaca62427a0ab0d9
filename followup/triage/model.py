"""Red-flag triage: signs that end the online path and send the patient to a doctor in person
(FACTS.md §4: 国家基本公共卫生服务规范 emergency-referral criteria, and the stroke and
cardiac signs no online visit should wait on). Deterministic rules over structured symptoms,
vital signs, and the patient's own words."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Urgency(enum.StrEnum):
    emergency = "emergency"  # call 120 now
    urgent = "urgent"  # see a doctor in person today
    routine = "routine"

    @property
    def label(self) -> str:
        return {"emergency": "紧急", "urgent": "尽快", "routine": "常规"}[self.value]


@dataclass(frozen=True)
class Symptom:
    """A sign the patient can tick on the visit form; what they write is read by engine.py."""

    code: str
    label: str
    urgency: Urgency | None  # None: not a red flag by itself


SYMPTOMS: tuple[Symptom, ...] = (
    Symptom("chest_pain", "胸痛", Urgency.emergency),
    Symptom("shortness_of_breath", "呼吸困难", Urgency.emergency),
    Symptom("fainting", "晕厥", Urgency.emergency),
    Symptom("one_sided_weakness", "一侧肢体无力或麻木", Urgency.emergency),
    Symptom("slurred_speech", "言语不清", Urgency.emergency),
    Symptom("confusion", "意识或行为改变", Urgency.emergency),
    Symptom("vomiting_blood", "呕血或黑便", Urgency.emergency),
    Symptom("severe_headache", "剧烈头痛或头晕", Urgency.urgent),
    Symptom("chest_tightness", "胸闷", Urgency.urgent),
    Symptom("cannot_lie_flat", "喘憋不能平卧", Urgency.emergency),
    Symptom("palpitations", "心悸", Urgency.urgent),
    Symptom("blurred_vision", "视力模糊或骤降、眼痛", Urgency.urgent),
    Symptom("nausea_vomiting", "恶心呕吐", Urgency.urgent),
    Symptom("acetone_breath", "呼气有烂苹果味", Urgency.emergency),
    Symptom("deep_breathing", "深大呼吸、皮肤潮红", Urgency.emergency),
    Symptom("sweating", "大汗、心悸（低血糖）", Urgency.urgent),
    Symptom("polyuria_polydipsia", "多饮多尿、腹痛", Urgency.urgent),
    Symptom("pregnant_or_breastfeeding", "妊娠或哺乳期", Urgency.urgent),
    Symptom("dizziness", "头晕", None),
    Symptom("headache", "头痛", None),
    Symptom("cough", "咳嗽", None),
    Symptom("fatigue", "乏力", None),
    Symptom("edema", "下肢水肿", None),
    Symptom("joint_pain", "关节疼痛", None),
    Symptom("heartburn", "反酸烧心", None),
    Symptom("none", "无不适", None),
)
SYMPTOM_BY_CODE = {symptom.code: symptom for symptom in SYMPTOMS}


@dataclass(frozen=True)
class Vitals:
    systolic: int | None = None
    diastolic: int | None = None
    glucose_mmol: float | None = None
    heart_rate: int | None = None
    temperature_c: float | None = None
    spo2: int | None = None


@dataclass(frozen=True)
class RedFlag:
    """One reason to stop: the concept, what the patient said or measured that fired it, and
    the rule's source — shown to the patient, the doctor and in the audit trail."""

    code: str
    label: str
    urgency: Urgency
    words: str = ""
    source: str = ""

    @property
    def explanation(self) -> str:
        said = f"：“{self.words}”" if self.words else ""
        return f"{self.label}{said}"

    def as_audit(self) -> dict[str, str]:
        """What the audit trail keeps: the decision and its source, not the patient's words
        (those stay with the record they were written in)."""
        return {"code": self.code, "label": self.label, "urgency": self.urgency.value,
                "source": self.source}  # fmt: skip

    def as_record(self) -> dict[str, str]:
        return {"code": self.code, "label": self.label, "urgency": self.urgency.value,
                "words": self.words, "source": self.source}  # fmt: skip


CRISIS_ADVICE = (
    "您的安全最重要。请立即拨打 120 急救电话；如果您有轻生的念头，请马上拨打全国心理援助热线 "
    "12356，或北京心理危机研究与干预中心 010-82951332（24 小时），并请家人或朋友陪在您身边。"
    "如果已经多吃了药，请带上药盒马上去最近医院急诊。"
)


@dataclass(frozen=True)
class Triage:
    red_flags: tuple[RedFlag, ...]
    # Vital signs named without a number that can be read: asked back, never passed.
    questions: tuple[str, ...] = ()

    @property
    def needs_answer(self) -> bool:
        return not self.red_flags and bool(self.questions)

    @property
    def in_person_required(self) -> bool:
        return bool(self.red_flags)

    @property
    def urgency(self) -> Urgency:
        if any(flag.urgency is Urgency.emergency for flag in self.red_flags):
            return Urgency.emergency
        return Urgency.urgent if self.red_flags else Urgency.routine

    @property
    def crisis(self) -> bool:
        return any(flag.code == "suicide_or_overdose" for flag in self.red_flags)

    @property
    def explanation(self) -> str:
        return "；".join(flag.explanation for flag in self.red_flags)

    @property
    def advice(self) -> str:
        if self.crisis:
            return CRISIS_ADVICE
        if self.urgency is Urgency.emergency:
            return (
                "您的情况可能危及生命，请立即拨打 120 急救电话或马上到最近医院急诊就诊，"
                "不要等待在线回复。"
            )
        if self.urgency is Urgency.urgent:
            return "您的情况需要医生当面诊查，请今天到医院就诊；如症状加重，请立即拨打 120。"
        return ""


class UnknownSymptom(ValueError):
    pass


def assess(
    symptom_codes: list[str], vitals: Vitals, text: str = "", age_years: float | None = None
) -> Triage:
    """Every red flag in what the patient ticked, measured and wrote (one engine: engine.py)."""
    from followup.triage import engine

    flags: dict[str, RedFlag] = {}
    for code in symptom_codes:
        symptom = SYMPTOM_BY_CODE.get(code)
        if symptom is None:
            raise UnknownSymptom(code)
        if symptom.urgency is not None:
            flags[code] = RedFlag(code, symptom.label, symptom.urgency, "已勾选", "GW2017")
    for flag in engine.structured_vitals(vitals, age_years):
        flags.setdefault(flag.code, flag)
    found = engine.read_message(text, age_years)
    for flag in found.red_flags:
        flags.setdefault(flag.code, flag)
    return Triage(tuple(flags.values()), () if flags else found.questions)
