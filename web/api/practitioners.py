"""Practitioner API: registration by admins, eligibility, face check, signing keys."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, jsonify
from sqlalchemy.orm import Session

from core import clock
from identity.models import Practitioner, Role, SigningKey
from identity.schemas import (
    EligibilityOut,
    FaceCheckOut,
    PractitionerForm,
    PractitionerList,
    PractitionerOut,
    SigningKeyOut,
)
from identity.services import actor_of
from identity.services import practitioners as service
from web.api.patients import face_matcher, raise_if_refused
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation, upload
from web.session import commit_now, db_session
from web.settings import settings

bp = Blueprint("api_practitioners", __name__)

PRACTITIONER_ROLES = (Role.doctor, Role.pharmacist, Role.family_doctor)


def practitioner_out(session: Session, practitioner: Practitioner) -> PractitionerOut:
    eligibility = service.eligibility_of(practitioner, clock.today())
    keys = service.keys_of(session, practitioner)
    active = next((k.fingerprint for k in reversed(keys) if k.retired_at is None), None)
    until = practitioner.face_checked_until
    return PractitionerOut(
        id=practitioner.id,
        account_id=practitioner.account_id,
        username=practitioner.account.username,
        name=practitioner.name,
        kind=practitioner.kind,
        title=practitioner.title,
        department=practitioner.department,
        institution=practitioner.institution.name,
        licence_number=practitioner.licence_number,
        practice_started_on=practitioner.practice_started_on,
        eligibility=EligibilityOut(
            eligible=eligibility.eligible, reasons=list(eligibility.reasons)
        ),
        face_check_valid_until=until if until and until > clock.now() else None,
        active_key_fingerprint=active,
    )


def key_out(key: SigningKey) -> SigningKeyOut:
    return SigningKeyOut(
        fingerprint=key.fingerprint,
        algorithm=key.algorithm,
        public_key=base64.b64encode(key.public_key).decode(),
        practitioner_id=key.practitioner_id,
        practitioner_name=key.practitioner.name,
        created_at=key.created_at,
        retired_at=key.retired_at,
    )


@bp.post("/admin/practitioners")
@operation(
    "Register a doctor, pharmacist or family doctor, with a face photo for later checks",
    tag="practitioners",
    form=PractitionerForm,
    files=("face_photo",),
    response=PractitionerOut,
    status=201,
    problems=("no_face", "multiple_faces", "face_too_small", "invalid_image", "missing_file"),
)
@api_roles_required(Role.admin)
def register() -> tuple[Response, int]:
    admin = api_account()
    data: PractitionerForm = body()
    photo = upload("face_photo")
    practitioner = service.register(
        db_session(),
        actor_of(admin),
        service.Registration(**data.model_dump()),
        photo,
        face_matcher(),
        clock.today(),
    )
    out = practitioner_out(db_session(), practitioner)
    return jsonify(out.model_dump(mode="json")), 201


@bp.get("/admin/practitioners")
@operation(
    "All practitioners with their eligibility", tag="practitioners", response=PractitionerList
)
@api_roles_required(Role.admin)
def list_practitioners() -> Response:
    session = db_session()
    out = PractitionerList(
        practitioners=[practitioner_out(session, p) for p in service.all_practitioners(session)]
    )
    return jsonify(out.model_dump(mode="json"))


@bp.post("/admin/practitioners/<int:practitioner_id>/rotate-key")
@operation(
    "Retire a practitioner's signing key and issue a new one (old signatures still verify)",
    tag="practitioners",
    response=SigningKeyOut,
    problems=("not_found",),
)
@api_roles_required(Role.admin)
def rotate_key(practitioner_id: int) -> Response:
    session = db_session()
    practitioner = session.get(Practitioner, practitioner_id)
    if practitioner is None:
        raise ApiProblem(404, "not_found", "没有这位医务人员")
    key = service.rotate_key(session, practitioner, actor_of(api_account()), clock.now())
    return jsonify(key_out(key).model_dump(mode="json"))


@bp.get("/practitioners/me")
@operation(
    "The signed-in practitioner: eligibility (with reasons) and face-check state",
    tag="practitioners",
    response=PractitionerOut,
    problems=("not_a_practitioner",),
)
@api_roles_required(*PRACTITIONER_ROLES)
def me() -> Response:
    session = db_session()
    practitioner = service.practitioner_for(session, api_account())
    return jsonify(practitioner_out(session, practitioner).model_dump(mode="json"))


@bp.post("/practitioners/me/face-check")
@operation(
    "Face check against the enrolled photo; a match unlocks clinical actions for a while",
    tag="practitioners",
    files=("selfie",),
    response=FaceCheckOut,
    problems=(
        "no_face",
        "multiple_faces",
        "face_too_small",
        "invalid_image",
        "face_mismatch",
        "too_many_attempts",
        "not_a_practitioner",
    ),
)
@api_roles_required(*PRACTITIONER_ROLES)
def face_check() -> Response:
    session = db_session()
    practitioner = service.practitioner_for(session, api_account())
    selfie = upload("selfie")
    cfg = settings()
    attempt = service.face_check(
        session,
        practitioner,
        selfie,
        face_matcher(),
        cfg.face_check_ttl_seconds,
        cfg.face_attempts_per_day * 4,  # staff check in many times a day
        clock.now(),
    )
    commit_now()
    raise_if_refused(attempt)
    out = FaceCheckOut(matched=True, valid_until=practitioner.face_checked_until)
    return jsonify(out.model_dump(mode="json"))


@bp.get("/signing-keys/<fingerprint>")
@operation(
    "A signing key's public half, by fingerprint (retired keys included)",
    tag="practitioners",
    response=SigningKeyOut,
    problems=("not_found",),
)
@api_roles_required()
def signing_key(fingerprint: str) -> Response:
    key = service.key_by_fingerprint(db_session(), fingerprint)
    if key is None:
        raise ApiProblem(404, "not_found", "没有这个签名密钥")
    return jsonify(key_out(key).model_dump(mode="json"))
