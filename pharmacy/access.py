"""Which pharmacist may read a prescription: a store pharmacist (one who works at a retail
pharmacy) only those their pharmacy holds — reserved there, or dispensed there; a hospital
pharmacist only those they hold for review or have reviewed (the queue hands them out one at
a time). The patient's account and the prescriber are decided by
prescriptions.services.records.visible_to, the one rule for everyone else."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound
from identity.models import Account, Practitioner, Role
from pharmacy.models import Dispensing, Fulfilment, PharmacyPharmacist
from prescriptions.models import Prescription
from prescriptions.services import records


def store_pharmacies(session: Session, account: Account) -> set[int]:
    """The pharmacies an account works at as a store pharmacist (empty for everyone else)."""
    return set(
        session.scalars(
            select(PharmacyPharmacist.pharmacy_id)
            .join(Practitioner, Practitioner.id == PharmacyPharmacist.practitioner_id)
            .where(Practitioner.account_id == account.id)
        )
    )


def ensure_may_read(session: Session, account: Account, prescription: Prescription) -> None:
    records.visible_to(session, account, prescription)
    if account.role is not Role.pharmacist:
        return
    stores = store_pharmacies(session, account)
    if not stores:
        reviewer = session.scalar(
            select(Practitioner.id).where(Practitioner.account_id == account.id)
        )
        if reviewer is None or prescription.pharmacist_id != reviewer:
            raise NotFound("没有这张处方")
        return
    held = session.scalar(
        select(Fulfilment.pharmacy_id).where(Fulfilment.prescription_id == prescription.id)
    )
    dispensed = session.scalar(
        select(Dispensing.pharmacy_id).where(Dispensing.prescription_id == prescription.id)
    )
    if held not in stores and dispensed not in stores:
        raise NotFound("没有这张处方")
