"""Screening: whatever name arrives, find what it is, and never let a special-management drug
through. A name is normalised (full-width, spaces, punctuation, case, strength, dosage form,
salt) and resolved by exact keys only: generic, brand and English names, their pinyin and
pinyin initials. Exact keys keep near misses apart (吗丁啉 is not 吗啡; 布洛芬 is allowed,
洛芬待因 is not). A product is blocked when any ingredient is special-management. A name that
resolves to nothing is unknown and cannot be prescribed; if it merely contains a controlled
ingredient's name it is reported blocked as well."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache, lru_cache

from pypinyin import Style, lazy_pinyin

from core.text import simplified
from prescriptions.catalogue import (
    ControlClass,
    ControlledIngredient,
    Product,
    controlled_ingredients,
    products,
)

_FORMS = (
    "缓释胶囊 肠溶胶囊 软胶囊 胶囊 缓释片 控释片 肠溶片 分散片 泡腾片 口崩片 舌下片 咀嚼片 "
    "薄膜衣片 片 注射用 注射液 注射剂 针剂 口服溶液 口服液 溶液 糖浆 混悬液 颗粒 冲剂 滴丸 丸 "
    "散 酊 膏 栓 贴剂 透皮贴剂 吸入粉雾剂 粉雾剂 气雾剂 吸入剂 喷雾剂 鼻喷剂 滴眼液 滴剂 饮片"
)
_SALTS = (
    "盐酸 硫酸 重酒石酸 酒石酸 马来酸 磷酸 枸橼酸 氢溴酸 苯磺酸 甲磺酸 富马酸 琥珀酸 醋酸 "
    "乙酸 苯甲酸 甲苯磺酸 门冬氨酸 硝酸 硫酸氢 氯化"
)
# Longest first, so that 缓释片 goes before 片 and 重酒石酸 before 酒石酸.
DOSAGE_FORMS = sorted(_FORMS.split(), key=len, reverse=True)
SALT_PREFIXES = sorted(_SALTS.split(), key=len, reverse=True)
SALT_SUFFIXES = ("钠", "钾", "钙", "镁")
ENGLISH_NOISE = re.compile(
    r"\b(hydrochloride|hcl|sulfate|sulphate|tartrate|bitartrate|maleate|phosphate|citrate|"
    r"hydrobromide|besylate|besilate|mesylate|fumarate|succinate|acetate|sodium|potassium|"
    r"calcium|bisulfate|tablets?|capsules?|injection|extended|sustained|prolonged|controlled|"
    r"release|modified|enteric|coated|oral|solution|syrup|transdermal|patch|for|and)\b"
)
STRENGTH = re.compile(
    r"\d+(\.\d+)?\s*(mg|g|ml|μg|ug|mcg|iu|u|万单位|单位|毫克|克|毫升|微克|%)(/\d+(\.\d+)?\s*"
    r"(mg|g|ml|μg|ug|mcg))?",
    re.IGNORECASE,
)
PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)
# Characters people type for the rarer ones in drug names (氯氮卓 for 氯氮䓬, 地尔硫卓).
VARIANTS = str.maketrans({"䓬": "卓"})


# Digits and signs typed for letters (m0rphine, 0xyc0ntin, xan@x): read back as letters.
LETTERS_FOR_DIGITS = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
# Processing prefixes of toxic TCM herbs (生马钱子, 制川乌): the herb's core name is what
# patients and doctors write.
HERB_PREFIXES = ("生", "制")
# Processed forms of those herbs, and patent medicines made with them, that are ordinary
# drugs (炮制品 are not on the 28-herb list): a name holding one is not the raw herb.
PROCESSED_HERBS = (
    "法半夏", "姜半夏", "清半夏", "半夏曲", "胆南星", "制南星", "制天南星", "制附子", "黑顺片",
    "白附片", "附子理中", "制川乌", "制草乌",
)  # fmt: skip


def normalise(name: str) -> str:
    """Full-width to half-width, traditional to simplified characters (嗎啡 → 吗啡), lower
    case, no strength, no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", name)
    text = simplified(text).lower().translate(VARIANTS)
    text = STRENGTH.sub("", text)
    return PUNCTUATION.sub("", text)


def chinese_stems(text: str) -> set[str]:
    """The name, and the name without its dosage form and salt, for Chinese input."""
    stems = {text}
    for form in DOSAGE_FORMS:
        if text.endswith(form) and len(text) > len(form) + 1:
            stems.add(text[: -len(form)])
            break
    for stem in list(stems):
        for salt in SALT_PREFIXES:
            if stem.startswith(salt) and len(stem) > len(salt) + 1:
                stems.add(stem[len(salt) :])
                break
    for stem in list(stems):
        if stem.endswith(SALT_SUFFIXES) and len(stem) > 2:
            stems.add(stem[:-1])
    return stems


def _pinyin_keys(chinese: str) -> set[str]:
    syllables = lazy_pinyin(chinese, errors="ignore")
    full = "".join(syllables)
    initials = "".join(lazy_pinyin(chinese, style=Style.FIRST_LETTER, errors="ignore"))
    keys = {full, full.replace("ü", "v"), full.replace("v", "u"), initials}
    return {k for k in keys if len(k) >= 2}


