"""Practitioners: registration, eligibility, the face check that unlocks clinical actions,
and signing keys."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock, signing
from core.audit import Actor
from core.errors import DomainError, ValidationFailed
from identity import face, rules
from identity.models import (
    Account,
    FacePurpose,
    Institution,
    Practitioner,
    Role,
    SigningKey,
)
from identity.rules import Eligibility, PractitionerKind, Title
from identity.services.accounts import actor_of, create_account
from identity.services.patients import (
    FaceAttempt,
    TooManyAttempts,
    attempts_today,
    record_attempt,
)

ROLE_FOR_KIND = {
    PractitionerKind.doctor: Role.doctor,
    PractitionerKind.pharmacist: Role.pharmacist,
    PractitionerKind.family_doctor: Role.family_doctor,
}


class NotEligible(DomainError):
    code = "practitioner_not_eligible"
    status = 403
    title = "执业资格不符合要求"


class FaceCheckRequired(DomainError):
    code = "face_check_required"
    status = 403
    title = "请先完成人脸核验"


class NotAPractitioner(DomainError):
    code = "not_a_practitioner"
    status = 403
    title = "该账户未登记为医务人员"


@dataclass(frozen=True)
class Registration:
    username: str
    password: str
    name: str
    kind: PractitionerKind
    licence_number: str
    title: Title
    department: str
    institution_id: int
    practice_started_on: dt.date


def register(
    session: Session,
    actor: Actor,
    data: Registration,
    face_photo: bytes,
    matcher: face.FaceMatcher,
    today: dt.date,
) -> Practitioner:
    """Create the practitioner's account, enrol their face and give them a signing key."""
    if data.practice_started_on > today:
        raise ValidationFailed("独立执业起始日期不能晚于今天")
    allowed = (
        rules.PHARMACIST_TITLES
        if data.kind is PractitionerKind.pharmacist
        else (rules.PHYSICIAN_TITLES)
    )
    if data.title not in allowed:
        raise ValidationFailed(f"职称“{data.title.value}”与人员类别不符")
    licence = data.licence_number.strip()
    if not licence.isalnum() or not 6 <= len(licence) <= 32:
        raise ValidationFailed("执业证书编码应为 6–32 位字母或数字")
    if session.scalar(select(Practitioner.id).where(Practitioner.licence_number == licence)):
        raise ValidationFailed("该执业证书编码已登记")
    institution = session.get(Institution, data.institution_id)
    if institution is None:
        raise ValidationFailed("机构不存在")
    encoding = matcher.encode(face_photo, "人像照片")  # refuse before creating anything
    account = create_account(
        session,
        username=data.username,
        password=data.password,
        role=ROLE_FOR_KIND[data.kind],
        display_name=data.name,
        institution=institution,
        actor=actor,
    )
    practitioner = Practitioner(
        account_id=account.id,
        kind=data.kind,
        name=data.name.strip(),
        licence_number=licence,
        title=data.title,
        department=data.department.strip(),
        institution_id=institution.id,
        practice_started_on=data.practice_started_on,
        face_encoding=face.serialise(encoding),
        face_model_version=matcher.model_version(),
    )
    session.add(practitioner)
    session.flush()
    audit.record(
        session,
        actor,
        "practitioner.register",
        "practitioner",
        practitioner.id,
        {"kind": data.kind.value, "title": data.title.name, "institution_id": institution.id},
    )
    _new_key(session, practitioner, actor)
    return practitioner


def practitioner_for(session: Session, account: Account) -> Practitioner:
    practitioner = session.scalar(select(Practitioner).where(Practitioner.account_id == account.id))
    if practitioner is None:
        raise NotAPractitioner()
    return practitioner


def all_practitioners(session: Session) -> list[Practitioner]:
    return list(session.scalars(select(Practitioner).order_by(Practitioner.id)))


def eligibility_of(practitioner: Practitioner, today: dt.date) -> Eligibility:
    return rules.eligibility(
        practitioner.kind, practitioner.title, practitioner.practice_started_on, today
    )


def ensure_eligible(practitioner: Practitioner, today: dt.date) -> None:
    result = eligibility_of(practitioner, today)
    if not result.eligible:
        raise NotEligible("；".join(result.reasons), reasons=list(result.reasons))


