"""Sealing soon after a commit: once a scheduler is installed, a door's commit asks for one seal
however many events it wrote, and only after the commit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit
from core.audit import Actor
from core.db import commit


def test_one_seal_is_asked_for_per_commit_and_only_after_it(session: Session) -> None:
    calls: list[str] = []
    saved = audit._schedule_seal
    audit.set_seal_scheduler(lambda: calls.append("seal"))
    try:
        audit.record(session, Actor(7, "doctor"), "test.first", "t", 1)
        audit.record(session, Actor(7, "doctor"), "test.second", "t", 2)
        assert calls == []  # nothing is sealed before the commit
        commit(session)
        assert calls == ["seal"]
        commit(session)  # a commit with nothing new asks for nothing
        assert calls == ["seal"]
    finally:
        audit.set_seal_scheduler(saved)


def test_without_a_scheduler_nothing_is_asked_for(session: Session) -> None:
    saved = audit._schedule_seal
    audit.set_seal_scheduler(None)
    try:
        event = audit.record(session, Actor(7, "doctor"), "test.step", "t", 1)
        commit(session)
        assert event.id is not None
    finally:
        audit.set_seal_scheduler(saved)
