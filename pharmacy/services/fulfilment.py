"""Choosing how to get the drugs: the open pharmacies that hold every item, nearest first;
pick-up (stock reserved until the prescription expires) or delivery (a courier order once the
pharmacy has dispensed). Reservations are released when the prescription expires."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock, transitions
from core.audit import Actor
from core.errors import InvalidState, NotFound
from identity.models import Account
from identity.services import actor_of
from pharmacy import rules
from pharmacy.models import (
    Fulfilment,
    FulfilmentMethod,
    FulfilmentState,
    Pharmacy,
    Reservation,
)
from pharmacy.services import stock
from prescriptions.catalogue import ControlClass
from prescriptions.models import Prescription, PrescriptionState


def needed_units(prescription: Prescription) -> dict[int, int]:
    """Units of each drug the prescription needs (two lines of one drug add up)."""
    needed: dict[int, int] = defaultdict(int)
    for item in prescription.items:
        needed[item.drug_id] += item.units_to_dispense
    return dict(needed)


def end_of_validity(prescription: Prescription) -> dt.datetime:
    """The first instant after the prescription's last valid day (China time)."""
    last = dt.datetime.combine(prescription.valid_until, dt.time.min, tzinfo=clock.CHINA)
    return (last + dt.timedelta(days=1)).astimezone(dt.UTC)


def ensure_dispensable(prescription: Prescription, now: dt.datetime) -> None:
    """Approved, in date, not yet dispensed: or the stable reason why not."""
    if prescription.redeemed_at is not None:
        raise rules.AlreadyDispensed()
    if prescription.state is PrescriptionState.expired or (
        prescription.valid_until < clock.day_of(now)
    ):
        raise rules.PrescriptionExpired(f"有效期至 {prescription.valid_until.isoformat()}")
    if prescription.state is not PrescriptionState.approved:
        raise rules.NotApproved(f"处方{prescription.state.label}")


@dataclass(frozen=True)
class Candidate:
    pharmacy: Pharmacy
    distance_km: float


def pharmacies_for(
    session: Session, prescription: Prescription, lat: float, lng: float, now: dt.datetime
) -> list[Candidate]:
    """Open pharmacies that can supply every item now, nearest first."""
    ensure_dispensable(prescription, now)
    needed = needed_units(prescription)
    usable_until = prescription.valid_until
    found = []
    open_now = [
        p
        for p in session.scalars(select(Pharmacy).where(Pharmacy.active.is_(True)))
        if rules.is_open(p.opening_hours, now)
    ]
    ids = [p.id for p in open_now]
    lots = stock.lots_by_pharmacy(session, ids, needed)
    held = stock.held_by_pharmacy(session, ids, needed)
    for pharmacy in open_now:
        if stock.shortfalls(
            lots.get(pharmacy.id, []), needed, held.get(pharmacy.id, {}), usable_until
        ):
            continue
        distance = rules.distance_km(lat, lng, pharmacy.latitude, pharmacy.longitude)
        found.append(Candidate(pharmacy, distance))
    return sorted(found, key=lambda c: (c.distance_km, c.pharmacy.id))


def _own_prescription(session: Session, account: Account, prescription_id: int) -> Prescription:
    prescription = session.get(Prescription, prescription_id, with_for_update=True)
    if prescription is None or prescription.consultation.account_id != account.id:
        raise NotFound("没有这张处方")
    return prescription


def _reserve(
    session: Session, fulfilment: Fulfilment, prescription: Prescription, pharmacy_id: int
) -> None:
    needed = needed_units(prescription)
    lots = stock.lots_of(session, pharmacy_id, needed, lock=True)
    held = stock.held_for_others(session, pharmacy_id, needed, fulfilment.id)
    missing = stock.shortfalls(lots, needed, held, prescription.valid_until)
    if missing:
        raise rules.OutOfStock(f"缺少 {len(missing)} 种药品", missing=sorted(missing))
    for drug_id, units in needed.items():
        session.add(
            Reservation(
                fulfilment_id=fulfilment.id, pharmacy_id=pharmacy_id, drug_id=drug_id, units=units
            )
        )
    session.flush()


def choose_pickup(
    session: Session, account: Account, prescription_id: int, pharmacy_id: int, now: dt.datetime
) -> Fulfilment:
    prescription = _own_prescription(session, account, prescription_id)
    ensure_dispensable(prescription, now)
    pharmacy = session.get(Pharmacy, pharmacy_id)
    if pharmacy is None or not pharmacy.active:
        raise NotFound("没有这家药房")
    until = end_of_validity(prescription)
    fulfilment = _fresh(session, prescription)
    fulfilment.method = FulfilmentMethod.pickup
    fulfilment.pharmacy_id = pharmacy.id
    fulfilment.address = None
    fulfilment.reserved_until = until
    fulfilment.updated_at = now
    transitions.transition(
        session,
        rules.FULFILMENT,
        fulfilment,
        FulfilmentState.reserved,
        actor_of(account),
        details={"pharmacy_id": pharmacy.id, "until": until.isoformat()},
        notice=transitions.Notice(
            account.id,
            "fulfilment.reserved",
            "药品已为您预留",
            f"处方 #{prescription.id} 的药品已预留在{pharmacy.name}（{pharmacy.address}），"
            f"请于 {prescription.valid_until.isoformat()} 前凭取药码和身份证到店自助取药。",
            {"prescription_id": prescription.id, "pharmacy_id": pharmacy.id},
        ),
        subject=("prescription", prescription.id),
    )
    _reserve(session, fulfilment, prescription, pharmacy.id)
    return fulfilment


