"""Prescription rules (处方管理办法; 长期处方管理规范; 互联网诊疗管理办法 第十九条), checked on
a draft before anything is saved. Each refusal has a stable code; a controlled drug is never
overridable."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.errors import DomainError
from prescriptions.medication import Finding, Severity
from prescriptions.screening import Screened, normalise, screen

MAX_ITEMS = 5  # 处方管理办法 第六条
NORMAL_MAX_DAYS = 28  # 长期处方: normally ≤ 4 weeks
STABLE_CHRONIC_MAX_DAYS = 84  # up to 12 weeks for a stable chronic patient, with a reason
GUARDIAN_AGE = 6  # 第十九条: under 6 needs a guardian and an accompanying physician


class PrescriptionRefused(DomainError):
    status = 422


class ControlledDrug(PrescriptionRefused):
    code = "controlled_drug"
    title = "特殊管理药品不得在互联网医院开具"


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


REFUSALS: dict[str, type[PrescriptionRefused]] = {
    "interaction_contraindicated": InteractionContraindicated,
    "supply_too_long_in_force": SupplyInForceTooLong,
}


def refuse_first(findings: list[Finding]) -> None:
    """The prescribing door refuses the first finding that refuses; the others are shown."""
    for finding in findings:
        if finding.severity is Severity.refuse:
            raise REFUSALS[finding.code](finding.message, source=finding.source)


@dataclass(frozen=True)
class ItemDraft:
    drug_name: str
    dose_mg: float
    times_per_day: int
    days: int


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


def check(items: list[tuple[ItemDraft, Screened]], context: Context) -> None:
    """Refuse the draft with the first rule it breaks, controlled drugs first of all."""
    for item, result in items:
        if result.blocked:
            raise ControlledDrug(
                f"“{item.drug_name}”{result.reason}",
                drug=item.drug_name,
                control_class=result.control_class.value if result.control_class else None,
            )
    for item, result in items:
        if not result.known or len(result.products) != 1:
            detail = (
                "请从药品目录中选择" if not result.known else "名称对应多个药品，请选择具体规格"
            )
            raise UnknownDrug(f"“{item.drug_name}”：{detail}", drug=item.drug_name)
    if not items:
        raise PrescriptionRefused("处方中没有药品")
    if len(items) > MAX_ITEMS:
        raise TooManyItems(f"共 {len(items)} 种药品")
    if context.patient_age < GUARDIAN_AGE and not (
        context.guardian_recorded and (context.accompanying_physician or "").strip()
    ):
        raise GuardianRequired("请确认并登记监护人及陪同的相关专业医师")
    limit = supply_limit(context.stable_chronic_reason)
    for item, _ in items:
        if item.days < 1 or item.days > limit:
            raise SupplyTooLong(
                f"“{item.drug_name}” {item.days} 天超过 {limit} 天"
                + (
                    ""
                    if limit == STABLE_CHRONIC_MAX_DAYS
                    else "；病情稳定的慢性病患者须写明理由，最长 12 周"
                ),
                max_days=limit,
            )
    for item, result in items:
        if item.days > NORMAL_MAX_DAYS:
            atc = result.products[0].atc
            excluded = next(
                (v for k, v in LONG_TERM_EXCLUDED_ATC.items() if atc.startswith(k)), None
            )
            if excluded:
                raise LongTermExcluded(
                    f"“{item.drug_name}”属{excluded}，不得开具超过 {NORMAL_MAX_DAYS} 天",
                    max_days=NORMAL_MAX_DAYS,
                )
    seen: dict[str, str] = {}
    for item, result in items:
        for ingredient in result.products[0].ingredients:
            if ingredient in seen:
                raise DuplicateTherapy(
                    f"“{seen[ingredient]}”与“{item.drug_name}”均含{ingredient}",
                    ingredient=ingredient,
                )
            seen[ingredient] = item.drug_name
    for item, result in items:
        allergen = allergy_match(result.products[0].ingredients, context.allergens)
        if allergen is not None:
            raise AllergyConflict(
                f"“{item.drug_name}”与患者过敏史（{allergen}）冲突", allergen=allergen
            )
    for item, result in items:
        maximum = result.products[0].max_daily_dose_mg
        daily = item.dose_mg * item.times_per_day
        if maximum is not None and daily > maximum:
            raise DoseExceedsMax(
                f"“{item.drug_name}”日剂量 {daily:g} mg 超过最大 {maximum:g} mg",
                max_daily_mg=maximum,
            )


def valid_until(issued: dt.date, extra_days: int) -> dt.date:
    """Valid on the day issued; the doctor may extend it to at most 3 days (第十八条)."""
    return issued + dt.timedelta(days=min(max(extra_days, 0), 2))
