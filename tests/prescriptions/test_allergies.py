"""Declared allergies stop a prescription whatever name the drug or the allergy goes by."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prescriptions.models import Prescription
from tests import factories
from tests.followup.helpers import doctor_headers, patient_with_diagnosis, start_visit

# Every test here prescribes from the shipped catalogue.
pytestmark = pytest.mark.usefixtures("catalogue")

ITEM = {"dose_mg": 5, "times_per_day": 1, "days": 28}


def _visit(client: FlaskClient, session: Session, allergies: list[str]) -> tuple[dict, int]:
    _, patient, diagnosis_id = patient_with_diagnosis(session)
    recorded = client.put("/api/v1/me/allergies", headers=patient, json={"allergies": allergies})
    assert recorded.status_code == 200, recorded.json
    visit_id = start_visit(client, patient, diagnosis_id).json["id"]
    dr = doctor_headers(session, factories.practitioner())
    client.post(f"/api/v1/consultations/{visit_id}/accept", headers=dr)
    return dr, visit_id


def _write(client: FlaskClient, dr: dict, visit_id: int, drug: str, dose: float = 5) -> object:
    return client.post(
        f"/api/v1/consultations/{visit_id}/prescriptions",
        headers=dr,
        json={"items": [{**ITEM, "drug": drug, "dose_mg": dose}]},
    )


@pytest.mark.parametrize(
    ("allergies", "drug", "dose"),
    [
        (["阿司匹林"], "拜阿司匹灵", 100),  # allergy by generic name, drug by brand
        (["拜阿司匹灵"], "阿司匹林肠溶片", 100),  # allergy by brand, drug by generic
        (["对阿司匹林过敏"], "asipilin", 100),  # the way people write it, and pinyin
        (["沙坦类药物"], "代文", 80),  # a class: 缬沙坦 is a 沙坦
        (["立普妥"], "阿托伐他汀", 20),
    ],
)
def test_a_drug_the_patient_is_allergic_to_is_refused(
    client: FlaskClient, session: Session, allergies: list[str], drug: str, dose: float
) -> None:
    dr, visit_id = _visit(client, session, allergies)
    before = session.scalar(select(func.count()).select_from(Prescription))
    response = _write(client, dr, visit_id, drug, dose)
    assert response.status_code == 422, response.json  # type: ignore[attr-defined]
    assert response.json["code"] == "allergy_conflict"  # type: ignore[attr-defined]
    assert session.scalar(select(func.count()).select_from(Prescription)) == before


def test_other_drugs_are_still_prescribed(client: FlaskClient, session: Session) -> None:
    dr, visit_id = _visit(client, session, ["青霉素", "阿司匹林"])
    response = _write(client, dr, visit_id, "氨氯地平")
    assert response.status_code == 201, response.json  # type: ignore[attr-defined]


def test_allergies_are_shown_to_the_patient_and_only_set_for_their_own(
    client: FlaskClient, session: Session
) -> None:
    _, patient, _ = patient_with_diagnosis(session)
    client.put("/api/v1/me/allergies", headers=patient, json={"allergies": [" 青霉素 ", "青霉素"]})
    me = client.get("/api/v1/me", headers=patient).json
    assert me["person"]["allergies"] == ["青霉素"]
    stranger = factories.person("310104199007084564", "李四")
    response = client.put(
        "/api/v1/me/allergies", headers=patient, json={"person_id": stranger.id, "allergies": []}
    )
    assert response.status_code == 403
    assert stranger.allergies is None
