"""The audit trail: who did what, when, on which record.

Appending an event takes no lock: a request writes its events and commits, and nothing else
in the hospital waits for it. The sequencer (`core.audit_chain.seal`, run every few seconds)
later chains the committed events in order, with links keyed by a secret that is not in the
database, and signs a checkpoint of the chain that is also kept outside the database. On
PostgreSQL a trigger (migrations 0001, 0020) refuses DELETE and TRUNCATE, and any UPDATE but
the sequencer's one-time sealing of an event; the application's role may not alter the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.canonical import digest
from core.db import AFTER_COMMIT_KEY, after_commit, utcnow
from core.models import AuditEvent

SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class Actor:
    """Who acts: an account and the role it acted in, or the system itself."""

    account_id: int | None
    role: str

    @classmethod
    def system(cls) -> Actor:
        return cls(None, SYSTEM_ROLE)


# Where tasks run in process (the demo), core.tasks installs a sealer that runs after the commit;
# with a worker, beat seals every few seconds instead.
_schedule_seal: Callable[[], None] | None = None


def set_seal_scheduler(schedule: Callable[[], None] | None) -> None:
    global _schedule_seal  # installed once by core.tasks at import
    _schedule_seal = schedule


def record(
    session: Session,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: object,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `detail` must hold no personal data in clear (ids and codes only)."""
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
    )
    session.add(event)
    session.flush()
    if _schedule_seal is not None and _seal_soon not in session.info.get(AFTER_COMMIT_KEY, ()):
        after_commit(session, _seal_soon)
    return event


def _seal_soon() -> None:
    if _schedule_seal is not None:
        _schedule_seal()
