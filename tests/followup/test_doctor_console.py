"""Doctor console pages without a browser: reviewing uploaded diagnoses, refusals shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from followup.models import DiagnosisStatus, OfflineDiagnosis
from tests import factories
from tests.followup.helpers import patient_with_diagnosis, start_visit
from tests.helpers import csrf_token, sign_in
from tests.people import id_number


def test_doctor_confirms_an_uploaded_diagnosis(client: FlaskClient, session: Session) -> None:
    patient = factories.verified_patient()
    assert patient.person is not None
    upload = factories.diagnosis(patient.person, status=DiagnosisStatus.pending)
    upload.evidence, upload.evidence_type = b"%PDF-1.4 demo", "application/pdf"
    upload.evidence_sha256 = "0" * 64
    doctor = factories.practitioner()
    sign_in(client, doctor.account.username)
    page = client.get("/doctor/diagnoses").get_data(as_text=True)
    assert "原发性高血压" in page
    assert client.get(f"/doctor/diagnoses/{upload.id}/evidence").data == b"%PDF-1.4 demo"
    client.post(
        f"/doctor/diagnoses/{upload.id}/review",
        data={
            "csrf_token": csrf_token(client, "/doctor/diagnoses"),
            "decision": "confirm",
            "note": "出院小结核对无误",
        },
    )
    session.expire_all()
    reviewed = session.get(OfflineDiagnosis, upload.id)
    assert reviewed is not None
    assert reviewed.status is DiagnosisStatus.confirmed
    assert reviewed.reviewed_by_id == doctor.id


def test_review_without_face_check_is_refused_in_chinese(
    client: FlaskClient, session: Session
) -> None:
    patient = factories.verified_patient()
    assert patient.person is not None
    upload = factories.diagnosis(patient.person, status=DiagnosisStatus.pending)
    doctor = factories.practitioner(face_checked=False)
    sign_in(client, doctor.account.username)
    page = client.post(
        f"/doctor/diagnoses/{upload.id}/review",
        data={"csrf_token": csrf_token(client, "/doctor/diagnoses"), "decision": "confirm"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "人脸核验" in page
    session.expire_all()
    still = session.get(OfflineDiagnosis, upload.id)
    assert still is not None
    assert still.status is DiagnosisStatus.pending


def test_the_queue_page_does_not_query_once_per_visit(
    client: FlaskClient, session: Session, count_queries: Any
) -> None:
    doctor = factories.practitioner()
    sign_in(client, doctor.account.username)

    def waiting(n: int) -> None:
        born = dt.date(1980, 1, 1) + dt.timedelta(days=n)
        _, headers, diagnosis_id = patient_with_diagnosis(session, id_number(born))
        assert start_visit(client, headers, diagnosis_id).status_code == 201

    waiting(0)
    with count_queries() as one:
        assert client.get("/doctor/").status_code == 200
    for n in range(1, 5):
        waiting(n)
    with count_queries() as five:
        page = client.get("/doctor/").get_data(as_text=True)
    assert page.count("查看") >= 5
    assert len(five) == len(one), five
