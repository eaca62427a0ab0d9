"""Request and response shapes of prescriptions' API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from prescriptions.catalogue import ControlClass


class DrugOut(BaseModel):
    drug_id: str
    generic_name: str
    english_name: str
    brands: list[str]
    ingredients: list[str]
    dosage_form: str
    strength: str
    route: str
    rx: bool


class DrugList(BaseModel):
    drugs: list[DrugOut]


class ScreenIn(BaseModel):
    names: list[str] = Field(min_length=1, max_length=50)


class ScreenResult(BaseModel):
    name: str
    known: bool
    blocked: bool
    control_class: ControlClass | None
    control_label: str | None
    drug_id: str | None
    reason: str


class ScreenOut(BaseModel):
    results: list[ScreenResult]


class ItemIn(BaseModel):
    drug: str = Field(min_length=1, max_length=100, description="generic or brand name")
    dose_mg: float = Field(gt=0, le=100_000, description="dose per administration, mg")
    times_per_day: int = Field(ge=1, le=12)
    route: str = Field("", max_length=16)
    days: int = Field(ge=1, le=366)


class PrescriptionIn(BaseModel):
    items: list[ItemIn] = Field(min_length=1, max_length=20)
    stable_chronic_reason: str | None = Field(
        None, max_length=300, description="required for more than 4 weeks (up to 12)"
    )
    accompanying_physician: str | None = Field(
        None, max_length=64, description="for a child under 6: the specialist present"
    )
    valid_days: int = Field(1, ge=1, le=3, description="valid on the day issued, or up to 3")


class ItemOut(BaseModel):
    line: int
    drug_id: str
    generic_name: str
    name_as_written: str
    strength: str
    dose_mg: float
    times_per_day: int
    route: str
    days: int


class PrescriptionOut(BaseModel):
    id: int
    revision: int
    consultation_id: int
    state: str
    state_label: str
    diagnosis_code: str
    issued_on: dt.date
    valid_until: dt.date
    items: list[ItemOut]
    doctor_name: str
    doctor_signature_key: str | None = None
    doctor_signed_at: dt.datetime | None = None
    pharmacist_name: str | None = None
    pharmacist_signature_key: str | None = None
    reviewed_at: dt.datetime | None = None
    review_reason: str | None = None
    review_note: str | None = None
    escalated: bool = False
    redemption_code: str | None = Field(
        None,
        description="the single-use pick-up code (also the QR code on the document); "
        "shown to the patient once approved and not yet redeemed",
    )
    long_term: bool = Field(False, description="长期处方: some drug for more than 4 weeks")
    long_term_consented_at: dt.datetime | None = None
    long_term_notice: str | None = Field(
        None, description="what the patient confirms (POST …/long-term-consent) before review"
    )


class PrescriptionList(BaseModel):
    prescriptions: list[PrescriptionOut]


class QueueEntry(BaseModel):
    prescription_id: int
    doctor_name: str
    department: str
    signed_at: dt.datetime | None
    waiting_seconds: int
    escalated: bool
    claimed_by: str | None


class QueueOut(BaseModel):
    waiting: list[QueueEntry]


class SignatureCheckOut(BaseModel):
    prescription_id: int
    doctor_signature_valid: bool
    doctor_signature_key: str | None
    pharmacist_signature_valid: bool | None = Field(
        None, description="null until a pharmacist has reviewed it"
    )


class ReviewQueueOut(BaseModel):
    prescription: PrescriptionOut | None
    findings: list[str] = Field(default_factory=list, description="automated pre-review")


class RejectIn(BaseModel):
    reason: str = Field(
        description="inappropriate_drug, dose, interaction, duplicate, "
        "contraindication, incomplete or other"
    )
    note: str = Field(min_length=1, max_length=300)


class ApproveIn(BaseModel):
    override_reason: str | None = Field(
        None, max_length=300, description="why a major finding is acceptable for this patient"
    )


class ReportedMedicineIn(BaseModel):
    patient_id: int | None = Field(None, description="a dependent's person id; omit for self")
    name: str = Field(min_length=1, max_length=100, description="通用名或商品名，如 华法林")


class MedicineInForceOut(BaseModel):
    name: str
    source: str = Field(description="处方 #12，已取药，剩 9 天 / 患者自述在用")
    reported_medicine_id: int | None = Field(None, description="set for a reported medicine")


class MedicinesOut(BaseModel):
    medicines: list[MedicineInForceOut]
