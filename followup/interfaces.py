"""What followup needs of the services outside the hospital (core.providers)."""

from __future__ import annotations

from typing import Any, Protocol


class HospitalPlatform(Protocol):
    """The hospital's own platform (PLATFORM_BACKEND), where a patient handed off online is
    booked in person: takes a referral, idempotent by its key; its answers come back signed to
    /api/v1/platform/referrals/{id}/events."""

    def send_referral(self, bundle: dict[str, Any], idempotency_key: str) -> None: ...
