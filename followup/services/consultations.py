"""Return visits: starting one (identity, triage, consent, eligibility), the doctor accepting,
messages, the signed record, referral, cancellation and expiry."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import audit, clock, outbox, transitions
from core.audit import Actor
from core.canonical import digest
from core.errors import DomainError, Forbidden, InvalidState, NotFound, ValidationFailed
from core.notify import notify
from core.outbox import post_json
from core.settings import Settings
from followup import rules, triage
from followup.catalogue import consent as current_consent
from followup.catalogue import disease_for, normalise_code
from followup.models import (
    Consultation,
    ConsultationMessage,
    ConsultationState,
    MessageKind,
    OfflineDiagnosis,
    ReferralSource,
    VisitRecord,
)
from followup.services import referrals, visit_triage
from identity.models import Account, Practitioner, Role
from identity.services import actor_of, patients
from identity.services import practitioners as practitioner_rules

S = ConsultationState
SUPERVISION_CHANNEL = "supervision.visit"
MAX_IMAGE_BYTES = 5 * 1024 * 1024
IMAGE_SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
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
        state=S.requested,
        requested_at=now,
        accept_by=now + dt.timedelta(seconds=settings.consultation_accept_timeout_seconds),
        next_message_seq=1,
    )
    session.add(consultation)
    session.flush()
    audit.record(
        session,
        actor_of(account),
        "consultation.request",
        "consultation",
        consultation.id,
        {
            "diagnosis_id": diagnosis.id,
            "consent": text.version,
            "for_dependent": context.patient.id != account.person_id,
        },
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


def _move(
    session: Session,
    consultation: Consultation,
    target: S,
    actor: Actor,
    now: dt.datetime,
    reason: str | None = None,
) -> None:
    previous = transitions.move(consultation, rules.TRANSITIONS, target, "问诊")
    if not target.is_open:
        consultation.ended_at = now
        consultation.end_reason = reason
    session.flush()
    audit.record(
        session,
        actor,
        f"consultation.{target.value}",
        "consultation",
        consultation.id,
        {"from": previous.value if previous else None},
    )


def accept(
    session: Session, account: Account, consultation_id: int, now: dt.datetime
) -> Consultation:
    """A verified, eligible doctor of the department, face-checked, takes the visit. The row
    lock makes two doctors pressing "accept" at once end with one doctor."""
    practitioner = practitioner_rules.practitioner_for(session, account)
    practitioner_rules.ensure_may_act(practitioner, now)
    consultation = get(session, consultation_id, lock=True)
    visible_to(session, account, consultation)  # another department's visit: not found
    rules.check_transition(consultation.state, S.accepted)
    consultation.doctor_id = practitioner.id
    consultation.accepted_at = now
    _move(session, consultation, S.accepted, actor_of(account), now)
    notify(
        session,
        consultation.account_id,
        "consultation.accepted",
        "医生已接诊",
        f"{practitioner.name}（{practitioner.title.value}）已接诊您的复诊，请留意回复。",
        {"consultation_id": consultation.id},
    )
    return consultation


def post_message(
    session: Session,
    account: Account,
    consultation_id: int,
    now: dt.datetime,
    text: str | None = None,
    image: bytes | None = None,
) -> ConsultationMessage:
    consultation = get(session, consultation_id, lock=True)  # the lock orders the sequence
    visible_to(session, account, consultation)
    is_doctor = account.role is Role.doctor
    if is_doctor:
        doctor_of(session, account, consultation)
    if not consultation.state.is_open:
        raise InvalidState(f"问诊已{consultation.state.label}，不能再发送消息")
    if is_doctor and consultation.state is S.accepted:
        _move(session, consultation, S.in_progress, actor_of(account), now)
    if (text is None) == (image is None):
        raise ValidationFailed("一条消息是一段文字或一张图片")
    message = ConsultationMessage(
        consultation_id=consultation.id,
        seq=consultation.next_message_seq,
        sender_account_id=account.id,
        sender_role=account.role.value,
        created_at=now,
    )
    if text is not None:
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            raise ValidationFailed(f"文字消息须为 1–{MAX_TEXT} 字")
        message.kind, message.text = MessageKind.text, text
    elif image is not None:
        message.kind, message.image, message.image_type = (
            MessageKind.image,
            image,
            image_type(image),
        )
    consultation.next_message_seq += 1
    session.add(message)
    session.flush()
    audit.record(
        session,
        actor_of(account),
        "consultation.message",
        "consultation",
        consultation.id,
        {"seq": message.seq, "kind": message.kind.value},
    )
    if not is_doctor and message.text:
        visit_triage.screen_patient_message(session, account, consultation, message.text, now)
    if is_doctor:
        notify(
            session,
            consultation.account_id,
            "consultation.reply",
            "医生回复了您",
            "您的复诊有新的医生回复。",
            {"consultation_id": consultation.id},
        )
    return message


def image_type(data: bytes) -> str:
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationFailed("图片超过 5 MB")
    for magic, kind in IMAGE_SIGNATURES.items():
        if data.startswith(magic):
            return kind
    raise ValidationFailed("只能发送 JPEG 或 PNG 图片")


def messages(
    session: Session, consultation: Consultation, after: int = 0
) -> list[ConsultationMessage]:
    return list(
        session.scalars(
            select(ConsultationMessage)
            .where(
                ConsultationMessage.consultation_id == consultation.id,
                ConsultationMessage.seq > after,
            )
            .order_by(ConsultationMessage.seq)
        )
    )


def image_message(session: Session, consultation: Consultation, seq: int) -> ConsultationMessage:
    message = session.scalar(
        select(ConsultationMessage).where(
            ConsultationMessage.consultation_id == consultation.id, ConsultationMessage.seq == seq
        )
    )
    if message is None or message.image is None:
        raise NotFound("没有这张图片")
    return message


RECORD_FIELDS = (
    "chief_complaint",
    "history",
    "findings",
    "diagnosis_code",
    "diagnosis_name",
    "plan",
)


def _record_content(
    consultation: Consultation, version: int, fields: dict[str, str]
) -> dict[str, Any]:
    missing = [
        f for f in ("chief_complaint", "diagnosis_code", "plan") if not fields.get(f, "").strip()
    ]
    if missing:
        raise ValidationFailed("病历须填写主诉、诊断和处理意见", missing=missing)
    code = normalise_code(fields["diagnosis_code"])
    disease = disease_for(code)
    return {
        "consultation_id": consultation.id,
        "version": version,
        "patient_person_id": consultation.person_id,
        **{f: fields.get(f, "").strip() for f in RECORD_FIELDS},
        "diagnosis_code": code,
        "diagnosis_name": fields.get("diagnosis_name", "").strip()
        or (disease.name if disease else code),
    }


def _sign_record(
    session: Session,
    practitioner: Practitioner,
    consultation: Consultation,
    fields: dict[str, str],
    now: dt.datetime,
    reason: str | None,
) -> VisitRecord:
    latest = latest_record(session, consultation.id)
    version = 1 if latest is None else latest.version + 1
    content = _record_content(consultation, version, fields)
    signature = practitioner_rules.sign(session, practitioner, content, now)
    record = VisitRecord(
        consultation_id=consultation.id,
        version=version,
        content=json.dumps(content, ensure_ascii=False),
        content_digest=digest(content),
        amendment_reason=reason,
        doctor_id=practitioner.id,
        signature_algorithm=signature.algorithm,
        signature_key=signature.key_fingerprint,
        signature=signature.value,
        signed_at=now,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor_of(practitioner.account),
        "visit_record.sign",
        "consultation",
        consultation.id,
        {"version": version, "digest": record.content_digest},
    )
    return record


def complete(
    session: Session,
    account: Account,
    consultation_id: int,
    fields: dict[str, str],
    now: dt.datetime,
) -> VisitRecord:
    """End the visit with its record, signed by the doctor (fresh face check needed)."""
    consultation = get(session, consultation_id, lock=True)
    practitioner = doctor_of(session, account, consultation)
    rules.check_transition(consultation.state, S.completed)
    record = _sign_record(session, practitioner, consultation, fields, now, None)
    _move(session, consultation, S.completed, actor_of(account), now)
    notify(
        session,
        consultation.account_id,
        "consultation.completed",
        "复诊已完成",
        "医生已完成本次复诊，可在问诊记录中查看病历。",
        {"consultation_id": consultation.id},
    )
    outbox.enqueue(
        session,
        SUPERVISION_CHANNEL,
        {"consultation_id": consultation.id},
        idempotency_key=f"visit-{consultation.id}",
    )
    return record


def amend(
    session: Session,
    account: Account,
    consultation_id: int,
    fields: dict[str, str],
    reason: str,
    now: dt.datetime,
) -> VisitRecord:
    """A correction is a new signed version; the earlier ones stay as they were."""
    consultation = get(session, consultation_id, lock=True)
    practitioner = doctor_of(session, account, consultation)
    if latest_record(session, consultation.id) is None:
        raise InvalidState("还没有已签名的病历")
    if not reason.strip():
        raise ValidationFailed("请说明更正原因")
    return _sign_record(session, practitioner, consultation, fields, now, reason.strip()[:200])


def latest_record(session: Session, consultation_id: int) -> VisitRecord | None:
    return session.scalar(
        select(VisitRecord)
        .where(VisitRecord.consultation_id == consultation_id)
        .order_by(VisitRecord.version.desc())
        .limit(1)
    )


def record_history(session: Session, consultation_id: int) -> list[VisitRecord]:
    return list(
        session.scalars(
            select(VisitRecord)
            .where(VisitRecord.consultation_id == consultation_id)
            .order_by(VisitRecord.version)
        )
    )


def verify_record(session: Session, record: VisitRecord) -> bool:
    content = json.loads(record.content)
    return digest(content) == record.content_digest and practitioner_rules.verify(
        session, record.signature_key, content, record.signature
    )


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
    rules.check_transition(consultation.state, S.referred)
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
    _move(session, consultation, S.referred, actor_of(account), now, reason.strip()[:200])
    outbox.enqueue(
        session,
        SUPERVISION_CHANNEL,
        {"consultation_id": consultation.id},
        idempotency_key=f"visit-{consultation.id}",
    )
    return consultation


def cancel(
    session: Session, account: Account, consultation_id: int, now: dt.datetime
) -> Consultation:
    consultation = get(session, consultation_id, lock=True)
    visible_to(session, account, consultation)
    if account.role is Role.doctor:
        doctor_of(session, account, consultation)
    _move(
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
        _move(session, consultation, S.expired, Actor.system(), now, "no doctor accepted in time")
        notify(
            session,
            consultation.account_id,
            "consultation.expired",
            "复诊申请已过期",
            "暂时没有医生接诊您的复诊申请，请稍后重新发起；如病情加重请到医院就诊。",
            {"consultation_id": consultation.id},
        )
    return [c.id for c in due]


# What a list of visits shows for each: loaded with the list, not one query a row.
LISTED = (selectinload(Consultation.person), selectinload(Consultation.diagnosis))


def queue(session: Session, department: str) -> list[Consultation]:
    return list(
        session.scalars(
            select(Consultation)
            .where(Consultation.department == department, Consultation.state == S.requested)
            .options(*LISTED)
            .order_by(Consultation.requested_at)
        )
    )


def active_for_doctor(session: Session, practitioner: Practitioner) -> list[Consultation]:
    return list(
        session.scalars(
            select(Consultation)
            .where(
                Consultation.doctor_id == practitioner.id,
                Consultation.state.in_([S.accepted, S.in_progress]),
            )
            .options(*LISTED)
            .order_by(Consultation.accepted_at)
        )
    )


def for_account(session: Session, account: Account) -> list[Consultation]:
    return list(
        session.scalars(
            select(Consultation)
            .where(Consultation.account_id == account.id)
            .order_by(Consultation.id.desc())
        )
    )


def history_for_person(session: Session, person_id: int) -> list[Consultation]:
    return list(
        session.scalars(
            select(Consultation)
            .where(Consultation.person_id == person_id)
            .order_by(Consultation.id.desc())
        )
    )


def send_to_supervision(
    session: Session, payload: dict[str, Any], idempotency_key: str, settings: Settings
) -> None:
    """Outbox sender: the visit and its outcome, for the provincial supervision platform."""
    consultation = get(session, payload["consultation_id"])
    record = latest_record(session, consultation.id)
    body = {
        "visit_id": consultation.id,
        "institution_visit_type": "互联网复诊",
        "department": consultation.department,
        "diagnosis_code": consultation.diagnosis.icd10_code,
        "doctor_licence": consultation.doctor.licence_number if consultation.doctor else None,
        "requested_at": consultation.requested_at.isoformat(),
        "accepted_at": consultation.accepted_at.isoformat() if consultation.accepted_at else None,
        "ended_at": consultation.ended_at.isoformat() if consultation.ended_at else None,
        "outcome": consultation.state.value,
        "record_digest": record.content_digest if record else None,
        "record_signature_key": record.signature_key if record else None,
    }
    post_json(settings.supervision_url, body, idempotency_key, settings)
