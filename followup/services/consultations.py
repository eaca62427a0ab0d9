"""Return visits: starting one (identity, triage, consent, eligibility), the doctor accepting,
messages, the signed record, referral, cancellation and expiry."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock, outbox, transitions
from core.audit import Actor
from core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from core.settings import Settings
from followup import rules, triage
from followup.catalogue import consent as current_consent
from followup.catalogue import disease_for
from followup.models import (
    Consultation,
    ConsultationState,
    OfflineDiagnosis,
    ReferralSource,
)
from followup.services import referrals
from identity.models import Account, Practitioner, Role
from identity.services import actor_of, patients
from identity.services import practitioners as practitioner_rules

S = ConsultationState
SUPERVISION_CHANNEL = "supervision.visit"
MAX_TEXT = 2000


class InPersonRequired(DomainError):
    code = "in_person_required"
    status = 409
    title = "您的情况需要线下就诊"
    keeps_effects = True  # the hand-off to the hospital stands although the visit is refused


class VisitAlreadyOpen(DomainError):
    code = "visit_already_open"
    status = 409
    title = "该诊断已有进行中的复诊，请在原复诊中继续"


class VitalSignUnclear(DomainError):
    """A vital sign named in the complaint without a number that can be read ("血糖十几"):
    the visit waits for the number rather than passing it by."""

    code = "vital_sign_unclear"
    status = 422
    title = "请告诉我们具体读数"


@dataclass(frozen=True)
class VisitRequest:
    person_id: int | None
    diagnosis_id: int
    complaint: str
    symptoms: list[str]
    vitals: triage.Vitals
    consent: bool


def start(
    session: Session, account: Account, request: VisitRequest, settings: Settings, now: dt.datetime
) -> Consultation:
    """Open a return visit, or refuse with the reason. Red flags come first: whoever is asking,
    a sign of danger is answered with what to do now and, for a known patient, a hand-off."""
    try:
        known: patients.CareContext | None = patients.care_context(
            session, account, request.person_id
        )
    except DomainError:
        known = None  # unknown or unverified: red flags are still answered, without a hand-off
    # The age of the person the visit is for, when it can be known (fever thresholds).
    age = float(known.age_on(clock.day_of(now))) if known is not None else None
    try:
        assessment = triage.assess(request.symptoms, request.vitals, request.complaint, age)
    except triage.UnknownSymptom as exc:
        raise ValidationFailed(f"未知症状代码：{exc}") from None
    if assessment.in_person_required:
        _hand_off_red_flags(session, account, request, known, assessment, now)
    if assessment.needs_answer:
        raise VitalSignUnclear("".join(assessment.questions), questions=list(assessment.questions))
    # Not known: ask again, to refuse with the reason (unverified, not one's dependent).
    context = known or patients.care_context(session, account, request.person_id)
    if not request.consent:
        text = current_consent()
        raise rules.ConsentRequired(
            consent_version=text.version, consent_digest=text.digest, consent_text=text.text
        )
    diagnosis = session.get(OfflineDiagnosis, request.diagnosis_id)
    try:
        rules.check_return_visit(
            diagnosis, context.patient.id, clock.day_of(now), settings.return_visit_window_days
        )
    except rules.FirstVisitNotAllowed as exc:
        exc.extra["handoff"] = {
            "action": "book_in_person",
            "href": "/api/v1/me/referrals",
            "detail": "可申请到医院线下就诊",
        }
        raise
    if diagnosis is None:  # check_return_visit refused this already
        raise rules.FirstVisitNotAllowed()
    if not request.complaint.strip():
        raise ValidationFailed("请描述本次复诊的主要问题")
    # One open visit per diagnosis: a second queue entry for the same disease is a duplicate
    # (the probe opened 20 at once). The diagnosis row lock makes two requests queue up.
    session.get(OfflineDiagnosis, diagnosis.id, with_for_update=True)
    already = session.scalar(
        select(Consultation.id).where(
            Consultation.diagnosis_id == diagnosis.id,
            Consultation.state.in_([s for s in S if s.is_open]),
        )
    )
    if already is not None:
        raise VisitAlreadyOpen(consultation_id=already)
    text = current_consent()
    disease = disease_for(diagnosis.icd10_code)
    consultation = Consultation(
        person_id=context.patient.id,
        account_id=account.id,
        guardian_person_id=context.guardian.id if context.guardian else None,
        diagnosis_id=diagnosis.id,
        department=disease.department if disease else "全科",
        complaint=request.complaint.strip()[:MAX_TEXT],
        symptoms=request.symptoms,
        vitals={k: v for k, v in asdict(request.vitals).items() if v is not None},
        consent_version=text.version,
        consent_digest=text.digest,
        consented_at=now,
        requested_at=now,
        accept_by=now + dt.timedelta(seconds=settings.consultation_accept_timeout_seconds),
        next_message_seq=1,
    )
    transitions.transition(
        session,
        rules.VISIT,
        consultation,
        S.requested,
        actor_of(account),
        details={
            "diagnosis_id": diagnosis.id,
            "consent": text.version,
            "for_dependent": context.patient.id != account.person_id,
        },
        action="consultation.request",
    )
    return consultation


def _hand_off_red_flags(
    session: Session,
    account: Account,
    request: VisitRequest,
    context: patients.CareContext | None,
    assessment: triage.Triage,
    now: dt.datetime,
) -> None:
    referral_id = None
    if context is not None:
        diagnosis = session.get(OfflineDiagnosis, request.diagnosis_id)
        own = diagnosis is not None and diagnosis.person_id == context.patient.id
        referral = referrals.hand_off_red_flags(
            session,
            context.patient,
            account,
            assessment,
            "在线复诊前筛查发现危险信号：",
            now,
            diagnosis_code=diagnosis.icd10_code if diagnosis and own else None,
        )
        referral_id = referral.id
    raise InPersonRequired(
        assessment.advice,
        urgency=assessment.urgency.value,
        red_flags=[f.as_record() for f in assessment.red_flags],
        explanation=assessment.explanation,
        call_120=assessment.urgency is triage.Urgency.emergency,
        referral_id=referral_id,
    )


def get(session: Session, consultation_id: int, *, lock: bool = False) -> Consultation:
    consultation = session.get(Consultation, consultation_id, with_for_update=lock or None)
    if consultation is None:
        raise NotFound("没有这次问诊")
    return consultation


def visible_to(session: Session, account: Account, consultation: Consultation) -> None:
    """The patient side (the account that asked) and the doctors who may take or have it."""
    if account.role is Role.patient and consultation.account_id == account.id:
        return
    if account.role is Role.doctor:
        practitioner = practitioner_rules.practitioner_for(session, account)
        if consultation.doctor_id == practitioner.id:
            return
        if consultation.state is S.requested and consultation.department == practitioner.department:
            return
    raise NotFound("没有这次问诊")  # never say that someone else's visit exists


def doctor_of(session: Session, account: Account, consultation: Consultation) -> Practitioner:
    practitioner = practitioner_rules.practitioner_for(session, account)
    if consultation.doctor_id != practitioner.id:
        raise Forbidden("只有接诊医生可以执行此操作")
    return practitioner


def move(
    session: Session,
    consultation: Consultation,
    target: S,
    actor: Actor,
    now: dt.datetime,
    reason: str | None = None,
    notice: transitions.Notice | None = None,
) -> None:
    """The visit's move; one that ends it says when and why."""
    rules.VISIT.check(consultation.state, target)
    if not target.is_open:
        consultation.ended_at = now
        consultation.end_reason = reason
    transitions.transition(session, rules.VISIT, consultation, target, actor, notice=notice)


