"""The triage engine's numbers, pinned to the values a patient or doctor sees: the readings the
record keeps from a message, the fever line at each age, the wording and urgency of each
vital-sign flag, and the questions asked back when a vital sign is named without a number."""

from __future__ import annotations

import pytest

from followup.triage import Urgency, Vitals, engine
from followup.triage.engine import ReadingsInText, TextTriage, fever_threshold, readings_in
from followup.triage.numbers import Value

ASK_BP = "请告诉我们血压的具体读数（例如“血压 150/95”），我们才能判断是否需要马上就医。"
ASK_GLUCOSE = "请告诉我们血糖的具体读数（例如“血糖 12.5”），我们才能判断是否需要马上就医。"
ASK_HEART = "请告诉我们心率的具体读数（例如“心率 88”），我们才能判断是否需要马上就医。"
ASK_SPO2 = "请告诉我们血氧的具体读数（例如“血氧 95”），我们才能判断是否需要马上就医。"
ASK_TEMP = "请告诉我们体温的具体读数（例如“体温 38.5”），我们才能判断是否需要马上就医。"
ASK_BABY = "宝宝多大了（几个月）？3 个月以下的宝宝发烧需要立即就医。"
OLD_OR_YOUNG = "幼儿或 65 岁以上老人体温≥39 ℃"
INFANT = "3 月龄以下婴儿体温≥38 ℃"


# --- readings kept from a message -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("在家量血压 190/120", ReadingsInText((190, 120), None)),
        ("血糖 12.5", ReadingsInText(None, 12.5)),
        ("血压 150/95，血糖 7.8", ReadingsInText((150, 95), 7.8)),
        ("血糖 7.84", ReadingsInText(None, 7.8)),
        ("血糖 1.2", ReadingsInText(None, 1.2)),
        # a meter's "lo" (1.0) and anything at or under it is not a reading to keep
        ("血糖 1.0", ReadingsInText(None, None)),
        ("血糖 lo", ReadingsInText(None, None)),
        # two readings that disagree: neither is kept
        ("血压 150/95 血压 160/100", ReadingsInText(None, None)),
        # last month's reading, or a question in general, is not today's
        ("上个月血压 190/120", ReadingsInText(None, None)),
        ("上个月血糖 7.8", ReadingsInText(None, None)),
        ("如果血压 190/120 怎么办", ReadingsInText(None, None)),
        # the old reading is dropped, today's kept
        ("上个月血压 120/80。今天血压 190/120", ReadingsInText((190, 120), None)),
        # a range is not an exact reading
        ("血压 150-160/95", ReadingsInText(None, None)),
        # separate systolic and diastolic words are not one pair
        ("高压 150 低压 95", ReadingsInText(None, None)),
        ("我今天挺好的", ReadingsInText(None, None)),
    ],
)
def test_readings_kept_from_a_message(text: str, expected: ReadingsInText) -> None:
    assert readings_in(text) == expected


def test_a_blood_pressure_reading_is_kept_as_whole_numbers() -> None:
    found = readings_in("血压 150/95")
    assert found.blood_pressure == (150, 95)
    assert found.blood_pressure is not None
    assert all(type(x) is int for x in found.blood_pressure)


# --- the fever line at each age ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (None, (41.0, "体温≥41 ℃（超高热）")),
        (0.1, (38.0, "3 月龄以下婴儿体温≥38 ℃")),
        (0.24, (38.0, "3 月龄以下婴儿体温≥38 ℃")),
        (0.25, (39.0, "幼儿或 65 岁以上老人体温≥39 ℃")),
        (1.0, (39.0, "幼儿或 65 岁以上老人体温≥39 ℃")),
        (5.9, (39.0, "幼儿或 65 岁以上老人体温≥39 ℃")),
        (6.0, (41.0, "体温≥41 ℃（超高热）")),
        (6.5, (41.0, "体温≥41 ℃（超高热）")),
        (30.0, (41.0, "体温≥41 ℃（超高热）")),
        (64.9, (41.0, "体温≥41 ℃（超高热）")),
        (65.0, (39.0, "幼儿或 65 岁以上老人体温≥39 ℃")),
        (65.5, (39.0, "幼儿或 65 岁以上老人体温≥39 ℃")),
        (80.0, (39.0, "幼儿或 65 岁以上老人体温≥39 ℃")),
    ],
)
def test_the_fever_line_at_each_age(age: float | None, expected: tuple[float, str]) -> None:
    assert fever_threshold(age) == expected


