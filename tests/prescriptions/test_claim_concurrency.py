"""Pharmacists claiming at the same moment, each in their own transaction (real commits on a
scratch PostgreSQL database): no prescription is held by two, and none is left behind while
another pharmacist waits on a lock."""

from __future__ import annotations

import threading
import time

import pytest
from alembic import command
from flask import Flask

from core import clock
from core.audit import Actor
from core.db import Database
from followup.models import ConsultationState
from identity.models import Account
from identity.rules import PractitionerKind, Title
from migrations import alembic_config
from prescriptions.models import Drug, Prescription, PrescriptionItem, PrescriptionState
from prescriptions.services import review
from prescriptions.services.drugs import load_catalogue
from tests import factories

PRESCRIPTIONS = 6
PHARMACISTS = 12


def _signed_prescriptions(database: Database) -> list[int]:
    with database.transaction() as session:
        factories.bind(session)
        try:
            load_catalogue(session, Actor.system())
            drug = (
                session.query(Drug).filter_by(generic_name="苯磺酸氨氯地平片", strength="5mg").one()
            )
            doctor = factories.practitioner()
            patient = factories.verified_patient()
            assert patient.person is not None
            diagnosis = factories.diagnosis(patient.person)
            ids = []
            for n in range(PRESCRIPTIONS):
                visit = factories.consultation(
                    patient, diagnosis, doctor, ConsultationState.in_progress, PRESCRIPTIONS - n
                )
                now = visit.requested_at
                prescription = Prescription(
                    consultation_id=visit.id,
                    person_id=patient.person.id,
                    doctor_id=doctor.id,
                    diagnosis_code=diagnosis.icd10_code,
                    state=PrescriptionState.signed,
                    issued_on=clock.today(),
                    valid_until=clock.today(),
                    doctor_signed_at=now,
                    revision=1,
                )
                prescription.items.append(
                    PrescriptionItem(
                        line=1,
                        drug_id=drug.id,
                        name_as_written="氨氯地平",
                        dose=5,
                        times_per_day=1,
                        route="口服",
                        days=28,
                    )
                )
                session.add(prescription)
                session.flush()
                ids.append(prescription.id)
            return ids
        finally:
            factories.bind(None)


def _pharmacists(database: Database) -> list[int]:
    with database.transaction() as session:
        factories.bind(session)
        try:
            return [
                factories.practitioner(
                    kind=PractitionerKind.pharmacist, department="药剂科", title=Title.pharmacist
                ).account_id
                for _ in range(PHARMACISTS)
            ]
        finally:
            factories.bind(None)


@pytest.mark.postgresql
@pytest.mark.usefixtures("app")  # configures the data key for the sealed columns
def test_simultaneous_claims_never_share_a_prescription(app: Flask, scratch_postgres: str) -> None:
    command.upgrade(alembic_config(scratch_postgres), "head")
    database = Database(scratch_postgres)
    try:
        prescriptions = _signed_prescriptions(database)
        pharmacists = _pharmacists(database)
        start = threading.Barrier(PHARMACISTS)
        claims: dict[int, int | None] = {}
        errors: list[BaseException] = []

        def claim(account_id: int) -> None:
            try:
                with database.transaction() as session:
                    account = session.get(Account, account_id)
                    assert account is not None
                    start.wait()
                    got = review.claim_next(session, account, clock.now())
                    claims[account_id] = got.id if got else None
                    # Hold the transaction (and the row lock) open while the others claim.
                    time.sleep(0.3)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=claim, args=(a,)) for a in pharmacists]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        claimed = [pid for pid in claims.values() if pid is not None]
        assert sorted(claimed) == sorted(prescriptions)  # each exactly once, none left behind
        with database.transaction() as session:
            holders = {
                p.id: p.pharmacist.account_id if p.pharmacist else None
                for p in session.query(Prescription)
            }
        assert holders == {pid: account for account, pid in claims.items() if pid is not None}
    finally:
        database.dispose()
