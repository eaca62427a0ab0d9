"""The visit's record (病历): written and signed by the doctor to end the visit, corrected only by a
new signed version, verified against its digest and signature, and reported with the visit's
outcome to the supervision platform."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, transitions
from core.canonical import digest
from core.errors import InvalidState, ValidationFailed
from core.outbox import post_json
from core.settings import Settings
from followup import rules
from followup.catalogue import disease_for, normalise_code
from followup.models import Consultation, ConsultationState, VisitRecord
from followup.services import consultations
from identity.models import Account, Practitioner
from identity.services import actor_of
from identity.services import practitioners as practitioner_rules

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
    consultation = consultations.get(session, consultation_id, lock=True)
    practitioner = consultations.doctor_of(session, account, consultation)
    rules.VISIT.check(consultation.state, ConsultationState.completed)
    record = _sign_record(session, practitioner, consultation, fields, now, None)
    told = transitions.Notice(
        consultation.account_id,
        "consultation.completed",
        "复诊已完成",
        "医生已完成本次复诊，可在问诊记录中查看病历。",
        {"consultation_id": consultation.id},
    )
    consultations.move(
        session, consultation, ConsultationState.completed, actor_of(account), now, notice=told
    )
    consultations.report_to_supervision(session, consultation)
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
    consultation = consultations.get(session, consultation_id, lock=True)
    practitioner = consultations.doctor_of(session, account, consultation)
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


def send_to_supervision(
    session: Session, payload: dict[str, Any], idempotency_key: str, settings: Settings
) -> None:
    """Outbox sender: the visit and its outcome, for the provincial supervision platform."""
    consultation = consultations.get(session, payload["consultation_id"])
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
