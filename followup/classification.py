"""Chronic follow-up by the national basic public health service standard (国家基本公共卫生
服务规范, third edition; FACTS.md §4): danger signs first, then control is classified and the
next visit follows from the class.

- danger sign (≥180/110 mmHg, glucose ≥16.7 or ≤3.9 mmol/L, and the listed symptoms): urgent
  referral, and a check on the referral within 2 weeks;
- satisfactory, no adverse reaction, no new or worse complication: next routine visit (four a
  year at least, so within 3 months);
- not satisfactory for the first time, or an adverse reaction: adjust, follow up within 2 weeks;
- not satisfactory twice in a row, or a new or worse complication: refer, and check on the
  referral within 2 weeks.

Targets: blood pressure below 140/90 mmHg, below 150/90 from age 65; fasting glucose below
7.0 mmol/L."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from followup import triage
from followup.models import ChronicDisease

ROUTINE_DAYS = 90  # at least four face-to-face follow-ups a year
SOON_DAYS = 14  # within two weeks
ELDERLY_AGE = 65
FASTING_GLUCOSE_TARGET = 7.0


class Control(enum.StrEnum):
    satisfactory = "satisfactory"
    unsatisfactory = "unsatisfactory"  # first time, or an adverse reaction: adjust
    refer = "refer"  # twice in a row, or a new/worse complication
    emergency = "emergency"  # a danger sign

    @property
    def label(self) -> str:
        return {
            "satisfactory": "控制满意",
            "unsatisfactory": "控制不满意（调整用药，2 周内随访）",
            "refer": "转诊（2 周内追踪转诊结果）",
            "emergency": "紧急转诊",
        }[self.value]


@dataclass(frozen=True)
class Target:
    systolic_below: int
    diastolic_below: int
    fasting_glucose_below: float

    def label(self) -> str:
        return f"血压<{self.systolic_below}/{self.diastolic_below} mmHg，空腹血糖<7.0 mmol/L"


def target_for(age: int) -> Target:
    if age >= ELDERLY_AGE:
        return Target(150, 90, FASTING_GLUCOSE_TARGET)
    return Target(140, 90, FASTING_GLUCOSE_TARGET)


@dataclass(frozen=True)
class Findings:
    systolic: int | None = None
    diastolic: int | None = None
    fasting_glucose: float | None = None
    heart_rate: int | None = None
    temperature_c: float | None = None
    symptom_codes: tuple[str, ...] = ()
    adverse_reaction: bool = False
    new_complication: bool = False


@dataclass(frozen=True)
class Outcome:
    control: Control
    next_due_on: dt.date
    danger_signs: tuple[str, ...]
    unsatisfactory_in_a_row: int


def under_control(disease: ChronicDisease, findings: Findings, target: Target) -> bool | None:
    """Whether the disease is controlled by these findings (None: nothing to judge by)."""
    if disease is ChronicDisease.hypertension:
        if findings.systolic is None or findings.diastolic is None:
            return None
        return (
            findings.systolic < target.systolic_below
            and findings.diastolic < target.diastolic_below
        )
    if findings.fasting_glucose is None:
        return None
    return findings.fasting_glucose < target.fasting_glucose_below


def classify(
    disease: ChronicDisease,
    findings: Findings,
    age: int,
    unsatisfactory_before: int,
    held_on: dt.date,
) -> Outcome:
    assessment = triage.assess(
        list(findings.symptom_codes),
        triage.Vitals(
            findings.systolic,
            findings.diastolic,
            findings.fasting_glucose,
            findings.heart_rate,
            findings.temperature_c,
        ),
    )
    danger = tuple(f.label for f in assessment.red_flags)
    soon = held_on + dt.timedelta(days=SOON_DAYS)
    if danger:
        return Outcome(Control.emergency, soon, danger, unsatisfactory_before + 1)
    controlled = under_control(disease, findings, target_for(age))
    if controlled is None:
        raise ValueError("须记录血压（高血压）或空腹血糖（糖尿病）")
    if not controlled:
        in_a_row = unsatisfactory_before + 1
        if in_a_row >= 2 or findings.new_complication:
            return Outcome(Control.refer, soon, (), in_a_row)
        return Outcome(Control.unsatisfactory, soon, (), in_a_row)
    if findings.new_complication:
        return Outcome(Control.refer, soon, (), 0)
    if findings.adverse_reaction:
        return Outcome(Control.unsatisfactory, soon, (), 0)
    return Outcome(Control.satisfactory, held_on + dt.timedelta(days=ROUTINE_DAYS), (), 0)


def reading_band(
    systolic: int | None, diastolic: int | None, glucose: float | None, fasting: bool | None,
    age: int,
) -> str:  # fmt: skip
    """A home reading against the patient's target: danger, above, below or in_band."""
    if triage.vital_flags(triage.Vitals(systolic, diastolic, glucose)):
        return "danger"
    target = target_for(age)
    if systolic is not None and diastolic is not None:
        if systolic >= target.systolic_below or diastolic >= target.diastolic_below:
            return "above"
        return "in_band"
    if glucose is not None:
        limit = target.fasting_glucose_below if fasting is not False else 10.0
        return "above" if glucose >= limit else "in_band"
    return "in_band"
