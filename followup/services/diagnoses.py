"""Offline diagnoses: imported from the hospital platform (confirmed) or uploaded by the
patient (pending until a doctor confirms them)."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.audit import Actor
from core.errors import DomainError, Forbidden, InvalidState, NotFound, ValidationFailed
from followup.catalogue import disease_for, normalise_code
from followup.models import (
    Consultation,
    ConsultationState,
    DiagnosisSource,
    DiagnosisStatus,
    OfflineDiagnosis,
)
from identity.models import Account, Person, Practitioner, Role
from identity.services import actor_of, patients
from identity.services import practitioners as practitioner_rules

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
# What the evidence may be, by its first bytes (never by the name or the declared type).
EVIDENCE_SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}


class DiseaseNotEligible(DomainError):
    code = "disease_not_eligible"
    status = 422
    title = "该病种不在可在线复诊的范围内"


class InvalidEvidence(DomainError):
    code = "invalid_evidence"
    status = 422
    title = "诊断证明文件无效"


def evidence_type(data: bytes) -> str:
    if not data:
        raise InvalidEvidence("文件为空")
    if len(data) > MAX_EVIDENCE_BYTES:
        raise InvalidEvidence("文件超过 5 MB")
    for magic, kind in EVIDENCE_SIGNATURES.items():
        if data.startswith(magic):
            return kind
    raise InvalidEvidence("只接受 PDF、JPEG 或 PNG 格式的病历、出院小结或诊断证明")


def _check(code: str, diagnosed_on: dt.date, today: dt.date) -> tuple[str, str]:
    code = normalise_code(code)
    disease = disease_for(code)
    if disease is None:
        raise DiseaseNotEligible(f"ICD-10 {code} 不在可在线复诊的慢性病范围内，请到医院就诊")
    if diagnosed_on > today:
        raise ValidationFailed("诊断日期不能晚于今天")
    return code, disease.name


def import_confirmed(
    session: Session,
    person: Person,
    code: str,
    diagnosed_on: dt.date,
    institution_name: str,
    doctor_name: str,
    reference: str | None,
    today: dt.date,
) -> OfflineDiagnosis:
    """A diagnosis the hospital platform sends us: made in person there, so confirmed."""
    code, name = _check(code, diagnosed_on, today)
    if reference:
        existing = session.scalar(
            select(OfflineDiagnosis).where(OfflineDiagnosis.platform_reference == reference)
        )
        if existing is not None:
            return existing  # the platform sent it again
    diagnosis = OfflineDiagnosis(
        person_id=person.id,
        icd10_code=code,
        disease_name=name,
        diagnosed_on=diagnosed_on,
        institution_name=institution_name,
        doctor_name=doctor_name,
        source=DiagnosisSource.platform,
        status=DiagnosisStatus.confirmed,
        platform_reference=reference,
    )
    session.add(diagnosis)
    session.flush()
    audit.record(
        session,
        Actor.system(),
        "diagnosis.import",
        "diagnosis",
        diagnosis.id,
        {"icd10": code, "reference": reference},
    )
    return diagnosis


def upload(
    session: Session,
    account: Account,
    person: Person,
    code: str,
    diagnosed_on: dt.date,
    institution_name: str,
    doctor_name: str,
    evidence: bytes,
    today: dt.date,
) -> OfflineDiagnosis:
    """The patient's own record of an offline diagnosis, pending a doctor's review."""
    code, name = _check(code, diagnosed_on, today)
    kind = evidence_type(evidence)
    diagnosis = OfflineDiagnosis(
        person_id=person.id,
        icd10_code=code,
        disease_name=name,
        diagnosed_on=diagnosed_on,
        institution_name=institution_name.strip(),
        doctor_name=doctor_name.strip(),
        source=DiagnosisSource.patient_upload,
        status=DiagnosisStatus.pending,
        evidence=evidence,
        evidence_type=kind,
        evidence_sha256=hashlib.sha256(evidence).hexdigest(),
        uploaded_by_account_id=account.id,
    )
    session.add(diagnosis)
    session.flush()
    audit.record(
        session,
        actor_of(account),
        "diagnosis.upload",
        "diagnosis",
        diagnosis.id,
        {"icd10": code, "evidence_sha256": diagnosis.evidence_sha256},
    )
    return diagnosis


def review(
    session: Session,
    practitioner: Practitioner,
    diagnosis_id: int,
    confirm: bool,
    note: str,
    now: dt.datetime,
) -> OfflineDiagnosis:
    """A doctor confirms (or rejects) an uploaded diagnosis after reading the evidence."""
    practitioner_rules.ensure_may_act(practitioner, now)
    diagnosis = session.get(OfflineDiagnosis, diagnosis_id, with_for_update=True)
    if diagnosis is None:
        raise NotFound("没有这条诊断记录")
    if diagnosis.status is not DiagnosisStatus.pending:
        raise InvalidState("该诊断已审核")
    disease = disease_for(diagnosis.icd10_code)
    if disease is not None and disease.department != practitioner.department:
        raise Forbidden(f"请由{disease.department}医生审核")
    diagnosis.status = DiagnosisStatus.confirmed if confirm else DiagnosisStatus.rejected
    diagnosis.reviewed_by_id = practitioner.id
    diagnosis.reviewed_at = now
    diagnosis.review_note = note.strip()[:200] or None
    session.flush()
    audit.record(
        session,
        actor_of(practitioner.account),
        "diagnosis.review",
        "diagnosis",
        diagnosis.id,
        {"status": diagnosis.status.value},
    )
    return diagnosis


def for_person(session: Session, person_id: int) -> list[OfflineDiagnosis]:
    return list(
        session.scalars(
            select(OfflineDiagnosis)
            .where(OfflineDiagnosis.person_id == person_id)
            .order_by(OfflineDiagnosis.diagnosed_on.desc())
        )
    )


def pending(session: Session, department: str) -> list[OfflineDiagnosis]:
    rows = session.scalars(
        select(OfflineDiagnosis)
        .where(OfflineDiagnosis.status == DiagnosisStatus.pending)
        .order_by(OfflineDiagnosis.created_at)
    )
    return [
        d
        for d in rows
        if (disease := disease_for(d.icd10_code)) and disease.department == department
    ]


def readable_evidence(
    session: Session, account: Account, diagnosis_id: int
) -> tuple[bytes, str | None]:
    """The evidence (bytes and type) of a diagnosis `account` may read, or NotFound (also for
    what exists but is not theirs to read, so ids cannot be probed). The patient (or their
    guardian) reads their own; a doctor only where the document is part of their work:
    reviewing it in their department, or a visit of that patient they have taken or may take."""
    diagnosis = session.get(OfflineDiagnosis, diagnosis_id)
    if diagnosis is None or diagnosis.evidence is None:
        raise NotFound("没有这份资料")
    if account.role is Role.doctor:
        doctor = session.scalar(select(Practitioner).where(Practitioner.account_id == account.id))
        if doctor is not None and _doctor_works_on(session, doctor, diagnosis):
            return diagnosis.evidence, diagnosis.evidence_type
        raise NotFound("没有这份资料")
    try:
        patients.care_context(session, account, diagnosis.person_id)
    except (Forbidden, DomainError):
        raise NotFound("没有这份资料") from None
    return diagnosis.evidence, diagnosis.evidence_type


def _doctor_works_on(session: Session, doctor: Practitioner, diagnosis: OfflineDiagnosis) -> bool:
    disease = disease_for(diagnosis.icd10_code)
    if diagnosis.reviewed_by_id == doctor.id:
        return True
    if diagnosis.status is DiagnosisStatus.pending:
        return disease is not None and disease.department == doctor.department
    visit = session.scalar(
        select(Consultation.id)
        .where(Consultation.person_id == diagnosis.person_id)
        .where(
            or_(
                Consultation.doctor_id == doctor.id,
                and_(
                    Consultation.state == ConsultationState.requested,
                    Consultation.department == doctor.department,
                ),
            )
        )
        .limit(1)
    )
    return visit is not None
