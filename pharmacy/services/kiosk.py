"""Kiosks: devices bound to a pharmacy (registered with a one-time secret, revocable), the scan
of a prescription's code, the collector's identity at the counter (their ID card on the
kiosk's reader and the kiosk's camera) and the dispense a pharmacist on duty confirms."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit, clock
from core.audit import Actor
from core.crypto import mask_name
from core.errors import Forbidden, NotFound
from identity import face
from identity import rules as identity_rules
from identity.models import Account, Person, Role
from identity.services import actor_of, authenticate, create_account, practitioners
from identity.services.patients import TooManyAttempts
from pharmacy import id_card, rules
from pharmacy.models import Dispensing, Fulfilment, IdentityCheck, Kiosk, Pharmacy
from pharmacy.services.dispensing import check_content, dispense, find_by_code
from pharmacy.services.fulfilment import ensure_dispensable, for_prescription
from prescriptions.models import Prescription
from prescriptions.rules import GUARDIAN_AGE

IDENTITY_CHECK_SECONDS = 10 * 60  # a passed check is good for this long at that kiosk
FAILED_CHECKS_PER_DAY = 5  # per prescription, then the counter staff take over


@dataclass(frozen=True)
class Registered:
    kiosk: Kiosk
    username: str
    secret: str  # shown once; only its hash is kept
    reader_key: str  # shown once, for the kiosk's ID card reader service; kept sealed


def register(session: Session, actor: Actor, pharmacy_id: int, name: str) -> Registered:
    pharmacy = session.get(Pharmacy, pharmacy_id)
    if pharmacy is None:
        raise NotFound("没有这家药房")
    count = session.scalar(select(func.count()).where(Kiosk.pharmacy_id == pharmacy.id)) or 0
    username = f"kiosk-{pharmacy.code}-{count + 1}".lower()
    secret = secrets.token_urlsafe(24)
    account = create_account(
        session, username=username, password=secret, role=Role.kiosk, display_name=name
    )
    kiosk = bind(session, actor, pharmacy.id, account, name)
    return Registered(kiosk, username, secret, kiosk.reader_key or "")


def bind(session: Session, actor: Actor, pharmacy_id: int, account: Account, name: str) -> Kiosk:
    """Bind a kiosk account (a device's credentials) to a pharmacy."""
    if account.role is not Role.kiosk:
        raise Forbidden("只有终端账号可以绑定为药房终端")
    kiosk = Kiosk(
        pharmacy_id=pharmacy_id, account_id=account.id, name=name,
        reader_key=secrets.token_urlsafe(32),
    )  # fmt: skip
    session.add(kiosk)
    session.flush()
    audit.record(session, actor, "kiosk.register", "kiosk", kiosk.id, {"pharmacy": pharmacy_id})
    return kiosk


def rotate_reader_key(session: Session, actor: Actor, kiosk_id: int) -> tuple[Kiosk, str]:
    kiosk = session.get(Kiosk, kiosk_id, with_for_update=True)
    if kiosk is None:
        raise NotFound("没有这个终端")
    kiosk.reader_key = secrets.token_urlsafe(32)
    session.flush()
    audit.record(session, actor, "kiosk.reader_key", "kiosk", kiosk.id)
    return kiosk, kiosk.reader_key


def revoke(session: Session, actor: Actor, kiosk_id: int, now: dt.datetime) -> Kiosk:
    """A lost or replaced device: its account stops working at once, tokens and all."""
    kiosk = session.get(Kiosk, kiosk_id, with_for_update=True)
    if kiosk is None:
        raise NotFound("没有这个终端")
    kiosk.revoked_at = kiosk.revoked_at or now
    kiosk.account.is_active = False
    session.flush()
    audit.record(session, actor, "kiosk.revoke", "kiosk", kiosk.id)
    return kiosk


def kiosk_for(session: Session, account: Account) -> Kiosk:
    kiosk = session.scalar(select(Kiosk).where(Kiosk.account_id == account.id))
    if kiosk is None or kiosk.revoked_at is not None or not kiosk.pharmacy.active:
        raise Forbidden("该终端未登记或已停用")
    return kiosk


@dataclass(frozen=True)
class Scanned:
    prescription: Prescription
    kiosk: Kiosk
    fulfilment: Fulfilment | None
    patient_name: str  # masked
    patient_age: int
    guardian_needed: bool


def scan(session: Session, account: Account, code: str, now: dt.datetime) -> Scanned:
    """What the kiosk shows after a scan, or why it cannot dispense it here."""
    kiosk = kiosk_for(session, account)
    prescription = find_by_code(session, code)
    ensure_dispensable(prescription, now)
    check_content(session, actor_of(account), prescription)
    fulfilment = for_prescription(session, prescription.id)
    if fulfilment is not None and fulfilment.pharmacy_id != kiosk.pharmacy_id:
        raise rules.ReservedElsewhere(f"已预留在{fulfilment.pharmacy.name}，请到该药房取药")
    person = prescription.person
    age = identity_rules.age_on(person.birth_date, clock.day_of(now))
    audit.record(session, actor_of(account), "kiosk.scan", "prescription", prescription.id)
    return Scanned(
        prescription,
        kiosk,
        fulfilment,
        mask_name(person.name),
        age,
        age < GUARDIAN_AGE,
    )


def _collector(
    prescription: Prescription, card: id_card.Reading, patient_id_last4: str | None,
    now: dt.datetime,
) -> tuple[Person, str]:  # fmt: skip
    """Who is at the counter, by the ID card they put on the reader: the patient (6 or older),
    or the account holder who sought the care for them (guardian of a child, or a proxy), who
    must also give the patient's last 4 digits."""
    patient = prescription.person
    holder = prescription.consultation.account.person
    is_child = identity_rules.age_on(patient.birth_date, clock.day_of(now)) < GUARDIAN_AGE
    if not is_child and patient.id_number.upper() == card.id_number:
        return _same_name(patient, card), "patient"
    if (
        holder is not None
        and holder.id != patient.id
        and holder.id_number.upper() == card.id_number
    ):
        if (patient_id_last4 or "").strip().upper() != patient.id_number[-4:]:
            raise rules.IdentityNotConfirmed("代取药须同时核对患者身份证号后 4 位")
        guardian = prescription.consultation.guardian_person_id == holder.id
        return _same_name(holder, card), "guardian" if guardian else "proxy"
    raise rules.IdentityNotConfirmed(
        "6 岁以下儿童须由监护人持本人身份证取药" if is_child else "身份证与处方患者不符"
    )


def _same_name(person: Person, card: id_card.Reading) -> Person:
    if identity_rules.normalise_name(card.name) != person.name:
        raise rules.IdentityNotConfirmed("身份证姓名与登记不符")
    return person


def check_identity(
    session: Session,
    account: Account,
    code: str,
    card_reading: str,
    patient_id_last4: str | None,
    selfie: bytes,
    matcher: face.FaceMatcher,
    now: dt.datetime,
) -> IdentityCheck:
    """The collector's ID card (read and signed by this kiosk's reader) and a photo from the
    kiosk's camera, matched against the photo on the card's chip. Every attempt is recorded;
    the caller commits a failed one before reporting it."""
    kiosk = kiosk_for(session, account)
    if not kiosk.reader_key:
        raise rules.IdentityNotConfirmed("该终端未配置身份证读卡器，请到柜台由药师核对")
    card = id_card.verify(card_reading, kiosk.reader_key, now)
    prescription = find_by_code(session, code)
    ensure_dispensable(prescription, now)
    fulfilment = for_prescription(session, prescription.id)
    if fulfilment is not None and fulfilment.pharmacy_id != kiosk.pharmacy_id:
        # Only the pharmacy holding the reservation verifies its collector.
        raise rules.ReservedElsewhere(f"已预留在{fulfilment.pharmacy.name}，请到该药房取药")
    failures = session.scalar(
        select(func.count())
        .select_from(IdentityCheck)
        .where(
            IdentityCheck.prescription_id == prescription.id,
            IdentityCheck.matched.is_(False),
            IdentityCheck.created_at >= now - dt.timedelta(days=1),
        )
    )
    if (failures or 0) >= FAILED_CHECKS_PER_DAY:
        raise TooManyAttempts(
            "核验失败次数过多，请到柜台由药师人工核对", limit=FAILED_CHECKS_PER_DAY
        )
    person, role = _collector(prescription, card, patient_id_last4, now)
    distance: float | None = None
    try:
        on_card = matcher.encode_card(card.photo)
        candidate = matcher.encode(selfie, "现场照片")
        match = matcher.compare(on_card, candidate)
        distance, matched = match.distance, match.matched
    except face.FaceError:
        matched = False
    check = IdentityCheck(
        kiosk_id=kiosk.id,
        prescription_id=prescription.id,
        collector_person_id=person.id,
        collector_role=role,
        matched=matched,
        distance=distance,
        created_at=now,
        valid_until=now + dt.timedelta(seconds=IDENTITY_CHECK_SECONDS),
    )
    session.add(check)
    session.flush()
    audit.record(
        session,
        actor_of(account),
        "kiosk.identity",
        "prescription",
        prescription.id,
        {
            "matched": matched,
            "collector": role,
            "check_id": check.id,
            "method": "id_card",
            "reader": card.reader_id,
        },
    )
    return check


def dispense_at_kiosk(
    session: Session,
    account: Account,
    code: str,
    identity_check_id: int,
    pharmacist_username: str,
    pharmacist_password: str,
    now: dt.datetime,
    *,
    trace_codes: Sequence[str],
    max_failures: int,
    lockout_seconds: int,
) -> Dispensing:
    """Exactly once: see pharmacy.services.dispensing. The pharmacist on duty confirms with their
    own credentials; the collector's identity check must be fresh, from this kiosk, for this
    prescription."""
    kiosk = kiosk_for(session, account)
    pharmacist_account = authenticate(
        session,
        pharmacist_username,
        pharmacist_password,
        max_failures=max_failures,
        lockout_seconds=lockout_seconds,
        source=f"kiosk:{kiosk.id}",
    )
    pharmacist = practitioners.practitioner_for(session, pharmacist_account)
    prescription = find_by_code(session, code, lock=True)
    if prescription.redeemed_at is not None:
        raise rules.AlreadyDispensed()
    check = session.get(IdentityCheck, identity_check_id)
    if (
        check is None
        or not check.matched
        or check.kiosk_id != kiosk.id
        or check.prescription_id != prescription.id
        or check.valid_until <= now
    ):
        raise rules.IdentityNotConfirmed("请先完成取药人身份核验")
    return dispense(
        session,
        actor_of(account),
        prescription,
        kiosk.pharmacy_id,
        pharmacist,
        now,
        trace_codes=trace_codes,
        kiosk_id=kiosk.id,
        identity_check_id=check.id,
    )
