"""The audit trail: appended without a lock, sealed in order with keyed links, checkpointed
outside the database. Every way of tampering the security review tried is found: a changed
event, a deleted event with the chain recomputed (without the key, and with it), the tail cut
off, a forged checkpoint, and a sequencer that stopped."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import audit, audit_chain
from core.audit import Actor
from core.audit_chain import AuditKeys, Checkpoint
from core.audit_checkpoints import CheckpointFile
from core.models import AuditCheckpoint, AuditEvent
from tests.conftest import is_postgres
from tests.helpers import audit_keys
from web.cli import cli


def _events(session: Session, n: int) -> list[AuditEvent]:
    actor = Actor(42, "doctor")
    return [
        audit.record(session, actor, "consultation.accept", "consultation", i, {"step": i})
        for i in range(n)
    ]


def _seal(session: Session, store: CheckpointFile | None = None) -> AuditCheckpoint:
    row = audit_chain.seal(session, audit_keys())
    assert row is not None
    if store is not None:
        store.append(Checkpoint.of(row))
    return row


def _bypass_guards(session: Session) -> None:
    """Play an attacker with the table owner's rights: switch the guards off (in this test's
    transaction only, which is rolled back)."""
    if is_postgres():
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        session.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER"))
    else:
        for name in ("events_no_update", "events_no_delete", "checkpoints_no_delete"):
            session.execute(text(f"DROP TRIGGER audit_{name}"))


def _verify(session: Session, store: CheckpointFile | None = None) -> audit_chain.ChainReport:
    session.expire_all()
    external = store.read() if store else []
    return audit_chain.verify_chain(session, audit_keys(), external=external)


def test_events_wait_unsealed_and_the_sequencer_chains_them_in_order(session: Session) -> None:
    events = _events(session, 5)
    assert all(e.seq is None and e.chain_hash is None for e in events)
    waiting = _verify(session)
    assert waiting.ok
    assert (waiting.unsealed, waiting.checked) == (5, 0)
    checkpoint = _seal(session)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]  # each test starts from an empty trail
    assert events[0].prev_hash == audit_chain.GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.chain_hash for e in events[:-1]]
    assert (checkpoint.tree_size, checkpoint.head_hash) == (5, events[-1].chain_hash)
    report = _verify(session)
    assert report.ok
    assert (report.checked, report.unsealed) == (5, 0)
    assert audit_chain.seal(session, audit_keys()) is None  # nothing waits any more


def test_changed_detail_is_found(session: Session) -> None:
    events = _events(session, 4)
    _seal(session)
    _bypass_guards(session)
    session.execute(
        text("UPDATE audit_events SET detail = :d WHERE id = :id"),
        {"d": '{"step": 99}', "id": events[2].id},
    )
    report = _verify(session)
    assert report.broken_at == events[2].id
    assert "digest" in (report.reason or "")


def test_changed_field_with_recomputed_digest_is_found(session: Session) -> None:
    events = _events(session, 4)
    _seal(session)
    _bypass_guards(session)
    session.execute(
        text("UPDATE audit_events SET actor_id = 7 WHERE id = :id"), {"id": events[1].id}
    )
    assert _verify(session).broken_at == events[1].id


def _rechain(session: Session, link: object) -> None:
    """Renumber and relink every event after a deletion, as an attacker would, with `link`
    computing each event's link."""
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    prev = audit_chain.GENESIS_HASH
    session.execute(text("UPDATE audit_events SET seq = -id"))
    for seq, event in enumerate(rows, start=1):
        new = link(event, seq, prev)  # type: ignore[operator]
        session.execute(
            text("UPDATE audit_events SET seq = :s, prev_hash = :p, chain_hash = :h WHERE id = :i"),
            {"s": seq, "p": prev, "h": new, "i": event.id},
        )
        prev = new


def test_deleted_event_with_the_chain_recomputed_without_the_key_is_found(
    session: Session,
) -> None:
    events = _events(session, 6)
    _seal(session)
    _bypass_guards(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[2].id})
    session.execute(text("DELETE FROM audit_checkpoints"))

    def unkeyed(event: AuditEvent, seq: int, prev: str) -> str:  # what the old chain did
        return hashlib.sha256(f"{prev}{seq}{event.id}{event.change_digest}".encode()).hexdigest()

    _rechain(session, unkeyed)
    report = _verify(session)
    assert not report.ok
    assert report.broken_at == events[0].id
    assert "link" in (report.reason or "")


