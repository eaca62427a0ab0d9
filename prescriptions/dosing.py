"""用法用量: the units a dose is written in, the 用法 vocabulary of frequencies, and what a
line comes to — the daily dose the maximum is checked against, the whole packs dispensed
(数量) and their price (金额). Pure functions; the prescribing door, the pharmacist's review,
the pharmacy and the printed prescription all compute these here and nowhere else."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

from core.errors import DomainError
from core.text import simplified


class DosingRefused(DomainError):
    status = 422


class DoseUnitMismatch(DosingRefused):
    code = "dose_unit_mismatch"
    title = "剂量单位与药品不符"


class UnknownFrequency(DosingRefused):
    code = "unknown_frequency"
    title = "无法识别的用法（给药频次）"


# Masses convert into one another; every other unit is counted as it is (a puff is a puff).
MICROGRAMS = {"g": 1_000_000, "mg": 1000, "μg": 1}
DOSE_UNITS = (
    "mg",
    "μg",
    "g",
    "U",
    "IU",
    "ml",
    "吸",
    "揿",
    "喷",
    "滴",
    "片",
    "粒",
    "袋",
    "支",
    "贴",
)
BY_LOWER_CASE = {unit.lower(): unit for unit in DOSE_UNITS}  # MG, Mg → mg
UNIT_ALIASES = {
    "mcg": "μg",
    "ug": "μg",
    "毫克": "mg",
    "微克": "μg",
    "克": "g",
    "u": "U",
    "单位": "U",
    "iu": "IU",
    "国际单位": "IU",
    "毫升": "ml",
}


def dose_unit(text: str) -> str:
    """The canonical spelling of a unit as written (mcg → μg, 单位 → U), or refused."""
    key = unicodedata.normalize("NFKC", text).strip()
    unit = UNIT_ALIASES.get(key.lower()) or BY_LOWER_CASE.get(key.lower())
    if unit is None:
        raise DoseUnitMismatch(f"无法识别的剂量单位“{text}”，可用：{'、'.join(DOSE_UNITS)}")
    return unit


def convert(dose: float, unit: str, to: str, *, drug: str = "") -> float:
    """`dose` in `unit` as the product's dose unit: masses convert; anything else must match."""
    if unit == to:
        return dose
    if unit in MICROGRAMS and to in MICROGRAMS:
        return dose * MICROGRAMS[unit] / MICROGRAMS[to]
    raise DoseUnitMismatch(
        f"“{drug}”的剂量以 {to} 计，不能按 {unit} 开具", expected_unit=to, unit=unit
    )


@dataclass(frozen=True)
class Frequency:
    code: str
    label: str
    per_day: Fraction  # doses a day on average: a weekly tablet is 1/7
    most_in_a_day: int  # doses on the day it is taken: what the daily maximum is held to


def _f(code: str, label: str, per_day: Fraction | int, most: int) -> Frequency:
    return Frequency(code, label, Fraction(per_day), most)


