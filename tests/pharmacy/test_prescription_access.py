"""Which pharmacist reads a prescription: a store pharmacist only those their pharmacy holds
(reserved or dispensed there), never another pharmacy's; a hospital pharmacist only those
they reviewed; the patient and the prescriber always."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.errors import NotFound
from identity.models import Account, Role
from identity.rules import PractitionerKind
from pharmacy import access
from pharmacy.models import Dispensing, Fulfilment, FulfilmentMethod, FulfilmentState
from prescriptions.models import Prescription
from prescriptions.services.drugs import LoadReport
from tests import factories
from tests.pharmacy.helpers import pharmacist_at, pharmacy
from tests.prescriptions.helpers import written_prescription


def refused(session: Session, account: Account, prescription: Prescription) -> bool:
    """Refused as "not found" (so ids cannot be probed), or let through."""
    try:
        access.ensure_may_read(session, account, prescription)
    except NotFound as exc:
        return exc.detail == "没有这张处方"
    return False


@pytest.fixture
def setting(client: FlaskClient, session: Session, catalogue: LoadReport) -> dict[str, Any]:
    written = written_prescription(client, session)
    prescription = session.get(Prescription, written.id)
    assert prescription is not None
    here, there = pharmacy(session, code="PH-1"), pharmacy(session, code="PH-2")
    return {
        "written": written,
        "prescription": prescription,
        "here": here,
        "there": there,
        "at_here": pharmacist_at(session, here),
        "at_there": pharmacist_at(session, there),
    }


def test_the_pharmacies_a_store_pharmacist_works_at(
    session: Session, setting: dict[str, Any]
) -> None:
    here, there = setting["here"], setting["there"]
    both = pharmacist_at(session, here)
    from pharmacy.models import PharmacyPharmacist

    session.add(PharmacyPharmacist(pharmacy_id=there.id, practitioner_id=both.id))
    session.flush()
    assert access.store_pharmacies(session, setting["at_here"].account) == {here.id}
    assert access.store_pharmacies(session, both.account) == {here.id, there.id}
    assert access.store_pharmacies(session, setting["written"].doctor.account) == set()


def test_a_store_pharmacist_reads_only_what_their_pharmacy_holds(
    session: Session, setting: dict[str, Any]
) -> None:
    prescription, here = setting["prescription"], setting["here"]
    at_here, at_there = setting["at_here"].account, setting["at_there"].account
    assert refused(session, at_here, prescription)  # held nowhere yet
    assert refused(session, at_there, prescription)
    session.add(
        Fulfilment(
            prescription_id=prescription.id,
            method=FulfilmentMethod.pickup,
            state=FulfilmentState.reserved,
            pharmacy_id=here.id,
        )
    )
    session.flush()
    assert not refused(session, at_here, prescription)
    assert refused(session, at_there, prescription)  # another pharmacy's prescription


def test_the_pharmacy_that_dispensed_it_reads_it(session: Session, setting: dict[str, Any]) -> None:
    prescription, there = setting["prescription"], setting["there"]
    session.add(
        Dispensing(
            prescription_id=prescription.id,
            pharmacy_id=there.id,
            pharmacist_id=setting["at_there"].id,
            lots=[],
        )
    )
    session.flush()
    assert not refused(session, setting["at_there"].account, prescription)
    assert refused(session, setting["at_here"].account, prescription)


def test_a_hospital_pharmacist_reads_only_what_they_reviewed(
    session: Session, setting: dict[str, Any]
) -> None:
    prescription = setting["prescription"]
    reviewer = factories.practitioner(kind=PractitionerKind.pharmacist, department="药剂科")
    another = factories.practitioner(kind=PractitionerKind.pharmacist, department="药剂科")
    assert refused(session, reviewer.account, prescription)  # nobody holds it yet
    prescription.pharmacist_id = reviewer.id
    session.flush()
    assert not refused(session, reviewer.account, prescription)
    assert refused(session, another.account, prescription)


def test_a_pharmacist_account_without_a_practitioner_reads_nothing(
    session: Session, setting: dict[str, Any]
) -> None:
    bare = factories.account(role=Role.pharmacist)
    assert refused(session, bare, setting["prescription"])


def test_the_patient_and_the_prescriber_read_it(session: Session, setting: dict[str, Any]) -> None:
    written, prescription = setting["written"], setting["prescription"]
    assert not refused(session, written.patient, prescription)
    assert not refused(session, written.doctor.account, prescription)
    other_doctor = factories.practitioner()
    assert refused(session, other_doctor.account, prescription)
