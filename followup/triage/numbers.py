"""Vital signs written inside a sentence: blood pressure, glucose, heart rate, SpO2, temperature,
and the age of the person they belong to. Works on the normal form (digits, simplified, half
width). A reading is a range: "120多" is 121–129, "30几" is 31–39, so a threshold is crossed only
when the whole range crosses it; a range on both sides of it is a question to ask, not a pass."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"(\d{1,3}(?:\.\d+)?)\s*(多|几|左右|出头|上下)?"


@dataclass(frozen=True)
class Value:
    low: float
    high: float
    start: int  # where in the text (for the clause it sits in)
    words: str  # the words that say it, for the explanation


def _value(number: str, approx: str | None, start: int, words: str) -> Value:
    x = float(number)
    if approx in ("多", "几"):
        if "." in number:  # 3.5 already stands for 3点多
            return Value(float(int(x)), float(int(x)) + 0.9, start, words)
        step = 10.0 if x >= 10 and x % 10 == 0 else 1.0
        inner = 1.0 if step == 10 else 0.1
        return Value(x + inner, x + step - inner, start, words)
    return Value(x, x, start, words)


@dataclass
class Readings:
    systolic: list[Value]
    diastolic: list[Value]
    glucose_mmol: list[Value]
    heart_rate: list[Value]
    spo2: list[Value]
    temperature: list[Value]
    age_years: float | None
    vague: list[tuple[str, int, str]]  # (vital, position, words) said without a usable number


_GAP = r"[^。！？!?;；\n\d]{0,8}?"
_BP_WORD = r"(?:血压|bp|xueya|xue ya|量血压|血压计)"
_BP_PAIR = re.compile(
    rf"(?:{_BP_WORD}{_GAP})?(?<![\d.])(\d{{2,3}})\s*(?:/|-|除以|除|比|\s)\s*(\d{{2,3}})(?![\d.])"
)
_BP_CONTEXT = re.compile(_BP_WORD)
_SYSTOLIC = re.compile(rf"(?:高压|收缩压|上压|上面的数|上面的|高的){_GAP}{_NUM}")
_DIASTOLIC = re.compile(rf"(?:低压|舒张压|下压|下面的数|下面的|低的){_GAP}{_NUM}")
_BP_SINGLE = re.compile(rf"{_BP_WORD}{_GAP}{_NUM}")
_GLUCOSE = re.compile(
    rf"(?:血糖|sugar|xuetang|xue tang|glucose|空腹|餐后|睡前|测血糖){_GAP}"
    rf"{_NUM}\s*(mmol|mg)?",
)
_METER = re.compile(r"(?:血糖|血糖仪|meter|sugar)[^。！？!?\d]{0,10}?(?<![a-z])(hi|lo)(?![a-z])")
_GLUCOSE_TALK = re.compile(r"血糖|胰岛素|降糖|糖尿病")
_MEASURED = re.compile(rf"(?:测了一下|测了|测出来|测的|测出|再测|测是){_GAP}{_NUM}\s*(mmol|mg)?")
_HEART = re.compile(
    rf"(?:心率|心跳|脉搏|脉|heart rate|hr|xinlv|xin lu|每分钟|一分钟|1分钟){_GAP}{_NUM}"
)
_SPO2 = re.compile(
    r"(?:血氧|氧饱和|饱和度|指氧|指脉氧|spo2|oxygen|oximeter|sat|xueyang|xue yang|指夹|血氧仪)"
    rf"{_GAP}{_NUM}"
)
_TEMP = re.compile(
    rf"(?:体温|发烧|发热|烧到|高烧|烧了|烧|温度|fever|fa shao|fashao){_GAP}{_NUM}\s*(?:度|℃|°)?"
    rf"|(?<![\d.])(3[4-9]|4[0-2])(\.\d)?\s*(多|几)?\s*(?:度|℃|°c)"
)
_AGE = re.compile(r"(\d{1,3})\s*(岁半|岁|周岁|个多月|个月|天|sui)(?:大|了)?")
_AGE_KIN = re.compile(
    r"(?:我爸|我妈|爸爸|妈妈|老伴|奶奶|爷爷|外婆|外公|姥姥|姥爷|婆婆|公公|老人|老爷子|老太太|阿嫲|阿爷)"
    r"[^。！？\d]{0,3}(\d{2,3})(?:了|多了|岁)"
)
_ELDER_WORDS = re.compile(
    r"laoren|老人|老人家|老爷子|老太太|奶奶|爷爷|外婆|外公|姥姥|姥爷|阿嫲|阿爷|老头子|老太"
)
_INFANT_WORDS = re.compile(r"宝宝|婴儿|新生儿|满月|月子里")
_VAGUE = re.compile(
    r"(血压|血糖|血氧|心率|心跳|体温)[^。！？!?，,\d]{0,6}?"
    r"(很高|好高|特别高|非常高|老高|爆表|飙升|测不出|很低|好低|特别低|非常低|10几|100多|几十|不正常)"
)


def _mmol(value: Value, unit: str | None) -> Value:
    """mg/dL is written as such, or is any glucose over 35 (no meter shows 35 mmol/L as a
    number: above 33.3 they show HI)."""
    if unit == "mg" or (unit is None and value.low > 35):
        return Value(value.low / 18.0, value.high / 18.0, value.start, value.words)
    return value


def read(text: str) -> Readings:
    r = Readings([], [], [], [], [], [], None, [])
    taken: list[tuple[int, int]] = []
    for m in _BP_PAIR.finditer(text):
        sys_, dia = int(m.group(1)), int(m.group(2))
        has_context = bool(_BP_CONTEXT.search(m.group(0))) or "/" in m.group(0)
        if has_context and 60 <= sys_ <= 300 and 30 <= dia <= 200 and sys_ > dia:
            r.systolic.append(Value(sys_, sys_, m.start(), m.group(0)))
            r.diastolic.append(Value(dia, dia, m.start(), m.group(0)))
            taken.append(m.span())
        elif _BP_CONTEXT.search(m.group(0)):  # "血压 300/20": a typo to ask about, not a reading
            r.vague.append(("血压", m.start(), m.group(0)))
            taken.append(m.span())

    def free(m: re.Match[str]) -> bool:
        return not any(a <= m.start(1 if m.lastindex else 0) < b for a, b in taken)

    for pattern, into in ((_SYSTOLIC, r.systolic), (_DIASTOLIC, r.diastolic)):
        for m in pattern.finditer(text):
            if free(m):
                into.append(_value(m.group(1), m.group(2), m.start(), m.group(0)))
    for m in _BP_SINGLE.finditer(text):
        if free(m) and float(m.group(1)) >= 100:
            r.systolic.append(_value(m.group(1), m.group(2), m.start(), m.group(0)))
    for m in _GLUCOSE.finditer(text):
        unit = m.group(3)
        value = _value(m.group(1), m.group(2), m.start(), m.group(0))
        if value.low < 600 and not (value.low > 35 and unit == "mmol"):
            r.glucose_mmol.append(_mmol(value, unit))
    if _GLUCOSE_TALK.search(text):
        seen = {v.start for v in r.glucose_mmol}
        for m in _MEASURED.finditer(text):
            value = _value(m.group(1), m.group(2), m.start(), m.group(0))
            if value.low < 600 and not any(abs(m.start(1) - s) < 12 for s in seen):
                r.glucose_mmol.append(_mmol(value, m.group(3)))
    for m in _METER.finditer(text):
        level = 33.3 if m.group(1) == "hi" else 1.0
        r.glucose_mmol.append(Value(level, level, m.start(), m.group(0)))
    for m in _HEART.finditer(text):
        value = _value(m.group(1), m.group(2), m.start(), m.group(0))
        if 20 <= value.low <= 250:
            r.heart_rate.append(value)
    for m in _SPO2.finditer(text):
        value = _value(m.group(1), m.group(2), m.start(), m.group(0))
        if 50 <= value.low <= 100:
            r.spo2.append(value)
    for m in _TEMP.finditer(text):
        if m.group(1) is not None:
            value = _value(m.group(1), m.group(2), m.start(), m.group(0))
        else:
            number = m.group(3) + (m.group(4) or "")
            value = _value(number, m.group(5), m.start(), m.group(0))
        if 34 <= value.low <= 43:
            r.temperature.append(value)
    r.glucose_mmol.sort(key=lambda v: v.start)
    r.age_years = _age(text)
    for m in _VAGUE.finditer(text):
        r.vague.append((m.group(1), m.start(), m.group(0)))
    return r


def _age(text: str) -> float | None:
    for m in _AGE.finditer(text):
        n, unit = float(m.group(1)), m.group(2)
        if unit in ("岁", "周岁", "sui"):
            return n
        if unit == "岁半":
            return n + 0.5
        if unit in ("个月", "个多月"):
            return n / 12
        if unit == "天" and _INFANT_WORDS.search(text):
            return n / 365
    kin = _AGE_KIN.search(text)
    if kin:
        return float(kin.group(1))
    if _ELDER_WORDS.search(text):
        return 70.0  # said to be old, no number: treated as 65 or over
    return None


def is_infant_unknown_age(text: str) -> bool:
    return bool(_INFANT_WORDS.search(text))