# --- vital-sign flags, as the patient and doctor read them ----------------------------------


def one(x: float, words: str = "读数") -> list[Value]:
    return [Value(x, x, 0, words)]


@pytest.mark.parametrize(
    ("vital", "value", "code", "label"),
    [
        ("systolic", 185.0, "hypertensive_emergency", "收缩压≥180 mmHg"),
        ("diastolic", 112.0, "hypertensive_emergency", "舒张压≥110 mmHg"),
        ("glucose", 20.0, "hyperglycaemia_crisis", "血糖≥16.7 mmol/L"),
        ("glucose", 2.5, "hypoglycaemia", "血糖≤3.9 mmol/L（低血糖）"),
        ("heart_rate", 130.0, "dangerous_heart_rate", "心率>120 次/分"),
        ("heart_rate", 40.0, "dangerous_heart_rate", "心率<45 次/分"),
        ("spo2", 90.0, "low_spo2", "血氧饱和度<93%"),
    ],
)
def test_each_vital_flag_says_its_line_and_the_words(
    vital: str, value: float, code: str, label: str
) -> None:
    flags, questions = engine.vital_flags({vital: one(value, "在家量的")}, 40.0)
    assert [(f.code, f.label, f.words, f.urgency) for f in flags] == [
        (code, label, "在家量的", Urgency.emergency)
    ]
    assert questions == []


def test_a_vital_that_is_not_given_is_no_flag_and_no_question() -> None:
    assert engine.vital_flags({}, 40.0) == ([], [])
    assert engine.vital_flags({"systolic": []}, None) == ([], [])


def test_only_the_first_crossing_reading_of_a_line_is_flagged() -> None:
    flags, _ = engine.vital_flags({"systolic": one(190.0, "第一次") + one(200.0, "第二次")}, 40.0)
    assert [f.words for f in flags] == ["第一次"]


@pytest.mark.parametrize(
    ("vital", "low", "high", "question"),
    [
        ("systolic", 170.0, 190.0, ASK_BP),
        ("glucose", 15.0, 18.0, ASK_GLUCOSE),
        ("heart_rate", 110.0, 130.0, ASK_HEART),
        ("spo2", 90.0, 95.0, ASK_SPO2),
    ],
)
def test_a_range_across_the_line_is_asked_about(
    vital: str, low: float, high: float, question: str
) -> None:
    flags, questions = engine.vital_flags({vital: [Value(low, high, 0, "大概")]}, 40.0)
    assert flags == []
    assert questions == [question]


@pytest.mark.parametrize(
    ("temperature", "age", "expected"),
    [
        (39.5, 40.0, [("high_fever", "体温>39 ℃", Urgency.urgent, "量了")]),
        (39.0, 40.0, []),
        (41.0, 40.0, [("high_fever_vulnerable", "体温≥41 ℃（超高热）", Urgency.emergency, "量了")]),
        (39.0, 70.0, [("high_fever_vulnerable", OLD_OR_YOUNG, Urgency.emergency, "量了")]),
        (38.0, 0.1, [("high_fever_vulnerable", INFANT, Urgency.emergency, "量了")]),
    ],
)  # fmt: skip
def test_fever_flags(
    temperature: float, age: float, expected: list[tuple[str, str, Urgency, str]]
) -> None:
    flags, questions = engine.vital_flags({"temperature": one(temperature, "量了")}, age)
    assert [(f.code, f.label, f.urgency, f.words) for f in flags] == expected
    assert questions == []
    assert all(f.source for f in flags)


def test_only_the_first_fever_reading_is_flagged() -> None:
    flags, _ = engine.vital_flags({"temperature": one(39.5, "早上") + one(40.0, "晚上")}, 40.0)
    assert [f.words for f in flags] == ["早上"]
    flags, _ = engine.vital_flags({"temperature": one(41.5, "早上") + one(42.0, "晚上")}, 40.0)
    assert [f.words for f in flags] == ["早上"]


def test_a_baby_of_unknown_age_with_fever_is_asked_its_age() -> None:
    assert engine.vital_flags({"temperature": one(38.0)}, None, infant=True) == ([], [ASK_BABY])
    assert engine.vital_flags({"temperature": one(37.9)}, None, infant=True) == ([], [])
    # not said to be a baby: an adult's line, and nothing asked
    assert engine.vital_flags({"temperature": one(38.5)}, None) == ([], [])


