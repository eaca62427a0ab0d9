"""Follow-up classification by the national basic public health service standard."""

from __future__ import annotations

import datetime as dt

import pytest

from followup.classification import Control, Findings, classify, reading_band, target_for
from followup.models import ChronicDisease

DAY = dt.date(2026, 11, 25)
HTN, DM = ChronicDisease.hypertension, ChronicDisease.diabetes


@pytest.mark.parametrize(
    ("findings", "age", "before", "control", "days"),
    [
        (Findings(systolic=132, diastolic=84), 50, 0, Control.satisfactory, 90),
        (Findings(systolic=140, diastolic=84), 50, 0, Control.unsatisfactory, 14),  # at 140
        (Findings(systolic=145, diastolic=85), 70, 0, Control.satisfactory, 90),  # 65+: <150/90
        (Findings(systolic=150, diastolic=85), 70, 0, Control.unsatisfactory, 14),
        (Findings(systolic=138, diastolic=90), 70, 0, Control.unsatisfactory, 14),  # diastolic 90
        (Findings(systolic=150, diastolic=95), 50, 1, Control.refer, 14),  # twice in a row
        (Findings(systolic=132, diastolic=84, adverse_reaction=True), 50, 0,
         Control.unsatisfactory, 14),
        (Findings(systolic=132, diastolic=84, new_complication=True), 50, 0, Control.refer, 14),
        (Findings(systolic=180, diastolic=100), 50, 0, Control.emergency, 14),
        (Findings(systolic=150, diastolic=110), 50, 0, Control.emergency, 14),
        (Findings(systolic=132, diastolic=84, symptom_codes=("chest_pain",)), 50, 0,
         Control.emergency, 14),
    ],
)  # fmt: skip
def test_hypertension(
    findings: Findings, age: int, before: int, control: Control, days: int
) -> None:
    outcome = classify(HTN, findings, age, before, DAY)
    assert outcome.control is control
    assert outcome.next_due_on == DAY + dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("glucose", "before", "control"),
    [
        (6.9, 0, Control.satisfactory),
        (7.0, 0, Control.unsatisfactory),
        (8.2, 1, Control.refer),
        (16.7, 0, Control.emergency),
        (3.9, 0, Control.emergency),
        (4.0, 0, Control.satisfactory),
    ],
)
def test_diabetes(glucose: float, before: int, control: Control) -> None:
    assert classify(DM, Findings(fasting_glucose=glucose), 50, before, DAY).control is control


def test_a_satisfactory_visit_resets_the_run() -> None:
    first = classify(HTN, Findings(systolic=150, diastolic=95), 50, 0, DAY)
    assert first.unsatisfactory_in_a_row == 1
    good = classify(
        HTN, Findings(systolic=130, diastolic=80), 50, first.unsatisfactory_in_a_row, DAY
    )
    assert good.unsatisfactory_in_a_row == 0
    again = classify(
        HTN, Findings(systolic=150, diastolic=95), 50, good.unsatisfactory_in_a_row, DAY
    )
    assert again.control is Control.unsatisfactory  # not "twice in a row": a good one between


def test_nothing_measured_cannot_be_classified() -> None:
    with pytest.raises(ValueError, match="血压"):
        classify(HTN, Findings(fasting_glucose=6.0), 50, 0, DAY)


def test_targets_and_reading_bands() -> None:
    assert (target_for(64).systolic_below, target_for(65).systolic_below) == (140, 150)
    assert reading_band(135, 85, None, None, 50) == "in_band"
    assert reading_band(145, 85, None, None, 50) == "above"
    assert reading_band(145, 85, None, None, 70) == "in_band"
    assert reading_band(185, 95, None, None, 70) == "danger"
    assert reading_band(None, None, 7.5, True, 50) == "above"
    assert reading_band(None, None, 7.5, False, 50) == "in_band"  # after a meal: below 10
    assert reading_band(None, None, 3.5, True, 50) == "danger"
