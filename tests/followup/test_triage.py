"""Red-flag triage: every sign that must send a patient to a doctor in person, as patients say it
— and what must not stop an ordinary return visit."""

from __future__ import annotations

import pytest

from followup import triage
from followup.triage import Urgency, Vitals
from followup.triage.evaluate import DEFAULT_CORPORA, evaluate, load

RED_FLAG_CODES = [s.code for s in triage.SYMPTOMS if s.urgency is not None]


def codes(text: str, age: float | None = None) -> list[str]:
    return [f.code for f in triage.assess([], Vitals(), text, age).red_flags]


@pytest.mark.parametrize("code", RED_FLAG_CODES)
def test_every_ticked_red_flag_symptom_requires_in_person_care(code: str) -> None:
    result = triage.assess([code], Vitals())
    assert result.in_person_required
    assert result.advice


@pytest.mark.parametrize(
    "code",
    ["chest_pain", "shortness_of_breath", "fainting", "one_sided_weakness", "slurred_speech",
     "vomiting_blood"],
)  # fmt: skip
def test_life_threatening_ticks_say_call_120(code: str) -> None:
    result = triage.assess([code], Vitals())
    assert result.urgency is Urgency.emergency
    assert "120" in result.advice


@pytest.mark.parametrize(
    ("vitals", "concept"),
    [
        (Vitals(systolic=180, diastolic=90), "hypertensive_emergency"),
        (Vitals(systolic=150, diastolic=110), "hypertensive_emergency"),
        (Vitals(glucose_mmol=16.7), "hyperglycaemia_crisis"),
        (Vitals(glucose_mmol=3.9), "hypoglycaemia"),
        (Vitals(heart_rate=121), "dangerous_heart_rate"),
        (Vitals(heart_rate=44), "dangerous_heart_rate"),
        (Vitals(spo2=92), "low_spo2"),
        (Vitals(temperature_c=39.1), "high_fever"),
    ],
)
def test_vital_sign_thresholds(vitals: Vitals, concept: str) -> None:
    flags = triage.assess([], vitals).red_flags
    assert concept in [f.code for f in flags]
    assert all(f.source for f in flags)  # every threshold cites its guideline


@pytest.mark.parametrize(
    "vitals",
    [
        Vitals(systolic=179, diastolic=109),
        Vitals(glucose_mmol=16.6),
        Vitals(glucose_mmol=4.0),
        Vitals(heart_rate=120),
        Vitals(heart_rate=45),
        Vitals(spo2=93),
        Vitals(temperature_c=39.0),
    ],
)
def test_just_inside_the_thresholds_is_not_a_red_flag(vitals: Vitals) -> None:
    assert not triage.assess([], vitals).in_person_required


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        # the issue's own examples, which the keyword list let through
        ("左边手脚突然没力气", "stroke"),
        ("说话说不清楚，嘴也歪了", "stroke"),
        ("头痛得像要炸开一样", "stroke"),
        ("今天早上吐了好几口血", "gi_bleeding"),
        ("在家量血压 190/120", "hypertensive_emergency"),
        ("血糖测了 20.5", "hyperglycaemia_crisis"),
        ("心跳一直很快，每分钟120多下", "dangerous_heart_rate"),
        ("不停地吐血", "gi_bleeding"),
        ("吃药不管用胸口痛", "acs"),
        ("不知道是不是胸痛", "acs"),
        ("我没事就是胸口痛", "acs"),
        # colloquial, regional, typos, traditional, full width, pinyin, numerals
        ("心口疼", "acs"),
        ("胸口压着，喘不上气", "acs"),
        ("半边身子麻", "stroke"),
        ("说话打结", "stroke"),
        ("拉黑便", "gi_bleeding"),
        ("吐咖啡色的东西", "gi_bleeding"),
        ("不想活了", "suicide_or_overdose"),
        ("胸口好翳，翳到透唔到气", "acs"),
        ("腹部劇痛，嘔吐，不能排氣", "acute_abdomen"),
        ("１９０／１２０，头痛", "hypertensive_emergency"),
        ("高压190低压120", "hypertensive_emergency"),
        ("低压125", "hypertensive_emergency"),
        ("血压一百八十五除以一百一十", "hypertensive_emergency"),
        ("血糖仪显示HI", "hyperglycaemia_crisis"),
        ("血糖仪显示LO", "hypoglycaemia"),
        ("血糖 380 mg/dL", "hyperglycaemia_crisis"),
        ("血糖50 mg/dL，头晕", "hypoglycaemia"),
        ("雪糖测了二十三", "hyperglycaemia_crisis"),
        ("血氧88", "low_spo2"),
        ("指脉氧 百分之九十", "low_spo2"),
        ("脉搏只有40", "dangerous_heart_rate"),
        ("xiongkou tong, chu han", "acs"),
        ("wo ba zui wai le", "stroke"),
        ("bu xiang huo le", "suicide_or_overdose"),
        ("吃依那普利以后嘴唇肿起来了，舌头也大了", "anaphylaxis"),
        ("怀孕30周，今天见红了", "pregnancy"),
        ("右眼突然看不见了，像拉了个帘子", "sudden_vision_loss"),
        ("晚上躺不平，必须坐起来才能喘气", "heart_failure"),
        ("一天都没怎么尿", "oliguria"),
        ("把一瓶降压药都吃了", "suicide_or_overdose"),
        ("孩子发高烧抽了，眼睛往上翻", "seizure"),
        ("刚刚右边脸和手麻了大概二十分钟，现在好了，还要去医院吗", "stroke"),
    ],
)
def test_red_flags_as_patients_say_them(text: str, concept: str) -> None:
    assert concept in codes(text)


