"""Red-flag triage: signs that end the online path and send the patient to a doctor in person
(FACTS.md §4: 国家基本公共卫生服务规范 emergency-referral criteria, and the stroke and
cardiac signs no online visit should wait on). Deterministic rules over structured symptoms,
vital signs, and the patient's own words."""

from __future__ import annotations

import enum
import re
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
    code: str
    label: str
    urgency: Urgency | None  # None: not a red flag by itself
    keywords: tuple[str, ...] = ()
    # How people actually say it, with words in between ("胸口好痛", "喘不上来气").
    patterns: tuple[str, ...] = ()


SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "chest_pain", "胸痛", Urgency.emergency, ("胸痛", "胸口痛", "心口痛", "胸口疼", "胸疼")
    ),
    Symptom(
        "shortness_of_breath",
        "呼吸困难",
        Urgency.emergency,
        ("呼吸困难", "喘不上气", "喘不过气", "透不过气", "憋气", "上不来气"),
    ),
    Symptom("fainting", "晕厥", Urgency.emergency, ("晕厥", "昏倒", "晕倒", "昏过去", "失去知觉")),
    Symptom(
        "one_sided_weakness",
        "一侧肢体无力或麻木",
        Urgency.emergency,
        (
            "半身无力",
            "一侧无力",
            "偏瘫",
            "半边身子",
            "一侧肢体",
            "手脚发麻一侧",
            "口角歪斜",
            "嘴歪",
        ),
    ),
    Symptom(
        "slurred_speech",
        "言语不清",
        Urgency.emergency,
        ("说话不清", "言语不清", "口齿不清", "说不出话", "吐字不清"),
    ),
    Symptom(
        "confusion",
        "意识或行为改变",
        Urgency.emergency,
        ("意识模糊", "神志不清", "意识不清", "昏迷", "叫不醒", "胡言乱语"),
    ),
    Symptom(
        "vomiting_blood", "呕血或黑便", Urgency.emergency, ("呕血", "吐血", "黑便", "柏油样便")
    ),
    Symptom(
        "severe_headache",
        "剧烈头痛或头晕",
        Urgency.urgent,
        ("剧烈头痛", "头痛欲裂", "头痛得厉害", "剧烈头晕", "天旋地转"),
    ),
    Symptom("chest_tightness", "胸闷", Urgency.urgent, ("胸闷",)),
    Symptom("cannot_lie_flat", "喘憋不能平卧", Urgency.emergency, ("不能平卧", "躺不下")),
    Symptom("palpitations", "心悸", Urgency.urgent, ("心悸", "心慌")),
    Symptom(
        "blurred_vision",
        "视力模糊或骤降、眼痛",
        Urgency.urgent,
        ("视力模糊", "看不清", "视力下降", "眼痛", "眼睛痛", "失明"),
    ),
    Symptom("nausea_vomiting", "恶心呕吐", Urgency.urgent, ("恶心", "呕吐")),
    Symptom("acetone_breath", "呼气有烂苹果味", Urgency.emergency, ("烂苹果",)),
    Symptom("deep_breathing", "深大呼吸、皮肤潮红", Urgency.emergency, ("深大呼吸",)),
    Symptom("sweating", "大汗、心悸（低血糖）", Urgency.urgent, ("出冷汗", "大汗")),
    Symptom(
        "polyuria_polydipsia", "多饮多尿、腹痛", Urgency.urgent, ("多饮多尿", "口渴得厉害", "腹痛")
    ),
    Symptom("pregnant_or_breastfeeding", "妊娠或哺乳期", Urgency.urgent, ("怀孕", "妊娠", "哺乳")),
    Symptom("dizziness", "头晕", None, ("头晕",)),
    Symptom("headache", "头痛", None, ("头痛",)),
    Symptom("cough", "咳嗽", None, ("咳嗽",)),
    Symptom("fatigue", "乏力", None, ("乏力",)),
    Symptom("edema", "下肢水肿", None, ("水肿", "浮肿")),
    Symptom("joint_pain", "关节疼痛", None, ("关节痛", "关节疼")),
    Symptom("heartburn", "反酸烧心", None, ("反酸", "烧心")),
    Symptom("none", "无不适", None),
)
_GAP = r"[^，。,.;；!！?？]{0,3}"
SPOKEN = {
    "chest_pain": (rf"(胸口|胸部|胸|心口){_GAP}(痛|疼)",),
    "shortness_of_breath": (rf"喘{_GAP}不(上|过|动)", rf"呼吸{_GAP}困难", rf"上不来{_GAP}气"),
    "one_sided_weakness": (
        rf"(一侧|半边|左边|右边|左侧|右侧|一边){_GAP}(无力|麻木|发麻|不能动|动不了)",
    ),
    "severe_headache": (rf"头{_GAP}(痛|疼)得(厉害|要命|受不了)",),
    "fainting": (rf"(晕|昏){_GAP}过去",),
}
SYMPTOMS = tuple(
    Symptom(s.code, s.label, s.urgency, s.keywords, SPOKEN.get(s.code, ())) for s in SYMPTOMS
)
SYMPTOM_BY_CODE = {symptom.code: symptom for symptom in SYMPTOMS}