FREQUENCIES: dict[str, Frequency] = {
    f.code: f
    for f in (
        _f("qd", "每日一次", 1, 1),
        _f("bid", "每日两次", 2, 2),
        _f("tid", "每日三次", 3, 3),
        _f("qid", "每日四次", 4, 4),
        _f("qm", "每晨一次", 1, 1),
        _f("qn", "每晚一次", 1, 1),
        _f("q12h", "每12小时一次", 2, 2),
        _f("q8h", "每8小时一次", 3, 3),
        _f("q6h", "每6小时一次", 4, 4),
        _f("qod", "隔日一次", Fraction(1, 2), 1),
        _f("biw", "每周两次", Fraction(2, 7), 1),
        _f("tiw", "每周三次", Fraction(3, 7), 1),
        _f("qw", "每周一次", Fraction(1, 7), 1),
        # 必要时: up to the doses a day the doctor allows, supplied as if all were taken.
        _f("prn", "必要时", 1, 1),
    )
}
NUMERALS = {"一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3, "四": 4, "肆": 4}
NUMERALS |= {"五": 5, "伍": 5, "六": 6, "陆": 6, "八": 8, "捌": 8, "十二": 12}
N = r"([一壹二贰两三叁四肆五伍六陆1-6])"
PER_DAY = re.compile(rf"^(?:每日|每天|一日|一天|日){N}次$|^{N}次/(?:日|天|d)$")
PER_WEEK = re.compile(rf"^(?:每周|一周|每星期){N}次$|^{N}次/周$")
EVERY_HOURS = re.compile(r"^每(6|8|12|六|八|十二)小时(?:一|壹|1)次$")
EVERY_OTHER_DAY = re.compile(
    r"^(?:隔日|隔天|每隔一日|每隔一天|每两天|每两日|每2日|每2天)(?:一|1)次$"
)
# Said rather than counted; a bedtime or morning dose however it is worded.
SAYINGS = {
    "每晚": "qn",
    "每晚一次": "qn",
    "睡前": "qn",
    "临睡前": "qn",
    "每晨": "qm",
    "每晨一次": "qm",
    "晨起": "qm",
    "早晨一次": "qm",
    "早上一次": "qm",
    "晨起一次": "qm",
    "早晚各一次": "bid",
    "早中晚各一次": "tid",
    "必要时": "prn",
    "需要时": "prn",
    "按需": "prn",
    "hs": "qn",
    "qhs": "qn",
    "om": "qm",
    "qam": "qm",
    "q1d": "qd",
    "q1w": "qw",
    "qwk": "qw",
}
# 必要时 by the symptom it is taken for: only these, never any "…时" (晚饭时 is a meal).
AS_NEEDED_FOR = ("疼痛", "痛", "头痛", "发热", "发烧", "喘息", "气喘", "胸痛", "胸闷", "失眠")
# Words about how or when around meals, not how often: dropped beside a frequency. Alone
# they are not a frequency and are refused.
QUALIFIERS = frozenset({"饭后", "饭前", "餐后", "餐前", "随餐", "空腹", "口服", "顿服", "温水送服"})
TAKEN = ("顿服", "服用", "服", "半小时")  # 睡前服用, 晨起顿服, 睡前半小时
SEPARATORS = re.compile(r"[，,；;。（）()、]+")


def frequency(text: str | None, times_per_day: int | None = None) -> Frequency:
    """A frequency as doctors write it (qd, BID, b.i.d., ｑｄ, 每日两次, 一日2次, 2次/日, 睡前,
    每8小时一次, 每周一次, 疼痛时), or from the number of times a day alone; meal and route
    words beside it are dropped (每日三次（饭后）). Anything unclear — a range, two frequencies,
    a timing without a count — is refused, never guessed. prn takes the most doses a day."""
    if not text:
        if times_per_day is None:
            raise UnknownFrequency("请填写用法（如 每日一次、bid）")
        return _times_a_day(times_per_day)
    parts = [p for p in SEPARATORS.split(_plain(text)) if p and p not in QUALIFIERS]
    found = _one(parts[0]) if len(parts) == 1 else None
    if found is None:
        raise UnknownFrequency(
            f"无法识别的用法“{text}”，可用：{'、'.join(f.label for f in FREQUENCIES.values())}"
        )
    if found.code == "prn" and times_per_day:
        return _f("prn", f"必要时（每日最多 {times_per_day} 次）", times_per_day, times_per_day)
    return found


def _plain(text: str) -> str:
    """Half-width, simplified, lower case, no spaces or dots (ｑ．ｄ． → qd)."""
    text = unicodedata.normalize("NFKC", text)
    return simplified(text).strip().lower().replace(".", "").replace(" ", "")


def _one(key: str) -> Frequency | None:
    """One frequency, or None if `key` is not exactly one."""
    key = SAYINGS.get(key, key)
    if key in FREQUENCIES:
        return FREQUENCIES[key]
    for suffix in TAKEN:  # 睡前服用, 晨起顿服, 每日三次服: how it is taken, not how often
        if key.endswith(suffix):
            return _one(key.removesuffix(suffix))
    if key.endswith("时") and key.removesuffix("时") in AS_NEEDED_FOR:
        return FREQUENCIES["prn"]
    if match := PER_DAY.match(key):
        return _times_a_day(_number(match.group(1) or match.group(2)))
    if match := PER_WEEK.match(key):
        per_week = _number(match.group(1) or match.group(2))
        return {1: FREQUENCIES["qw"], 2: FREQUENCIES["biw"], 3: FREQUENCIES["tiw"]}.get(per_week)
    if match := EVERY_HOURS.match(key):
        return FREQUENCIES[f"q{_number(match.group(1))}h"]
    if EVERY_OTHER_DAY.match(key):
        return FREQUENCIES["qod"]
    return None


def _number(text: str) -> int:
    return NUMERALS.get(text) or int(text)


def _times_a_day(times: int) -> Frequency:
    if times < 1 or times > 12:
        raise UnknownFrequency(f"每日 {times} 次不在 1–12 次之间")
    by_count = {1: "qd", 2: "bid", 3: "tid", 4: "qid"}
    if times in by_count:
        return FREQUENCIES[by_count[times]]
    return _f(f"d{times}", f"每日{times}次", times, times)


def stored(code: str | None, times_per_day: int) -> Frequency:
    """The frequency of a line as saved (lines saved before the vocabulary read times a day)."""
    if code is None:
        return _times_a_day(times_per_day)
    return frequency(code, times_per_day)  # times a day matter to prn only


@dataclass(frozen=True)
class Pack:
    """How a product is dispensed: dose_per_unit dose units in each 最小单位, pack_size of those
    in a pack, at price_fen a pack (None if the formulary has no price)."""

    dose_unit: str
    dose_per_unit: float
    unit: str
    pack_size: int
    pack_unit: str
    price_fen: int | None


@dataclass(frozen=True)
class Supply:
    units: int  # 最小单位 the course takes
    packs: int  # 数量: whole packs dispensed
    amount_fen: int | None  # 金额


def supply(dose: float, freq: Frequency, days: int, pack: Pack) -> Supply:
    """Whole packs for the days: dose (in the pack's dose unit) × doses × days, rounded up to
    whole units, then to whole packs. A weekly tablet for 28 days is 4 tablets."""
    doses = math.ceil(freq.per_day * days)  # exact: per_day is a Fraction
    per_unit = pack.dose_per_unit if pack.dose_per_unit > 0 else 1
    units = max(1, math.ceil(dose * doses / per_unit - 1e-9))
    packs = max(1, math.ceil(units / max(pack.pack_size, 1)))
    amount = packs * pack.price_fen if pack.price_fen is not None else None
    return Supply(units, packs, amount)


def daily_dose(dose: float, freq: Frequency) -> float:
    """What is taken on a day it is taken: held to the product's maximum daily dose."""
    return dose * freq.most_in_a_day


def dose_text(dose: float, unit: str) -> str:
    """A mass below 1 mg reads in micrograms (18 μg, not 0.018 mg)."""
    if unit == "mg" and 0 < dose < 1:
        return f"{dose * 1000:g} μg"
    return (
        f"{dose:g} {unit}" if unit in MICROGRAMS or unit in ("U", "IU", "ml") else f"{dose:g}{unit}"
    )


def in_mg(dose: float, unit: str) -> float | None:
    return dose * MICROGRAMS[unit] / MICROGRAMS["mg"] if unit in MICROGRAMS else None


def yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen / 100:.2f}"
