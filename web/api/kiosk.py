"""Kiosk API: a pharmacy's self-service terminal scans a prescription's code, checks who is
collecting, and dispenses once a pharmacist on duty confirms. Kiosks sign in with their device
credentials at /api/v1/auth/token."""

from __future__ import annotations

from flask import Blueprint, Response

from core import clock
from core.errors import AuthenticationFailed
from identity.models import Role
from pharmacy.schemas import (
    DispenseIn,
    DispensingOut,
    IdentityForm,
    IdentityOut,
    ScanIn,
    ScannedItem,
    ScanOut,
)
from pharmacy.services import kiosk
from web.api.patients import face_matcher
from web.api.pharmacy import dispensing_out
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation, upload
from web.responses import json_model
from web.session import commit_now, db_session, keep_effects
from web.settings import settings

bp = Blueprint("api_kiosk", __name__)

REFUSALS = (
    "invalid_code",
    "not_approved",
    "prescription_expired",
    "already_dispensed",
    "reserved_elsewhere",
    "signature_invalid",
    "controlled_drug",
    "forbidden",
)


@bp.post("/kiosk/scan")
@operation(
    "Scan a prescription's code: the items and the patient's masked name, or why not here",
    tag="kiosk",
    body=ScanIn,
    response=ScanOut,
    problems=REFUSALS,
)
@api_roles_required(Role.kiosk)
def scan() -> tuple[Response, int]:
    data: ScanIn = body()
    now = clock.now()
    scanned = kiosk.scan(db_session(), api_account(), data.token, now)
    p = scanned.prescription
    return json_model(
        ScanOut(
            prescription_id=p.id,
            patient_name=scanned.patient_name,
            patient_age=scanned.patient_age,
            guardian_needed=scanned.guardian_needed,
            valid_until=p.valid_until,
            reserved_here=scanned.fulfilment is not None,
            pharmacy_name=scanned.kiosk.pharmacy.name,
            items=[
                ScannedItem(
                    line=i.line,
                    generic_name=i.drug.generic_name,
                    strength=i.drug.strength,
                    dosage_form=i.drug.dosage_form,
                    units=i.units_to_dispense,
                    usage="用法：" + i.usage,
                )
                for i in p.items
            ],
        )
    )


@bp.post("/kiosk/identity")
@operation(
    "The collector proves who they are: their ID card on the kiosk's reader (signed reading) "
    "and a photo from the kiosk's camera matched with the card's chip photo (a guardian or "
    "proxy also gives the patient's last 4)",
    tag="kiosk",
    form=IdentityForm,
    files=("selfie",),
    response=IdentityOut,
    problems=(
        *REFUSALS,
        "identity_not_confirmed",
        "id_card_refused",
        "too_many_attempts",
        "missing_file",
    ),
    description="A passed check is valid for 10 minutes at this kiosk for this prescription. "
    "5 failed checks a day per prescription send the patient to the counter.",
)
@api_roles_required(Role.kiosk)
def identity() -> tuple[Response, int]:
    data: IdentityForm = body()
    selfie = upload("selfie")
    check = kiosk.check_identity(
        db_session(),
        api_account(),
        data.token,
        data.id_card,
        data.patient_id_last4,
        selfie,
        face_matcher("card"),
        clock.now(),
    )
    commit_now()  # a failed attempt counts
    if not check.matched:
        raise ApiProblem(422, "face_mismatch", "人脸比对未通过", "请本人正对镜头重拍")
    return json_model(
        IdentityOut(
            identity_check_id=check.id,
            matched=True,
            collector_role=check.collector_role,
            valid_until=check.valid_until,
        )
    )


@bp.post("/kiosk/dispense")
@operation(
    "Dispense, exactly once ever, confirmed by a pharmacist on duty at this pharmacy",
    tag="kiosk",
    body=DispenseIn,
    response=DispensingOut,
    status=201,
    problems=(
        *REFUSALS,
        "identity_not_confirmed",
        "pharmacist_not_on_duty",
        "out_of_stock",
        "pharmacist_authentication_failed",
        "account_locked",
        "trace_code_invalid",
        "trace_codes_missing",
        "trace_code_reused",
    ),
    description="Of two kiosks dispensing the same prescription at once, one succeeds and the "
    "other gets 409 already_dispensed. Stock is taken first-expiry-first-out, never from an "
    "expired lot; a shortage is refused before anything changes.",
)
@api_roles_required(Role.kiosk)
def dispense() -> tuple[Response, int]:
    data: DispenseIn = body()
    cfg = settings()
    try:
        record = kiosk.dispense_at_kiosk(
            db_session(),
            api_account(),
            data.token,
            data.identity_check_id,
            data.pharmacist_username,
            data.pharmacist_password,
            clock.now(),
            trace_codes=data.trace_codes,
            max_failures=cfg.login_max_failures,
            lockout_seconds=cfg.login_lockout_seconds,
        )
    except AuthenticationFailed:
        keep_effects(AuthenticationFailed())  # a wrong password counts towards lock-out
        # 403, not 401: the kiosk's own credentials are fine.
        raise ApiProblem(403, "pharmacist_authentication_failed", "药师用户名或密码错误") from None
    return json_model(dispensing_out(record), 201)
