"""Request and response shapes of the pharmacy API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class PharmacyOut(BaseModel):
    id: int
    name: str
    chain: str
    address: str
    latitude: float
    longitude: float
    distance_km: float | None = None
    open_now: bool
    opening_hours: dict[str, list[list[str]]]


class PharmacyList(BaseModel):
    pharmacies: list[PharmacyOut]


class AddressIn(BaseModel):
    recipient: str = Field(min_length=1, max_length=32)
    phone: str = Field(pattern=r"^1[3-9]\d{9}$", description="mainland mobile number")
    region: str = Field(min_length=2, max_length=64, examples=["北京市朝阳区"])
    detail: str = Field(min_length=2, max_length=128)


class FulfilmentIn(BaseModel):
    method: Literal["pickup", "delivery"]
    pharmacy_id: int | None = Field(None, description="required for pickup")
    address: AddressIn | None = Field(None, description="required for delivery")


class FulfilmentOut(BaseModel):
    prescription_id: int
    method: str
    method_label: str
    state: str
    state_label: str
    pharmacy_id: int
    pharmacy_name: str
    pharmacy_address: str
    reserved_until: dt.datetime | None
    courier_order_id: str | None = None
    delivery_code: str | None = Field(
        None, description="the code to give the courier at the door (patient only)"
    )


class ScanIn(BaseModel):
    token: str = Field(min_length=1, max_length=64, description="the code in the QR or typed")


class ScannedItem(BaseModel):
    line: int
    generic_name: str
    strength: str
    dosage_form: str
    units: int
    usage: str


class ScanOut(BaseModel):
    prescription_id: int
    patient_name: str = Field(description="masked")
    patient_age: int
    guardian_needed: bool
    valid_until: dt.date
    reserved_here: bool
    pharmacy_name: str
    items: list[ScannedItem]


class IdentityForm(BaseModel):
    token: str = Field(min_length=1, max_length=64)
    id_card: str = Field(
        min_length=2, max_length=400_000,
        description="the reading of the collector's ID card as the kiosk's reader signed it "
        "(JSON: name, id_number, photo (base64 of the chip's photo), reader_id, read_at, "
        "signature — see pharmacy/id_card.py)",
    )  # fmt: skip
    patient_id_last4: str | None = Field(
        None, min_length=4, max_length=4, description="the patient's, when someone else collects"
    )


class IdentityOut(BaseModel):
    identity_check_id: int
    matched: bool
    collector_role: str
    valid_until: dt.datetime


TRACE_CODES = Field(
    min_length=1,
    max_length=200,
    description="药品追溯码 of every box handed out, as scanned (20 digits each; at least one "
    "box of every drug); a code dispensed before is refused",
)


class DispenseIn(BaseModel):
    token: str = Field(min_length=1, max_length=64)
    identity_check_id: int
    pharmacist_username: str = Field(min_length=1, max_length=64)
    pharmacist_password: str = Field(min_length=1, max_length=256)
    trace_codes: list[str] = TRACE_CODES


class DispatchIn(BaseModel):
    trace_codes: list[str] = TRACE_CODES


class DispensedLot(BaseModel):
    drug: str
    lot_id: int
    batch_number: str
    expiry_date: dt.date
    units: int


class DispensingOut(BaseModel):
    prescription_id: int
    pharmacy_id: int
    kiosk_id: int | None
    pharmacist_name: str
    dispensed_at: dt.datetime
    lots: list[DispensedLot]
    trace_codes: list[str] = Field(default_factory=list, description="药品追溯码 of each box")


class CourierEventIn(BaseModel):
    event_id: str = Field(min_length=1, max_length=64)
    order_id: str = Field(min_length=1, max_length=64)
    status: Literal["picked_up", "in_transit", "delivered", "failed"]
    confirmation_code: str | None = Field(None, max_length=16, description="for delivered")
    note: str | None = Field(None, max_length=200)
    at: dt.datetime | None = None


class CourierEventOut(BaseModel):
    order_id: str
    state: str
    applied: bool = Field(description="false when this event id was seen before (a replay)")


class NewPharmacyIn(BaseModel):
    code: str = Field(min_length=2, max_length=32)
    name: str = Field(min_length=2, max_length=100)
    chain: str = Field(min_length=1, max_length=100)
    address: str = Field(min_length=2, max_length=200)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    opening_hours: dict[str, list[list[str]]] = Field(
        description='per ISO weekday "1".."7": [["08:00", "22:00"]]'
    )
    licence_number: str = Field(min_length=2, max_length=64)


class PharmacistOnDutyIn(BaseModel):
    practitioner_id: int
    on_duty: bool = True


class KioskIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)


class KioskOut(BaseModel):
    kiosk_id: int
    pharmacy_id: int
    username: str
    secret: str | None = Field(None, description="the device secret, shown once at registration")
    reader_key: str | None = Field(
        None, description="the key its ID card reader signs readings with, shown once"
    )
    revoked_at: dt.datetime | None = None


class ReceiveIn(BaseModel):
    drug_id: str = Field(description="the catalogue id (drug code)")
    batch_number: str = Field(min_length=1, max_length=64)
    expiry_date: dt.date
    quantity: int = Field(gt=0, le=1_000_000, description="units (tablets, capsules, devices)")


class AdjustIn(BaseModel):
    change: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=1, max_length=200)


class LotOut(BaseModel):
    lot_id: int
    drug_id: str
    generic_name: str
    batch_number: str
    expiry_date: dt.date
    quantity: int


class LotList(BaseModel):
    lots: list[LotOut]


class AlertOut(BaseModel):
    kind: str = Field(description="low_stock, near_expiry or expired")
    drug_id: int
    generic_name: str
    detail: str


class AlertList(BaseModel):
    alerts: list[AlertOut]
