"""The outbox: messages to the outside world, written in the same transaction as the change
that causes them and delivered afterwards, at least once, by a Celery task.

Each message has an idempotency key that travels with every attempt (the `Idempotency-Key`
header for HTTP), so a receiver that honours it applies the message once. A failed attempt is
retried with exponential backoff and jitter; a periodic relay picks up anything that is due,
which also covers a crash between the commit and the first send.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import AFTER_COMMIT_KEY, after_commit, utcnow
from core.models import OutboxMessage, OutboxStatus
from core.redact import redact
from core.settings import Settings


class DeliveryError(Exception):
    """An attempt failed; `permanent` means retrying cannot help (the receiver refused it)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# A sender gets the delivery's session, so that it can build what it sends from the records
# the message names (keeping personal data out of the outbox table).
Sender = Callable[[Session, dict[str, Any], str, Settings], None]
_channels: dict[str, Sender] = {}


def register_channel(name: str, sender: Sender) -> None:
    """One sender per channel: a second, different one is a wiring mistake."""
    if _channels.get(name, sender) is not sender:
        raise RuntimeError(f"two senders for outbox channel {name!r}")
    _channels[name] = sender


class UnknownChannel(RuntimeError):
    """A message for a channel nothing sends: refused where it is written, not left to die."""


def channel(name: str) -> Sender:
    try:
        return _channels[name]
    except KeyError:
        raise DeliveryError(f"no sender for channel {name!r}", permanent=True) from None


# Enqueueing the delivery task is wired by core.tasks, so that this module has no Celery import.
_schedule_delivery: Callable[[list[int]], None] | None = None


def set_delivery_scheduler(schedule: Callable[[list[int]], None]) -> None:
    global _schedule_delivery  # installed once by core.tasks at import
    _schedule_delivery = schedule


@dataclass
class _Deliveries:
    """The messages one transaction wrote, handed to the worker in one task once it commits:
    a visit completed tells the patient and the supervision platform with one enqueue, not one
    per message (each enqueue is a round trip to the broker, in the request)."""

    schedule: Callable[[list[int]], None]
    message_ids: list[int] = field(default_factory=list)

    def __call__(self) -> None:
        self.schedule(self.message_ids)


def enqueue(
    session: Session,
    channel_name: str,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
) -> OutboxMessage:
    """Write a message in the caller's transaction; it is sent once that transaction commits."""
    if channel_name not in _channels:
        raise UnknownChannel(f"no sender for outbox channel {channel_name!r} (core.celery_app)")
    message = OutboxMessage(
        idempotency_key=idempotency_key or uuid.uuid4().hex,
        channel=channel_name,
        payload=payload,
        status=OutboxStatus.pending,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.flush()
    if _schedule_delivery is not None:
        waiting = session.info.get(AFTER_COMMIT_KEY, ())
        batch = next((c for c in waiting if isinstance(c, _Deliveries)), None)
        if batch is None:
            batch = _Deliveries(_schedule_delivery)
            after_commit(session, batch)
        batch.message_ids.append(message.id)
    return message


def backoff_seconds(attempts: int, settings: Settings) -> float:
    """Exponential backoff with jitter: about base·2^(n-1), between half and all of it."""
    ceiling = min(
        settings.outbox_backoff_base_seconds * 2 ** max(attempts - 1, 0),
        settings.outbox_backoff_max_seconds,
    )
    return float(ceiling) * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret


DUE_TOLERANCE = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class Outcome:
    message_id: int
    status: OutboxStatus | None
    retry_in: float | None = None


def deliver(session: Session, message_id: int, settings: Settings) -> Outcome:
    """One delivery attempt. The row stays locked while sending so that two workers never send
    the same message at the same moment; a locked or settled message is left alone."""
    message = session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .with_for_update(skip_locked=True)
    )
    if message is None or message.status is not OutboxStatus.pending:
        return Outcome(message_id, message.status if message else None)
    if message.next_attempt_at > utcnow() + DUE_TOLERANCE:
        # A retry timer and the relay may both come for it; the earlier one already tried.
        return Outcome(message_id, message.status)
    message.attempts += 1
    try:
        channel(message.channel)(session, message.payload, message.idempotency_key, settings)
    except DeliveryError as exc:
        message.last_error = redact(str(exc))[:2000]  # never a secret at rest
        if exc.permanent or message.attempts >= settings.outbox_max_attempts:
            message.status = OutboxStatus.dead
            session.flush()
            return Outcome(message_id, message.status)
        delay = backoff_seconds(message.attempts, settings)
        message.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
        session.flush()
        return Outcome(message_id, message.status, retry_in=delay)
    message.status = OutboxStatus.delivered
    message.delivered_at = utcnow()
    message.last_error = None
    session.flush()
    return Outcome(message_id, message.status)


def due_message_ids(session: Session, limit: int = 100) -> list[int]:
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.pending,
                OutboxMessage.next_attempt_at <= utcnow(),
            )
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit)
        )
    )


def send_http_json(
    session: Session, payload: dict[str, Any], idempotency_key: str, settings: Settings
) -> None:
    """The plain HTTP channel: POST `body` as JSON to `url` with the idempotency key."""
    post_json(payload["url"], payload["body"], idempotency_key, settings, payload.get("headers"))


def post_json(
    url: str,
    body: Any,
    idempotency_key: str,
    settings: Settings,
    headers: dict[str, str] | None = None,
) -> None:
    """POST JSON with the idempotency key; say whether a failure is worth retrying."""
    if not url:
        raise DeliveryError("receiver not configured yet; kept for when it is")
    try:
        response = requests.post(
            url,
            json=body,
            headers={"Idempotency-Key": idempotency_key, **(headers or {})},
            timeout=settings.outbox_http_timeout_seconds,
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code < 300:
        return
    retryable = response.status_code >= 500 or response.status_code in {408, 425, 429}
    raise DeliveryError(
        f"HTTP {response.status_code}: {response.text[:200]}", permanent=not retryable
    )
