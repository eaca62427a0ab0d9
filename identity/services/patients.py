"""Patients: real-name registration, face verification, dependents (就诊人), and who may seek
care for whom."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import CHINA
from core.crypto import blind_index
from core.errors import DomainError, Forbidden
from identity import face, rules
from identity.models import (
    Account,
    Dependent,
    DependentState,
    FacePurpose,
    FaceVerification,
    Person,
    Relation,
)
from identity.services.accounts import actor_of

ID_INDEX = "identity.person.id_number"
PHONE_INDEX = "identity.person.phone"


class IdAlreadyRegistered(DomainError):
    code = "id_already_registered"
    status = 409
    title = "该身份证号码已注册"


class RealNameLocked(DomainError):
    code = "real_name_locked"
    status = 409
    title = "实名信息已登记，不能更换为他人"


class NameMismatch(DomainError):
    code = "name_mismatch"
    status = 422
    title = "姓名与已登记的身份证信息不一致"


class RealNameRequired(DomainError):
    code = "real_name_required"
    status = 409
    title = "请先完成实名登记"


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429
    title = "今日人脸核验次数已用完，请明天再试"


class IdentityUnverified(DomainError):
    code = "identity_unverified"
    status = 403
    title = "请先完成实名认证和人脸核验"


def id_index(id_number: str) -> str:
    return blind_index(id_number, ID_INDEX)


def person_by_id_number(session: Session, id_number: str) -> Person | None:
    return session.scalar(select(Person).where(Person.id_number_index == id_index(id_number)))


def new_person(session: Session, name: str, parsed: rules.IdNumber, phone: str | None) -> Person:
    person = Person(
        name=name,
        id_number=parsed.value,
        id_number_index=id_index(parsed.value),
        birth_date=parsed.birth_date,
        sex=parsed.sex,
        phone=phone,
        phone_index=blind_index(phone, PHONE_INDEX) if phone else None,
    )
    session.add(person)
    session.flush()
    return person


def register_real_name(
    session: Session, account: Account, name: str, id_number: str, phone: str, today: dt.date
) -> Person:
    """Tie a patient account to the real person behind it. Validation comes first, so bad
    input stores nothing; one person has one account."""
    name = rules.normalise_name(name)
    parsed = rules.parse_id_number(id_number, today)
    phone = rules.normalise_phone(phone)
    session.get(Account, account.id, with_for_update=True)  # one registration at a time
    existing = person_by_id_number(session, parsed.value)
    if account.person is not None:
        if existing is None or existing.id != account.person_id:
            raise RealNameLocked()
        if existing.name != name:
            raise NameMismatch()
        existing.phone, existing.phone_index = phone, blind_index(phone, PHONE_INDEX)
        session.flush()
        audit.record(session, actor_of(account), "person.update_phone", "person", existing.id)
        return existing
    if existing is not None:
        owner = session.scalar(select(Account.id).where(Account.person_id == existing.id))
        if owner is not None:
            raise IdAlreadyRegistered("该身份证号码已被其他账户实名登记，如有疑问请联系客服")
        if existing.name != name:
            raise NameMismatch()
        person = existing  # already someone's dependent; now they register themselves
        person.phone, person.phone_index = phone, blind_index(phone, PHONE_INDEX)
    else:
        person = new_person(session, name, parsed, phone)
    account.person = person
    account.face_verified_at = None
    session.flush()
    audit.record(session, actor_of(account), "person.real_name", "person", person.id)
    return person


def start_of_day_utc(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(CHINA)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


def attempts_today(
    session: Session, account: Account, purpose: FacePurpose, now: dt.datetime
) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(FaceVerification)
            .where(
                FaceVerification.account_id == account.id,
                FaceVerification.purpose == purpose,
                FaceVerification.created_at >= start_of_day_utc(now),
            )
        )
        or 0
    )


def record_attempt(
    session: Session,
    account: Account,
    purpose: FacePurpose,
    matcher: face.FaceMatcher,
    outcome: face.FaceMatch | face.FaceError,
    person_id: int | None,
) -> FaceVerification:
    matched = isinstance(outcome, face.FaceMatch) and outcome.matched
    if isinstance(outcome, face.FaceMatch):
        code = "matched" if matched else "mismatch"
        distance: float | None = outcome.distance
    else:
        code, distance = outcome.code, None
    row = FaceVerification(
        account_id=account.id,
        person_id=person_id,
        purpose=purpose,
        outcome=code,
        matched=matched,
        distance=distance,
        threshold=matcher.threshold,
        model_version=matcher.model_version(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor_of(account),
        f"face.{purpose.value}",
        "account",
        account.id,
        {"outcome": code, "distance": distance, "threshold": matcher.threshold},
    )
    return row


@dataclass(frozen=True)
class FaceAttempt:
    row: FaceVerification
    error: face.FaceError | None


@dataclass(frozen=True)
class VerificationState:
    real_name: bool
    face: bool

    @property
    def verified(self) -> bool:
        return self.real_name and self.face


def verification_state(account: Account) -> VerificationState:
    return VerificationState(account.person_id is not None, account.face_verified_at is not None)


def ensure_verified(account: Account) -> Person:
    """A patient must be real-name registered and face-matched before any consultation."""
    state = verification_state(account)
    if not state.verified or account.person is None:
        missing = [
            n for n, ok in (("实名登记", state.real_name), ("人脸核验", state.face)) if not ok
        ]
        raise IdentityUnverified(f"尚未完成：{'、'.join(missing)}", missing=missing)
    return account.person


@dataclass(frozen=True)
class CareContext:
    """Who a visit or prescription is for, and who acts for them (recorded with the visit)."""

    patient: Person
    acting_account: Account
    guardian: Person | None
    relation: Relation | None

    def age_on(self, day: dt.date) -> int:
        return rules.age_on(self.patient.birth_date, day)


def care_context(session: Session, account: Account, person_id: int | None) -> CareContext:
    """The person `account` seeks care for: itself, or one of its dependents. Anything else is
    refused, so nobody reaches another family's records by guessing an id."""
    own = ensure_verified(account)
    if person_id is None or person_id == own.id:
        return CareContext(own, account, None, None)
    dependent = session.scalar(
        select(Dependent).where(
            Dependent.account_id == account.id,
            Dependent.person_id == person_id,
            Dependent.state == DependentState.active,  # consented or reviewed, not withdrawn
        )
    )
    if dependent is None:
        raise Forbidden("只能为本人或已生效的就诊人办理")
    return CareContext(
        dependent.person, account, own if dependent.is_guardian else None, dependent.relation
    )
