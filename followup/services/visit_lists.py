"""Lists of visits: a department's queue, a doctor's open visits, an account's and a person's
history — each loading what its rows show with the list."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from followup.models import Consultation, ConsultationState
from identity.models import Account, Practitioner

# What a list of visits shows for each: loaded with the list, not one query a row.
LISTED = (selectinload(Consultation.person), selectinload(Consultation.diagnosis))


def queue(session: Session, department: str) -> list[Consultation]:
    return list(
        session.scalars(
            select(Consultation)
            .where(
                Consultation.department == department,
                Consultation.state == ConsultationState.requested,
            )
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
                Consultation.state.in_([ConsultationState.accepted, ConsultationState.in_progress]),
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
