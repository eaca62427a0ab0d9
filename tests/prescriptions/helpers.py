"""A prescription waiting for review, and pharmacists to review it, through the real API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from identity.models import Account, Practitioner
from identity.rules import PractitionerKind, Title
from tests import factories
from tests.followup.helpers import doctor_headers, patient_with_diagnosis, start_visit
from tests.helpers import bearer

ITEM = {"drug": "氨氯地平", "dose_mg": 5, "times_per_day": 1, "days": 28}


@dataclass
class Written:
    id: int
    patient: Account
    patient_headers: dict
    doctor: Practitioner
    doctor_headers: dict


def written_prescription(
    client: FlaskClient,
    session: Session,
    id_number: str = "110105198503141235",
    items: list[dict] | None = None,
    sign: bool = True,
) -> Written:
    account, patient, diagnosis_id = patient_with_diagnosis(session, id_number)
    visit_id = start_visit(client, patient, diagnosis_id).json["id"]
    doctor = factories.practitioner()
    dr = doctor_headers(session, doctor)
    client.post(f"/api/v1/consultations/{visit_id}/accept", headers=dr)
    response = client.post(
        f"/api/v1/consultations/{visit_id}/prescriptions",
        json={"items": items or [ITEM]},
        headers=dr,
    )
    assert response.status_code == 201, response.json
    pid = int(response.json["id"])
    if sign:
        signed = client.post(f"/api/v1/prescriptions/{pid}/sign", headers=dr)
        assert signed.status_code == 200, signed.json
    return Written(pid, account, patient, doctor, dr)


def pharmacist_headers(session: Session, **kwargs: Any) -> dict:
    pharmacist = factories.practitioner(
        kind=PractitionerKind.pharmacist,
        department="药剂科",
        title=Title.supervising_pharmacist,
        **kwargs,
    )
    return bearer(session, account=pharmacist.account)


def claim(client: FlaskClient, headers: dict) -> Any:
    return client.post("/api/v1/pharmacist/claim", headers=headers).json


def approved_prescription(client: FlaskClient, session: Session, **kwargs: Any) -> Written:
    written = written_prescription(client, session, **kwargs)
    ph = pharmacist_headers(session)
    assert claim(client, ph)["prescription"]["id"] == written.id
    approved = client.post(f"/api/v1/prescriptions/{written.id}/approve", headers=ph)
    assert approved.status_code == 200, approved.json
    return written
