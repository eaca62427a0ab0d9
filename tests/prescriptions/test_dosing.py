"""用法用量: units, the frequency vocabulary as doctors write it, whole packs and 金额."""

from __future__ import annotations

from fractions import Fraction

import pytest

from prescriptions import dosing
from prescriptions.dosing import DoseUnitMismatch, Pack, UnknownFrequency

TABLET_5MG_28 = Pack("mg", 5, "片", 28, "盒", 1250)
INSULIN_PEN = Pack("U", 300, "支", 1, "支", 7800)
AEROSOL_200 = Pack("揿", 200, "支", 1, "盒", 2950)
WEEKLY_70MG_4 = Pack("mg", 70, "片", 4, "盒", 3000)


@pytest.mark.parametrize(
    ("written", "code", "per_day"),
    [
        ("qd", "qd", 1),
        ("QD", "qd", 1),
        ("q.d.", "qd", 1),
        ("b.i.d.", "bid", 2),
        ("BID", "bid", 2),
        ("tid", "tid", 3),
        ("每日一次", "qd", 1),
        ("每日两次", "bid", 2),
        ("一日2次", "bid", 2),
        ("每天三次", "tid", 3),
        ("日四次", "qid", 4),
        ("每日 3 次", "tid", 3),
        ("每晚一次", "qn", 1),
        ("睡前", "qn", 1),
        ("每晨一次", "qm", 1),
        ("隔日一次", "qod", 0.5),
        ("每周一次", "qw", 1 / 7),
        ("每週一次", "qw", 1 / 7),  # traditional characters
        ("一周2次", "biw", 2 / 7),
        ("q12h", "q12h", 2),
        ("每日5次", "d5", 5),
    ],
)
def test_frequencies_as_doctors_write_them(written: str, code: str, per_day: float) -> None:
    found = dosing.frequency(written)
    assert found.code == code
    assert float(found.per_day) == pytest.approx(per_day)


@pytest.mark.parametrize("written", ["每日十次", "偶尔", "qx", "每日0次", "三次", "每月一次"])
def test_an_unclear_frequency_is_refused_not_guessed(written: str) -> None:
    with pytest.raises(UnknownFrequency):
        dosing.frequency(written)


def test_times_a_day_alone_and_as_needed() -> None:
    assert dosing.frequency(None, 2).code == "bid"
    assert dosing.frequency(None, 6).label == "每日6次"
    prn = dosing.frequency("必要时", 3)
    assert (prn.code, prn.most_in_a_day, prn.per_day) == ("prn", 3, 3)
    with pytest.raises(UnknownFrequency):
        dosing.frequency(None, None)
    with pytest.raises(UnknownFrequency):
        dosing.frequency(None, 13)


@pytest.mark.parametrize(
    ("written", "unit"),
    [("mg", "mg"), ("毫克", "mg"), ("mcg", "μg"), ("ug", "μg"), ("µg", "μg"), ("单位", "U")],
)
def test_units_are_spelled_one_way(written: str, unit: str) -> None:
    assert dosing.dose_unit(written) == unit


def test_masses_convert_and_nothing_else_does() -> None:
    assert dosing.convert(0.05, "mg", "μg") == pytest.approx(50)
    assert dosing.convert(0.5, "g", "mg") == pytest.approx(500)
    with pytest.raises(DoseUnitMismatch):
        dosing.convert(2, "mg", "揿", drug="沙丁胺醇气雾剂")
    with pytest.raises(DoseUnitMismatch):
        dosing.convert(10, "IU", "U")
    with pytest.raises(DoseUnitMismatch):
        dosing.dose_unit("勺")


def test_whole_packs_for_the_days_and_their_price() -> None:
    qd = dosing.frequency("qd")
    bid = dosing.frequency("bid")
    assert dosing.supply(5, qd, 28, TABLET_5MG_28) == dosing.Supply(28, 1, 1250)
    assert dosing.supply(5, qd, 29, TABLET_5MG_28) == dosing.Supply(29, 2, 2500)
    assert dosing.supply(2.5, bid, 14, TABLET_5MG_28).units == 14  # half a tablet twice a day
    assert dosing.supply(10, bid, 84, TABLET_5MG_28).packs == 12  # 12 weeks, 4 tablets a day
    # 10 U a day of a 300 U pen: 28 days is 280 U, one pen; 31 days is two.
    assert dosing.supply(10, qd, 28, INSULIN_PEN).packs == 1
    assert dosing.supply(10, qd, 31, INSULIN_PEN) == dosing.Supply(2, 2, 15600)
    # Two puffs twice a day from a 200-puff aerosol for 60 days: 240 puffs, two canisters.
    assert dosing.supply(2, bid, 60, AEROSOL_200).packs == 2
    # A weekly tablet for 12 weeks is 12 tablets: three packs of four.
    assert dosing.supply(70, dosing.frequency("qw"), 84, WEEKLY_70MG_4) == dosing.Supply(
        12, 3, 9000
    )
    unpriced = Pack("mg", 5, "片", 28, "盒", None)
    assert dosing.supply(5, qd, 28, unpriced).amount_fen is None


def test_the_daily_maximum_is_held_to_the_day_it_is_taken() -> None:
    assert dosing.daily_dose(70, dosing.frequency("qw")) == 70
    assert dosing.daily_dose(5, dosing.frequency("tid")) == 15
    assert dosing.daily_dose(1, dosing.frequency("prn", 4)) == 4


