"""Prescription services. Screening at every door that takes a drug, audited when it blocks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.audit import Actor
from core.errors import NotFound
from followup.models import Consultation
from identity.models import Account, Role
from prescriptions import document
from prescriptions.catalogue import products
from prescriptions.models import Drug, Prescription, PrescriptionVersion
from prescriptions.screening import Screened, screen


def screen_names(session: Session, actor: Actor, names: list[str], door: str) -> list[Screened]:
    """Screen what a door received; every blocked attempt leaves an audit event."""
    results = [screen(name, clock.today()) for name in names]
    for result in results:
        if result.blocked:
            audit.record(
                session,
                actor,
                "drug.blocked",
                "drug_name",
                result.name[:64],
                {
                    "door": door,
                    "class": result.control_class.value if result.control_class else None,
                    "known": result.known,
                },
            )
    return results


@dataclass(frozen=True)
class LoadReport:
    added: int
    updated: int
    retired: int
    blocked: int


def load_catalogue(session: Session, actor: Actor) -> LoadReport:
    """Bring the drugs table in line with the package's data files. Drugs that left the data
    are retired (kept for old prescriptions), never deleted. Running it again changes nothing."""
    existing = {d.code: d for d in session.scalars(select(Drug))}
    added = updated = blocked = 0
    today = clock.today()
    seen = set()
    for product in products():
        seen.add(product.code)
        result = screen(product.generic_name, today)
        values = {
            "generic_name": product.generic_name,
            "english_name": product.english_name,
            "brands": list(product.brands),
            "ingredients": list(product.ingredients),
            "dosage_form": product.dosage_form,
            "strength": product.strength,
            "route": product.route,
            "atc": product.atc,
            "rx": product.rx,
            "max_daily_dose_mg": product.max_daily_dose_mg,
            "control_class": result.control_class,
            "blocked": result.blocked,
            "source": product.source[:300],
            "active": True,
        }
        blocked += result.blocked
        drug = existing.get(product.code)
        if drug is None:
            session.add(Drug(code=product.code, **values))
            added += 1
        elif any(getattr(drug, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(drug, key, value)
            drug.updated_at = clock.now()
            updated += 1
    retired = 0
    for code, drug in existing.items():
        if code not in seen and drug.active:
            drug.active = False
            retired += 1
    session.flush()
    report = LoadReport(added, updated, retired, blocked)
    if added or updated or retired:
        audit.record(
            session,
            actor,
            "drug_catalogue.load",
            "drug_catalogue",
            "package",
            {"added": added, "updated": updated, "retired": retired},
        )
    return report


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
    return list(
        session.scalars(
            select(Prescription)
            .join(Consultation, Consultation.id == Prescription.consultation_id)
            .where(Consultation.account_id == account.id)
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
    header = document.Header(
        institution=institution.name if institution else "互联网医院",
        department=consultation.department,
        doctor_name=prescription.doctor.name,
        pharmacist_name=prescription.pharmacist.name if prescription.pharmacist else None,
        diagnosis_name=consultation.diagnosis.disease_name,
        allergies=prescription.person.allergy_list,
    )
    return document.render(prescription, header)


def for_consultation(session: Session, consultation_id: int) -> list[Prescription]:
    return list(
        session.scalars(
            select(Prescription)
            .where(Prescription.consultation_id == consultation_id)
            .order_by(Prescription.id)
        )
    )


def prescribable_names(session: Session) -> list[str]:
    """Generic names a doctor may pick from (active, not special-management)."""
    return list(
        session.scalars(
            select(Drug.generic_name)
            .where(Drug.active.is_(True), Drug.blocked.is_(False))
            .order_by(Drug.generic_name)
        )
    )


def drug_by_code(session: Session, code: str) -> Drug | None:
    return session.scalar(select(Drug).where(Drug.code == code))
