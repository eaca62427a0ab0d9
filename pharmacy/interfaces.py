"""What pharmacy needs of the services outside the hospital (core.providers)."""

from __future__ import annotations

from typing import Any, Protocol


class Courier(Protocol):
    """The delivery company (COURIER_BACKEND): takes an order, idempotent by its key; its
    updates come back signed to /api/v1/courier/events."""

    def place_order(self, order: dict[str, Any], idempotency_key: str) -> None: ...