def test_doses_read_as_a_pharmacist_reads_them() -> None:
    assert dosing.dose_text(0.018, "mg") == "18 μg"
    assert dosing.dose_text(5, "mg") == "5 mg"
    assert dosing.dose_text(10, "U") == "10 U"
    assert dosing.dose_text(2, "揿") == "2揿"
    assert dosing.yuan(1250) == "12.50"


def test_refusals_name_what_was_written_and_what_would_do() -> None:
    with pytest.raises(DoseUnitMismatch) as unit:
        dosing.dose_unit("勺")
    assert "勺" in unit.value.detail
    assert "μg" in unit.value.detail
    with pytest.raises(DoseUnitMismatch) as mismatch:
        dosing.convert(2, "mg", "揿", drug="沙丁胺醇气雾剂")
    assert "沙丁胺醇气雾剂" in mismatch.value.detail
    assert "揿" in mismatch.value.detail
    assert mismatch.value.extra == {"expected_unit": "揿", "unit": "mg"}
    with pytest.raises(UnknownFrequency) as unclear:
        dosing.frequency("偶尔")
    assert "偶尔" in unclear.value.detail
    assert "每日一次" in unclear.value.detail
    with pytest.raises(UnknownFrequency) as missing:
        dosing.frequency(None, None)
    assert "请填写用法" in missing.value.detail


def test_upper_case_units_and_the_edges_of_a_day() -> None:
    assert dosing.dose_unit("MG") == "mg"
    assert dosing.dose_unit("MCG") == "μg"
    assert dosing.dose_unit(" IU ") == "IU"
    assert dosing.frequency(None, 12).code == "d12"  # up to 12 times a day
    for written in ("必要时服", "每日三次服用", "睡前半小时服", "晨起顿服"):
        assert dosing.frequency(written).code in {"prn", "tid", "qn", "qm"}, written
    with pytest.raises(UnknownFrequency):
        dosing.frequency("服")  # how it is taken, and nothing else


def test_lines_saved_before_the_vocabulary_read_as_times_a_day() -> None:
    assert dosing.stored(None, 2).code == "bid"
    assert dosing.stored("qw", 1).per_day == Fraction(1, 7)
    prn = dosing.stored("prn", 3)
    assert (prn.code, prn.most_in_a_day) == ("prn", 3)


def test_whole_units_at_the_edges() -> None:
    qd = dosing.frequency("qd")
    # Exactly a whole number of doses (a weekly tablet for exactly 7 days is one tablet).
    assert dosing.supply(70, dosing.frequency("qw"), 7, WEEKLY_70MG_4).units == 1
    assert dosing.supply(70, dosing.frequency("qw"), 8, WEEKLY_70MG_4).units == 2
    # A product without a stated content per unit counts a dose as one unit.
    assert dosing.supply(2, qd, 10, Pack("片", 0, "片", 10, "盒", None)).units == 20
    # A pack size of 0 in a bad row is one unit a pack, never a division by zero.
    assert dosing.supply(5, qd, 3, Pack("mg", 5, "片", 0, "盒", 100)) == dosing.Supply(3, 3, 300)
    assert dosing.in_mg(500, "μg") == pytest.approx(0.5)
    assert dosing.in_mg(2, "揿") is None


def test_doses_and_money_as_printed_at_the_edges() -> None:
    assert dosing.dose_text(1, "mg") == "1 mg"
    assert dosing.dose_text(0.5, "mg") == "500 μg"
    assert dosing.dose_text(0.5, "g") == "0.5 g"
    assert dosing.dose_text(12, "IU") == "12 IU"
    assert dosing.dose_text(0.5, "ml") == "0.5 ml"
    assert dosing.yuan(None) == ""
    assert dosing.yuan(5) == "0.05"


def test_the_words_of_each_refusal() -> None:
    with pytest.raises(UnknownFrequency) as missing:
        dosing.frequency(None, None)
    assert missing.value.detail == "请填写用法（如 每日一次、bid）"
    with pytest.raises(DoseUnitMismatch) as unit:
        dosing.dose_unit("勺")
    assert "可用：mg、μg、g、U、IU" in unit.value.detail
    with pytest.raises(UnknownFrequency) as unclear:
        dosing.frequency("偶尔")
    assert "可用：每日一次、每日两次、每日三次" in unclear.value.detail
    with pytest.raises(UnknownFrequency) as many:
        dosing.frequency(None, 13)
    assert many.value.detail == "每日 13 次不在 1–12 次之间"
    assert dosing.frequency("prn", 3).label == "必要时（每日最多 3 次）"
    assert dosing.frequency(None, 12).most_in_a_day == 12


def test_a_meal_time_is_not_as_needed() -> None:
    for written in ("晚饭时", "吃饭时", "时"):
        with pytest.raises(UnknownFrequency):
            dosing.frequency(written)


def test_amounts_below_one_unit_and_masses_in_grams() -> None:
    half_mg = Pack("mg", 0.5, "片", 100, "瓶", None)  # 0.5 mg tablets
    assert dosing.supply(1, dosing.frequency("qd"), 10, half_mg).units == 20
    assert dosing.in_mg(0.5, "g") == pytest.approx(500)
    assert dosing.dose_text(0, "mg") == "0 mg"