# Words that say a sign is absent ("没有胸痛", "无呼吸困难") up to a few characters before it.
_NEGATION = re.compile(r"(没有|没|无|不|未|否认)[^，。,.;；!！?？]{0,3}$")


@dataclass(frozen=True)
class Vitals:
    systolic: int | None = None
    diastolic: int | None = None
    glucose_mmol: float | None = None
    heart_rate: int | None = None
    temperature_c: float | None = None


@dataclass(frozen=True)
class RedFlag:
    code: str
    label: str
    urgency: Urgency


@dataclass(frozen=True)
class Triage:
    red_flags: tuple[RedFlag, ...]

    @property
    def in_person_required(self) -> bool:
        return bool(self.red_flags)

    @property
    def urgency(self) -> Urgency:
        if any(flag.urgency is Urgency.emergency for flag in self.red_flags):
            return Urgency.emergency
        return Urgency.urgent if self.red_flags else Urgency.routine

    @property
    def advice(self) -> str:
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


def in_text(text: str) -> list[Symptom]:
    """Red-flag signs named in free text, unless plainly denied ("没有胸痛")."""
    found: list[Symptom] = []
    for symptom in SYMPTOMS:
        if symptom.urgency is None:
            continue
        for keyword in symptom.keywords:
            start = text.find(keyword)
            while start != -1:
                if not _NEGATION.search(text[max(0, start - 6) : start]):
                    found.append(symptom)
                    break
                start = text.find(keyword, start + 1)
            if symptom in found:
                break
        if symptom in found:
            continue
        for pattern in symptom.patterns:
            if any(
                not _NEGATION.search(text[max(0, m.start() - 6) : m.start()])
                for m in re.finditer(pattern, text)
            ):
                found.append(symptom)
                break
    return found


def vital_flags(vitals: Vitals) -> list[RedFlag]:
    flags: list[RedFlag] = []
    if (vitals.systolic or 0) >= 180 or (vitals.diastolic or 0) >= 110:
        flags.append(RedFlag("bp_very_high", "血压≥180/110 mmHg", Urgency.emergency))
    if vitals.glucose_mmol is not None:
        if vitals.glucose_mmol >= 16.7:
            flags.append(RedFlag("glucose_very_high", "血糖≥16.7 mmol/L", Urgency.emergency))
        elif vitals.glucose_mmol <= 3.9:
            flags.append(RedFlag("glucose_low", "血糖≤3.9 mmol/L（低血糖）", Urgency.emergency))
    if vitals.heart_rate is not None and vitals.heart_rate > 100:
        flags.append(RedFlag("tachycardia", "心率>100 次/分", Urgency.urgent))
    if vitals.temperature_c is not None and vitals.temperature_c > 39.0:
        flags.append(RedFlag("high_fever", "体温>39 ℃", Urgency.urgent))
    return flags


def assess(symptom_codes: list[str], vitals: Vitals, text: str = "") -> Triage:
    """Every red flag in what the patient ticked, measured and wrote."""
    flags: dict[str, RedFlag] = {}
    for code in symptom_codes:
        symptom = SYMPTOM_BY_CODE.get(code)
        if symptom is None:
            raise UnknownSymptom(code)
        if symptom.urgency is not None:
            flags[code] = RedFlag(code, symptom.label, symptom.urgency)
    for symptom in in_text(text):
        flags.setdefault(
            symptom.code, RedFlag(symptom.code, symptom.label, symptom.urgency or Urgency.urgent)
        )
    for flag in vital_flags(vitals):
        flags.setdefault(flag.code, flag)
    return Triage(tuple(flags.values()))
