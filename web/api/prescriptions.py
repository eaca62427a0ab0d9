"""Prescription API: the consulting doctor writes a prescription in an accepted visit."""

from __future__ import annotations

from flask import Blueprint, Response

from core import clock
from identity.models import Role
from prescriptions import prescribing, review, rules
from prescriptions.models import Prescription
from prescriptions.prescribing import Draft, prescribe
from prescriptions.schemas import (
    ItemOut,
    PrescriptionIn,
    PrescriptionOut,
    RejectIn,
    ReviewQueueOut,
    VerificationOut,
)
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation
from web.responses import json_model
from web.session import commit_now, db_session

bp = Blueprint("api_prescriptions", __name__)


def prescription_out(p: Prescription) -> PrescriptionOut:
    return PrescriptionOut(
        id=p.id,
        consultation_id=p.consultation_id,
        state=p.state.value,
        state_label=p.state.label,
        diagnosis_code=p.diagnosis_code,
        issued_on=p.issued_on,
        valid_until=p.valid_until,
        doctor_signature_key=p.doctor_signature_key,
        doctor_signed_at=p.doctor_signed_at,
        items=[
            ItemOut(
                line=i.line,
                drug_id=i.drug.code,
                generic_name=i.drug.generic_name,
                name_as_written=i.name_as_written,
                strength=i.drug.strength,
                dose_mg=i.dose_mg,
                times_per_day=i.times_per_day,
                route=i.route,
                days=i.days,
            )
            for i in p.items
        ],
    )


@bp.post("/consultations/<int:consultation_id>/prescriptions")
@operation(
    "Write a prescription in an accepted visit (the consulting doctor only)",
    tag="prescriptions",
    body=PrescriptionIn,
    response=PrescriptionOut,
    status=201,
    problems=(
        "controlled_drug",
        "unknown_drug",
        "too_many_items",
        "supply_too_long",
        "guardian_required",
        "duplicate_therapy",
        "dose_exceeds_max",
        "invalid_state",
        "forbidden",
        "not_found",
    ),
    description="Special-management drugs are refused under any name (never overridable); "
    "every blocked attempt is audited.",
)
@api_roles_required(Role.doctor)
def write(consultation_id: int) -> tuple[Response, int]:
    data: PrescriptionIn = body()
    draft = Draft(
        items=[rules.ItemDraft(i.drug, i.dose_mg, i.times_per_day, i.days) for i in data.items],
        routes=[i.route for i in data.items],
        stable_chronic_reason=data.stable_chronic_reason,
        accompanying_physician=data.accompanying_physician,
        extra_valid_days=data.valid_days - 1,
    )
    try:
        prescription = prescribe(db_session(), api_account(), consultation_id, draft, clock.now())
    except rules.ControlledDrug:
        commit_now()  # the blocked attempt stays in the audit trail
        raise
    return json_model(prescription_out(prescription), 201)


@bp.post("/prescriptions/<int:prescription_id>/sign")
@operation(
    "The prescriber signs the prescription (fresh face check; Ed25519 over its content)",
    tag="prescriptions",
    response=PrescriptionOut,
    problems=("face_check_required", "practitioner_not_eligible", "invalid_state", "forbidden"),
)
@api_roles_required(Role.doctor)
def sign(prescription_id: int) -> tuple[Response, int]:
    prescription = prescribing.sign(db_session(), api_account(), prescription_id, clock.now())
    return json_model(prescription_out(prescription))


@bp.get("/prescriptions/<int:prescription_id>/verify")
@operation(
    "Check the signatures against the prescription's current content",
    tag="prescriptions",
    response=VerificationOut,
    problems=("not_found",),
)
@api_roles_required(Role.doctor, Role.pharmacist, Role.kiosk)
def verify(prescription_id: int) -> tuple[Response, int]:
    session = db_session()
    prescription = prescribing.get(session, prescription_id)
    return json_model(
        VerificationOut(
            prescription_id=prescription.id,
            doctor_signature_valid=prescribing.doctor_signature_valid(session, prescription),
            doctor_signature_key=prescription.doctor_signature_key,
            pharmacist_signature_valid=review.pharmacist_signature_valid(session, prescription),
        )
    )


@bp.post("/pharmacist/claim")
@operation(
    "Claim the oldest prescription waiting for review (row-locked: never two pharmacists)",
    tag="prescriptions",
    response=ReviewQueueOut,
    problems=("practitioner_not_eligible", "forbidden", "check_unavailable"),
)
@api_roles_required(Role.pharmacist)
def claim() -> tuple[Response, int]:
    now = clock.now()
    prescription = review.claim_next(db_session(), api_account(), now)
    if prescription is None:
        return json_model(ReviewQueueOut(prescription=None))
    findings = review.pre_review(prescription, now.date())
    return json_model(
        ReviewQueueOut(prescription=prescription_out(prescription), findings=findings)
    )


@bp.post("/prescriptions/<int:prescription_id>/approve")
@operation(
    "Approve and sign as pharmacist (fresh face check; never one's own prescription)",
    tag="prescriptions",
    response=PrescriptionOut,
    problems=("invalid_state", "face_check_required", "check_unavailable", "forbidden"),
)
@api_roles_required(Role.pharmacist)
def approve(prescription_id: int) -> tuple[Response, int]:
    prescription = review.approve(db_session(), api_account(), prescription_id, clock.now())
    return json_model(prescription_out(prescription))


@bp.post("/prescriptions/<int:prescription_id>/reject")
@operation(
    "Return the prescription to the doctor with a reason code and a note",
    tag="prescriptions",
    body=RejectIn,
    response=PrescriptionOut,
    problems=("invalid_state", "forbidden", "validation_error"),
)
@api_roles_required(Role.pharmacist)
def reject(prescription_id: int) -> tuple[Response, int]:
    data: RejectIn = body()
    try:
        reason = review.RejectReason(data.reason)
    except ValueError:
        raise ApiProblem(422, "validation_error", "退回理由代码无效") from None
    prescription = review.reject(
        db_session(), api_account(), prescription_id, reason, data.note, clock.now()
    )
    return json_model(prescription_out(prescription))
