"""The audit trail is hash-chained and append-only: tampering is found, changes are refused."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import audit
from core.audit import Actor
from core.canonical import canonical_json
from core.models import AuditEvent
from tests.conftest import is_postgres
from web.cli import cli


def _events(session: Session, n: int) -> list[AuditEvent]:
    actor = Actor(42, "doctor")
    return [
        audit.record(session, actor, "consultation.accept", "consultation", i, {"step": i})
        for i in range(n)
    ]


def _bypass_guards(session: Session) -> None:
    """Play an attacker with the table owner's rights: switch the guard off (in this test's
    transaction only, which is rolled back)."""
    if is_postgres():
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER audit_events_no_update"))
        session.execute(text("DROP TRIGGER audit_events_no_delete"))


def test_intact_chain_verifies(session: Session) -> None:
    events = _events(session, 5)
    assert events[0].prev_hash == audit.GENESIS_HASH  # each test starts from an empty trail
    assert [e.prev_hash for e in events[1:]] == [e.chain_hash for e in events[:-1]]
    report = audit.verify_chain(session)
    assert report.ok
    assert report.checked >= 5


def test_changed_detail_is_found(session: Session) -> None:
    events = _events(session, 4)
    _bypass_guards(session)
    session.execute(
        text("UPDATE audit_events SET detail = :d WHERE id = :id"),
        {"d": '{"step": 99}', "id": events[2].id},
    )
    session.expire_all()
    report = audit.verify_chain(session)
    assert report.broken_at == events[2].id
    assert "digest" in (report.reason or "")


def test_changed_field_with_recomputed_digest_is_found(session: Session) -> None:
    events = _events(session, 4)
    _bypass_guards(session)
    session.execute(
        text("UPDATE audit_events SET actor_id = 7 WHERE id = :id"), {"id": events[1].id}
    )
    session.expire_all()
    assert audit.verify_chain(session).broken_at == events[1].id


def test_deleted_event_is_found(session: Session) -> None:
    events = _events(session, 4)
    _bypass_guards(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[1].id})
    session.expire_all()
    report = audit.verify_chain(session)
    assert report.broken_at == events[2].id
    assert "missing or moved" in (report.reason or "")


def test_reordered_events_are_found(session: Session) -> None:
    events = _events(session, 4)
    _bypass_guards(session)
    # Swap the contents of two rows, hashes and all, as if their order had been changed.
    a, b = events[1], events[2]
    columns = (
        "occurred_at, actor_id, actor_role, action, subject_type, subject_id, detail, "
        "change_digest, prev_hash, chain_hash"
    )
    rows = {
        row.id: row
        for row in session.execute(
            text(f"SELECT id, {columns} FROM audit_events WHERE id IN (:a, :b)"),  # noqa: S608
            {"a": a.id, "b": b.id},
        )
    }
    session.execute(
        text("UPDATE audit_events SET chain_hash = 'tmp-' || id WHERE id IN (:a, :b)"),
        {"a": a.id, "b": b.id},
    )
    for target, source in ((a.id, rows[b.id]), (b.id, rows[a.id])):
        session.execute(
            text(
                "UPDATE audit_events SET subject_id = :s, detail = :d, change_digest = :c, "
                "prev_hash = :p, chain_hash = :h WHERE id = :id"
            ),
            {
                "s": source.subject_id,
                "d": source.detail if isinstance(source.detail, str) else _json(source.detail),
                "c": source.change_digest,
                "p": source.prev_hash,
                "h": source.chain_hash,
                "id": target,
            },
        )
    session.expire_all()
    assert audit.verify_chain(session).broken_at == a.id


def _json(value: object) -> str:
    return canonical_json(value)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'forged'",
        "DELETE FROM audit_events",
    ],
)
def test_application_cannot_change_or_delete_events(session: Session, statement: str) -> None:
    _events(session, 2)
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement))
    assert session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1)) == (
        "consultation.accept"
    )


@pytest.mark.postgresql
def test_application_cannot_truncate_events(session: Session) -> None:
    _events(session, 1)
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("TRUNCATE audit_events"))


def test_cli_verify_names_the_broken_link(app: Flask, session: Session) -> None:
    events = _events(session, 3)
    session.commit()
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"], obj=_script_info(app))
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output

    _bypass_guards(session)
    session.execute(
        text("UPDATE audit_events SET subject_id = 'x' WHERE id = :id"), {"id": events[1].id}
    )
    session.commit()
    broken = runner.invoke(cli, ["audit", "verify"], obj=_script_info(app))
    assert broken.exit_code == 1
    assert f"BROKEN at event {events[1].id}" in broken.output


def _script_info(app: Flask) -> object:
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)