def accept(
    session: Session, account: Account, consultation_id: int, now: dt.datetime
) -> Consultation:
    """A verified, eligible doctor of the department, face-checked, takes the visit. The row
    lock makes two doctors pressing "accept" at once end with one doctor."""
    practitioner = practitioner_rules.practitioner_for(session, account)
    practitioner_rules.ensure_may_act(practitioner, now)
    consultation = get(session, consultation_id, lock=True)
    visible_to(session, account, consultation)  # another department's visit: not found
    rules.VISIT.check(consultation.state, S.accepted)
    consultation.doctor_id = practitioner.id
    consultation.accepted_at = now
    told = transitions.Notice(
        consultation.account_id,
        "consultation.accepted",
        "医生已接诊",
        f"{practitioner.name}（{practitioner.title.value}）已接诊您的复诊，请留意回复。",
        {"consultation_id": consultation.id},
    )
    move(session, consultation, S.accepted, actor_of(account), now, notice=told)
    return consultation


def refer(
    session: Session,
    account: Account,
    consultation_id: int,
    reason: str,
    urgency: triage.Urgency,
    department: str | None,
    now: dt.datetime,
) -> Consultation:
    """The doctor ends the online visit and hands the patient to in-person care."""
    consultation = get(session, consultation_id, lock=True)
    doctor_of(session, account, consultation)
    rules.VISIT.check(consultation.state, S.referred)
    if not reason.strip():
        raise ValidationFailed("请填写转诊原因")
    referrals.create(
        session,
        person=consultation.person,
        account_id=consultation.account_id,
        reason=reason.strip(),
        urgency=urgency,
        source=ReferralSource.doctor,
        actor=actor_of(account),
        now=now,
        diagnosis_code=consultation.diagnosis.icd10_code,
        department=department or consultation.department,
        consultation_id=consultation.id,
    )
    move(session, consultation, S.referred, actor_of(account), now, reason.strip()[:200])
    report_to_supervision(session, consultation)
    return consultation


def cancel(
    session: Session, account: Account, consultation_id: int, now: dt.datetime
) -> Consultation:
    consultation = get(session, consultation_id, lock=True)
    visible_to(session, account, consultation)
    if account.role is Role.doctor:
        doctor_of(session, account, consultation)
    move(
        session,
        consultation,
        S.cancelled,
        actor_of(account),
        now,
        f"cancelled by {account.role.value}",
    )
    return consultation


def expire_due(session: Session, now: dt.datetime) -> list[int]:
    """Requests no doctor took in time: expired, and the patient is told."""
    due = session.scalars(
        select(Consultation)
        .where(Consultation.state == S.requested, Consultation.accept_by <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for consultation in due:
        told = transitions.Notice(
            consultation.account_id,
            "consultation.expired",
            "复诊申请已过期",
            "暂时没有医生接诊您的复诊申请，请稍后重新发起；如病情加重请到医院就诊。",
            {"consultation_id": consultation.id},
        )
        move(
            session,
            consultation,
            S.expired,
            Actor.system(),
            now,
            "no doctor accepted in time",
            told,
        )
    return [c.id for c in due]


def report_to_supervision(session: Session, consultation: Consultation) -> None:
    """The visit and its outcome go to the supervision platform once, when the visit ends with a
    record or a referral (idempotent by the visit's id)."""
    outbox.enqueue(
        session,
        SUPERVISION_CHANNEL,
        {"consultation_id": consultation.id},
        idempotency_key=f"visit-{consultation.id}",
    )
