"""Core tables: the audit trail and the outbox."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.crypto import EncryptedBytes, EncryptedText
from core.db import Base, UTCDateTime, utcnow

# BigInteger ids on PostgreSQL; SQLite only autoincrements a plain INTEGER primary key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """One step somebody (or the system) took on a record. Written without a chain position;
    the sequencer later gives it `seq` and a keyed link to the event before it (`chain_hash`
    is HMAC-SHA256 under the audit key over `prev_hash`, `seq` and this event's fields)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigId)
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    change_digest: Mapped[str] = mapped_column(String(64))
    # Set once, by the sequencer; NULL while the event waits to be sealed.
    seq: Mapped[int | None] = mapped_column(BigId, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    chain_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index(None, "subject_type", "subject_id"),
        # The sequencer finds what waits for it without reading the sealed history.
        Index(
            "ix_audit_events_unsealed",
            "id",
            postgresql_where=seq.is_(None),
            sqlite_where=seq.is_(None),
        ),
    )


class AuditCheckpoint(Base):
    """A signed statement of the chain's length and head, made at each seal. Copies go to a
    file outside the database and to the supervision platform; `hospital audit verify` holds
    the chain against all of them, which catches truncation and re-chaining."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigId, unique=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    # Whether this checkpoint is also pushed to the supervision platform (one every few minutes).
    pushed: Mapped[bool] = mapped_column(Boolean, default=False)


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"


class OutboxMessage(Base):
    """A message to the world outside, written in the transaction that caused it."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=16), default=OutboxStatus.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "status", "next_attempt_at"),)


class Notification(Base):
    """Something a person should be told (a visit accepted, a referral booked): their in-app
    inbox. Delivery over WeChat goes through the outbox."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(BigId, index=True)
    kind: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(EncryptedText("core.notification.body"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class IdempotentRequest(Base):
    """A creating request that succeeded, kept for a day under the client's Idempotency-Key so
    that a retry (the answer was lost, the client timed out) gets the same answer instead of
    doing the thing twice."""

    __tablename__ = "idempotent_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(BigId)
    key: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    # The answer may hold personal data: sealed like it.
    body: Mapped[bytes] = mapped_column(EncryptedBytes("core.idempotent_request.body"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("account_id", "key"),)
