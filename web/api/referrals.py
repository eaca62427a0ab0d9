"""Referral API: the patient's bookings for in-person care, their inbox, and the hospital
platform's callback."""

from __future__ import annotations

from flask import Blueprint, Response

from core import clock
from core.notify import inbox
from followup.models import OfflineDiagnosis, Referral, ReferralSource
from followup.schemas import (
    NotificationList,
    NotificationOut,
    PatientReferralIn,
    PlatformCallbackIn,
    PlatformCallbackOut,
    ReferralList,
    ReferralOut,
)
from followup.services import referrals
from followup.triage import Urgency
from identity.models import Role
from identity.services import actor_of, patients
from web.auth import api_account, api_roles_required
from web.openapi import body, operation
from web.platform_auth import platform_signed
from web.responses import json_model
from web.session import db_session

bp = Blueprint("api_referrals", __name__)


def referral_out(r: Referral) -> ReferralOut:
    return ReferralOut(
        id=r.id,
        state=r.state,
        state_label=r.state.label,
        urgency=r.urgency,
        department=r.department,
        reason=r.reason,
        red_flags=r.red_flags,
        appointment_at=r.appointment_at,
        location=r.location,
        created_at=r.created_at,
    )


@bp.get("/me/referrals")
@operation("The patient's referrals to in-person care", tag="referrals", response=ReferralList)
@api_roles_required(Role.patient)
def mine() -> tuple[Response, int]:
    items = referrals.for_account(db_session(), api_account().id)
    return json_model(ReferralList(referrals=[referral_out(r) for r in items]))


@bp.post("/me/referrals")
@operation(
    "Ask for an in-person visit at the hospital (e.g. when a return visit is not possible)",
    tag="referrals",
    body=PatientReferralIn,
    response=ReferralOut,
    status=201,
    problems=("identity_unverified", "forbidden"),
)
@api_roles_required(Role.patient)
def book() -> tuple[Response, int]:
    data: PatientReferralIn = body()
    session = db_session()
    account = api_account()
    context = patients.care_context(session, account, data.patient_id)
    diagnosis = session.get(OfflineDiagnosis, data.diagnosis_id) if data.diagnosis_id else None
    code = diagnosis.icd10_code if diagnosis and diagnosis.person_id == context.patient.id else None
    referral = referrals.create(
        session,
        person=context.patient,
        account_id=account.id,
        reason=data.reason,
        urgency=Urgency.routine,
        source=ReferralSource.patient,
        actor=actor_of(account),
        now=clock.now(),
        diagnosis_code=code,
    )
    return json_model(referral_out(referral), 201)


@bp.get("/me/notifications")
@operation(
    "What the signed-in account has been told (a patient, or a doctor about prescriptions), "
    "newest first",
    tag="referrals",
    response=NotificationList,
)
@api_roles_required(Role.patient, Role.doctor, Role.pharmacist, Role.family_doctor)
def notifications() -> tuple[Response, int]:
    items = inbox(db_session(), api_account().id)
    return json_model(
        NotificationList(notifications=[NotificationOut.model_validate(n) for n in items])
    )


@bp.post("/platform/referrals/<int:referral_id>/callback")
@operation(
    "Hospital platform: a referral accepted, booked (time and place) or declined (HMAC-signed)",
    tag="platform",
    body=PlatformCallbackIn,
    response=PlatformCallbackOut,
    problems=("bad_signature", "not_found", "invalid_state", "event_id_reused"),
    public=True,
)
@platform_signed
def callback(referral_id: int) -> tuple[Response, int]:
    data: PlatformCallbackIn = body()
    update = referrals.PlatformUpdate(
        data.event_id,
        data.status,
        data.occurred_at,
        data.appointment_at,
        data.location,
        data.reference,
    )
    referral, outcome = referrals.apply_callback(db_session(), referral_id, update, clock.now())
    return json_model(PlatformCallbackOut(outcome=outcome, referral=referral_out(referral)))
