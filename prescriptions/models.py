"""The drug catalogue as loaded into the database, for prescription items to refer to."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import EncryptedText
from core.db import Base, UTCDateTime, utcnow
from core.models import BigId
from prescriptions import dosing
from prescriptions.catalogue import ControlClass

if TYPE_CHECKING:
    from followup.models import Consultation
    from identity.models import Person, Practitioner


class FormularyVersion(Base):
    """One import of the hospital's drug dictionary (药品字典): what it changed, kept for good so
    any prescription can be read against the formulary of its day."""

    __tablename__ = "formulary_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    products: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    retired: Mapped[int] = mapped_column(Integer)
    # [{"code", "name", "change": added|changed|retired, "fields": {field: [old, new]}}]
    diff: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    imported_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Drug(Base):
    __tablename__ = "drugs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    generic_name: Mapped[str] = mapped_column(String(100))
    english_name: Mapped[str] = mapped_column(String(200))
    brands: Mapped[list[str]] = mapped_column(JSON)
    ingredients: Mapped[list[str]] = mapped_column(JSON)
    dosage_form: Mapped[str] = mapped_column(String(32))
    strength: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(16))
    atc: Mapped[str] = mapped_column(String(16))
    rx: Mapped[bool] = mapped_column(Boolean)
    max_daily_dose: Mapped[float | None] = mapped_column(Float)  # in dose_unit
    dose_unit: Mapped[str] = mapped_column(String(8), default="mg")
    dose_per_unit: Mapped[float] = mapped_column(Float, default=1.0)  # dose_units per 最小单位
    unit: Mapped[str] = mapped_column(String(8), default="片")  # 最小单位
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    pack_unit: Mapped[str] = mapped_column(String(8), default="盒")
    price_fen: Mapped[int | None] = mapped_column(Integer)  # per pack
    approval_no: Mapped[str] = mapped_column(String(32), default="")  # 国药准字
    insurance_code: Mapped[str] = mapped_column(String(32), default="")  # 医保药品编码
    formulary_version: Mapped[int | None] = mapped_column(Integer)  # last changed in
    # The strongest control found by screening the product when it was loaded.
    control_class: Mapped[ControlClass | None] = mapped_column(
        Enum(ControlClass, native_enum=False, length=24)
    )
    blocked: Mapped[bool] = mapped_column(Boolean)
    # A control of the product itself, beyond its ingredients' (a compound under a threshold
    # rule): kept so the formulary in the database screens as the file did.
    product_class: Mapped[ControlClass | None] = mapped_column(
        Enum(ControlClass, native_enum=False, length=24)
    )
    source: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def pack(self) -> dosing.Pack:
        """How the drug is dispensed and priced, as dosing computes packs and 金额."""
        return dosing.Pack(
            self.dose_unit,
            self.dose_per_unit,
            self.unit,
            self.pack_size,
            self.pack_unit,
            self.price_fen,
        )


class PrescriptionState(enum.StrEnum):
    written = "written"  # by the consulting doctor, not yet signed
    signed = "signed"  # signed by the doctor; the pharmacist's review follows
    approved = "approved"  # reviewed and signed by a pharmacist: now it takes effect
    rejected = "rejected"  # back to the doctor with a reason; the doctor may revise it
    expired = "expired"  # validity ran out before the drugs were dispensed

    @property
    def label(self) -> str:
        return {
            "written": "已开具，待医生签名",
            "signed": "医生已签名，待药师审核",
            "approved": "药师审核通过",
            "rejected": "药师退回",
            "expired": "已过期",
        }[self.value]


class Prescription(Base):
    __tablename__ = "prescriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    diagnosis_code: Mapped[str] = mapped_column(EncryptedText("prescriptions.diagnosis_code"))
    state: Mapped[PrescriptionState] = mapped_column(
        Enum(PrescriptionState, native_enum=False, length=16)
    )
    stable_chronic_reason: Mapped[str | None] = mapped_column(String(300))
    accompanying_physician: Mapped[str | None] = mapped_column(String(64))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    doctor_signature_key: Mapped[str | None] = mapped_column(String(64))
    doctor_signature: Mapped[str | None] = mapped_column(String(128))
    doctor_signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    pharmacist_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    review_reason: Mapped[str | None] = mapped_column(String(32))
    review_note: Mapped[str | None] = mapped_column(String(300))
    pharmacist_signature_key: Mapped[str | None] = mapped_column(String(64))
    pharmacist_signature: Mapped[str | None] = mapped_column(String(128))
    # Each revision after a rejection is a new version of the content, signed anew.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # A review left waiting too long is flagged for the pharmacy lead (and shown first).
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The patient was reminded on the last valid day that the drugs are still to collect.
    expiry_reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The single-use code the pharmacy redeems (QR code and typed code on the document):
    # sealed so the document can be printed again, found by keyed hash at the counter.
    redemption_code: Mapped[str | None] = mapped_column(
        EncryptedText("prescriptions.redemption_code")
    )
    redemption_code_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    redeemed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # 长期处方 over 4 weeks: the patient confirms the education they read (its digest kept).
    long_term_consented_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    long_term_consent_digest: Mapped[str | None] = mapped_column(String(64))

    def code_usable(self, day: dt.date) -> bool:
        """Whether the pick-up code may be shown or used on `day` (China's): approved, not
        yet dispensed, in date. Every door asks this; the counter says why not
        (pharmacy.services.fulfilment.ensure_dispensable)."""
        return (
            self.state is PrescriptionState.approved
            and self.redeemed_at is None
            and self.valid_until >= day
        )

    items: Mapped[list[PrescriptionItem]] = relationship(
        order_by="PrescriptionItem.line",
        back_populates="prescription",
        cascade="all, delete-orphan",
    )
    person: Mapped[Person] = relationship()
    doctor: Mapped[Practitioner] = relationship(foreign_keys=[doctor_id])
    pharmacist: Mapped[Practitioner | None] = relationship(foreign_keys=[pharmacist_id])
    consultation: Mapped[Consultation] = relationship()


class PrescriptionVersion(Base):
    """A revision as it stood when the pharmacist returned it: what was signed, and why it
    went back. Kept, so a revised prescription never silently replaces what was reviewed."""

    __tablename__ = "prescription_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    doctor_signature_key: Mapped[str | None] = mapped_column(String(64))
    doctor_signature: Mapped[str | None] = mapped_column(String(128))
    review_reason: Mapped[str | None] = mapped_column(String(32))
    review_note: Mapped[str | None] = mapped_column(String(300))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("prescription_id", "revision"),)


class PrescriptionItem(Base):
    __tablename__ = "prescription_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    drug_id: Mapped[int] = mapped_column(ForeignKey("drugs.id"))
    name_as_written: Mapped[str] = mapped_column(String(100))
    dose: Mapped[float] = mapped_column(Float)
    dose_unit: Mapped[str] = mapped_column(String(8), default="mg")
    # 用法 (prescriptions.dosing.FREQUENCIES); times_per_day is the most doses in a day.
    frequency: Mapped[str | None] = mapped_column(String(8))
    times_per_day: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(16))
    days: Mapped[int] = mapped_column(Integer)
    # 数量: whole packs for the days, at the price of the day it was written (金额).
    quantity: Mapped[int | None] = mapped_column(Integer)
    pack_unit: Mapped[str | None] = mapped_column(String(8))
    unit_price_fen: Mapped[int | None] = mapped_column(Integer)
    amount_fen: Mapped[int | None] = mapped_column(Integer)

    prescription: Mapped[Prescription] = relationship(back_populates="items")
    drug: Mapped[Drug] = relationship()

    @property
    def schedule(self) -> dosing.Frequency:
        return dosing.stored(self.frequency, self.times_per_day)

    @property
    def units_to_dispense(self) -> int:
        """最小单位 leaving the pharmacy: whole packs; a line written before packs were kept,
        the units its course takes."""
        if self.quantity is not None:
            return self.quantity * max(self.drug.pack_size, 1)
        pack = replace(self.drug.pack, dose_unit=self.dose_unit, pack_size=1)
        return dosing.supply(self.dose, self.schedule, self.days, pack).units

    @property
    def usage(self) -> str:
        """用法用量 as printed: 每次 5 mg，每日一次，口服，共 28 天."""
        return (
            f"每次 {dosing.dose_text(self.dose, self.dose_unit)}，{self.schedule.label}，"
            f"{self.route}，共 {self.days} 天"
        )

    @property
    def quantity_text(self) -> str:
        """数量 with the pack unit (2盒), or the units for lines written before packs."""
        if self.quantity is not None:
            return f"{self.quantity}{self.pack_unit or self.drug.pack_unit}"
        return f"{self.units_to_dispense}{self.drug.unit}"


class ReportedMedicine(Base):
    """A medicine the patient (or their guardian) says they take, prescribed elsewhere or
    bought over the counter: the medication checks hold new prescriptions against it."""

    __tablename__ = "reported_medicines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    name: Mapped[str] = mapped_column(EncryptedText("prescriptions.reported_medicine.name"))
    # Resolved through the catalogue when the name is known; otherwise the name itself.
    ingredients: Mapped[list[str]] = mapped_column(JSON)
    atc: Mapped[str] = mapped_column(String(16), default="")
    reported_by_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
