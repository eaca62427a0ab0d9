"""pharmacy's providers (core.providers): the courier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import outbox, providers
from core.settings import Settings
from pharmacy.interfaces import Courier


@dataclass(frozen=True)
class HttpCourier:
    """COURIER_BACKEND=http: orders POSTed as JSON to {COURIER_URL}/orders."""

    settings: Settings

    def place_order(self, order: dict[str, Any], idempotency_key: str) -> None:
        base = self.settings.courier_url
        url = base.rstrip("/") + "/orders" if base else ""
        outbox.post_json(url, order, idempotency_key, self.settings)


def register() -> None:
    providers.register(Courier, "http", HttpCourier, setting="courier_backend")
