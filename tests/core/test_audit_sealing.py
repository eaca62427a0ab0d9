"""Where the sequencer runs: in process right after each commit (the demo, tasks in process),
and by beat every few seconds with a worker. Each seal leaves a checkpoint in the file outside
the database; every few minutes one goes to the supervision platform, which can verify it
with the published key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, runtime, signing
from core.audit import Actor
from core.audit_chain import Checkpoint
from core.audit_checkpoints import CheckpointFile
from core.celery_app import celery
from core.db import commit
from core.models import AuditEvent
from tests.fakes.http_receiver import Receiver


@pytest.fixture
def supervision(receiver: Receiver) -> Receiver:
    return receiver


def test_each_commit_is_sealed_and_checkpointed_outside_the_database(
    make_app: object, session: Session, tmp_path: Path, supervision: Receiver
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    make_app(  # type: ignore[operator]
        AUDIT_SEAL_AFTER_COMMIT=True,
        AUDIT_CHECKPOINT_FILE=str(checkpoints),
        SUPERVISION_AUDIT_URL=supervision.url + "/audit-checkpoints",
        AUDIT_PUSH_EVERY_SECONDS=3600,
    )
    database = runtime.current().database
    for step in range(3):
        with database.transaction() as door:
            audit.record(door, Actor(7, "doctor"), "test.step", "t", step)
            audit.record(door, Actor(7, "doctor"), "test.step", "t", step)
    seqs = session.scalars(select(AuditEvent.seq).order_by(AuditEvent.id)).all()
    assert seqs == [1, 2, 3, 4, 5, 6]
    kept = CheckpointFile(checkpoints).read()
    assert [c.tree_size for c in kept] == [2, 4, 6]  # one seal after each commit
    # Only the first went to the platform (the next is due an hour later), signed and checkable.
    assert len(supervision.received) == 1
    body = supervision.received[0].body
    pushed = Checkpoint.from_line(body["checkpoint"])
    assert pushed.tree_size == 2
    assert signing.verify(bytes.fromhex(body["public_key"]), pushed.statement(), pushed.signature)


def test_a_rolled_back_door_schedules_no_seal(
    make_app: object, session: Session, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    make_app(AUDIT_SEAL_AFTER_COMMIT=True, AUDIT_CHECKPOINT_FILE=str(checkpoints))  # type: ignore[operator]
    database = runtime.current().database
    door = database.sessionmaker()
    audit.record(door, Actor(7, "doctor"), "test.step", "t", 1)
    door.rollback()  # the door failed
    commit(door)  # a later commit of the same session has nothing of the rolled-back work
    assert not checkpoints.exists()
    assert session.scalars(select(AuditEvent)).all() == []


def test_beat_seals_every_few_seconds() -> None:
    schedule = celery.conf.beat_schedule["seal-audit"]
    assert schedule["task"] == "core.seal_audit"
    assert schedule["schedule"] <= 5.0
