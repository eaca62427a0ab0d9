"""Writing prescriptions: each refusal, and controlled drugs never written under any name."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import AuditEvent
from followup.models import Consultation
from prescriptions.models import Prescription
from prescriptions.services.drugs import LoadReport
from tests import factories
from tests.followup.helpers import doctor_headers, patient_with_diagnosis, start_visit
from tests.helpers import bearer

AMLODIPINE = {"drug": "氨氯地平", "dose_mg": 5, "times_per_day": 1, "days": 28}


@pytest.fixture
def visit(client: FlaskClient, session: Session, catalogue: LoadReport) -> dict[str, Any]:
    _, patient, diagnosis_id = patient_with_diagnosis(session)
    visit_id = start_visit(client, patient, diagnosis_id).json["id"]
    doctor = factories.practitioner()
    dr = doctor_headers(session, doctor)
    assert client.post(f"/api/v1/consultations/{visit_id}/accept", headers=dr).status_code == 200
    return {"id": visit_id, "doctor": dr, "patient": patient}


def _write(client: FlaskClient, visit: dict, items: list[dict], **extra: Any) -> Any:
    headers = extra.pop("headers", None) or visit["doctor"]
    return client.post(
        f"/api/v1/consultations/{visit['id']}/prescriptions",
        json={"items": items, **extra},
        headers=headers,
    )


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Prescription)) or 0


def test_doctor_writes_a_prescription(client: FlaskClient, session: Session, visit: dict) -> None:
    response = _write(
        client,
        visit,
        [AMLODIPINE, {**AMLODIPINE, "drug": "二甲双胍片", "dose_mg": 500, "times_per_day": 2}],
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert [i["generic_name"] for i in body["items"]] == ["苯磺酸氨氯地平片", "二甲双胍片"]
    assert body["valid_until"] == body["issued_on"]  # valid on the day issued
    assert body["state"] == "written"


@pytest.mark.parametrize(
    "items",
    [
        [{**AMLODIPINE, "drug": "奥施康定"}],
        [{**AMLODIPINE, "drug": "qiangkaotong"}],
        [{**AMLODIPINE, "drug": "ＯＸＹＣＯＤＯＮＥ"}],
        [{**AMLODIPINE, "drug": "氨酚待因片"}],
        [{**AMLODIPINE, "drug": "思 诺 思"}],
        [AMLODIPINE, {**AMLODIPINE, "drug": "二甲双胍"}, {**AMLODIPINE, "drug": "地西泮片 2.5mg"}],
    ],
)
def test_controlled_drugs_are_never_written(
    client: FlaskClient, session: Session, visit: dict, items: list[dict]
) -> None:
    response = _write(client, visit, items, stable_chronic_reason="稳定")
    assert response.status_code == 422
    assert response.json["code"] == "controlled_drug"
    assert _count(session) == 0
    blocked = session.scalars(select(AuditEvent).where(AuditEvent.action == "drug.blocked")).all()
    assert blocked
    assert blocked[-1].detail["door"] == "prescribe"


@pytest.mark.parametrize(
    ("items", "extra", "code"),
    [
        ([{**AMLODIPINE, "drug": "维他命X"}], {}, "unknown_drug"),
        (
            [
                {**AMLODIPINE, "drug": d}
                for d in (
                    "氨氯地平",
                    "二甲双胍片 500mg",
                    "阿托伐他汀钙片 10mg",
                    "氯沙坦钾片 50mg",
                    "阿司匹林肠溶片 100mg",
                    "奥美拉唑",
                )
            ],
            {},
            "too_many_items",
        ),
        ([{**AMLODIPINE, "days": 29}], {}, "supply_too_long"),
        (
            [{**AMLODIPINE, "days": 85}],
            {"stable_chronic_reason": "病情稳定，依从性好"},
            "supply_too_long",
        ),
        ([AMLODIPINE, {**AMLODIPINE, "drug": "络活喜"}], {}, "duplicate_therapy"),
        ([{**AMLODIPINE, "dose_mg": 10, "times_per_day": 2}], {}, "dose_exceeds_max"),
    ],
)
def test_refusals_save_nothing(
    client: FlaskClient, session: Session, visit: dict, items: list[dict], extra: dict, code: str
) -> None:
    response = _write(client, visit, items, **extra)
    assert response.status_code == 422, response.json
    assert response.json["code"] == code
    assert _count(session) == 0


def test_twelve_weeks_for_a_stable_chronic_patient_with_a_reason(
    client: FlaskClient, session: Session, visit: dict
) -> None:
    response = _write(
        client,
        visit,
        [{**AMLODIPINE, "days": 84}],
        stable_chronic_reason="血压控制平稳 1 年，依从性良好，已告知患者",
    )
    assert response.status_code == 201, response.json


def test_only_the_consulting_doctor_prescribes(
    client: FlaskClient, session: Session, visit: dict
) -> None:
    other = doctor_headers(session, factories.practitioner())
    assert _write(client, visit, [AMLODIPINE], headers=other).status_code in {403, 404}
    assert _write(client, visit, [AMLODIPINE], headers=visit["patient"]).status_code == 403
    assert _count(session) == 0


def test_no_prescription_without_an_accepted_visit(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    _, patient, diagnosis_id = patient_with_diagnosis(session)
    visit_id = start_visit(client, patient, diagnosis_id).json["id"]
    doctor = factories.practitioner()
    response = _write(
        client, {"id": visit_id, "doctor": doctor_headers(session, doctor)}, [AMLODIPINE]
    )
    assert response.status_code in {403, 409}
    assert _count(session) == 0


def test_child_under_six_needs_guardian_and_accompanying_physician(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    parent = factories.verified_patient()
    child = factories.child_of(parent)  # under 6, ID …0116
    diagnosis = factories.diagnosis(child, code="J45.900", name="支气管哮喘")
    doctor = factories.practitioner(department="呼吸内科")
    dr = doctor_headers(session, doctor)
    visit_id = start_visit(
        client, bearer(session, account=parent), diagnosis.id, patient_id=child.id
    ).json["id"]
    client.post(f"/api/v1/consultations/{visit_id}/accept", headers=dr)
    item = {"drug": "孟鲁司特钠片", "dose_mg": 4, "times_per_day": 1, "days": 14}
    visit = {"id": visit_id, "doctor": dr}
    refused = _write(client, visit, [item])
    assert refused.json["code"] == "guardian_required"
    written = _write(client, visit, [item], accompanying_physician="儿科 孙医生")
    assert written.status_code == 201, written.json
    row = session.get(Consultation, visit_id)
    assert row is not None
    assert row.guardian_person_id == parent.person_id