@pytest.mark.parametrize(
    ("vitals", "words", "label"),
    [
        (Vitals(systolic=190), "收缩压 190", "收缩压≥180 mmHg"),
        (Vitals(diastolic=115), "舒张压 115", "舒张压≥110 mmHg"),
        (Vitals(glucose_mmol=20.5), "血糖 20.5", "血糖≥16.7 mmol/L"),
        (Vitals(heart_rate=130), "心率 130", "心率>120 次/分"),
        (Vitals(spo2=90), "血氧 90", "血氧饱和度<93%"),
        (Vitals(temperature_c=39.5), "体温 39.5", "体温>39 ℃"),
    ],
)
def test_a_form_reading_is_quoted_in_its_flag(vitals: Vitals, words: str, label: str) -> None:
    assert [(f.words, f.label) for f in engine.structured_vitals(vitals)] == [(words, label)]


def test_a_form_reading_uses_the_patients_age_for_fever() -> None:
    flags = engine.structured_vitals(Vitals(temperature_c=39.0), age_years=70)
    assert [(f.code, f.label) for f in flags] == [
        ("high_fever_vulnerable", "幼儿或 65 岁以上老人体温≥39 ℃")
    ]
    assert engine.structured_vitals(Vitals(temperature_c=39.0)) == []


# --- what a message gets back -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_message_has_nothing(text: str) -> None:
    assert engine.read_message(text) == TextTriage((), ())


@pytest.mark.parametrize(
    ("text", "questions"),
    [
        ("血压很高", (ASK_BP,)),
        ("心跳特别高", (ASK_HEART,)),
        ("心率很高", (ASK_HEART,)),
        ("血氧很低", (ASK_SPO2,)),
        ("体温很高", (ASK_TEMP,)),
        ("血压很高，血糖很低", (ASK_BP, ASK_GLUCOSE)),
        ("血压很高，血压很高", (ASK_BP,)),
        # last time's, or a question in general: nothing to ask
        ("以前血压很高", ()),
        ("上个月血压很高，现在还好", ()),
        ("如果血压很高怎么办", ()),
        ("以前血糖很低。今天血压很高", (ASK_BP,)),
        # the number was given after all
        ("心率很高 心率 88", ()),
        ("血压很高 血压 150/95", ()),
        ("血压 150-160/95", (ASK_BP,)),
    ],
)
def test_a_vital_named_without_a_number_is_asked_about(text: str, questions: tuple[str]) -> None:
    result = engine.read_message(text)
    assert result.red_flags == ()
    assert result.questions == questions


def test_a_babys_fever_is_asked_about_whatever_the_writers_age() -> None:
    for age in (None, 18.0, 40.0):
        result = engine.read_message("宝宝发烧39度", age)
        assert result == TextTriage((), (ASK_BABY,)), age


def test_each_reading_across_a_line_is_its_own_flag() -> None:
    result = engine.read_message("血压 190/120，血糖 20")
    assert [(f.code, f.words) for f in result.red_flags] == [
        ("hypertensive_emergency", "血压 190/120"),
        ("hyperglycaemia_crisis", "血糖 20"),
    ]
    assert result.questions == ()


def test_a_sign_said_in_words_and_numbers_is_one_flag() -> None:
    result = engine.read_message("低血糖了，血糖 2.0")
    assert [(f.code, f.words) for f in result.red_flags] == [("hypoglycaemia", "低血糖了")]


def test_todays_reading_counts_after_an_old_one() -> None:
    result = engine.read_message("上个月血压 120/80。今天血压 190/120")
    assert [(f.code, f.words) for f in result.red_flags] == [
        ("hypertensive_emergency", "血压 190/120")
    ]


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        # a thought of suicide is never history
        ("上个月想自杀", "suicide_or_overdose", "自杀"),
        ("上个月想 zi sha", "suicide_or_overdose", "zi sha"),
        # a first mention that is over, denied or a figure of speech does not hide a second one
        ("上个月胸口痛过一次。今天又胸口痛", "acs", "胸口痛"),
        ("没有胸口痛。今天胸口痛", "acs", "胸口痛"),
        ("气得我要吐血了。今天早上吐了好几口血", "gi_bleeding", "吐了好几口血"),
    ],
)
def test_the_patients_sign_now_is_found(text: str, code: str, words: str) -> None:
    result = engine.read_message(text)
    assert [(f.code, f.words) for f in result.red_flags] == [(code, words)]


def test_a_red_flag_is_not_held_up_by_questions() -> None:
    result = engine.read_message("胸口痛，血压很高")
    assert [f.code for f in result.red_flags] == ["acs"]
    assert result.questions == ()
