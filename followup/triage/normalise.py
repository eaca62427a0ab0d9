"""What a patient typed, put in one form before any rule reads it: full-width forms and case
folded (NFKC), traditional characters simplified (OpenCC t2s), common Cantonese words put into
Mandarin, Chinese numerals written as digits ("一百九" → 190, "三点多" → 3.x), and a pinyin view
of the text (each character's toneless reading, the patient's own pinyin kept) so that pinyin
typing and homophone typos ("胸口通", "吐雪") meet the same lexicon."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from core.text import simplified

# Cantonese (and a few other regional) words → Mandarin, longest first. Only words whose
# Mandarin reading the lexicon uses; ordinary words are left alone.
DIALECT = (
    ("透唔到气", "喘不上气"), ("透唔过气", "喘不过气"), ("讲唔清楚", "说话不清楚"),
    ("讲唔到嘢", "说不了话"), ("讲嘢", "说话"), ("睇唔到嘢", "看不见"), ("睇唔到", "看不见"),
    ("睇唔清", "看不清"), ("叫极都唔醒", "叫不醒"), ("叫唔醒", "叫不醒"), ("唔想再活", "不想活"),
    ("唔想活", "不想活"), ("瞓唔平", "躺不平"), ("瞓低", "躺下"), ("瞓", "睡"),
    ("晕低咗", "晕倒了"),
    ("晕低", "晕倒"), ("跌咗落地", "摔倒在地"), ("屙尿", "小便"), ("屙血", "便血"), ("屙", "拉"),
    ("冇力", "没力"), ("冇", "没"), ("唔", "不"), ("咗", "了"), ("佢", "他"), ("嘢", "东西"),
    ("头先", "刚才"), ("啱啱", "刚刚"), ("好翳", "好闷"), ("翳", "闷"),
    ("食咗", "吃了"), ("食", "吃"), ("成日", "一直"), ("郁唔到", "动不了"),
    ("俺爹", "我爸"), ("俺娘", "我妈"), ("老汉儿", "我爸"), ("阿爸", "我爸"), ("阿妈", "我妈"),
    ("阿拉", "我们"), ("面孔", "脸"), ("讲闲话", "说话"), ("勿清爽", "不清楚"), ("勿", "不"),
    ("钟头", "小时"), ("撒尿", "小便"), ("尿尿", "小便"),
    ("咋整", "怎么办"), ("今儿个", "今天"), ("今日", "今天"), ("冇乜点", "没怎么"), ("仲", "还"),
)  # fmt: skip
_DIALECT = re.compile("|".join(re.escape(a) for a, _ in DIALECT))
_DIALECT_MAP = dict(DIALECT)

_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
          "七": 7, "八": 8, "九": 9}  # fmt: skip
_NUMERAL = re.compile(
    r"(?:[零〇一二两三四五六七八九]{3}(?![十百])"  # 一九零 (then perhaps another number)
    r"|[零〇一二两三四五六七八九]+百[零〇一二两三四五六七八九十]*"  # 一百九, not 一了百了
    r"|[零〇一二两三四五六七八九]*十[零〇一二两三四五六七八九]*"  # 十七, 七十三
    r"|[零〇一二两三四五六七八九]{2,}"  # digit by digit, or a range (七八)
    # one digit and a unit
    r"|[零〇一二两三四五六七八九](?=点[零〇一二三四五六七八九多几]|个多?月|岁|斤|公斤|度))"
    r"(?:点[零〇一二三四五六七八九]+)?"
)
_PERCENT = re.compile(r"百分之([零〇一二两三四五六七八九十\d]+)")
_APPROX_POINT = re.compile(r"(\d+)点(多|几)")
_DEGREE = re.compile(r"(\d{2})度(\d)(?!\d)")


def _chinese_integer(text: str) -> int | None:
    """一百九 → 190, 一百八十五 → 185, 七十三 → 73, 二十 → 20, 十七 → 17, 九十七八 → 97."""
    if not text:
        return None
    if all(ch in _DIGIT for ch in text):
        # Digit by digit: 一九零 → 190; two digits running up (七八) are a range → first one.
        if len(text) == 2 and _DIGIT[text[1]] == _DIGIT[text[0]] + 1:
            return _DIGIT[text[0]]
        return int("".join(str(_DIGIT[ch]) for ch in text))
    total, rest = 0, text
    if "百" in rest:
        head, _, rest = rest.partition("百")
        total += (_DIGIT.get(head, 1) if head else 1) * 100
        if len(rest) == 1 and rest in _DIGIT:  # 一百九 = 190
            return total + _DIGIT[rest] * 10
        if len(rest) >= 2 and rest[0] in _DIGIT and rest[1] in _DIGIT and rest[0] != "零":
            return total + _DIGIT[rest[0]] * 10  # 一百八九(十) = 180–190
        rest = rest.lstrip("零〇")
    if "十" in rest:
        head, _, rest = rest.partition("十")
        total += (_DIGIT.get(head, 1) if head else 1) * 10
    if rest:
        if rest[0] not in _DIGIT:
            return None
        total += _DIGIT[rest[0]]  # 二十五六 = 25 (a range: its first value)
    return total


def _numeral(match: re.Match[str]) -> str:
    text = match.group(0)
    whole, _, decimals = text.partition("点")
    number = _chinese_integer(whole)
    if number is None:
        return text
    out = f"{number}." + "".join(str(_DIGIT[ch]) for ch in decimals) if decimals else str(number)
    following = match.string[match.end() : match.end() + 1]
    # Two numbers said one after the other ("一九零一百一") stay two numbers.
    return out + " " if following and (following in _DIGIT or following.isdigit()) else out


@dataclass(frozen=True)
class Text:
    """A message in normal form, and its pinyin view with, for each character of the view, the
    index in `plain` it came from (so a pinyin match is judged in its clause like any other)."""

    original: str
    plain: str
    pinyin: str
    origin: tuple[int, ...]
    typed: bool  # the patient typed Latin letters (pinyin, English)

    def plain_index(self, pinyin_index: int) -> int:
        return self.origin[min(pinyin_index, len(self.origin) - 1)]


@cache
def _readings() -> dict[str, str]:
    """Each character's first toneless reading (pypinyin's table, shipped with the package)."""
    from pypinyin.pinyin_dict import pinyin_dict

    table: dict[str, str] = {}
    for code, readings in pinyin_dict.items():
        first = readings.split(",")[0]
        table[chr(code)] = "".join(
            c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c)
        ).replace("ü", "v")
    return table


def reading_of(ch: str) -> str | None:
    return _readings().get(ch)


@cache
def _syllables() -> frozenset[str]:
    # Interjections (嗯 n, 呣 m) would split English words into "syllables".
    return frozenset(_readings().values()) - {"n", "m", "ng", "hm", "hng", "r"}


def split_pinyin(word: str) -> str:
    """ "xiongkou" → "xiong kou" when the whole word is pinyin syllables (longest first);
    anything else (English) is left as it is."""
    syllables = _syllables()
    word = word.replace("lv", "lu").replace("nv", "nu")  # ü typed as v; the view writes u
    if word in syllables or len(word) > 40:
        return word
    # best[i]: a split of word[:i] into syllables, preferring fewer syllables.
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            head = best[start]
            if head is not None and word[start:end] in syllables:
                candidate = [*head, word[start:end]]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    found = best[len(word)]
    return " ".join(found) if found else word


def pinyin_view(text: str) -> tuple[str, tuple[int, ...]]:
    """Syllables separated by one space; Latin letters the patient typed are kept as words
    (with their apostrophes); punctuation becomes "|", which no phrase crosses."""
    readings = _readings()
    view: list[str] = [" "]
    origin: list[int] = [0]
    word_start = -1

    def emit(token: str, at: int) -> None:
        view.append(token + " ")
        origin.extend([at] * (len(token) + 1))

    for i, ch in enumerate(text):
        if "a" <= ch <= "z" or (ch == "'" and word_start >= 0):
            if word_start < 0:
                word_start = i
            continue
        if word_start >= 0:
            emit(split_pinyin(text[word_start:i]), word_start)
            word_start = -1
        reading = readings.get(ch)
        if reading:
            emit(reading, i)
        elif not ch.isspace() and not ch.isdigit() and ch != ".":
            emit("|", i)
    if word_start >= 0:
        emit(split_pinyin(text[word_start:]), word_start)
    return "".join(view), tuple(origin)


# Words whose homophone typos patients make (雪糖, 血鸭, 凶口, 出汉): any two characters that
# read the same as one of them are taken for it.
HOMOPHONE_TERMS = ("血压", "血糖", "血氧", "心率", "胸口", "心口", "中风", "吐血", "晕倒",
                   "出汗", "便血", "黑便", "呕血", "心慌", "头痛")  # fmt: skip


@cache
def _homophones() -> dict[str, str]:
    readings = _readings()
    return {" ".join(readings.get(ch, ch) for ch in term): term for term in HOMOPHONE_TERMS}


def _fix_homophones(text: str) -> str:
    readings, terms = _readings(), _homophones()
    chars = list(text)
    for i in range(len(chars) - 1):
        a, b = readings.get(chars[i]), readings.get(chars[i + 1])
        if a and b:
            term = terms.get(f"{a} {b}")
            if term is not None:
                chars[i], chars[i + 1] = term[0], term[1]
    return "".join(chars)


def normalise(message: str) -> Text:
    text = unicodedata.normalize("NFKC", message).lower()
    text = simplified(text)
    text = _DIALECT.sub(lambda m: _DIALECT_MAP[m.group(0)], text)
    text = _fix_homophones(text)
    text = _PERCENT.sub(lambda m: m.group(1) + "%", text)
    text = _NUMERAL.sub(_numeral, text)
    text = _APPROX_POINT.sub(lambda m: f"{m.group(1)}.5", text)  # 3点多 → 3.5
    text = _DEGREE.sub(lambda m: f"{m.group(1)}.{m.group(2)}度", text)  # 39度5 → 39.5度
    view, origin = pinyin_view(text)
    typed = any("a" <= ch <= "z" for ch in text)
    return Text(message, text, view, origin, typed)
