"""Where checkpoints are kept outside the database: an append-only file (put it on another
volume, or a write-once object store mounted as one) and the supervision platform.

The file is written after the sealing transaction commits: a checkpoint in the file always
names a chain that exists. If the process dies in between, the next seal's checkpoint covers
the same events, so nothing stays uncovered for longer than one sealing interval.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import outbox
from core.audit_chain import AuditKeys, Checkpoint
from core.models import AuditCheckpoint
from core.settings import Settings

PUSH_CHANNEL = "audit.checkpoint"


class CheckpointFile:
    """One JSON line per checkpoint, appended and flushed to disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def append(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (checkpoint.to_line() + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> list[Checkpoint]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as lines:
            return [Checkpoint.from_line(line) for line in lines if line.strip()]


def publish(session: Session, row: AuditCheckpoint, settings: Settings) -> None:
    """Queue the checkpoint for the supervision platform when it is one to push."""
    if row.pushed and settings.supervision_audit_url:
        outbox.enqueue(
            session, PUSH_CHANNEL, {"tree_size": row.tree_size}, f"audit-checkpoint-{row.tree_size}"
        )


def send_checkpoint(
    session: Session, payload: dict[str, Any], idempotency_key: str, settings: Settings
) -> None:
    """Outbox sender: the signed checkpoint and the public key that verifies it."""
    row = session.scalars(
        select(AuditCheckpoint).where(AuditCheckpoint.tree_size == payload["tree_size"])
    ).one()
    keys = AuditKeys.derive(settings.audit_key)
    body = {
        "checkpoint": Checkpoint.of(row).to_line(),
        "public_key": keys.signing_public.hex(),
    }
    outbox.post_json(settings.supervision_audit_url, body, idempotency_key, settings)
