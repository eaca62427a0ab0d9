"""Home readings (blood pressure, glucose) as patients write them ("血压 150/95", "血糖7.8",
"bp 130/80"): parsed strictly, stored, and checked against the emergency-referral thresholds
(≥180/110 mmHg, glucose ≥16.7 or ≤3.9 mmol/L), which hand the patient off at once."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core import audit, clock
from core.errors import DomainError
from followup import classification, triage
from followup.models import Reading, ReadingKind
from followup.services import follow_ups, referrals
from identity import rules as identity_rules
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


class ImplausibleReading(DomainError):
    code = "implausible_reading"
    status = 422
    title = "读数不合理，请核对后重新上报"


@dataclass(frozen=True)
class Parsed:
    kind: ReadingKind
    systolic: int | None = None
    diastolic: int | None = None
    glucose_mmol: float | None = None
    pulse: int | None = None
    fasting: bool | None = None
    weight_kg: float | None = None

    def check(self) -> None:
        """Refuse what no living patient measures (a typo), storing nothing."""
        if self.kind is ReadingKind.blood_pressure:
            low, high = BP_RANGE
            if self.systolic is None or self.diastolic is None:
                raise ImplausibleReading("须填写收缩压和舒张压")
            if not (low <= self.diastolic < self.systolic <= high):
                raise ImplausibleReading("血压数值不合理，例如“135/85”")
            if self.pulse is not None and not 25 <= self.pulse <= 250:
                raise ImplausibleReading("脉搏数值不合理")
        elif self.kind is ReadingKind.glucose:
            if self.glucose_mmol is None or not (
                GLUCOSE_RANGE[0] <= self.glucose_mmol <= GLUCOSE_RANGE[1]
            ):
                raise ImplausibleReading("血糖数值不合理，例如“6.8”")
        elif self.weight_kg is None or not 2 <= self.weight_kg <= 300:
            raise ImplausibleReading("体重数值不合理")

    @property
    def vitals(self) -> triage.Vitals:
        return triage.Vitals(self.systolic, self.diastolic, self.glucose_mmol)

    def describe(self) -> str:
        if self.kind is ReadingKind.blood_pressure:
            return f"血压 {self.systolic}/{self.diastolic} mmHg"
        if self.kind is ReadingKind.weight:
            return f"体重 {self.weight_kg:g} kg"
        return f"血糖 {self.glucose_mmol:g} mmol/L"


def parse(text: str) -> Parsed | None:
    """A reading, or None if the text is not one. Impossible numbers are an error, not a
    reading: the patient is asked to check them."""
    plain = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")
    match = BP.match(plain)
    if match:
        systolic, diastolic = int(match.group(1)), int(match.group(2))
        parsed = Parsed(ReadingKind.blood_pressure, systolic=systolic, diastolic=diastolic)
        parsed.check()
        return parsed
    match = GLUCOSE.match(plain)
    if match:
        parsed = Parsed(ReadingKind.glucose, glucose_mmol=float(match.group(1)))
        parsed.check()
        return parsed
    return None


def parse_in_sentence(text: str) -> Parsed | None:
    """One blood pressure or one glucose written inside a sentence ("在家量血压 190/120，头晕",
    "早上血糖测了 20.5"), read by triage's number reader; None when there is none, more than
    one, or it is not a plausible reading (the strict parser and triage ask about those)."""
    found = triage.readings_in(text)
    if found.blood_pressure is not None:
        parsed = Parsed(ReadingKind.blood_pressure, *found.blood_pressure)
    elif found.glucose_mmol is not None:
        parsed = Parsed(ReadingKind.glucose, glucose_mmol=found.glucose_mmol)
    else:
        return None
    try:
        parsed.check()
    except ImplausibleReading:
        return None
    return parsed


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
    """Store the reading, classified against the patient's target; a dangerous one also
    creates an urgent hand-off to the hospital and alerts the family doctor."""
    parsed.check()
    age = identity_rules.age_on(person.birth_date, clock.day_of(now))
    band = (
        classification.reading_band(
            parsed.systolic, parsed.diastolic, parsed.glucose_mmol, parsed.fasting, age
        )
        if parsed.kind is not ReadingKind.weight
        else None
    )
    reading = Reading(
        person_id=person.id,
        account_id=account.id,
        kind=parsed.kind,
        systolic=parsed.systolic,
        diastolic=parsed.diastolic,
        glucose_mmol=parsed.glucose_mmol,
        pulse=parsed.pulse,
        fasting=parsed.fasting,
        weight_kg=parsed.weight_kg,
        band=band,
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
        referral = referrals.hand_off_red_flags(
            session, person, account, assessment, "自测读数达到紧急转诊标准：", now
        )
        referral_id = referral.id
        follow_ups.alert_family_doctor(
            session,
            person.id,
            f"签约居民上报{parsed.describe()}，达到紧急转诊标准，已通知医院并告知居民就医。",
            clock.day_of(now),
        )
    return Recorded(reading, assessment, referral_id)