def _english_key(english: str) -> str:
    return PUNCTUATION.sub("", ENGLISH_NOISE.sub(" ", english.lower()))


@dataclass(frozen=True)
class Entry:
    """Something a name can resolve to: a catalogue product or a controlled ingredient."""

    code: str
    name: str
    ingredients: tuple[str, ...]
    product: Product | None


@dataclass(frozen=True)
class Index:
    keys: dict[str, frozenset[str]]  # key -> entry codes
    entries: dict[str, Entry]
    controlled: dict[str, ControlledIngredient]  # ingredient name -> control
    rank: dict[str, int]  # entry code -> its place in the formulary (ties go to the first)
    ordered: tuple[str, ...]  # the keys in order, for the prefixes a search types


def _add(keys: dict[str, set[str]], key: str, code: str) -> None:
    if key:
        keys.setdefault(key, set()).add(code)


@cache
def package_index() -> Index:
    """The index of the formulary shipped with the package (before any hospital import)."""
    return build_index(products())


class _Installed:
    """The index of the formulary in force in this process, and which import it is of."""

    index: Index | None = None
    version: object = None


def index() -> Index:
    return _Installed.index or package_index()


def installed_version() -> object:
    return _Installed.version


def install(idx: Index | None, version: object) -> None:
    """Screen against `idx` from now on (None: the package's own formulary); what was screened
    against the one before is forgotten."""
    _Installed.index, _Installed.version = idx, version
    _screened_in_force.cache_clear()


def build_index(formulary: tuple[Product, ...] | list[Product]) -> Index:
    """The index of a formulary; the same formulary (an import checked, then installed; each
    worker installing the version in force) is indexed once."""
    return _build(tuple(formulary))


@lru_cache(maxsize=4)
def _build(formulary: tuple[Product, ...]) -> Index:
    keys: dict[str, set[str]] = {}
    entries: dict[str, Entry] = {}
    controlled = {c.name: c for c in controlled_ingredients()}
    for product in formulary:
        entries[product.code] = Entry(
            product.code, product.generic_name, product.ingredients, product
        )
        chinese_names = (product.generic_name, *product.brands)
        if len(product.ingredients) == 1:
            chinese_names += (product.ingredients[0],)
        for name in chinese_names:
            for stem in chinese_stems(normalise(name)):
                _add(keys, stem, product.code)
                for key in _pinyin_keys(stem):
                    _add(keys, key, product.code)
        _add(keys, _english_key(product.english_name), product.code)
    for ingredient in controlled_ingredients():
        code = f"I:{ingredient.name}"
        entries[code] = Entry(code, ingredient.name, (ingredient.name,), None)
        for name in (ingredient.name, *ingredient.aliases):
            ascii_name = name.isascii()
            key = _english_key(name) if ascii_name else normalise(name)
            _add(keys, key, code)
            if not ascii_name:
                for pinyin in _pinyin_keys(key):
                    # Initials of a two-character ingredient collide too easily with other
                    # drugs' initials; full pinyin is kept for all.
                    if len(pinyin) > 2 or len(key) > 2:
                        _add(keys, pinyin, code)
        _add(keys, _english_key(ingredient.english), code)
    rank = {code: place for place, code in enumerate(entries)}
    frozen = {k: frozenset(v) for k, v in keys.items()}
    return Index(frozen, entries, controlled, rank, tuple(sorted(frozen)))


@dataclass(frozen=True)
class Screened:
    name: str
    known: bool
    blocked: bool
    control_class: ControlClass | None
    products: tuple[Product, ...]
    reason: str

    @property
    def drug_code(self) -> str | None:
        return self.products[0].code if len(self.products) == 1 else None


def _controls(entry: Entry, day: dt.date) -> list[ControlClass]:
    found = [
        control.control_class
        for name in entry.ingredients
        for control in controls_of_ingredient(name)
        if control.effective_from <= day
    ]
    if entry.product is not None and entry.product.product_class is not None:
        found.append(entry.product.product_class)
    return found


@lru_cache(maxsize=8192)
def controls_of_ingredient(name: str) -> tuple[ControlledIngredient, ...]:
    """The controls an ingredient as a formulary writes it falls under: by its name, or
    under any name screening knows a controlled ingredient by — its salt (盐酸吗啡), an alias,
    traditional characters, English — so a hospital's dictionary cannot list one unbarred."""
    idx = package_index()  # every index holds the same controlled ingredients
    exact = idx.controlled.get(name)
    if exact is not None:
        return (exact,)
    codes = {c for key in _lookup_keys(name) for c in idx.keys.get(key, frozenset())}
    return tuple(idx.controlled[c[2:]] for c in sorted(codes) if c.startswith("I:"))


SEVERITY = list(ControlClass)


def _lookup_keys(name: str) -> set[str]:
    text = normalise(name)
    if not text:
        return set()
    if text.isascii():
        plain = STRENGTH.sub("", unicodedata.normalize("NFKC", name).lower())
        return {text, _english_key(name), _english_key(plain.translate(LETTERS_FOR_DIGITS))}
    return chinese_stems(text)


