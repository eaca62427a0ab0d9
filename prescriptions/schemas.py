"""Request and response shapes of prescriptions' API."""

from __future__ import annotations

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
