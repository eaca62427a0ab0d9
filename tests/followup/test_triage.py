"""Red-flag triage: every sign that must send a patient to a doctor in person."""

from __future__ import annotations

import pytest

from followup import triage
from followup.triage import Urgency, Vitals

RED_FLAG_CODES = [s.code for s in triage.SYMPTOMS if s.urgency is not None]


@pytest.mark.parametrize("code", RED_FLAG_CODES)
def test_every_red_flag_symptom_requires_in_person_care(code: str) -> None:
    result = triage.assess([code], Vitals())
    assert result.in_person_required
    assert result.advice


@pytest.mark.parametrize(
    "code",
    [
        "chest_pain",
        "shortness_of_breath",
        "fainting",
        "one_sided_weakness",
        "slurred_speech",
        "vomiting_blood",
    ],
)
def test_life_threatening_signs_say_call_120(code: str) -> None:
    result = triage.assess([code], Vitals())
    assert result.urgency is Urgency.emergency
    assert "120" in result.advice


@pytest.mark.parametrize(
    ("vitals", "flag"),
    [
        (Vitals(systolic=180, diastolic=90), "bp_very_high"),
        (Vitals(systolic=150, diastolic=110), "bp_very_high"),
        (Vitals(glucose_mmol=16.7), "glucose_very_high"),
        (Vitals(glucose_mmol=3.9), "glucose_low"),
        (Vitals(heart_rate=101), "tachycardia"),
        (Vitals(temperature_c=39.1), "high_fever"),
    ],
)
def test_vital_sign_thresholds(vitals: Vitals, flag: str) -> None:
    assert flag in [f.code for f in triage.assess([], vitals).red_flags]


@pytest.mark.parametrize(
    "vitals",
    [
        Vitals(systolic=179, diastolic=109),
        Vitals(glucose_mmol=16.6),
        Vitals(glucose_mmol=4.0),
        Vitals(heart_rate=100),
        Vitals(temperature_c=39.0),
    ],
)
def test_just_below_the_thresholds_is_not_a_red_flag(vitals: Vitals) -> None:
    assert not triage.assess([], vitals).in_person_required


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("这两天胸口痛，走路就喘", "chest_pain"),
        ("早上起来右边手脚没力气，半身无力", "one_sided_weakness"),
        ("说话不清楚，口齿不清", "slurred_speech"),
        ("今天吐血了", "vomiting_blood"),
        ("昨天在家晕倒一次", "fainting"),
        # said with words in between, as people write to the bot
        ("我胸口好痛", "chest_pain"),
        ("心口疼得厉害", "chest_pain"),
        ("喘不上来气", "shortness_of_breath"),
        ("呼吸很困难", "shortness_of_breath"),
        ("左边手突然发麻", "one_sided_weakness"),
        ("刚才晕了过去", "fainting"),
        ("头疼得要命", "severe_headache"),
    ],
)
def test_red_flags_in_the_patients_own_words(text: str, flag: str) -> None:
    assert flag in [f.code for f in triage.assess([], Vitals(), text).red_flags]


@pytest.mark.parametrize(
    "text",
    ["没有胸痛，也无呼吸困难", "血压控制可以，想续开药", "否认晕厥", "没有胸口痛", "胃痛两天"],
)
def test_denied_or_absent_signs_are_not_red_flags(text: str) -> None:
    assert not triage.assess([], Vitals(), text).in_person_required


def test_unknown_symptom_code_is_refused() -> None:
    with pytest.raises(triage.UnknownSymptom):
        triage.assess(["made_up"], Vitals())
