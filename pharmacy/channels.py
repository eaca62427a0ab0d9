"""pharmacy's outbox senders: courier orders, and dispensings (with their 药品追溯码) to the
supervision platform."""

from __future__ import annotations

from core import outbox
from pharmacy.services import courier, dispensing


def senders() -> dict[str, outbox.Sender]:
    return {
        courier.CHANNEL: courier.send_order,
        dispensing.SUPERVISION_DISPENSING: dispensing.send_dispensing,
    }