def test_deleted_event_rechained_with_the_key_is_found_by_the_checkpoint_file(
    session: Session, tmp_path: Path
) -> None:
    """Even an attacker holding the audit key cannot rewrite the copies kept elsewhere."""
    store = CheckpointFile(tmp_path / "checkpoints.jsonl")
    events = _events(session, 6)
    _seal(session, store)
    _bypass_guards(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[2].id})
    session.execute(text("DELETE FROM audit_checkpoints"))
    keys = audit_keys()
    _rechain(session, lambda e, seq, prev: audit_chain.link_hash(keys, e, seq, prev))
    assert _verify(session).ok  # against what the database holds, the forgery is perfect
    report = _verify(session, store)
    assert not report.ok
    assert "truncated" in (report.reason or "")  # 6 events checkpointed, 5 left
    # With one event added in place of the deleted one, the length matches but the head not.
    _events(session, 1)
    _seal(session)
    session.execute(text("DELETE FROM audit_checkpoints"))
    assert "re-chained" in (_verify(session, store).reason or "")


def test_cutting_off_the_tail_is_found(session: Session, tmp_path: Path) -> None:
    store = CheckpointFile(tmp_path / "checkpoints.jsonl")
    _events(session, 10)
    _seal(session, store)
    _events(session, 20)
    _seal(session, store)
    _bypass_guards(session)
    # The last 20 events go, and the database's checkpoints with them.
    session.execute(text("DELETE FROM audit_events WHERE seq > 10"))
    session.execute(text("DELETE FROM audit_checkpoints WHERE tree_size > 10"))
    assert _verify(session).ok  # what remains in the database is consistent
    report = _verify(session, store)
    assert not report.ok
    assert "covers 30 events, the trail holds 10" in (report.reason or "")


def test_a_forged_checkpoint_is_refused(session: Session, tmp_path: Path) -> None:
    store = CheckpointFile(tmp_path / "checkpoints.jsonl")
    _events(session, 3)
    row = _seal(session)
    other = AuditKeys.derive(b"\x01" * 32)
    forged = audit_chain.sign_checkpoint(other, 3, row.head_hash, row.signed_at)
    store.append(forged)
    assert "no valid signature" in (_verify(session, store).reason or "")


def test_an_event_left_unsealed_too_long_is_reported(session: Session) -> None:
    (event,) = _events(session, 1)
    report = audit_chain.verify_chain(session, audit_keys(), seal_bound=dt.timedelta(0))
    assert report.broken_at == event.id
    assert "is the sequencer running" in (report.reason or "")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'forged'",
        "UPDATE audit_events SET chain_hash = 'x', prev_hash = 'y', seq = 99",  # sealed already
        "UPDATE audit_events SET detail = '{}'",
        "DELETE FROM audit_events",
        "UPDATE audit_checkpoints SET tree_size = 1",
        "DELETE FROM audit_checkpoints",
    ],
)
def test_application_cannot_change_or_delete_events(session: Session, statement: str) -> None:
    _events(session, 2)
    _seal(session)
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement))
    assert _verify(session).ok


def test_sealing_cannot_change_what_an_event_says(session: Session) -> None:
    (event,) = _events(session, 1)
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(
            text(
                "UPDATE audit_events SET seq = 1, prev_hash = 'p', chain_hash = 'h', "
                "subject_id = 'other' WHERE id = :id"
            ),
            {"id": event.id},
        )


@pytest.mark.postgresql
@pytest.mark.parametrize("table", ["audit_events", "audit_checkpoints"])
def test_application_cannot_truncate_events(session: Session, table: str) -> None:
    _events(session, 1)
    _seal(session)
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(f"TRUNCATE {table}"))


def test_cli_verify_holds_the_chain_against_the_checkpoint_file(
    make_app: object, session: Session, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    app: Flask = make_app(AUDIT_CHECKPOINT_FILE=str(checkpoints))  # type: ignore[operator]
    runner = CliRunner()
    events = _events(session, 3)
    session.commit()
    sealed = runner.invoke(cli, ["audit", "seal"], obj=ScriptInfo(create_app=lambda: app))
    assert sealed.exit_code == 0, sealed.output
    assert "sealed up to position 3" in sealed.output
    assert len(CheckpointFile(checkpoints).read()) == 1
    ok = runner.invoke(cli, ["audit", "verify"], obj=ScriptInfo(create_app=lambda: app))
    assert ok.exit_code == 0, ok.output
    assert "intact: 3 events sealed, 0 waiting, held against 2 checkpoints" in ok.output

    _bypass_guards(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[2].id})
    session.execute(text("DELETE FROM audit_checkpoints"))
    session.commit()
    broken = runner.invoke(cli, ["audit", "verify"], obj=ScriptInfo(create_app=lambda: app))
    assert broken.exit_code == 1
    assert "BROKEN" in broken.output
    assert "truncated" in broken.output
    key = runner.invoke(cli, ["audit", "public-key"], obj=ScriptInfo(create_app=lambda: app))
    assert audit_keys().signing_public.hex() in key.output