@dataclass(frozen=True)
class Address:
    recipient: str
    phone: str
    region: str
    detail: str

    def sealed_text(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


def choose_delivery(
    session: Session,
    account: Account,
    prescription_id: int,
    address: Address,
    pharmacy_id: int | None,
    now: dt.datetime,
) -> Fulfilment:
    """Delivery from a pharmacy that holds every item (the one named, or the first that can);
    its pharmacist dispenses, then the courier order goes out through the outbox."""
    prescription = _own_prescription(session, account, prescription_id)
    ensure_dispensable(prescription, now)
    banned = [
        i.drug.generic_name
        for i in prescription.items
        if i.drug.control_class is ControlClass.online_banned
    ]
    if banned:
        raise rules.DeliveryNotAllowed("、".join(banned) + " 须到店取药")
    fulfilment = _fresh(session, prescription)
    candidates = [
        p
        for p in session.scalars(
            select(Pharmacy).where(Pharmacy.active.is_(True)).order_by(Pharmacy.id)
        )
        if pharmacy_id is None or p.id == pharmacy_id
    ]
    if not candidates:
        raise NotFound("没有这家药房")
    fulfilment.method = FulfilmentMethod.delivery
    fulfilment.pharmacy_id = candidates[0].id
    fulfilment.address = address.sealed_text()
    fulfilment.reserved_until = end_of_validity(prescription)
    fulfilment.updated_at = now
    transitions.transition(
        session,
        rules.FULFILMENT,
        fulfilment,
        FulfilmentState.awaiting_dispense,
        actor_of(account),
        details={"candidates": [p.id for p in candidates]},
        subject=("prescription", prescription.id),
    )
    last_error: rules.OutOfStock | None = None
    for pharmacy in candidates:
        fulfilment.pharmacy_id = pharmacy.id
        try:
            with session.begin_nested():
                _reserve(session, fulfilment, prescription, pharmacy.id)
        except rules.OutOfStock as exc:
            last_error = exc
            continue
        # Which pharmacy holds the delivery: the first candidate with every item in stock.
        audit.record(
            session,
            actor_of(account),
            "fulfilment.placed",
            "prescription",
            prescription.id,
            {"pharmacy_id": pharmacy.id},
        )
        return fulfilment
    raise last_error or rules.OutOfStock()


def for_prescription(
    session: Session, prescription_id: int, *, lock: bool = False
) -> Fulfilment | None:
    query = select(Fulfilment).where(Fulfilment.prescription_id == prescription_id)
    return session.scalar(query.with_for_update() if lock else query)


def release(session: Session, fulfilment: Fulfilment, why: str, now: dt.datetime) -> None:
    for reservation in fulfilment.reservations:
        reservation.active = False
    fulfilment.updated_at = now
    transitions.transition(
        session,
        rules.FULFILMENT,
        fulfilment,
        FulfilmentState.released,
        Actor.system(),
        details={"why": why},
        subject=("prescription", fulfilment.prescription_id),
    )


def cancel(
    session: Session, account: Account, prescription_id: int, now: dt.datetime
) -> Fulfilment:
    """The patient changes their mind before anything was dispensed: the stock goes back, and
    they may choose again."""
    prescription = _own_prescription(session, account, prescription_id)
    fulfilment = for_prescription(session, prescription.id, lock=True)
    if fulfilment is None:
        raise NotFound("尚未选择取药方式")
    if fulfilment.state not in (FulfilmentState.reserved, FulfilmentState.awaiting_dispense):
        raise InvalidState(f"{fulfilment.state.label}，不能取消")
    release(session, fulfilment, "cancelled", now)
    return fulfilment


def _fresh(session: Session, prescription: Prescription) -> Fulfilment:
    """The prescription's fulfilment row to fill in: new, or one released by a cancellation
    (its old reservations stay, inactive, as history)."""
    existing = for_prescription(session, prescription.id, lock=True)
    if existing is not None and existing.state is not FulfilmentState.released:
        raise rules.AlreadyArranged()
    return existing or Fulfilment(prescription_id=prescription.id)


def release_expired(session: Session, now: dt.datetime) -> list[int]:
    """Stock held for prescriptions that ran out of validity (or were never dispensed for any
    other reason) goes back on the shelf."""
    due = session.scalars(
        select(Fulfilment)
        .where(
            Fulfilment.state.in_((FulfilmentState.reserved, FulfilmentState.awaiting_dispense)),
            Fulfilment.reserved_until <= now,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for fulfilment in due:
        release(session, fulfilment, "expired", now)
    return [f.prescription_id for f in due]
