"""The audit trail: who did what, when, on which record.

Events are appended in one chain. Appending takes a transaction-level lock on PostgreSQL so
that two transactions never chain onto the same predecessor; the lock is held until commit,
which makes ids ascend along the chain. On PostgreSQL a trigger (see the first migration)
refuses UPDATE, DELETE and TRUNCATE on the table, whatever role the application connects as.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.canonical import digest
from core.db import utcnow
from core.models import AuditEvent

GENESIS_HASH = "0" * 64
# An arbitrary constant naming the audit chain's advisory lock.
AUDIT_LOCK_KEY = 7_420_260_001
SYSTEM_ROLE = "system"


def _link_hash(event: AuditEvent, prev_hash: str) -> str:
    fields = {
        "prev": prev_hash,
        "at": event.occurred_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "change": event.change_digest,
    }
    return digest(fields)


@dataclass(frozen=True)
class Actor:
    """Who acts: an account and the role it acted in, or the system itself."""

    account_id: int | None
    role: str

    @classmethod
    def system(cls) -> Actor:
        return cls(None, SYSTEM_ROLE)


def record(
    session: Session,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: object,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `detail` must hold no personal data in clear (ids and codes only)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    prev = session.scalar(select(AuditEvent.chain_hash).order_by(AuditEvent.id.desc()).limit(1))
    detail = detail or {}
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_id=actor.account_id,
        actor_role=actor.role,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        detail=detail,
        change_digest=digest(detail),
        prev_hash=prev or GENESIS_HASH,
    )
    event.chain_hash = _link_hash(event, event.prev_hash)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session, batch_size: int = 1000) -> ChainReport:
    """Walk the chain in id order; name the first event whose link does not hold."""
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        batch = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return ChainReport(checked=checked)
        for event in batch:
            if event.prev_hash != expected_prev:
                return ChainReport(
                    checked, event.id, "previous link does not match (an event missing or moved)"
                )
            if event.change_digest != digest(event.detail):
                return ChainReport(checked, event.id, "detail does not match its digest")
            if event.chain_hash != _link_hash(event, event.prev_hash):
                return ChainReport(checked, event.id, "event fields do not match its hash")
            expected_prev = event.chain_hash
            checked += 1
            last_id = event.id
