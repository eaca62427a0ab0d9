"""用法用量: units, the frequency vocabulary as doctors write it, whole packs and 金额."""

from __future__ import annotations

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
