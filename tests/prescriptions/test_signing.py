"""The doctor's signature on a prescription: needs a fresh face check, only the prescriber,
and any change after signing voids it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from identity.models import Practitioner, Role
from identity.services import practitioners
from prescriptions.services.drugs import LoadReport
from tests import factories
from tests.followup.helpers import doctor_headers, patient_with_diagnosis, start_visit
from tests.helpers import bearer

ITEM = {"drug": "氨氯地平", "dose_mg": 5, "times_per_day": 1, "days": 28}


@pytest.fixture
def written(client: FlaskClient, session: Session, catalogue: LoadReport) -> dict[str, Any]:
    _, patient, diagnosis_id = patient_with_diagnosis(session)
    visit_id = start_visit(client, patient, diagnosis_id).json["id"]
    doctor = factories.practitioner()
    dr = doctor_headers(session, doctor)
    client.post(f"/api/v1/consultations/{visit_id}/accept", headers=dr)
    response = client.post(
        f"/api/v1/consultations/{visit_id}/prescriptions", json={"items": [ITEM]}, headers=dr
    )
    assert response.status_code == 201, response.json
    return {"id": response.json["id"], "doctor": doctor, "headers": dr}


def _sign(client: FlaskClient, written: dict, headers: dict | None = None) -> Any:
    return client.post(
        f"/api/v1/prescriptions/{written['id']}/sign", headers=headers or written["headers"]
    )


def _verify(client: FlaskClient, session: Session, written: dict) -> bool:
    result = client.get(
        f"/api/v1/prescriptions/{written['id']}/verify", headers=bearer(session, Role.pharmacist)
    )
    return bool(result.json["doctor_signature_valid"])


def test_signed_prescription_verifies(client: FlaskClient, session: Session, written: dict) -> None:
    assert not _verify(client, session, written)  # not signed yet
    response = _sign(client, written)
    assert response.status_code == 200, response.json
    assert response.json["state"] == "signed"
    assert _verify(client, session, written)
    assert _sign(client, written).json["code"] == "invalid_state"  # once


def test_any_change_after_signing_voids_the_signature(
    client: FlaskClient, session: Session, written: dict
) -> None:
    _sign(client, written)
    session.execute(text("UPDATE prescription_items SET days = 84"))
    session.expire_all()
    assert not _verify(client, session, written)


def test_signing_needs_a_fresh_face_check(
    client: FlaskClient, session: Session, written: dict
) -> None:
    doctor: Practitioner = written["doctor"]
    doctor.face_checked_until = None
    session.flush()
    assert _sign(client, written).json["code"] == "face_check_required"


def test_only_the_prescriber_signs(client: FlaskClient, session: Session, written: dict) -> None:
    other = doctor_headers(session, factories.practitioner())
    assert _sign(client, written, other).status_code == 403


def test_signature_survives_key_rotation(
    client: FlaskClient, session: Session, written: dict
) -> None:
    _sign(client, written)
    practitioners.rotate_key(session, written["doctor"], Actor.system(), clock.now())
    session.flush()
    assert _verify(client, session, written)


def test_a_signature_made_in_process_still_verifies_once_stored(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    """Whole-number doses given by code (not JSON) are signed as the database gives them back:
    the demo seed and any service caller sign what a pharmacy will later verify."""
    from followup.models import Consultation
    from prescriptions.rules import ItemDraft
    from prescriptions.services import prescribing

    _, patient, diagnosis_id = patient_with_diagnosis(session)
    visit_id = start_visit(client, patient, diagnosis_id).json["id"]
    doctor = factories.practitioner()
    client.post(f"/api/v1/consultations/{visit_id}/accept", headers=doctor_headers(session, doctor))
    assert session.get(Consultation, visit_id) is not None
    draft = prescribing.Draft(items=[ItemDraft("氨氯地平", 5, 1, 28)], routes=[""])
    written = prescribing.prescribe(session, doctor.account, visit_id, draft, clock.now())
    prescribing.sign(session, doctor.account, written.id, clock.now())
    session.commit()
    session.expire_all()
    assert prescribing.doctor_signature_valid(session, prescribing.get(session, written.id))
