"""A patient's prescriptions as records: who may see one, the account's list, the versions kept
on every change, the prescriptions of a visit, and the document (处方笺) as a PDF."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import runtime
from core.errors import NotFound
from followup.models import Consultation
from identity.models import Account, Role
from prescriptions import document
from prescriptions.models import Prescription, PrescriptionItem, PrescriptionVersion


def visible_to(session: Session, account: Account, prescription: Prescription) -> None:
    """Who may see a prescription: the patient's account (self or guardian), its prescriber,
    and pharmacists. Anyone else gets "not found", so ids cannot be probed."""
    if account.role is Role.pharmacist:
        return
    if account.role is Role.patient and prescription.consultation.account_id == account.id:
        return
    if account.role is Role.doctor and prescription.doctor.account_id == account.id:
        return
    raise NotFound("没有这张处方")


def for_patient(session: Session, account: Account) -> list[Prescription]:
    """The account's prescriptions with what their pages show, loaded at once (no query per
    prescription)."""
    return list(
        session.scalars(
            select(Prescription)
            .join(Consultation, Consultation.id == Prescription.consultation_id)
            .where(Consultation.account_id == account.id)
            .options(
                selectinload(Prescription.items).selectinload(PrescriptionItem.drug),
                selectinload(Prescription.doctor),
                selectinload(Prescription.pharmacist),
            )
            .order_by(Prescription.id.desc())
        )
    )


def versions(session: Session, prescription: Prescription) -> list[PrescriptionVersion]:
    return list(
        session.scalars(
            select(PrescriptionVersion)
            .where(PrescriptionVersion.prescription_id == prescription.id)
            .order_by(PrescriptionVersion.revision)
        )
    )


def document_pdf(prescription: Prescription) -> bytes:
    consultation = prescription.consultation
    institution = prescription.doctor.account.institution
    settings = runtime.current().settings
    signatures = Path(settings.signature_images_dir) if settings.signature_images_dir else None
    pharmacist = prescription.pharmacist
    header = document.Header(
        institution=institution.name if institution else "互联网医院",
        department=consultation.department,
        doctor_name=prescription.doctor.name,
        pharmacist_name=pharmacist.name if pharmacist else None,
        diagnosis_name=consultation.diagnosis.disease_name,
        allergies=prescription.person.allergy_list,
        seal_image=settings.prescription_seal_image or None,
        doctor_signature_image=_signature(signatures, prescription.doctor.licence_number),
        pharmacist_signature_image=_signature(signatures, pharmacist.licence_number)
        if pharmacist
        else None,
    )
    return document.render(prescription, header)


def _signature(directory: Path | None, licence_number: str) -> str | None:
    """The practitioner's handwritten signature image, if the hospital keeps one."""
    if directory is None or not licence_number.isalnum():
        return None  # the licence number names a file: nothing but letters and digits
    path = directory / f"{licence_number}.png"
    return str(path) if path.is_file() else None


def for_consultation(session: Session, consultation_id: int) -> list[Prescription]:
    return list(
        session.scalars(
            select(Prescription)
            .where(Prescription.consultation_id == consultation_id)
            .order_by(Prescription.id)
        )
    )
