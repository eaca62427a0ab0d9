"""Stock in lots: receiving, adjusting with a reason, what is available (not expired, not
held for someone else), taking units first-expiry-first-out, and alerts. Every movement is a
row and an audit event. Lots are always locked in id order, so two transactions that touch the
same drugs never deadlock."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.audit import Actor
from core.errors import NotFound
from pharmacy import rules
from pharmacy.models import Reservation, StockLot, StockMovement


def receive(
    session: Session,
    actor: Actor,
    pharmacy_id: int,
    drug_id: int,
    batch_number: str,
    expiry_date: dt.date,
    quantity: int,
    today: dt.date,
) -> StockLot:
    """Goods in: a new lot, or more of a lot already here (same batch)."""
    batch = batch_number.strip()
    if quantity <= 0 or not batch:
        raise rules.InvalidStock("数量须为正数，批号不能为空")
    if expiry_date <= today:
        raise rules.InvalidStock("不得入库已过期的药品")
    lot = session.scalar(
        select(StockLot)
        .where(
            StockLot.pharmacy_id == pharmacy_id,
            StockLot.drug_id == drug_id,
            StockLot.batch_number == batch,
        )
        .with_for_update()
    )
    if lot is None:
        lot = StockLot(
            pharmacy_id=pharmacy_id,
            drug_id=drug_id,
            batch_number=batch,
            expiry_date=expiry_date,
            quantity=0,
        )
        session.add(lot)
        session.flush()
    elif lot.expiry_date != expiry_date:
        raise rules.InvalidStock("同一批号的有效期不一致")
    _move(session, actor, lot, quantity, "received", f"入库 {batch}")
    return lot


def adjust(
    session: Session, actor: Actor, pharmacy_id: int, lot_id: int, change: int, reason: str
) -> StockLot:
    """A count correction, breakage or destruction of one of the pharmacy's lots: with a
    reason, never below zero."""
    lot = session.get(StockLot, lot_id, with_for_update=True)
    if lot is None or lot.pharmacy_id != pharmacy_id:
        raise NotFound("本药房没有这个批次")
    if not reason.strip() or change == 0:
        raise rules.InvalidStock("调整须写明原因，且数量不能为 0")
    if lot.quantity + change < 0:
        raise rules.InvalidStock(f"批次 {lot.batch_number} 只有 {lot.quantity} 个单位")
    _move(session, actor, lot, change, "adjusted", reason.strip()[:200])
    return lot


def _move(
    session: Session,
    actor: Actor,
    lot: StockLot,
    change: int,
    kind: str,
    reason: str,
    prescription_id: int | None = None,
) -> None:
    lot.quantity += change
    session.add(
        StockMovement(
            lot_id=lot.id,
            change=change,
            kind=kind,
            reason=reason,
            prescription_id=prescription_id,
            actor_account_id=actor.account_id,
        )
    )
    session.flush()
    audit.record(
        session,
        actor,
        f"stock.{kind}",
        "stock_lot",
        lot.id,
        {"change": change, "quantity": lot.quantity, "reason": reason, "rx": prescription_id},
    )


def lots_of(
    session: Session, pharmacy_id: int, drug_ids: Iterable[int], *, lock: bool = False
) -> list[StockLot]:
    """Every lot of these drugs at the pharmacy in id order; locked (in that order, so no
    deadlocks) when stock is about to move."""
    query = (
        select(StockLot)
        .where(StockLot.pharmacy_id == pharmacy_id, StockLot.drug_id.in_(list(drug_ids)))
        .order_by(StockLot.id)
    )
    return list(session.scalars(query.with_for_update() if lock else query))


def lots_by_pharmacy(
    session: Session, pharmacy_ids: Iterable[int], drug_ids: Iterable[int]
) -> dict[int, list[StockLot]]:
    """Every lot of these drugs at these pharmacies, by pharmacy, in one query (a search over
    many pharmacies, never one query each)."""
    found: dict[int, list[StockLot]] = {}
    for lot in session.scalars(
        select(StockLot)
        .where(StockLot.pharmacy_id.in_(list(pharmacy_ids)), StockLot.drug_id.in_(list(drug_ids)))
        .order_by(StockLot.id)
    ):
        found.setdefault(lot.pharmacy_id, []).append(lot)
    return found


def held_by_pharmacy(
    session: Session, pharmacy_ids: Iterable[int], drug_ids: Iterable[int]
) -> dict[int, dict[int, int]]:
    """Units held by active reservations, by pharmacy and drug, in one query."""
    query = (
        select(
            Reservation.pharmacy_id,
            Reservation.drug_id,
            func.coalesce(func.sum(Reservation.units), 0),
        )
        .where(
            Reservation.pharmacy_id.in_(list(pharmacy_ids)),
            Reservation.drug_id.in_(list(drug_ids)),
            Reservation.active.is_(True),
        )
        .group_by(Reservation.pharmacy_id, Reservation.drug_id)
    )
    held: dict[int, dict[int, int]] = {}
    for pharmacy_id, drug_id, units in session.execute(query):
        held.setdefault(pharmacy_id, {})[drug_id] = int(units)
    return held


def held_for_others(
    session: Session, pharmacy_id: int, drug_ids: Iterable[int], except_fulfilment: int | None
) -> dict[int, int]:
    query = (
        select(Reservation.drug_id, func.coalesce(func.sum(Reservation.units), 0))
        .where(
            Reservation.pharmacy_id == pharmacy_id,
            Reservation.drug_id.in_(list(drug_ids)),
            Reservation.active.is_(True),
        )
        .group_by(Reservation.drug_id)
    )
    if except_fulfilment is not None:
        query = query.where(Reservation.fulfilment_id != except_fulfilment)
    return {drug_id: int(units) for drug_id, units in session.execute(query)}


def usable(lots: Iterable[StockLot], drug_id: int, usable_until: dt.date) -> list[StockLot]:
    """Lots of a drug that are still good through `usable_until`, first expiry first."""
    return sorted(
        (
            lot
            for lot in lots
            if lot.drug_id == drug_id and lot.expiry_date >= usable_until and lot.quantity > 0
        ),
        key=lambda lot: (lot.expiry_date, lot.id),
    )


def shortfalls(
    lots: list[StockLot], needed: dict[int, int], held: dict[int, int], usable_until: dt.date
) -> dict[int, int]:
    """For each drug short, how many units are missing."""
    missing = {}
    for drug_id, units in needed.items():
        available = sum(lot.quantity for lot in usable(lots, drug_id, usable_until))
        free = available - held.get(drug_id, 0)
        if free < units:
            missing[drug_id] = units - max(free, 0)
    return missing


@dataclass(frozen=True)
class Taken:
    lot: StockLot
    units: int


def take(
    session: Session,
    actor: Actor,
    lots: list[StockLot],
    needed: dict[int, int],
    today: dt.date,
    prescription_id: int,
) -> list[Taken]:
    """Take the units off the locked lots, first expiry first, never from an expired lot. The
    caller has checked there is enough; this only moves stock."""
    taken: list[Taken] = []
    for drug_id, units in needed.items():
        left = units
        for lot in usable(lots, drug_id, today):
            if left == 0:
                break
            part = min(lot.quantity, left)
            _move(session, actor, lot, -part, "dispensed", "发药", prescription_id)
            taken.append(Taken(lot, part))
            left -= part
        if left:
            raise rules.OutOfStock("库存在发药过程中不足")  # not reached after shortfalls()
    return taken


@dataclass(frozen=True)
class Alert:
    kind: str  # low_stock, near_expiry, expired
    pharmacy_id: int
    drug_id: int
    generic_name: str
    detail: str


def alerts(session: Session, pharmacy_id: int, today: dt.date) -> list[Alert]:
    """Low stock per drug, and lots near expiry or expired with units left."""
    lots = list(
        session.scalars(
            select(StockLot).where(StockLot.pharmacy_id == pharmacy_id).order_by(StockLot.id)
        )
    )
    found: list[Alert] = []
    totals: dict[int, int] = defaultdict(int)
    names: dict[int, str] = {}
    for lot in lots:
        names[lot.drug_id] = lot.drug.generic_name
        if lot.quantity == 0:
            continue
        if lot.expiry_date < today:
            found.append(
                Alert("expired", pharmacy_id, lot.drug_id, lot.drug.generic_name,
                      f"批号 {lot.batch_number} 已于 {lot.expiry_date} 过期，剩 {lot.quantity}")
            )  # fmt: skip
            continue
        totals[lot.drug_id] += lot.quantity
        if lot.expiry_date <= today + dt.timedelta(days=rules.NEAR_EXPIRY_DAYS):
            found.append(
                Alert("near_expiry", pharmacy_id, lot.drug_id, lot.drug.generic_name,
                      f"批号 {lot.batch_number} 将于 {lot.expiry_date} 过期，剩 {lot.quantity}")
            )  # fmt: skip
    for drug_id, name in names.items():
        if totals[drug_id] < rules.LOW_STOCK_UNITS:
            found.append(
                Alert("low_stock", pharmacy_id, drug_id, name, f"可用库存 {totals[drug_id]}")
            )
    return found
