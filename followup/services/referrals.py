"""Referrals: the hand-off to in-person care, sent to the hospital platform as FHIR through the
outbox, and updated by the platform's callback (accepted, booked with a time and place)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock, outbox, providers, transitions
from core.audit import Actor
from core.clock import CHINA
from core.errors import DomainError, NotFound, ValidationFailed
from core.notify import notify
from core.settings import Settings
from followup import fhir, rules
from followup.catalogue import disease_for
from followup.interfaces import HospitalPlatform
from followup.models import (
    PlatformEvent,
    PlatformEventOutcome,
    Referral,
    ReferralSource,
    ReferralState,
)
from followup.triage import Triage, Urgency
from identity.models import Account, Person
from identity.services import actor_of

PLATFORM_CHANNEL = "hospital_platform.referral"
REFERRAL_FOLLOW_UP_DAYS = 14  # check on every referral within 2 weeks (FACTS.md §4)
DEFAULT_DEPARTMENT = "急诊科"


def create(
    session: Session,
    *,
    person: Person,
    account_id: int,
    reason: str,
    urgency: Urgency,
    source: ReferralSource,
    actor: Actor,
    now: dt.datetime,
    diagnosis_code: str | None = None,
    department: str | None = None,
    consultation_id: int | None = None,
    red_flags: list[str] | None = None,
) -> Referral:
    disease = disease_for(diagnosis_code) if diagnosis_code else None
    if department is None:
        department = (
            DEFAULT_DEPARTMENT
            if urgency is Urgency.emergency or disease is None
            else disease.department
        )
    referral = Referral(
        person_id=person.id,
        account_id=account_id,
        consultation_id=consultation_id,
        diagnosis_code=diagnosis_code,
        reason=reason[:500],
        red_flags=red_flags or [],
        urgency=urgency,
        department=department,
        source=source,
        requested_by_id=actor.account_id,
        follow_up_due=clock.day_of(now) + dt.timedelta(days=REFERRAL_FOLLOW_UP_DAYS),
        created_at=now,
        updated_at=now,
    )
    transitions.transition(
        session,
        rules.REFERRAL,
        referral,
        ReferralState.requested,
        actor,
        details={"urgency": urgency.value, "source": source.value, "red_flags": red_flags or []},
        action="referral.create",
    )
    outbox.enqueue(
        session,
        PLATFORM_CHANNEL,
        {"referral_id": referral.id},
        idempotency_key=f"referral-{referral.id}",
    )
    notify(
        session,
        account_id,
        "referral.created",
        "已为您申请线下就诊",
        f"已向医院提交{urgency.label}转诊（{department}），预约结果会通知您。",
        {"referral_id": referral.id},
    )
    return referral


def hand_off_red_flags(
    session: Session,
    person: Person,
    account: Account,
    assessment: Triage,
    reason: str,
    now: dt.datetime,
    diagnosis_code: str | None = None,
) -> Referral:
    """A red flag, wherever it was seen (before a visit, in the bot, in a home reading): an
    urgent hand-off to the hospital, naming the signs."""
    # Each sign with what fired it ("血压≥180/110 mmHg：“量血压 190/120”"), as the doctor and
    # the audit trail see it; the sources go to the audit event.
    flags = [flag.explanation for flag in assessment.red_flags]
    referral = create(
        session,
        person=person,
        account_id=account.id,
        reason=reason + "、".join(flags),
        urgency=assessment.urgency,
        source=ReferralSource.triage,
        actor=actor_of(account),
        now=now,
        diagnosis_code=diagnosis_code,
        red_flags=flags,
    )
    # Why triage stopped the patient: each concept, its label and the rule's source.
    audit.record(
        session, actor_of(account), "triage.red_flags", "referral", referral.id,
        {"flags": [flag.as_audit() for flag in assessment.red_flags]},
    )  # fmt: skip
    return referral


def send_to_platform(
    session: Session, payload: dict[str, Any], idempotency_key: str, settings: Settings
) -> None:
    """Outbox sender: build the FHIR bundle from the referral as it is now and POST it."""
    referral = session.get(Referral, payload["referral_id"])
    if referral is None:
        raise outbox.DeliveryError("referral no longer exists", permanent=True)
    disease = disease_for(referral.diagnosis_code) if referral.diagnosis_code else None
    bundle = fhir.referral_bundle(referral, referral.person, disease.name if disease else None)
    providers.find(HospitalPlatform, settings).send_referral(bundle, idempotency_key)


@dataclass(frozen=True)
class PlatformUpdate:
    """One callback from the hospital platform, as it describes itself."""

    event_id: str
    status: ReferralState
    occurred_at: dt.datetime
    appointment_at: dt.datetime | None = None
    location: str | None = None
    reference: str | None = None


class EventIdReused(DomainError):
    code = "event_id_reused"
    status = 409
    title = "事件编号已用于另一转诊"


def apply_callback(
    session: Session, referral_id: int, update: PlatformUpdate, now: dt.datetime
) -> tuple[Referral, str]:
    """Apply a platform event once, forward only. Returns the referral and what became of
    the event: "applied", "duplicate" (seen before: nothing changes, nothing is sent again) or
    "stale" (older than the event already applied: it arrived out of order)."""
    referral = session.get(Referral, referral_id, with_for_update=True)
    if referral is None:
        raise NotFound("没有这个转诊")
    seen = session.scalar(select(PlatformEvent).where(PlatformEvent.event_id == update.event_id))
    if seen is not None:
        if seen.referral_id != referral.id:
            raise EventIdReused()
        return referral, "duplicate"
    if referral.platform_event_at is not None and update.occurred_at <= referral.platform_event_at:
        _keep(session, referral, update, PlatformEventOutcome.stale, now)
        return referral, "stale"
    rules.REFERRAL.check(referral.state, update.status)
    if update.status is ReferralState.booked and update.appointment_at is None:
        raise ValidationFailed("booked needs appointment_at")
    referral.platform_reference = update.reference or referral.platform_reference
    if update.status is ReferralState.booked:
        referral.appointment_at = update.appointment_at
        referral.location = update.location or referral.location
    referral.platform_event_at = update.occurred_at
    referral.updated_at = now
    _keep(session, referral, update, PlatformEventOutcome.applied, now)
    transitions.transition(
        session,
        rules.REFERRAL,
        referral,
        update.status,
        Actor(None, "hospital_platform"),
        details={"reference": referral.platform_reference, "event_id": update.event_id},
    )
    _tell_patient(session, referral)
    return referral, "applied"


def _keep(
    session: Session,
    referral: Referral,
    update: PlatformUpdate,
    outcome: PlatformEventOutcome,
    now: dt.datetime,
) -> None:
    session.add(
        PlatformEvent(
            event_id=update.event_id,
            referral_id=referral.id,
            status=update.status,
            occurred_at=update.occurred_at,
            outcome=outcome,
            received_at=now,
        )
    )
    session.flush()


def _tell_patient(session: Session, referral: Referral) -> None:
    if referral.state is ReferralState.booked and referral.appointment_at is not None:
        when = referral.appointment_at.astimezone(CHINA).strftime("%m月%d日 %H:%M")
        notify(
            session,
            referral.account_id,
            "referral.booked",
            "线下就诊已预约",
            f"请于 {when} 到 {referral.location or referral.department} 就诊，请携带身份证。",
            {"referral_id": referral.id},
        )
    elif referral.state is ReferralState.declined:
        notify(
            session,
            referral.account_id,
            "referral.declined",
            "转诊未被受理",
            "医院暂未受理本次转诊，请致电医院或直接到医院就诊；紧急情况请拨打 120。",
            {"referral_id": referral.id},
        )


def for_account(session: Session, account_id: int) -> list[Referral]:
    return list(
        session.scalars(
            select(Referral).where(Referral.account_id == account_id).order_by(Referral.id.desc())
        )
    )
