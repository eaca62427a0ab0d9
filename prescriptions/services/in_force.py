"""The patient's medicines in force: what other prescriptions have them taking, or about to.

A prescription counts while it is written, signed or approved and still valid (not yet
dispensed: its whole supply is ahead), and once dispensed for as long as its days of supply
last from the day it was dispensed. Rejected and expired ones do not count. The medicines the
patient reports taking (prescribed elsewhere, over the counter) count until they say they
stopped."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.clock import day_of
from prescriptions.medication import Medicine
from prescriptions.models import Drug, Prescription, PrescriptionItem, PrescriptionState
from prescriptions.services.reported import current

PENDING = (PrescriptionState.written, PrescriptionState.signed, PrescriptionState.approved)


def medicine_of(drug: Drug, days: int, source: str = "本处方") -> Medicine:
    """A catalogue drug as the medication checks see it."""
    return Medicine(drug.generic_name, tuple(drug.ingredients), drug.atc, days, source)


def prescribed_in_force(
    session: Session, person_id: int, day: dt.date, *, excluding: int | None = None
) -> list[Medicine]:
    """The drugs of the person's other prescriptions still in force on `day`."""
    rows = session.scalars(
        select(Prescription)
        .where(Prescription.person_id == person_id)
        .where(Prescription.state.in_(PENDING))
        .options(selectinload(Prescription.items).selectinload(PrescriptionItem.drug))
        .order_by(Prescription.id)
    ).all()
    found: list[Medicine] = []
    for prescription in rows:
        if prescription.id == excluding:
            continue
        for item in prescription.items:
            if prescription.redeemed_at is not None:
                left = (day_of(prescription.redeemed_at) + dt.timedelta(days=item.days) - day).days
                status = f"已取药，剩 {left} 天"
            elif prescription.valid_until >= day:
                left = item.days
                status = prescription.state.label
            else:
                continue
            if left > 0:
                found.append(medicine_of(item.drug, left, f"处方 #{prescription.id}，{status}"))
    return found


def medicines_in_force(
    session: Session, person_id: int, day: dt.date, *, excluding: int | None = None
) -> list[Medicine]:
    """Prescribed and reported: everything the checks hold a new prescription against."""
    reported = [
        # Taken for as long as the patient says: no supply to add up (days 0).
        Medicine(r.name, tuple(r.ingredients), r.atc, 0, "患者自述在用")
        for r in current(session, person_id)
    ]
    return prescribed_in_force(session, person_id, day, excluding=excluding) + reported
