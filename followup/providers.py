"""followup's providers (core.providers): the hospital platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import outbox, providers
from core.settings import Settings
from followup.interfaces import HospitalPlatform


@dataclass(frozen=True)
class FhirPlatform:
    """PLATFORM_BACKEND=fhir: the referral as a FHIR R4 transaction bundle, POSTed to
    {HOSPITAL_PLATFORM_URL}/fhir."""

    settings: Settings

    def send_referral(self, bundle: dict[str, Any], idempotency_key: str) -> None:
        base = self.settings.hospital_platform_url
        url = base.rstrip("/") + "/fhir" if base else ""
        headers = {"Content-Type": "application/fhir+json"}
        outbox.post_json(url, bundle, idempotency_key, self.settings, headers)


def register() -> None:
    providers.register(HospitalPlatform, "fhir", FhirPlatform, setting="platform_backend")