def _sounds_controlled(name: str) -> set[str]:
    """Controlled ingredients whose full pinyin is the name's (曲马朵 reads as 曲马多): a
    homophone typed for a controlled drug is refused as one, never merely as unknown."""
    text = normalise(name)
    if not text or text.isascii():
        return set()
    idx = index()
    found: set[str] = set()
    for stem in chinese_stems(text):
        reading = "".join(lazy_pinyin(stem, errors="ignore"))
        if len(reading) > 3:
            found |= {c for c in idx.keys.get(reading, frozenset()) if c.startswith("I:")}
    return found


def screen(name: str, day: dt.date, idx: Index | None = None) -> Screened:
    """What `name` is, and whether it may be prescribed online on `day` (against the
    formulary in force, or `idx`). Against the formulary in force, an answer is remembered
    until another formulary is installed: doctors and pharmacists screen the same few hundred
    names all day (the answer is immutable, and a name's controls depend only on the day)."""
    if idx is None or idx is index():
        return _screened_in_force(name, day)
    return _screen(name, day, idx)


@lru_cache(maxsize=65_536)
def _screened_in_force(name: str, day: dt.date) -> Screened:
    return _screen(name, day, index())


def _screen(name: str, day: dt.date, idx: Index) -> Screened:
    codes: set[str] = set()
    for key in _lookup_keys(name):
        codes |= idx.keys.get(key, frozenset())
    if not codes:
        codes = _sounds_controlled(name)
    entries = [idx.entries[c] for c in sorted(codes, key=idx.rank.__getitem__)]
    if not entries:
        return _unknown(name, day)
    classes = [c for entry in entries for c in _controls(entry, day)]
    never = sorted({c for c in classes if c.never_online}, key=SEVERITY.index)
    found = tuple(e.product for e in entries if e.product is not None)
    if never:
        return Screened(
            name, True, True, never[0], found, f"含{never[0].label}成分，互联网医院不得开具"
        )
    if not found:  # only an ingredient matched, and it is not (yet) controlled on `day`
        return _unknown(name, day)
    online = ControlClass.online_banned if ControlClass.online_banned in classes else None
    return Screened(
        name, True, False, online, found, "可开具；不得由网络零售药店配送" if online else "可开具"
    )


@cache
def _contained_keys() -> tuple[tuple[ControlledIngredient, str], ...]:
    """Each controlled ingredient's Chinese names as they may stand inside a longer name,
    normalised once: a toxic herb by its core name (生马钱子 → 马钱子), since the raw herb, or a
    product of it, is what 马钱子 or 马钱子粉 may be."""
    keys = []
    for ingredient in controlled_ingredients():
        for alias in (ingredient.name, *ingredient.aliases):
            key = normalise(alias)
            if ingredient.control_class is ControlClass.toxic_tcm:
                key = key.removeprefix(HERB_PREFIXES[0]).removeprefix(HERB_PREFIXES[1])
            if len(key) >= 2 and not key.isascii():
                keys.append((ingredient, key))
    return tuple(keys)


def _unknown(name: str, day: dt.date) -> Screened:
    """Not in the catalogue: cannot be prescribed. If it names a controlled ingredient inside a
    longer unknown name (复方XX可待因), it is reported blocked too; fail closed."""
    text = normalise(name)
    for ingredient, key in _contained_keys():
        if ingredient.effective_from > day or key not in text:
            continue
        if ingredient.control_class is ControlClass.toxic_tcm and any(
            key in form and form in text for form in PROCESSED_HERBS
        ):
            continue  # 法半夏, 胆南星: a legal processed form, not the raw herb
        return Screened(
            name,
            False,
            True,
            ingredient.control_class,
            (),
            f"未知药品，且名称含{ingredient.control_class.label}“{ingredient.name}”",
        )
    return Screened(name, False, False, None, (), "药品目录中没有该药品，不能开具")


def search(query: str, idx: Index | None = None, limit: int = 20) -> list[Product]:
    """Find products as pharmacists type: generic or brand name, pinyin, pinyin initials, or
    the start of any of them."""
    text = normalise(query)
    if not text:
        return []
    idx = idx or index()
    exact = {c for c in idx.keys.get(text, frozenset()) if not c.startswith("I:")}
    codes: set[str] = set()
    # The keys starting with the query are one run of the ordered keys: found by bisection,
    # not by reading every key of the formulary (5,475 for the shipped one).
    first = bisect_left(idx.ordered, text)
    for key in idx.ordered[first:]:
        if not key.startswith(text):
            break
        codes |= {c for c in idx.keys[key] if not c.startswith("I:")}
    # What the query names exactly first (aldp: amlodipine, then combinations with it), then
    # in the formulary's order.
    ranked = sorted(codes, key=lambda c: (c not in exact, idx.rank[c]))
    found_products = [idx.entries[c].product for c in ranked]
    return [p for p in found_products if p is not None][:limit]