def face_check(
    session: Session,
    practitioner: Practitioner,
    selfie: bytes,
    matcher: face.FaceMatcher,
    ttl_seconds: int,
    attempts_per_day: int,
    now: dt.datetime,
) -> FaceAttempt:
    """Match a selfie against the enrolled face; a match unlocks clinical actions for a while.
    Like the patients' check, every attempt counts and is recorded."""
    account = practitioner.account
    session.get(Account, account.id, with_for_update=True)
    if attempts_today(session, account, FacePurpose.practitioner_check, now) >= attempts_per_day:
        raise TooManyAttempts(limit=attempts_per_day)
    outcome: face.FaceMatch | face.FaceError
    try:
        candidate = matcher.encode(selfie, "自拍照")
        outcome = matcher.compare(face.deserialise(practitioner.face_encoding), candidate)
    except face.FaceError as exc:
        outcome = exc
    row = record_attempt(session, account, FacePurpose.practitioner_check, matcher, outcome, None)
    practitioner.face_checked_until = (
        now + dt.timedelta(seconds=ttl_seconds) if row.matched else None
    )
    session.flush()
    return FaceAttempt(row, outcome if isinstance(outcome, face.FaceError) else None)


def ensure_fresh_face_check(practitioner: Practitioner, now: dt.datetime) -> None:
    until = practitioner.face_checked_until
    if until is None or until <= now:
        raise FaceCheckRequired("临床操作前须完成人脸核验（核验有效期已过或尚未核验）")


def ensure_may_act(practitioner: Practitioner, now: dt.datetime) -> None:
    """Accepting a visit, signing a prescription or a review: eligible, and face-checked."""
    ensure_eligible(practitioner, clock.day_of(now))
    ensure_fresh_face_check(practitioner, now)


def _new_key(session: Session, practitioner: Practitioner, actor: Actor) -> SigningKey:
    pair = signing.generate()
    key = SigningKey(
        practitioner_id=practitioner.id,
        algorithm=signing.ALGORITHM,
        public_key=pair.public_raw,
        private_key=base64.b64encode(pair.private_raw).decode(),
        fingerprint=pair.fingerprint,
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor,
        "signing_key.create",
        "practitioner",
        practitioner.id,
        {"fingerprint": key.fingerprint},
    )
    return key


def active_key(session: Session, practitioner: Practitioner) -> SigningKey:
    key = session.scalar(
        select(SigningKey)
        .where(SigningKey.practitioner_id == practitioner.id, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc())
        .limit(1)
    )
    if key is None:
        raise NotEligible("没有可用的签名密钥")
    return key


def keys_of(session: Session, practitioner: Practitioner) -> list[SigningKey]:
    return list(
        session.scalars(
            select(SigningKey)
            .where(SigningKey.practitioner_id == practitioner.id)
            .order_by(SigningKey.id)
        )
    )


def rotate_key(
    session: Session, practitioner: Practitioner, actor: Actor, now: dt.datetime
) -> SigningKey:
    """Retire the active key (kept for verifying old signatures) and issue a new one."""
    for key in keys_of(session, practitioner):
        if key.retired_at is None:
            key.retired_at = now
    session.flush()
    return _new_key(session, practitioner, actor)


@dataclass(frozen=True)
class Signature:
    algorithm: str
    key_fingerprint: str
    value: str
    signed_at: dt.datetime


def sign(
    session: Session, practitioner: Practitioner, content: object, now: dt.datetime
) -> Signature:
    """Sign `content` as this practitioner: eligible, face-checked, with the active key."""
    ensure_may_act(practitioner, now)
    key = active_key(session, practitioner)
    value = signing.sign(base64.b64decode(key.private_key), content)
    audit.record(
        session,
        actor_of(practitioner.account),
        "signature.create",
        "practitioner",
        practitioner.id,
        {"fingerprint": key.fingerprint},
    )
    return Signature(key.algorithm, key.fingerprint, value, now)


def key_by_fingerprint(session: Session, fingerprint: str) -> SigningKey | None:
    return session.scalar(select(SigningKey).where(SigningKey.fingerprint == fingerprint))


def verify(session: Session, fingerprint: str, content: object, signature: str) -> bool:
    key = key_by_fingerprint(session, fingerprint)
    return key is not None and signing.verify(key.public_key, content, signature)