@pytest.mark.parametrize(
    ("text", "age", "stops"),
    [
        ("发烧39.5度", 78, True),
        ("发烧39.5度", 40, False),  # an adult at 39.5: see a doctor today, not an emergency
        ("体温38.3", 0.15, True),  # under 3 months
        ("体温38.3", 30, False),
        ("我妈78岁，烧到39度5", None, True),  # the age is in the message
        ("孩子三岁，烧到40度", None, True),
        ("孩子5岁，发烧38.2，精神好", None, False),
    ],
)
def test_fever_depends_on_the_age(text: str, age: float | None, stops: bool) -> None:
    assert ("high_fever_vulnerable" in codes(text, age)) is stops


@pytest.mark.parametrize(
    "text",
    [
        "没有胸痛，也无呼吸困难",
        "没有胸痛也没有气短",
        "否认晕厥",
        "上个月胸口疼过一次，检查没事，现在不疼了",
        "去年中风过，现在恢复得挺好来开药",
        "我爸脑出血三年了，说话一直有点含糊，这次是来开降压药的",
        "中风有哪些早期症状？想提前了解",
        "血压 145/92，要不要加药",
        "血糖 120 mg/dL，空腹的",
        "嘴唇舌头都不肿，就是干咳",
        "对控制血压我现在胸有成竹了",
        "血压计量出来210/130吓我一跳，结果是袖带没绑好，重新绑好量了两次都是135/85左右",
        "格列美脲还是每天早上一片吗？续方",
        "mei you xiong tong, jiu shi lai kai yao",
    ],
)
def test_ordinary_return_visit_messages_pass(text: str) -> None:
    result = triage.assess([], Vitals(), text)
    assert not result.in_person_required, result.red_flags
    assert not result.questions


@pytest.mark.parametrize("text", ["血糖十几", "血压很高，头晕", "宝宝发烧38.5度"])
def test_a_vital_sign_without_a_readable_number_gets_a_question_not_a_pass(text: str) -> None:
    result = triage.assess([], Vitals(), text)
    assert not result.in_person_required
    assert result.needs_answer
    assert result.questions


def test_a_decision_explains_itself() -> None:
    result = triage.assess([], Vitals(), "在家量血压 190/120，头痛得厉害")
    flag = next(f for f in result.red_flags if f.code == "hypertensive_emergency")
    assert "190/120" in flag.words
    assert "规范" in flag.source
    assert "190/120" in result.explanation
    assert flag.as_record()["code"] == "hypertensive_emergency"


@pytest.mark.parametrize("text", ["不想活了", "把一瓶安眠药都吃了", "以前就想过自杀，现在也想"])
def test_suicide_or_overdose_gives_the_crisis_line_and_120(text: str) -> None:
    result = triage.assess([], Vitals(), text)
    assert result.crisis
    assert "12356" in result.advice
    assert "120" in result.advice


def test_unknown_symptom_code_is_refused() -> None:
    with pytest.raises(triage.UnknownSymptom):
        triage.assess(["made_up"], Vitals())


def test_the_shipped_corpus_meets_the_targets() -> None:
    """Recall 100% on the red flags and specificity ≥ 90% on the ordinary messages of the
    corpora in followup/triage_corpus/ (written by people who had not read the engine)."""
    report = evaluate(load(DEFAULT_CORPORA))
    assert sum(report.total.values()) >= 250
    assert report.ordinary >= 150
    assert len(report.total) >= 20  # every concept has messages
    assert not report.misses, [c.text for c in report.misses]
    assert report.specificity >= 0.90, [c.text for c, _ in report.false_alarms]
    # Measured at 100% (614/614): held there, so a change that starts flagging "没有胸痛" or a
    # drug's name is caught here rather than averaged away under the 90% target.
    assert not report.false_alarms, [c.text for c, _ in report.false_alarms]


def test_sudden_onset_raises_the_urgency() -> None:
    assert triage.assess([], Vitals(), "头痛得厉害").urgency is Urgency.urgent
    assert triage.assess([], Vitals(), "刚才突然头痛得厉害").urgency is Urgency.emergency


def test_a_parents_age_is_not_applied_to_their_baby() -> None:
    """In the bot the writer's age is known; a message about a baby is not about the writer."""
    result = triage.assess([], Vitals(), "宝宝发烧38.5度", age_years=34)
    assert result.needs_answer
    assert "宝宝多大" in result.questions[0]
    # Said with the baby's age, it is decided: under 3 months at 38.5 is an emergency.
    assert "high_fever_vulnerable" in codes("宝宝2个月，发烧38.5度", 34)
    # A visit for the child itself keeps the child's known age.
    assert "high_fever_vulnerable" in codes("宝宝发烧38.5度", 0.15)
