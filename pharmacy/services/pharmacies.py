"""Pharmacy services: pharmacies and their pharmacists, what a pharmacy holds, and who on
staff may manage a pharmacy's stock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.audit import Actor
from core.errors import Forbidden, NotFound, ValidationFailed
from core.models import Notification
from core.notify import notify
from identity.models import Account, Practitioner, Role
from identity.rules import PractitionerKind
from identity.services import practitioners
from pharmacy.models import (
    Pharmacy,
    PharmacyPharmacist,
    StockLot,
)
from pharmacy.services import stock


@dataclass(frozen=True)
class NewPharmacy:
    code: str
    name: str
    chain: str
    address: str
    latitude: float
    longitude: float
    opening_hours: dict[str, list[list[str]]]
    licence_number: str


def create_pharmacy(session: Session, actor: Actor, data: NewPharmacy) -> Pharmacy:
    if session.scalar(select(Pharmacy.id).where(Pharmacy.code == data.code)) is not None:
        raise ValidationFailed("药房编码已存在")
    if not (-90 <= data.latitude <= 90 and -180 <= data.longitude <= 180):
        raise ValidationFailed("坐标无效")
    pharmacy = Pharmacy(**data.__dict__, active=True)
    session.add(pharmacy)
    session.flush()
    audit.record(session, actor, "pharmacy.create", "pharmacy", pharmacy.id, {"code": data.code})
    return pharmacy


def get(session: Session, pharmacy_id: int) -> Pharmacy:
    pharmacy = session.get(Pharmacy, pharmacy_id)
    if pharmacy is None:
        raise NotFound("没有这家药房")
    return pharmacy


def add_pharmacist(
    session: Session, actor: Actor, pharmacy_id: int, practitioner_id: int, on_duty: bool
) -> PharmacyPharmacist:
    get(session, pharmacy_id)
    practitioner = session.get(Practitioner, practitioner_id)
    if practitioner is None or practitioner.kind is not PractitionerKind.pharmacist:
        raise ValidationFailed("只能登记药师")
    row = session.scalar(
        select(PharmacyPharmacist).where(
            PharmacyPharmacist.pharmacy_id == pharmacy_id,
            PharmacyPharmacist.practitioner_id == practitioner_id,
        )
    )
    if row is None:
        row = PharmacyPharmacist(pharmacy_id=pharmacy_id, practitioner_id=practitioner_id)
        session.add(row)
    row.on_duty = on_duty
    session.flush()
    audit.record(
        session, actor, "pharmacy.pharmacist", "pharmacy", pharmacy_id,
        {"practitioner_id": practitioner_id, "on_duty": on_duty},
    )  # fmt: skip
    return row


def ensure_staff(session: Session, account: Account, pharmacy_id: int) -> None:
    """Stock is managed by an administrator or a pharmacist who works at that pharmacy."""
    get(session, pharmacy_id)
    if account.role is Role.admin:
        return
    if account.role is Role.pharmacist:
        practitioner = practitioners.practitioner_for(session, account)
        works_here = session.scalar(
            select(PharmacyPharmacist.id).where(
                PharmacyPharmacist.pharmacy_id == pharmacy_id,
                PharmacyPharmacist.practitioner_id == practitioner.id,
            )
        )
        if works_here is not None:
            return
    raise Forbidden("只有本药房药师或管理员可以管理库存")


def lots(session: Session, pharmacy_id: int) -> list[StockLot]:
    return list(
        session.scalars(
            select(StockLot)
            .where(StockLot.pharmacy_id == pharmacy_id)
            .order_by(StockLot.drug_id, StockLot.expiry_date, StockLot.id)
        )
    )


def notify_alerts(session: Session, now: dt.datetime) -> int:
    """Once a day, each pharmacist on duty at a pharmacy with alerts is told what is low or
    expiring there. Returns how many were told."""
    today = clock.day_of(now)
    start = dt.datetime.combine(today, dt.time.min, tzinfo=clock.CHINA)
    told = 0
    for pharmacy in session.scalars(select(Pharmacy).where(Pharmacy.active.is_(True))):
        found = stock.alerts(session, pharmacy.id, today)
        if not found:
            continue
        text = "；".join(f"{a.generic_name}：{a.detail}" for a in found[:20])
        duty = session.scalars(
            select(PharmacyPharmacist).where(
                PharmacyPharmacist.pharmacy_id == pharmacy.id, PharmacyPharmacist.on_duty.is_(True)
            )
        )
        for row in duty:
            account_id = row.practitioner.account_id
            already = session.scalar(
                select(Notification.id).where(
                    Notification.account_id == account_id,
                    Notification.kind == "stock.alerts",
                    Notification.created_at >= start,
                )
            )
            if already is None:
                notify(session, account_id, "stock.alerts", f"{pharmacy.name}库存提醒", text,
                       {"pharmacy_id": pharmacy.id, "count": len(found)})  # fmt: skip
                told += 1
    return told
