"""Offline-diagnosis API: the patient's list and uploads, the doctor's review, and the hospital
platform's import."""

from __future__ import annotations

from flask import Blueprint, Response, request

from core import clock
from followup.models import OfflineDiagnosis
from followup.schemas import (
    DiagnosisList,
    DiagnosisOut,
    DiagnosisReviewIn,
    DiagnosisUploadForm,
    PlatformDiagnosisIn,
)
from followup.services import diagnoses
from identity.models import Role
from identity.services import patients, practitioners
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation, upload
from web.platform_auth import platform_signed
from web.responses import json_model, private_file
from web.session import db_session

bp = Blueprint("api_diagnoses", __name__)


def diagnosis_out(d: OfflineDiagnosis) -> DiagnosisOut:
    out = DiagnosisOut.model_validate(d)
    out.has_evidence = d.evidence_sha256 is not None
    return out


@bp.get("/me/diagnoses")
@operation(
    "Offline diagnoses of the patient, or of a dependent with `?patient_id=`",
    tag="diagnoses",
    response=DiagnosisList,
    problems=("identity_unverified", "forbidden"),
)
@api_roles_required(Role.patient)
def mine() -> tuple[Response, int]:
    session = db_session()
    context = patients.care_context(
        session, api_account(), request.args.get("patient_id", type=int)
    )
    items = diagnoses.for_person(session, context.patient.id)
    return json_model(DiagnosisList(diagnoses=[diagnosis_out(d) for d in items]))


@bp.post("/me/diagnoses")
@operation(
    "Upload an offline diagnosis with its evidence (PDF, JPEG or PNG); a doctor confirms it",
    tag="diagnoses",
    form=DiagnosisUploadForm,
    files=("evidence",),
    response=DiagnosisOut,
    status=201,
    problems=("disease_not_eligible", "invalid_evidence", "identity_unverified"),
)
@api_roles_required(Role.patient)
def upload_diagnosis() -> tuple[Response, int]:
    data: DiagnosisUploadForm = body()
    evidence = upload("evidence", max_bytes=diagnoses.MAX_EVIDENCE_BYTES)
    session = db_session()
    account = api_account()
    context = patients.care_context(session, account, data.patient_id)
    diagnosis = diagnoses.upload(
        session,
        account,
        context.patient,
        data.icd10_code,
        data.diagnosed_on,
        data.institution_name,
        data.doctor_name,
        evidence,
        clock.today(),
    )
    return json_model(diagnosis_out(diagnosis), 201)


@bp.get("/doctor/diagnoses/pending")
@operation(
    "Uploaded diagnoses of the doctor's department waiting for review",
    tag="diagnoses",
    response=DiagnosisList,
)
@api_roles_required(Role.doctor)
def pending() -> tuple[Response, int]:
    session = db_session()
    doctor = practitioners.practitioner_for(session, api_account())
    items = diagnoses.pending(session, doctor.department)
    return json_model(DiagnosisList(diagnoses=[diagnosis_out(d) for d in items]))


@bp.post("/diagnoses/<int:diagnosis_id>/review")
@operation(
    "Confirm or reject an uploaded diagnosis (fresh face check)",
    tag="diagnoses",
    body=DiagnosisReviewIn,
    response=DiagnosisOut,
    problems=("invalid_state", "face_check_required", "forbidden"),
)
@api_roles_required(Role.doctor)
def review(diagnosis_id: int) -> tuple[Response, int]:
    data: DiagnosisReviewIn = body()
    session = db_session()
    doctor = practitioners.practitioner_for(session, api_account())
    diagnosis = diagnoses.review(
        session, doctor, diagnosis_id, data.confirm, data.note, clock.now()
    )
    return json_model(diagnosis_out(diagnosis))


@bp.get("/diagnoses/<int:diagnosis_id>/evidence")
@operation(
    "The evidence document of an uploaded diagnosis", tag="diagnoses", problems=("not_found",)
)
@api_roles_required(Role.patient, Role.doctor)
def evidence(diagnosis_id: int) -> Response:
    data, kind = diagnoses.readable_evidence(db_session(), api_account(), diagnosis_id)
    return private_file(data, kind)


@bp.post("/platform/diagnoses")
@operation(
    "Hospital platform: a confirmed offline diagnosis for a registered patient (HMAC-signed)",
    tag="platform",
    body=PlatformDiagnosisIn,
    response=DiagnosisOut,
    status=201,
    problems=("bad_signature", "unknown_patient", "disease_not_eligible"),
    public=True,
)
@platform_signed
def platform_import() -> tuple[Response, int]:
    data: PlatformDiagnosisIn = body()
    session = db_session()
    person = patients.person_by_id_number(session, data.id_number.strip().upper())
    if person is None:
        raise ApiProblem(404, "unknown_patient", "该患者尚未在互联网医院实名登记")
    diagnosis = diagnoses.import_confirmed(
        session,
        person,
        data.icd10_code,
        data.diagnosed_on,
        data.institution_name,
        data.doctor_name,
        data.reference,
        clock.today(),
    )
    return json_model(diagnosis_out(diagnosis), 201)
