"""Prescriptions in the states tests start from, built through the services (no HTTP): a
patient with a confirmed diagnosis, a visit their doctor has taken, a prescription written and,
by trait, signed, approved by a pharmacist, or past its validity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pytest
from sqlalchemy.orm import Session

from core import clock
from identity.models import Account, Practitioner
from identity.rules import PractitionerKind, Title
from prescriptions import rules
from prescriptions.models import Prescription
from prescriptions.services import prescribing, review
from prescriptions.services.drugs import LoadReport
from tests import factories

Trait = Literal["written", "signed", "approved"]


@dataclass
class Prescribed:
    prescription: Prescription
    patient: Account
    doctor: Practitioner
    pharmacist: Practitioner | None = None


def prescribe(
    session: Session,
    trait: Trait = "signed",
    *,
    drug: str = "氨氯地平",
    dose: float = 5,
    times_per_day: int = 1,
    days: int = 28,
    id_number: str = "110105198503141235",
    now: dt.datetime | None = None,
) -> Prescribed:
    """One prescription of `drug` for a new patient, taken as far as `trait` says."""
    at = now or clock.now()
    patient = factories.verified_patient(id_number)
    assert patient.person is not None
    doctor = factories.practitioner()
    visit = factories.consultation(patient, factories.diagnosis(patient.person), doctor)
    draft = prescribing.Draft([rules.ItemDraft(drug, dose, times_per_day, days)], routes=[""])
    prescription = prescribing.prescribe(session, doctor.account, visit.id, draft, at)
    made = Prescribed(prescription, patient, doctor)
    if trait == "written":
        return made
    prescribing.sign(session, doctor.account, prescription.id, at)
    if trait == "signed":
        return made
    made.pharmacist = factories.practitioner(
        kind=PractitionerKind.pharmacist, department="药剂科", title=Title.supervising_pharmacist
    )
    claimed = review.claim_next(session, made.pharmacist.account, at)
    assert claimed is not None
    assert claimed.id == prescription.id, "another one was waiting"
    review.approve(session, made.pharmacist.account, prescription.id, at)
    return made


Build = Callable[..., Prescribed]


@pytest.fixture
def prescribed(session: Session, catalogue: LoadReport) -> Build:
    """`prescribed("approved", drug="二甲双胍", dose=500, times_per_day=2)`."""

    def build(trait: Trait = "signed", **kwargs: object) -> Prescribed:
        return prescribe(session, trait, **kwargs)  # type: ignore[arg-type]

    return build
