"""Request and response shapes of prescriptions' API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, model_validator

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
    atc: str = ""
    dose_unit: str = "mg"
    unit: str = ""
    pack_size: int = 1
    pack_unit: str = ""
    price_fen: int | None = Field(None, description="per pack, in fen (分)")
    approval_no: str = Field("", description="国药准字")
    insurance_code: str = Field("", description="国家医保药品编码")
    blocked: bool = Field(False, description="special-management: never prescribed online")


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
    drug: str = Field(
        min_length=1, max_length=100, description="generic or brand name, may end in a strength"
    )
    drug_id: str | None = Field(
        None, max_length=16, description="the product picked (GET /drugs) where a name has several"
    )
    dose: float | None = Field(None, gt=0, le=100_000, description="dose per administration")
    dose_unit: str | None = Field(
        None,
        max_length=8,
        description="mg μg g U IU ml 吸 揿 喷 滴 片 粒 袋 支 贴 (mcg, 单位 accepted); "
        "the product's own unit if absent; masses convert",
    )
    dose_mg: float | None = Field(
        None, gt=0, le=100_000, description="dose in mg (older clients; same as dose + mg)"
    )
    frequency: str | None = Field(
        None,
        max_length=16,
        description="用法: qd bid tid qid qm qn q12h q8h q6h qod biw tiw qw prn, "
        "or as written (每日两次, 睡前)",
    )
    times_per_day: int | None = Field(
        None, ge=1, le=12, description="times a day if no frequency; with prn the most a day"
    )
    route: str = Field("", max_length=16)
    days: int = Field(ge=1, le=366)

    @model_validator(mode="after")
    def _dose_and_frequency(self) -> ItemIn:
        if (self.dose is None) == (self.dose_mg is None):
            raise ValueError("请填写每次剂量 dose（或 dose_mg），二者取一")
        if self.frequency is None and self.times_per_day is None:
            raise ValueError("请填写用法 frequency 或每日次数 times_per_day")
        return self

    @property
    def amount(self) -> tuple[float, str | None]:
        if self.dose_mg is not None:
            return self.dose_mg, "mg"
        return float(self.dose or 0), self.dose_unit


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
    dose: float
    dose_unit: str
    dose_mg: float | None = Field(None, description="the dose in mg where it is a mass")
    frequency: str | None = Field(None, description="用法 code (qd, bid …)")
    usage: str = Field(description="用法用量 as printed")
    times_per_day: int
    route: str
    days: int
    quantity: int | None = Field(None, description="数量: whole packs")
    pack_unit: str | None = None
    amount_fen: int | None = Field(None, description="金额 in fen (分)")


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


class FormularyChange(BaseModel):
    code: str
    name: str
    change: str = Field(description="added | changed | retired")
    fields: dict[str, list[Any]] | None = Field(
        None, description="for a change: each field's [before, after]"
    )


class FormularyImportOut(BaseModel):
    dry_run: bool
    version: int | None = Field(None, description="the formulary version made (None if none)")
    products: int
    added: int
    changed: int
    retired: int
    blocked: int = Field(description="products barred from online prescribing (controlled)")
    diff: list[FormularyChange] = Field(description="the first 500 changes")


class FormularyVersionOut(BaseModel):
    number: int
    filename: str
    sha256: str
    products: int
    added: int
    changed: int
    retired: int
    imported_at: dt.datetime
    diff: list[FormularyChange] | None = None


class FormularyVersionList(BaseModel):
    versions: list[FormularyVersionOut]
