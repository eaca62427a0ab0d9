"""Home readings (blood pressure, glucose) as patients write them ("血压 150/95", "血糖7.8",
"bp 130/80"): parsed strictly, stored, and checked against the emergency-referral thresholds
(≥180/110 mmHg, glucose ≥16.7 or ≤3.9 mmol/L), which hand the patient off at once."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core import audit
from core.errors import ValidationFailed
from followup import triage
from followup.models import Reading, ReadingKind, ReferralSource
from followup.services import referrals
from identity.models import Account, Person
from identity.services import actor_of

BP = re.compile(
    r"^(?:血压|bp|血压值)?[:：]?\s*(\d{2,3})\s*[/／\\]\s*(\d{2,3})\s*(?:mmhg|毫米汞柱)?$"
)
GLUCOSE = re.compile(
    r"^(?:血糖|bg|glu|空腹血糖|餐后血糖)[:：]?\s*(\d{1,2}(?:\.\d{1,2})?)\s*(?:mmol/?l|毫摩尔)?$"
)
BP_RANGE = (40, 300)
GLUCOSE_RANGE = (1.0, 40.0)


@dataclass(frozen=True)
class Parsed:
    kind: ReadingKind
    systolic: int | None = None
    diastolic: int | None = None
    glucose_mmol: float | None = None

    @property
    def vitals(self) -> triage.Vitals:
        return triage.Vitals(self.systolic, self.diastolic, self.glucose_mmol)

    def describe(self) -> str:
        if self.kind is ReadingKind.blood_pressure:
            return f"血压 {self.systolic}/{self.diastolic} mmHg"
        return f"血糖 {self.glucose_mmol:g} mmol/L"


def parse(text: str) -> Parsed | None:
    """A reading, or None if the text is not one. Impossible numbers are an error, not a
    reading: the patient is asked to check them."""
    plain = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")
    match = BP.match(plain)
    if match:
        systolic, diastolic = int(match.group(1)), int(match.group(2))
        low, high = BP_RANGE
        if not (low <= diastolic < systolic <= high):
            raise ValidationFailed("血压数值不合理，请核对后重新发送，例如“血压 135/85”")
        return Parsed(ReadingKind.blood_pressure, systolic=systolic, diastolic=diastolic)
    match = GLUCOSE.match(plain)
    if match:
        value = float(match.group(1))
        if not GLUCOSE_RANGE[0] <= value <= GLUCOSE_RANGE[1]:
            raise ValidationFailed("血糖数值不合理，请核对后重新发送，例如“血糖 6.8”")
        return Parsed(ReadingKind.glucose, glucose_mmol=value)
    return None


@dataclass(frozen=True)
class Recorded:
    reading: Reading
    assessment: triage.Triage
    referral_id: int | None


def record(
    session: Session,
    account: Account,
    person: Person,
    parsed: Parsed,
    source: str,
    now: dt.datetime,
) -> Recorded:
    """Store the reading; a dangerous one also creates an urgent hand-off to the hospital."""
    reading = Reading(
        person_id=person.id,
        account_id=account.id,
        kind=parsed.kind,
        systolic=parsed.systolic,
        diastolic=parsed.diastolic,
        glucose_mmol=parsed.glucose_mmol,
        source=source,
        measured_at=now,
    )
    session.add(reading)
    session.flush()
    audit.record(session, actor_of(account), "reading.record", "person", person.id,
                 {"kind": parsed.kind.value, "reading_id": reading.id})  # fmt: skip
    assessment = triage.assess([], parsed.vitals)
    referral_id = None
    if assessment.in_person_required:
        flags = [f.label for f in assessment.red_flags]
        referral = referrals.create(
            session,
            person=person,
            account_id=account.id,
            reason="自测读数达到紧急转诊标准：" + "、".join(flags),
            urgency=assessment.urgency,
            source=ReferralSource.triage,
            actor=actor_of(account),
            now=now,
            red_flags=flags,
        )
        referral_id = referral.id
    return Recorded(reading, assessment, referral_id)
