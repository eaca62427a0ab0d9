"""Prescription API: the consulting doctor writes a prescription in an accepted visit."""

from __future__ import annotations

from flask import Blueprint, Response

from core import clock
from identity.models import Role
from pharmacy import access
from prescriptions import dosing, rules
from prescriptions.models import Prescription
from prescriptions.schemas import (
    ItemOut,
    PrescriptionIn,
    PrescriptionList,
    PrescriptionOut,
    SignatureCheckOut,
)
from prescriptions.services import long_term, prescribing, records, review
from prescriptions.services.prescribing import Draft, prescribe
from web.auth import api_account, api_roles_required
from web.openapi import body, operation
from web.responses import json_model, private_file
from web.session import commit_now, db_session

bp = Blueprint("api_prescriptions", __name__)

REFUSALS = (
    "controlled_drug",
    "unknown_drug",
    "too_many_items",
    "supply_too_long",
    "guardian_required",
    "duplicate_therapy",
    "allergy_conflict",
    "dose_exceeds_max",
    "long_term_excluded",
    "interaction_contraindicated",
    "supply_too_long_in_force",
    "dose_unit_mismatch",
    "unknown_frequency",
    "invalid_state",
    "forbidden",
    "not_found",
)


def prescription_out(p: Prescription, for_patient: bool = False) -> PrescriptionOut:
    show_code = for_patient and p.code_usable(clock.today())
    long = long_term.needs_consent(p)
    return PrescriptionOut(
        id=p.id,
        revision=p.revision,
        consultation_id=p.consultation_id,
        state=p.state.value,
        state_label=p.state.label,
        diagnosis_code=p.diagnosis_code,
        issued_on=p.issued_on,
        valid_until=p.valid_until,
        doctor_name=p.doctor.name,
        doctor_signature_key=p.doctor_signature_key,
        doctor_signed_at=p.doctor_signed_at,
        pharmacist_name=p.pharmacist.name if p.pharmacist and p.reviewed_at else None,
        pharmacist_signature_key=p.pharmacist_signature_key,
        reviewed_at=p.reviewed_at,
        review_reason=p.review_reason,
        review_note=p.review_note,
        escalated=p.escalated_at is not None,
        redemption_code=p.redemption_code if show_code else None,
        long_term=long,
        long_term_consented_at=p.long_term_consented_at,
        long_term_notice=long_term.NOTICE if long else None,
        items=[
            ItemOut(
                line=i.line,
                drug_id=i.drug.code,
                generic_name=i.drug.generic_name,
                name_as_written=i.name_as_written,
                strength=i.drug.strength,
                dose=i.dose,
                dose_unit=i.dose_unit,
                dose_mg=dosing.in_mg(i.dose, i.dose_unit),
                frequency=i.frequency,
                usage=i.usage,
                times_per_day=i.times_per_day,
                quantity=i.quantity,
                pack_unit=i.pack_unit,
                amount_fen=i.amount_fen,
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
    problems=REFUSALS,
    description="Special-management drugs are refused under any name (never overridable); "
    "every blocked attempt is audited.",
)
@api_roles_required(Role.doctor)
def write(consultation_id: int) -> tuple[Response, int]:
    data: PrescriptionIn = body()
    # A controlled drug's refusal keeps its audit (ControlledDrug.keeps_effects).
    prescription = prescribe(
        db_session(), api_account(), consultation_id, draft_of(data), clock.now()
    )
    return json_model(prescription_out(prescription), 201)


def draft_of(data: PrescriptionIn) -> Draft:
    return Draft(
        items=[
            rules.ItemDraft(
                i.drug,
                i.amount[0],
                i.times_per_day,
                i.days,
                dose_unit=i.amount[1],
                frequency=i.frequency,
                drug_id=i.drug_id,
            )
            for i in data.items
        ],
        routes=[i.route for i in data.items],
        stable_chronic_reason=data.stable_chronic_reason,
        accompanying_physician=data.accompanying_physician,
        extra_valid_days=data.valid_days - 1,
    )


@bp.put("/prescriptions/<int:prescription_id>")
@operation(
    "The prescriber revises a returned (or unsigned) prescription; it must be signed again",
    tag="prescriptions",
    body=PrescriptionIn,
    response=PrescriptionOut,
    problems=REFUSALS,
    description="Every rule is checked again; the returned version is kept with the "
    "pharmacist's reason, and the revision number goes up.",
)
@api_roles_required(Role.doctor)
def revise(prescription_id: int) -> tuple[Response, int]:
    data: PrescriptionIn = body()
    try:
        prescription = prescribing.revise(
            db_session(), api_account(), prescription_id, draft_of(data), clock.now()
        )
    except rules.ControlledDrug:
        commit_now()
        raise
    return json_model(prescription_out(prescription))


@bp.get("/prescriptions/<int:prescription_id>")
@operation(
    "One prescription: the patient's own (with the pick-up code once approved), the "
    "prescriber's, or any for pharmacists",
    tag="prescriptions",
    response=PrescriptionOut,
    problems=("not_found",),
)
@api_roles_required(Role.patient, Role.doctor, Role.pharmacist)
def show(prescription_id: int) -> tuple[Response, int]:
    session, account = db_session(), api_account()
    prescription = prescribing.get(session, prescription_id)
    access.ensure_may_read(session, account, prescription)
    return json_model(prescription_out(prescription, for_patient=account.role is Role.patient))


@bp.get("/me/prescriptions")
@operation(
    "The patient's prescriptions (their own and their dependents'), newest first",
    tag="prescriptions",
    response=PrescriptionList,
)
@api_roles_required(Role.patient)
def mine() -> tuple[Response, int]:
    found = records.for_patient(db_session(), api_account())
    return json_model(PrescriptionList(prescriptions=[prescription_out(p, True) for p in found]))


@bp.get("/prescriptions/<int:prescription_id>/document")
@operation(
    "The prescription document (处方笺) as a PDF; with the pick-up QR code once approved",
    tag="prescriptions",
    problems=("not_found",),
    description="application/pdf. A draft, returned or expired prescription says on its face "
    "that it must not be dispensed.",
)
@api_roles_required(Role.patient, Role.doctor, Role.pharmacist)
def document(prescription_id: int) -> Response:
    session, account = db_session(), api_account()
    prescription = prescribing.get(session, prescription_id)
    access.ensure_may_read(session, account, prescription)
    response = private_file(records.document_pdf(prescription), "application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="prescription-{prescription.id}.pdf"'
    )
    return response


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
    response=SignatureCheckOut,
    problems=("not_found",),
)
@api_roles_required(Role.doctor, Role.pharmacist, Role.kiosk)
def verify(prescription_id: int) -> tuple[Response, int]:
    session = db_session()
    prescription = prescribing.get(session, prescription_id)
    return json_model(
        SignatureCheckOut(
            prescription_id=prescription.id,
            doctor_signature_valid=prescribing.doctor_signature_valid(session, prescription),
            doctor_signature_key=prescription.doctor_signature_key,
            pharmacist_signature_valid=review.pharmacist_signature_valid(session, prescription),
        )
    )


@bp.post("/prescriptions/<int:prescription_id>/long-term-consent")
@operation(
    "The patient confirms the 长期处方 notice (a drug for more than 4 weeks) before review",
    tag="prescriptions",
    response=PrescriptionOut,
    problems=("not_found", "invalid_state"),
)
@api_roles_required(Role.patient)
def long_term_consent(prescription_id: int) -> tuple[Response, int]:
    prescription = long_term.consent(db_session(), api_account(), prescription_id, clock.now())
    return json_model(prescription_out(prescription, for_patient=True))
