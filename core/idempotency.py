"""Idempotency-Key for creating requests: the first success is kept with the request's
fingerprint; a retry with the same key and the same request gets the kept answer, the same key
with another request is refused. Two copies racing each other are serialised by a lock on the
key, held by the first until it commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import DomainError
from core.models import IdempotentRequest

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
KEEP_FOR = dt.timedelta(hours=24)


class InvalidIdempotencyKey(DomainError):
    code = "invalid_idempotency_key"
    status = 400
    title = "Idempotency-Key 格式无效（1–64 个字母、数字或 _.:-）"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    title = "同一个 Idempotency-Key 已用于另一个请求"


@dataclass(frozen=True)
class Claim:
    account_id: int
    key: str
    fingerprint: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def claim(session: Session, request: Claim) -> IdempotentRequest | None:
    """Wait for any request holding this key, then return its kept answer (or None: go on)."""
    if not KEY_PATTERN.match(request.key):
        raise InvalidIdempotencyKey()
    if session.get_bind().dialect.name == "postgresql":
        lock = hashlib.sha256(f"{request.account_id}:{request.key}".encode()).digest()[:8]
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"),
            {"k": int.from_bytes(lock, "big", signed=True)},
        )
    kept = session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.account_id == request.account_id,
            IdempotentRequest.key == request.key,
            IdempotentRequest.created_at > utcnow() - KEEP_FOR,
        )
    )
    if kept is not None and kept.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused()
    return kept


def remember(session: Session, request: Claim, status: int, content_type: str, body: bytes) -> None:
    session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.account_id == request.account_id, IdempotentRequest.key == request.key
        )
    )  # an expired answer under the same key
    session.add(
        IdempotentRequest(
            account_id=request.account_id,
            key=request.key,
            fingerprint=request.fingerprint,
            status=status,
            content_type=content_type,
            body=body,
        )
    )
    session.flush()


def purge(session: Session) -> int:
    result = session.execute(
        delete(IdempotentRequest).where(IdempotentRequest.created_at <= utcnow() - KEEP_FOR)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
