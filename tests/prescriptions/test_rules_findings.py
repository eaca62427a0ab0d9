"""Each prescription rule as the doctor meets it: the refusal's code, its wording and what it
names (the drug, the limit, the allergen), at the edges of every limit — items per
prescription, days of supply, the guardian age, long-term exclusions, duplicates, allergies
and the daily dose — and the product a name with several strengths resolves to."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from prescriptions import rules
from prescriptions.catalogue import ControlClass, Product
from prescriptions.medication import Finding, Severity
from prescriptions.rules import Context, ItemDraft
from prescriptions.screening import Screened, screen

ADULT = Context(
    patient_age=40, guardian_recorded=False, accompanying_physician=None, stable_chronic_reason=None
)
STABLE = Context(
    patient_age=40,
    guardian_recorded=False,
    accompanying_physician=None,
    stable_chronic_reason="高血压病情稳定",
)
TODAY = dt.date(2025, 3, 1)


def product(name: str, ingredient: str, **kw: Any) -> Product:
    fields: dict[str, Any] = {
        "code": f"D-{name}",
        "generic_name": name,
        "english_name": "",
        "brands": (),
        "ingredients": (ingredient,),
        "dosage_form": "片",
        "strength": "5mg",
        "route": "口服",
        "atc": "C08CA01",
        "rx": True,
        "max_daily_dose": 10.0,
        "product_class": None,
        "source": "test",
        "dose_per_unit": 5.0,
    }
    fields.update(kw)
    return Product(**fields)


def known(p: Product) -> Screened:
    return Screened(p.generic_name, True, False, None, (p,), "可开具")


def item(name: str, dose: float = 5, times: int | None = 1, days: int = 28, **kw: Any) -> ItemDraft:
    return ItemDraft(name, dose, times, days, **kw)


def simple(
    name: str = "氨氯地平片", ingredient: str = "氨氯地平", **kw: Any
) -> tuple[ItemDraft, Screened]:
    p = product(name, ingredient, **kw)
    return item(name), known(p)


def found(
    items: list[tuple[ItemDraft, Screened]], context: Context = ADULT
) -> list[tuple[str, str, dict[str, object]]]:
    return [(f.code, f.message, f.extra) for f in rules.findings(items, context)]


MORPHINE = Screened(
    "吗啡", True, True, ControlClass.narcotic, (), "含麻醉药品成分，互联网医院不得开具"
)
UNKNOWN = Screened("神药", False, False, None, (), "药品目录中没有该药品，不能开具")


def test_a_clean_prescription_has_no_findings() -> None:
    assert found([simple()]) == []
    rules.check([simple()], ADULT)  # nothing raised


def test_a_controlled_drug_is_refused_first_and_named() -> None:
    assert found([simple(), (item("吗啡"), MORPHINE)]) == [
        (
            "controlled_drug",
            "“吗啡”含麻醉药品成分，互联网医院不得开具",
            {"drug": "吗啡", "control_class": "narcotic"},
        )
    ]


def test_a_controlled_drug_without_a_class_is_still_refused() -> None:
    blocked = Screened("某药", True, True, None, (), "含特殊管理药品成分")
    assert found([(item("某药"), blocked)]) == [
        ("controlled_drug", "“某药”含特殊管理药品成分", {"drug": "某药", "control_class": None})
    ]


def test_every_unknown_name_is_refused_after_the_controlled_ones() -> None:
    two = Screened("氨氯地平", True, False, None, (product("a", "x"), product("b", "y")), "")
    codes = found([(item("吗啡"), MORPHINE), (item("神药"), UNKNOWN), (item("氨氯地平"), two)])
    assert codes == [
        (
            "controlled_drug",
            "“吗啡”含麻醉药品成分，互联网医院不得开具",
            {"drug": "吗啡", "control_class": "narcotic"},
        ),
        ("unknown_drug", "“神药”：请从药品目录中选择", {"drug": "神药"}),
        ("unknown_drug", "“氨氯地平”：名称对应多个药品，请选择具体规格", {"drug": "氨氯地平"}),
    ]


def test_an_empty_prescription_is_refused() -> None:
    assert found([]) == [("empty_prescription", "处方中没有药品", {})]


def five_different() -> list[tuple[ItemDraft, Screened]]:
    return [simple(f"药{i}", f"成分{i}") for i in range(5)]


def test_five_items_are_allowed_and_six_are_not() -> None:
    assert found(five_different()) == []
    assert found([*five_different(), simple("药5", "成分5")]) == [
        ("too_many_items", "共 6 种药品", {})
    ]


GUARDIAN: tuple[str, str, dict[str, object]] = (
    "guardian_required",
    "请确认并登记监护人及陪同的相关专业医师",
    {},
)


@pytest.mark.parametrize(
    ("age", "guardian", "physician", "refused"),
    [
        (5, False, None, True),
        (5, True, None, True),
        (5, True, "   ", True),
        (5, False, "李医生", True),
        (5, True, "李医生", False),
        (0, True, "李医生", False),
        (6, False, None, False),
    ],
)
def test_a_child_under_six_needs_a_guardian_and_a_physician(
    age: int, guardian: bool, physician: str | None, refused: bool
) -> None:
    context = Context(age, guardian, physician, None)
    assert found([simple()], context) == ([GUARDIAN] if refused else [])


def days(n: int, context: Context = ADULT) -> list[tuple[str, str, dict[str, object]]]:
    p = product("氨氯地平片", "氨氯地平")
    return found([(item("氨氯地平片", days=n), known(p))], context)


def test_days_of_supply() -> None:
    assert days(1) == []
    assert days(28) == []
    advice = "；病情稳定的慢性病患者须写明理由，最长 12 周"
    assert days(29) == [
        ("supply_too_long", f"“氨氯地平片” 29 天超过 28 天{advice}", {"max_days": 28})
    ]
    assert days(0) == [
        ("supply_too_long", f"“氨氯地平片” 0 天超过 28 天{advice}", {"max_days": 28})
    ]
    assert days(84, STABLE) == []
    assert days(85, STABLE) == [
        ("supply_too_long", "“氨氯地平片” 85 天超过 84 天", {"max_days": 84})
    ]
    blank = Context(40, False, None, "   ")
    assert [code for code, *_ in days(29, blank)] == ["supply_too_long"]


@pytest.mark.parametrize(("reason", "limit"), [(None, 28), ("", 28), ("  ", 28), ("病情稳定", 84)])
def test_supply_limit(reason: str | None, limit: int) -> None:
    assert rules.supply_limit(reason) == limit


@pytest.mark.parametrize(
    ("atc", "what"),
    [
        ("J01CA04", "抗菌药物"),
        ("J02AC01", "抗真菌药物"),
        ("J05AB01", "抗病毒药物"),
        ("A10AE04", "胰岛素（须冷链储存）"),
        ("A10BJ02", "GLP-1 受体激动剂注射剂（须冷链储存）"),
        ("L04AB01", "生物制剂（须冷链储存）"),
    ],
)
def test_excluded_drugs_are_refused_beyond_four_weeks(atc: str, what: str) -> None:
    p = product("某药", "某成分", atc=atc)
    assert found([(item("某药", days=28), known(p))], STABLE) == []
    assert found([(item("某药", days=29), known(p))], STABLE) == [
        ("long_term_excluded", f"“某药”属{what}，不得开具超过 28 天", {"max_days": 28})
    ]


def test_other_drugs_may_be_long_term() -> None:
    p = product("二甲双胍片", "二甲双胍", atc="A10BA02", max_daily_dose=2550.0)
    assert found([(item("二甲双胍片", days=84), known(p))], STABLE) == []


def test_the_same_ingredient_twice_is_refused() -> None:
    a = product("苯磺酸氨氯地平片", "氨氯地平")
    b = product("氨氯地平缬沙坦片", "氨氯地平", ingredients=("缬沙坦", "氨氯地平"))
    c = product("阿托伐他汀钙片", "阿托伐他汀")
    items = [(item(a.generic_name), known(a)), (item(c.generic_name), known(c))]
    assert found([*items, (item(b.generic_name), known(b))]) == [
        (
            "duplicate_therapy",
            "“苯磺酸氨氯地平片”与“氨氯地平缬沙坦片”均含氨氯地平",
            {"ingredient": "氨氯地平"},
        )
    ]


def test_a_drug_the_patient_is_allergic_to_is_refused() -> None:
    context = Context(40, False, None, None, frozenset({"阿莫西林"}))
    p = product("阿莫西林胶囊", "阿莫西林")
    assert found([simple(), (item(p.generic_name), known(p))], context) == [
        ("allergy_conflict", "“阿莫西林胶囊”与患者过敏史（阿莫西林）冲突", {"allergen": "阿莫西林"})
    ]


@pytest.mark.parametrize(
    ("ingredients", "allergens", "expected"),
    [
        (("阿莫西林",), {"阿莫西林"}, "阿莫西林"),
        (("阿莫西林",), {"阿莫"}, "阿莫"),
        (("氨苄西林",), {"青霉素类"}, "青霉素类"),
        (("青霉素钠",), {"对青霉素"}, "对青霉素"),
        (("头孢呋辛",), {"头孢"}, "头孢"),
        (("磺胺甲噁唑",), {"磺胺类"}, "磺胺类"),
        (("阿托伐他汀",), {"他汀类"}, "他汀类"),
        (("缬沙坦",), {"沙坦类"}, "沙坦类"),
        (("依那普利",), {"普利类"}, "普利类"),
        (("二甲双胍", "西格列汀"), {"西格列汀"}, "西格列汀"),
        (("氨氯地平",), {"青霉素类", "头孢"}, None),
        (("氨氯地平",), set(), None),
        (("阿莫西林",), {"头孢"}, None),
    ],
)
def test_allergy_match(
    ingredients: tuple[str, ...], allergens: set[str], expected: str | None
) -> None:
    assert rules.allergy_match(ingredients, frozenset(allergens)) == expected


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (["对青霉素过敏"], {"青霉素"}),
        (["有头孢类过敏"], {"头孢"}),
        (["磺胺类药物"], {"磺胺类"}),
        (["氨氯地平过敏"], {"氨氯地平"}),
        (["苯磺酸氨氯地平片"], {"氨氯地平", "苯磺酸氨氯地平片"}),
        (["x"], set()),
        ([], set()),
    ],
)
def test_allergies_as_ingredients(declared: list[str], expected: set[str]) -> None:
    assert rules.allergens_of(declared, TODAY) == frozenset(expected)


def test_a_daily_dose_over_the_maximum_is_refused() -> None:
    p = product("氨氯地平片", "氨氯地平", max_daily_dose=10.0)
    assert found([(item("氨氯地平片", dose=5, times=2), known(p))]) == []
    assert found([(item("氨氯地平片", dose=5, times=3), known(p))]) == [
        ("dose_exceeds_max", "“氨氯地平片”日剂量 15 mg 超过最大 10 mg", {"max_daily": 10.0})
    ]
    no_max = product("氨氯地平片", "氨氯地平", max_daily_dose=None)
    assert found([(item("氨氯地平片", dose=50, times=3), known(no_max))]) == []


def test_an_unclear_frequency_is_refused_and_the_others_still_checked() -> None:
    a = product("氨氯地平片", "氨氯地平", max_daily_dose=10.0)
    b = product("缬沙坦片", "缬沙坦", max_daily_dose=320.0, dose_per_unit=80.0)
    items = [
        (item("氨氯地平片", frequency="看心情", times=None), known(a)),
        (item("缬沙坦片", dose=400), known(b)),
    ]
    assert [code for code, *_ in found(items)] == ["unknown_frequency", "dose_exceeds_max"]


def test_dose_over_max_wording() -> None:
    from prescriptions import dosing

    tid = dosing.frequency("tid")
    assert rules.dose_over_max(10.0, "mg", 5.0, tid) == "日剂量 15 mg 超过最大 10 mg"
    assert rules.dose_over_max(15.0, "mg", 5.0, tid) is None
    assert rules.dose_over_max(None, "mg", 500.0, tid) is None
    assert rules.dose_over_max(1000.0, "μg", 500.0, tid) == "日剂量 1500 μg 超过最大 1000 μg"


def test_check_raises_the_first_refusal() -> None:
    with pytest.raises(rules.ControlledDrug) as raised:
        rules.check([*five_different(), simple("药5", "成分5"), (item("吗啡"), MORPHINE)], ADULT)
    assert raised.value.detail == "“吗啡”含麻醉药品成分，互联网医院不得开具"
    assert raised.value.extra == {"drug": "吗啡", "control_class": "narcotic"}
    with pytest.raises(rules.TooManyItems):
        rules.check([*five_different(), simple("药5", "成分5")], ADULT)


def test_refuse_first_passes_on_the_source_and_skips_warnings() -> None:
    warn = Finding("interaction_contraindicated", Severity.major, "注意", source="说明书")
    refuse = Finding("allergy_conflict", Severity.refuse, "过敏", source="病历", extra={"a": 1})
    rules.refuse_first([warn])  # a warning alone is not a refusal
    with pytest.raises(rules.AllergyConflict) as raised:
        rules.refuse_first([warn, refuse])
    assert raised.value.detail == "过敏"
    assert raised.value.extra == {"source": "病历", "a": 1}
    with pytest.raises(rules.EmptyPrescription) as bare:
        rules.refuse_first([Finding("empty_prescription", Severity.refuse, "空")])
    assert bare.value.extra == {}


@pytest.mark.parametrize(("extra", "after"), [(-1, 0), (0, 0), (1, 1), (2, 2), (3, 2), (30, 2)])
def test_a_prescription_is_valid_three_days_at_most(extra: int, after: int) -> None:
    assert rules.valid_until(TODAY, extra) == TODAY + dt.timedelta(days=after)


# --- the product a name resolves to ---------------------------------------------------------


def picked(name: str, dose: float = 5, drug_id: str | None = None) -> list[tuple[str, str]]:
    chosen = rules.picked(screen(name, TODAY), item(name, dose=dose, drug_id=drug_id))
    return [(p.generic_name, p.strength) for p in chosen.products]


AMLODIPINE = "苯磺酸氨氯地平片"


@pytest.mark.parametrize(
    ("name", "dose", "expected"),
    [
        ("氨氯地平", 5, [(AMLODIPINE, "5mg")]),
        ("氨氯地平", 2.5, [(AMLODIPINE, "2.5mg")]),
        ("氨氯地平", 10, [(AMLODIPINE, "10mg")]),
        ("氨氯地平", 7.5, [(AMLODIPINE, "2.5mg")]),
        ("氨氯地平 2.5mg", 5, [(AMLODIPINE, "2.5mg")]),
        ("氨氯地平 2.5 MG", 5, [(AMLODIPINE, "2.5mg")]),
        ("二甲双胍片", 1000, [("二甲双胍片", "500mg")]),
        ("缬沙坦", 80, [("缬沙坦胶囊", "80mg")]),
        ("缬沙坦", 160, [("缬沙坦片", "160mg")]),
        # different releases: the doctor must choose
        (
            "硝苯地平",
            10,
            [
                ("硝苯地平控释片", "30mg"),
                ("硝苯地平片", "10mg"),
                ("硝苯地平缓释片", "10mg"),
                ("硝苯地平缓释片", "20mg"),
            ],
        ),
        ("甘精胰岛素注射液", 12, [("甘精胰岛素注射液", "300U")]),
    ],
)
def test_the_strength_a_name_resolves_to(
    name: str, dose: float, expected: list[tuple[str, str]]
) -> None:
    assert picked(name, dose) == expected


def test_a_picked_product_must_be_one_of_the_names() -> None:
    all_amlodipine = picked("氨氯地平", 5, drug_id=None)
    assert all_amlodipine == [(AMLODIPINE, "5mg")]
    two_and_a_half = next(p for p in screen("氨氯地平", TODAY).products if p.strength == "2.5mg")
    assert picked("氨氯地平", 5, drug_id=two_and_a_half.code) == [(AMLODIPINE, "2.5mg")]
    with pytest.raises(rules.UnknownDrug) as raised:
        picked("氨氯地平", 5, drug_id="Dnope")
    assert raised.value.detail == "“氨氯地平”与所选药品（Dnope）不符，请重新选择"
    assert raised.value.extra == {"drug": "氨氯地平"}
    # a blocked or unknown name keeps its screening (refused later with its own reason)
    assert picked("吗啡", 5, drug_id="Dnope") == [("硫酸吗啡缓释片", "30mg")]
    assert picked("神药", 5, drug_id="Dnope") == []


def test_strength_text() -> None:
    assert rules._strength_text("Ａ 2.5 MCG") == "a2.5μg"
    assert rules._strength_text("50ug") == "50μg"


def test_a_dose_in_the_wrong_unit_is_refused_with_both_units() -> None:
    p = product("氨氯地平片", "氨氯地平")
    assert found([(item("氨氯地平片", dose_unit="U"), known(p))]) == [
        (
            "dose_unit_mismatch",
            "“氨氯地平片”的剂量以 mg 计，不能按 U 开具",
            {"expected_unit": "mg", "unit": "U"},
        )
    ]


def test_a_daily_dose_just_over_the_maximum_is_refused() -> None:
    from prescriptions import dosing

    tid = dosing.frequency("tid")
    assert rules.dose_over_max(14.5, "mg", 5.0, tid) == "日剂量 15 mg 超过最大 14.5 mg"


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        # a brand is resolved to what it contains
        (["络活喜过敏"], {"络活喜", "氨氯地平"}),
        (["青霉素药"], {"青霉素"}),
    ],
)
def test_more_allergies_as_ingredients(declared: list[str], expected: set[str]) -> None:
    assert rules.allergens_of(declared, TODAY) == frozenset(expected)


def test_a_dose_no_strength_makes_in_whole_units_leaves_the_choice_to_the_doctor() -> None:
    assert picked("氨氯地平", 3) == [
        (AMLODIPINE, "5mg"),
        (AMLODIPINE, "2.5mg"),
        (AMLODIPINE, "10mg"),
    ]


def test_a_controlled_release_tablet_is_never_chosen_for_a_plain_one() -> None:
    plain = product("硝苯地平片", "硝苯地平", strength="10mg", dose_per_unit=10.0)
    controlled = product(
        "硝苯地平控释片", "硝苯地平", strength="10mg", dose_per_unit=10.0, dosage_form="控释片"
    )
    result = Screened("硝苯地平", True, False, None, (controlled, plain), "可开具")
    chosen = rules.picked(result, item("硝苯地平", dose=10))
    assert chosen.products == (controlled, plain)


def test_a_unit_of_one_dose_is_counted() -> None:
    one = product("某气雾剂A", "某成分", strength="1吸", dose_per_unit=1.0, dose_unit="吸")
    half = product("某气雾剂B", "某成分", strength="0.5吸", dose_per_unit=0.5, dose_unit="吸")
    result = Screened("某气雾剂", True, False, None, (half, one), "可开具")
    chosen = rules.picked(result, item("某气雾剂", dose=1))
    assert chosen.products == (one,)
