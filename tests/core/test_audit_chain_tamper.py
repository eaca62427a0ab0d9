"""The audit chain against tampering: each link is an HMAC over every field of its event (so a
change to any one field breaks it), checkpoints are signed statements that fail when any of
their fields changes, and verify_chain names the first event or checkpoint that does not hold,
whether it walks the chain in one batch or many."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core import audit, audit_chain, signing
from core.audit import Actor
from core.audit_chain import AuditKeys, Checkpoint, link_hash
from core.models import AuditEvent
from tests.conftest import is_postgres

SECRET = b"a test audit key, 32 bytes long!"
AT = dt.datetime(2025, 3, 1, 8, 30, 0, tzinfo=dt.UTC)


def keys() -> AuditKeys:
    return AuditKeys.derive(SECRET)


def event(**changes: object) -> AuditEvent:
    fields: dict[str, object] = {
        "id": 7,
        "occurred_at": AT,
        "actor_id": 42,
        "actor_role": "doctor",
        "action": "prescription.sign",
        "subject_type": "prescription",
        "subject_id": "9",
        "detail": {"step": 1},
        "change_digest": "d" * 64,
    }
    fields.update(changes)
    return AuditEvent(**fields)


# --- keys and links (no database) -----------------------------------------------------------


def test_the_keys_are_derived_apart_and_repeatably() -> None:
    one, again, other = keys(), AuditKeys.derive(SECRET), AuditKeys.derive(b"another secret")
    assert one == again
    assert len(one.link_key) == 32
    assert len(one.signing_private) == 32
    assert len(one.signing_public) == 32
    assert one.link_key != one.signing_private
    assert other.link_key != one.link_key
    assert other.signing_public != one.signing_public
    assert one.fingerprint == hashlib.sha256(one.signing_public).hexdigest()
    # the public key is the private key's
    statement = {"tree_size": 1}
    assert signing.verify(
        one.signing_public, statement, signing.sign(one.signing_private, statement)
    )


def test_a_link_is_the_hmac_of_every_field() -> None:
    canonical = (
        '{"action":"prescription.sign","actor_id":42,"actor_role":"doctor",'
        '"at":"2025-03-01T08:30:00+00:00","change":"' + "d" * 64 + '","id":7,'
        '"prev":"' + "0" * 64 + '","seq":3,"subject_id":"9","subject_type":"prescription"}'
    )
    expected = hmac.new(keys().link_key, canonical.encode(), hashlib.sha256).hexdigest()
    assert link_hash(keys(), event(), 3, "0" * 64) == expected


@pytest.mark.parametrize(
    "change",
    [
        {"id": 8},
        {"occurred_at": AT + dt.timedelta(seconds=1)},
        {"actor_id": 43},
        {"actor_id": None},
        {"actor_role": "pharmacist"},
        {"action": "prescription.approve"},
        {"subject_type": "consultation"},
        {"subject_id": "10"},
        {"change_digest": "e" * 64},
    ],
)
def test_a_change_to_any_field_breaks_the_link(change: dict[str, object]) -> None:
    assert link_hash(keys(), event(**change), 3, "0" * 64) != link_hash(
        keys(), event(), 3, "0" * 64
    )


def test_the_place_in_the_chain_and_the_key_are_in_the_link() -> None:
    base = link_hash(keys(), event(), 3, "0" * 64)
    assert link_hash(keys(), event(), 4, "0" * 64) != base
    assert link_hash(keys(), event(), 3, "1" * 64) != base
    assert link_hash(AuditKeys.derive(b"another secret"), event(), 3, "0" * 64) != base


# --- checkpoints (no database) --------------------------------------------------------------


def test_a_checkpoint_is_a_signed_statement() -> None:
    signed = audit_chain.sign_checkpoint(keys(), 5, "a" * 64, AT)
    assert signed.tree_size == 5
    assert signed.head_hash == "a" * 64
    assert signed.signed_at == "2025-03-01T08:30:00+00:00"
    assert signed.key_fingerprint == keys().fingerprint
    assert signed.statement() == {
        "tree_size": 5,
        "head": "a" * 64,
        "at": "2025-03-01T08:30:00+00:00",
    }
    statement = {"tree_size": 5, "head": "a" * 64, "at": "2025-03-01T08:30:00+00:00"}
    assert signing.verify(keys().signing_public, statement, signed.signature)
    assert signed.signature_holds(keys())


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 6},
        {"head_hash": "b" * 64},
        {"signed_at": "2025-03-01T08:30:01+00:00"},
        {"key_fingerprint": "f" * 64},
    ],
)
def test_a_checkpoint_with_any_field_changed_does_not_hold(change: dict[str, object]) -> None:
    from dataclasses import replace

    signed = audit_chain.sign_checkpoint(keys(), 5, "a" * 64, AT)
    assert not replace(signed, **change).signature_holds(keys())  # type: ignore[arg-type]
    assert not signed.signature_holds(AuditKeys.derive(b"another secret"))


def test_a_checkpoint_line_reads_back() -> None:
    signed = audit_chain.sign_checkpoint(keys(), 5, "a" * 64, AT)
    line = signed.to_line()
    assert json.loads(line) == {
        "tree_size": 5,
        "head_hash": "a" * 64,
        "signed_at": "2025-03-01T08:30:00+00:00",
        "key_fingerprint": keys().fingerprint,
        "signature": signed.signature,
    }
    assert list(json.loads(line)) == sorted(json.loads(line))  # keys sorted
    assert Checkpoint.from_line(line) == signed
    typed = json.dumps({**json.loads(line), "tree_size": "5"})
    assert Checkpoint.from_line(typed).tree_size == 5


# --- the chain in the database ----------------------------------------------------------------


def _events(session: Session, n: int) -> list[AuditEvent]:
    actor = Actor(42, "doctor")
    return [
        audit.record(session, actor, "visit.accept", "consultation", i, {"step": i})
        for i in range(n)
    ]


def _bypass_guards(session: Session) -> None:
    if is_postgres():
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        session.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER"))
    else:
        for name in ("events_no_update", "events_no_delete", "checkpoints_no_delete"):
            session.execute(text(f"DROP TRIGGER audit_{name}"))


def _verify(session: Session, **kw: object) -> audit_chain.ChainReport:
    session.expire_all()
    return audit_chain.verify_chain(session, keys(), **kw)  # type: ignore[arg-type]


def test_an_event_records_who_did_what_to_which_record(session: Session) -> None:
    recorded = audit.record(session, Actor(42, "doctor"), "visit.accept", "consultation", 9)
    assert (recorded.actor_id, recorded.actor_role, recorded.action) == (
        42,
        "doctor",
        "visit.accept",
    )
    assert (recorded.subject_type, recorded.subject_id) == ("consultation", "9")
    assert recorded.detail == {}
    assert recorded.change_digest == hashlib.sha256(b"{}").hexdigest()
    assert recorded.id is not None  # flushed
    system = audit.record(session, Actor.system(), "x", "y", 1, {"b": 2, "a": "甲"})
    assert (system.actor_id, system.actor_role) == (None, "system")
    canonical = '{"a":"甲","b":2}'.encode()
    assert system.change_digest == hashlib.sha256(canonical).hexdigest()


def test_sealing_in_batches_continues_the_chain(session: Session) -> None:
    events = _events(session, 5)
    first = audit_chain.seal(session, keys(), batch_size=2)
    assert first is not None
    assert (first.tree_size, first.head_hash) == (2, events[1].chain_hash)
    assert [e.seq for e in events] == [1, 2, None, None, None]
    second = audit_chain.seal(session, keys(), batch_size=2)
    assert second is not None
    assert second.tree_size == 4
    second_head = events[1].chain_hash
    assert second_head is not None
    assert events[2].prev_hash == second_head
    assert events[2].chain_hash == link_hash(keys(), events[2], 3, second_head)
    assert audit_chain.seal(session, keys(), batch_size=2) is not None
    assert audit_chain.seal(session, keys(), batch_size=2) is None
    assert audit_chain.chain_head(session) == (5, events[4].chain_hash)
    report = _verify(session, batch_size=2)  # walked in batches too
    assert report.ok
    assert (report.checked, report.unsealed, report.checkpoints) == (5, 0, 3)
    assert report.broken_at is None


def test_an_empty_trail_has_the_genesis_head(session: Session) -> None:
    assert audit_chain.chain_head(session) == (0, audit_chain.GENESIS_HASH)
    assert audit_chain.GENESIS_HASH == "0" * 64
    assert audit_chain.seal(session, keys()) is None
    report = _verify(session)
    assert (report.ok, report.checked, report.unsealed, report.checkpoints) == (True, 0, 0, 0)


def test_a_checkpoint_is_pushed_only_when_one_is_due(session: Session) -> None:
    _events(session, 1)
    never = audit_chain.seal(session, keys())
    assert never is not None
    assert never.pushed is False
    _events(session, 1)
    first = audit_chain.seal(session, keys(), push_every=dt.timedelta(minutes=5))
    assert first is not None
    assert first.pushed is True  # none pushed before
    _events(session, 1)
    soon = audit_chain.seal(session, keys(), push_every=dt.timedelta(minutes=5))
    assert soon is not None
    assert soon.pushed is False
    _events(session, 1)
    due = audit_chain.seal(session, keys(), push_every=dt.timedelta(0))
    assert due is not None
    assert due.pushed is True


def test_the_checkpoint_row_is_signed(session: Session) -> None:
    events = _events(session, 3)
    row = audit_chain.seal(session, keys())
    assert row is not None
    assert (row.tree_size, row.head_hash) == (3, events[-1].chain_hash)
    assert row.key_fingerprint == keys().fingerprint
    statement = {"tree_size": 3, "head": events[-1].chain_hash, "at": row.signed_at.isoformat()}
    assert signing.verify(keys().signing_public, statement, row.signature)


def test_a_changed_field_is_reported_with_what_was_checked(session: Session) -> None:
    events = _events(session, 5)
    audit_chain.seal(session, keys())
    _bypass_guards(session)
    session.execute(
        text("UPDATE audit_events SET action = 'x' WHERE id = :id"), {"id": events[3].id}
    )
    report = _verify(session, batch_size=2)
    assert (report.checked, report.broken_at) == (3, events[3].id)
    assert report.reason == "event fields do not match its link"
    assert not report.ok


def test_a_changed_detail_is_reported(session: Session) -> None:
    events = _events(session, 3)
    audit_chain.seal(session, keys())
    _bypass_guards(session)
    session.execute(
        text("UPDATE audit_events SET detail = :d WHERE id = :id"),
        {"d": '{"step": 99}', "id": events[1].id},
    )
    report = _verify(session)
    assert (report.checked, report.broken_at) == (1, events[1].id)
    assert report.reason == "detail does not match its digest"


def test_a_missing_event_is_reported(session: Session) -> None:
    events = _events(session, 4)
    audit_chain.seal(session, keys())
    _bypass_guards(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[1].id})
    report = _verify(session)
    assert (report.checked, report.broken_at) == (1, events[2].id)
    assert report.reason == "an event before it is missing"


def test_a_moved_link_is_reported(session: Session) -> None:
    events = _events(session, 4)
    audit_chain.seal(session, keys())
    _bypass_guards(session)
    session.execute(
        text("UPDATE audit_events SET prev_hash = :p WHERE id = :id"),
        {"p": "1" * 64, "id": events[2].id},
    )
    report = _verify(session)
    assert (report.checked, report.broken_at) == (2, events[2].id)
    assert report.reason == "previous link does not match (an event missing or moved)"


def test_a_forged_checkpoint_is_reported(session: Session) -> None:
    _events(session, 2)
    row = audit_chain.seal(session, keys())
    assert row is not None
    forged = audit_chain.sign_checkpoint(AuditKeys.derive(b"forger"), 2, row.head_hash, AT)
    report = _verify(session, external=[forged])
    assert report.checked == 0
    assert report.reason == "checkpoint at 2 has no valid signature"


def test_a_truncated_trail_is_reported(session: Session) -> None:
    events = _events(session, 3)
    audit_chain.seal(session, keys())
    longer = audit_chain.sign_checkpoint(keys(), 5, "a" * 64, AT)
    report = _verify(session, external=[longer])
    assert (report.checked, report.checkpoints) == (3, 2)
    assert report.reason == (
        "truncated: the checkpoint of 2025-03-01T08:30:00+00:00 covers 5 events, the trail holds 3"
    )
    assert events[0].seq == 1


def test_a_rechained_trail_is_reported(session: Session) -> None:
    _events(session, 3)
    audit_chain.seal(session, keys())
    other_head = audit_chain.sign_checkpoint(keys(), 2, "a" * 64, AT)
    report = _verify(session, external=[other_head])
    assert (report.checked, report.checkpoints) == (3, 2)
    assert report.reason == (
        "re-chained: the trail's first 2 events do not match the checkpoint of "
        "2025-03-01T08:30:00+00:00"
    )


def test_a_checkpoint_in_the_middle_of_the_chain_holds(session: Session) -> None:
    events = _events(session, 4)
    audit_chain.seal(session, keys())
    second_head = events[1].chain_hash
    assert second_head is not None
    middle = audit_chain.sign_checkpoint(keys(), 2, second_head, AT)
    report = _verify(session, external=[middle], batch_size=1)
    assert report.ok
    assert (report.checked, report.checkpoints) == (4, 2)


def test_events_waiting_too_long_are_reported(session: Session) -> None:
    events = _events(session, 2)
    audit_chain.seal(session, keys())
    waiting = _events(session, 2)
    fresh = _verify(session)
    assert fresh.ok
    assert (fresh.checked, fresh.unsealed, fresh.checkpoints) == (2, 2, 1)
    _bypass_guards(session)
    session.execute(
        text("UPDATE audit_events SET occurred_at = :at WHERE id = :id"),
        {"at": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=100), "id": waiting[1].id},
    )
    stale = _verify(session, seal_bound=dt.timedelta(seconds=30))
    assert (stale.checked, stale.unsealed, stale.checkpoints) == (2, 2, 1)
    assert stale.broken_at == waiting[1].id
    assert stale.reason is not None
    assert stale.reason.startswith("unsealed for 10")
    assert stale.reason.endswith(" s (is the sequencer running?)")
    assert _verify(session, seal_bound=dt.timedelta(seconds=1000)).ok
    assert events[0].seq == 1
