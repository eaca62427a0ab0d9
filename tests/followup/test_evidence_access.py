"""Who reads a diagnosis's evidence (a discharge summary, a lab report): the patient and their
guardian, and a doctor only where it is their work — reviewing it in their department, or a
visit of that patient they took or may take. Anyone else gets 404, as if it did not exist."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from followup.models import ConsultationState, DiagnosisStatus, OfflineDiagnosis
from identity.models import Account
from tests import factories
from tests.helpers import bearer, sign_in

PDF = b"%PDF-1.4 discharge summary"


def _with_evidence(row: OfflineDiagnosis) -> OfflineDiagnosis:
    row.evidence, row.evidence_type, row.evidence_sha256 = PDF, "application/pdf", "0" * 64
    return row


def _reads(client: FlaskClient, session: Session, account: Account, diagnosis_id: int) -> int:
    url = f"/api/v1/diagnoses/{diagnosis_id}/evidence"
    response = client.get(url, headers=bearer(session, account=account))
    if response.status_code == 200:
        assert response.data == PDF
    return response.status_code


def test_a_pending_upload_is_read_by_its_department_only(
    client: FlaskClient, session: Session
) -> None:
    patient = factories.verified_patient()
    assert patient.person is not None
    upload = _with_evidence(factories.diagnosis(patient.person, status=DiagnosisStatus.pending))
    cardiology = factories.practitioner(department="心血管内科")
    endocrinology = factories.practitioner(department="内分泌科")
    assert _reads(client, session, patient, upload.id) == 200
    assert _reads(client, session, cardiology.account, upload.id) == 200  # 高血压 is theirs
    assert _reads(client, session, endocrinology.account, upload.id) == 404
    stranger = factories.verified_patient("11010519491231002X", "王五")
    assert _reads(client, session, stranger, upload.id) == 404


def test_a_confirmed_diagnosis_is_read_by_the_doctors_of_that_patient(
    client: FlaskClient, session: Session
) -> None:
    patient = factories.verified_patient()
    assert patient.person is not None
    confirmed = _with_evidence(factories.diagnosis(patient.person))
    own_doctor = factories.practitioner()
    other_doctor = factories.practitioner()
    factories.consultation(patient, confirmed, own_doctor, state=ConsultationState.completed)
    assert _reads(client, session, own_doctor.account, confirmed.id) == 200
    # Any other doctor, even of the same department, no longer reads it (before: any doctor).
    assert _reads(client, session, other_doctor.account, confirmed.id) == 404
    pharmacist = factories.practitioner(kind=factories.PractitionerKind.pharmacist)
    assert _reads(client, session, pharmacist.account, confirmed.id) == 403


def test_a_waiting_visit_lets_its_department_read_before_accepting(
    client: FlaskClient, session: Session
) -> None:
    patient = factories.verified_patient()
    assert patient.person is not None
    confirmed = _with_evidence(factories.diagnosis(patient.person))
    cardiology = factories.practitioner()
    factories.consultation(patient, confirmed, cardiology, state=ConsultationState.requested)
    on_duty = factories.practitioner()  # same department, the visit waits in their queue
    assert _reads(client, session, on_duty.account, confirmed.id) == 200


def test_the_console_applies_the_same_rule(client: FlaskClient, session: Session) -> None:
    patient = factories.verified_patient()
    assert patient.person is not None
    confirmed = _with_evidence(factories.diagnosis(patient.person))
    sign_in(client, factories.practitioner().account.username)
    assert client.get(f"/doctor/diagnoses/{confirmed.id}/evidence").status_code == 404
