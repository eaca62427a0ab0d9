"""Pharmacies, their kiosks and pharmacists on duty, stock in lots, reservations, fulfilments
(pick-up or delivery) and the dispensing record."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import EncryptedText
from core.db import Base, UTCDateTime, utcnow
from core.models import BigId

if TYPE_CHECKING:
    from identity.models import Account, Person, Practitioner
    from prescriptions.models import Drug, Prescription


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=24)


class Pharmacy(Base):
    """A retail pharmacy (a chain store) where patients collect their drugs."""

    __tablename__ = "pharmacies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    chain: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    # Opening hours per ISO weekday ("1".."7"): [["08:00", "22:00"], ...], China time.
    opening_hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON)
    licence_number: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PharmacyPharmacist(Base):
    """A licensed pharmacist who works at a pharmacy; on duty ones confirm dispensing."""

    __tablename__ = "pharmacy_pharmacists"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)

    practitioner: Mapped[Practitioner] = relationship()

    __table_args__ = (UniqueConstraint("pharmacy_id", "practitioner_id"),)


class Kiosk(Base):
    """A self-service terminal bound to one pharmacy. It signs in with its device credentials
    (its own kiosk account); revoking it deactivates that account and every token at once."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    # The key its ID card reader signs readings with (pharmacy.id_card); sealed at rest.
    reader_key: Mapped[str | None] = mapped_column(EncryptedText("pharmacy.kiosk.reader_key"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    pharmacy: Mapped[Pharmacy] = relationship()
    account: Mapped[Account] = relationship()


class StockLot(Base):
    """One batch of one drug at one pharmacy, counted in the drug's smallest unit (tablets,
    capsules; one device for an inhaler). Never below zero: the database refuses it too."""

    __tablename__ = "stock_lots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"))
    drug_id: Mapped[int] = mapped_column(ForeignKey("drugs.id"))
    batch_number: Mapped[str] = mapped_column(String(64))
    expiry_date: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    drug: Mapped[Drug] = relationship()
    pharmacy: Mapped[Pharmacy] = relationship()

    __table_args__ = (
        UniqueConstraint("pharmacy_id", "drug_id", "batch_number"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index(None, "pharmacy_id", "drug_id"),
    )


class StockMovement(Base):
    """Every change to a lot: received, adjusted (with a reason), dispensed."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("stock_lots.id"), index=True)
    change: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # received, adjusted, dispensed
    reason: Mapped[str] = mapped_column(String(200))
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"))
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FulfilmentMethod(enum.StrEnum):
    pickup = "pickup"
    delivery = "delivery"

    @property
    def label(self) -> str:
        return "到店自取" if self is FulfilmentMethod.pickup else "配送到家"


class FulfilmentState(enum.StrEnum):
    reserved = "reserved"  # pick-up: stock held at the pharmacy until the prescription expires
    awaiting_dispense = "awaiting_dispense"  # delivery: the pharmacy prepares it
    dispensed = "dispensed"  # handed over at the counter, or packed for the courier
    picked_up = "picked_up"  # the courier has it
    in_transit = "in_transit"
    delivered = "delivered"
    failed = "failed"
    released = "released"  # expired or cancelled before dispensing: stock back on the shelf

    @property
    def label(self) -> str:
        return {
            "reserved": "已预留，待到店取药",
            "awaiting_dispense": "药房备药中",
            "dispensed": "已发药",
            "picked_up": "快递已揽收",
            "in_transit": "配送中",
            "delivered": "已送达",
            "failed": "配送失败",
            "released": "已释放",
        }[self.value]


class Fulfilment(Base):
    """How an approved prescription reaches the patient. One per prescription."""

    __tablename__ = "fulfilments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), unique=True)
    method: Mapped[FulfilmentMethod] = mapped_column(_enum(FulfilmentMethod))
    state: Mapped[FulfilmentState] = mapped_column(_enum(FulfilmentState), index=True)
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"), index=True)
    # Delivery only: recipient, phone and address (sealed), and the courier's tracking.
    address: Mapped[str | None] = mapped_column(EncryptedText("pharmacy.fulfilment.address"))
    courier_order_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The code the recipient gives the courier at the door (the patient sees it in the app).
    delivery_code: Mapped[str | None] = mapped_column(EncryptedText("pharmacy.delivery_code"))
    reserved_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    pharmacy: Mapped[Pharmacy] = relationship()
    prescription: Mapped[Prescription] = relationship()
    reservations: Mapped[list[Reservation]] = relationship(back_populates="fulfilment")


class Reservation(Base):
    """Units of one drug held at a pharmacy for one fulfilment, not yet taken off a lot."""

    __tablename__ = "stock_reservations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fulfilment_id: Mapped[int] = mapped_column(ForeignKey("fulfilments.id"), index=True)
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"))
    drug_id: Mapped[int] = mapped_column(ForeignKey("drugs.id"))
    units: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    fulfilment: Mapped[Fulfilment] = relationship(back_populates="reservations")

    __table_args__ = (Index(None, "pharmacy_id", "drug_id", "active"),)


class IdentityCheck(Base):
    """The collector proved who they are at a kiosk (their ID card on the kiosk's reader, the
    chip's photo matched with the kiosk's camera) for one prescription; valid a few minutes."""

    __tablename__ = "kiosk_identity_checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"), index=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"))
    collector_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    collector_role: Mapped[str] = mapped_column(String(16))  # patient, guardian, proxy
    matched: Mapped[bool] = mapped_column(Boolean)
    distance: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    collector: Mapped[Person] = relationship()


class Dispensing(Base):
    """Drugs left the pharmacy on this prescription: at most once, ever (the unique key makes
    the database refuse a second one whatever the code does)."""

    __tablename__ = "dispensings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), unique=True)
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"), index=True)
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"))
    pharmacist_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    identity_check_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_identity_checks.id"))
    # [{"drug": code, "lot_id", "batch_number", "expiry_date", "units"}]
    lots: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    dispensed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    pharmacist: Mapped[Practitioner] = relationship()
    pharmacy: Mapped[Pharmacy] = relationship()
    boxes: Mapped[list[DispensedBox]] = relationship(order_by="DispensedBox.id")


class CourierEvent(Base):
    """A courier update as received; its id makes a replay change nothing."""

    __tablename__ = "courier_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    fulfilment_id: Mapped[int] = mapped_column(ForeignKey("fulfilments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DispensedBox(Base):
    """One box handed out, by the traceability code printed on it (药品追溯码): captured in
    full at dispensing since 2026-01-01, and one box's code is dispensed once."""

    __tablename__ = "dispensed_boxes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    trace_code: Mapped[str] = mapped_column(String(20), unique=True)
    dispensing_id: Mapped[int] = mapped_column(ForeignKey("dispensings.id"), index=True)
    scanned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
