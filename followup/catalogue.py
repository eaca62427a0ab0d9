"""Diseases eligible for online return visits, by ICD-10 category (a data file in the package)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class EligibleDisease:
    icd10_prefix: str
    name: str
    category: str
    department: str
    source: str


@cache
def eligible_diseases() -> tuple[EligibleDisease, ...]:
    text = resources.files("followup.data").joinpath("eligible_diseases.csv").read_text("utf-8")
    return tuple(EligibleDisease(**row) for row in csv.DictReader(text.splitlines()))


def normalise_code(code: str) -> str:
    """Spaces removed and the chapter letter upper-cased; China's extensions keep their
    lower-case x (I10.x00x002)."""
    code = code.strip().replace(" ", "")
    return code[:1].upper() + code[1:]


def disease_for(icd10_code: str) -> EligibleDisease | None:
    """The eligible disease an ICD-10 code falls under (I10.x00x002 → 原发性高血压), if any."""
    code = normalise_code(icd10_code)
    category = code.split(".")[0].upper()
    for disease in eligible_diseases():
        if category == disease.icd10_prefix:
            return disease
    return None


@dataclass(frozen=True)
class Consent:
    version: str
    text: str

    @property
    def digest(self) -> str:
        import hashlib

        return hashlib.sha256(self.text.encode()).hexdigest()


CONSENT_VERSION = "v1"


@cache
def consent() -> Consent:
    text = (
        resources.files("followup.data")
        .joinpath(f"consent_{CONSENT_VERSION}.md")
        .read_text("utf-8")
    )
    return Consent(CONSENT_VERSION, text)


AGREEMENT_VERSION = "v1"


@cache
def family_doctor_agreement() -> Consent:
    """The family-doctor service agreement the patient reads and accepts before signing."""
    text = (
        resources.files("followup.data")
        .joinpath(f"family_doctor_agreement_{AGREEMENT_VERSION}.md")
        .read_text("utf-8")
    )
    return Consent(AGREEMENT_VERSION, text)
