"""The drug catalogue shipped with the package: products (generic and brand names, ingredients,
form, strength) and the special-management ingredients that bar a product from online
prescribing (FACTS.md §1), each with its source and the date its control took effect."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources


class ControlClass(enum.StrEnum):
    narcotic = "narcotic"
    psychotropic_1 = "psychotropic_1"
    psychotropic_2 = "psychotropic_2"
    toxic = "toxic"
    toxic_tcm = "toxic_tcm"
    radioactive = "radioactive"
    precursor = "precursor"
    compound_narcotic = "compound_narcotic"  # 含麻醉药品口服复方制剂
    ephedrine_compound = "ephedrine_compound"  # 含麻黄碱类复方制剂
    online_banned = "online_banned"  # may be prescribed; online retail may not ship it

    @property
    def label(self) -> str:
        return {
            "narcotic": "麻醉药品",
            "psychotropic_1": "第一类精神药品",
            "psychotropic_2": "第二类精神药品",
            "toxic": "医疗用毒性药品",
            "toxic_tcm": "毒性中药",
            "radioactive": "放射性药品",
            "precursor": "药品类易制毒化学品",
            "compound_narcotic": "含麻醉药品复方制剂",
            "ephedrine_compound": "含麻黄碱类复方制剂",
            "online_banned": "禁止网络销售药品",
        }[self.value]

    @property
    def never_online(self) -> bool:
        """Special-management drugs, never prescribed online (管理办法 第十九条)."""
        return self is not ControlClass.online_banned


@dataclass(frozen=True)
class ControlledIngredient:
    name: str
    english: str
    aliases: tuple[str, ...]
    control_class: ControlClass
    effective_from: dt.date
    source: str


@dataclass(frozen=True)
class Product:
    code: str  # stable: from the generic name and strength, whatever the row order
    generic_name: str
    english_name: str
    brands: tuple[str, ...]
    ingredients: tuple[str, ...]
    dosage_form: str
    strength: str
    route: str
    atc: str
    rx: bool
    max_daily_dose: float | None  # in dose_unit
    product_class: ControlClass | None
    source: str
    dose_unit: str = "mg"  # what a dose is written in: mg, μg, U, 吸, 滴, 片 …
    dose_per_unit: float = 1.0  # dose_units in one 最小单位 (5 mg in one 片)
    unit: str = "片"  # 最小单位
    pack_size: int = 1  # 最小单位 in one pack
    pack_unit: str = "盒"
    price_fen: int | None = None  # per pack
    approval_no: str = ""  # 国药准字
    insurance_code: str = ""  # 国家医保药品编码


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("prescriptions.data").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split("|") if part.strip())


@cache
def controlled_ingredients() -> tuple[ControlledIngredient, ...]:
    return tuple(
        ControlledIngredient(
            name=row["name"],
            english=row["english"],
            aliases=_split(row["aliases"]),
            control_class=ControlClass(row["control_class"]),
            effective_from=dt.date.fromisoformat(row["effective_from"]),
            source=row["source"],
        )
        for row in _rows("controlled_ingredients.csv")
    )


@cache
def products() -> tuple[Product, ...]:
    """The formulary shipped with the package, read as a hospital's file would be."""
    from prescriptions import formulary  # it builds Products: imported late, no cycle

    text = resources.files("prescriptions.data").joinpath("drugs.csv").read_text("utf-8")
    return tuple(formulary.parse(list(csv.reader(text.splitlines()))))


def product_code(generic_name: str, strength: str) -> str:
    return "D" + hashlib.sha256(f"{generic_name}|{strength}".encode()).hexdigest()[:10]
