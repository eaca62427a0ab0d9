"""Many transactions appending at once, with the sequencer sealing beside them, still form one
unbroken chain (real commits on PostgreSQL); and the service runs as a role that owns nothing."""

from __future__ import annotations

import threading
import time

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from core import audit, audit_chain
from core.audit import Actor
from core.audit_chain import AuditKeys
from core.db import Database, normalise_url
from migrations import alembic_config
from migrations.roles import grant_app_role

KEYS = AuditKeys.derive(b"k" * 32)


@pytest.mark.postgresql
def test_concurrent_writers_and_a_sealer_never_fork_the_chain(scratch_postgres: str) -> None:
    command.upgrade(alembic_config(scratch_postgres), "head")
    database = Database(scratch_postgres)
    writers, per_writer = 8, 15
    errors: list[BaseException] = []
    start = threading.Barrier(writers + 2)
    done = threading.Event()

    def write(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                with database.transaction() as session:
                    audit.record(session, Actor(worker, "doctor"), "test.write", "t", i)
                    audit.record(session, Actor(worker, "doctor"), "test.write", "t", -i)
        except BaseException as exc:
            errors.append(exc)

    def seal(sealer: int) -> None:  # two sequencers: only one may work at a time
        try:
            start.wait()
            while not done.is_set():
                with database.transaction() as session:
                    audit_chain.seal(session, KEYS, batch_size=7)
                time.sleep(0.001 * sealer)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    sealers = [threading.Thread(target=seal, args=(s,)) for s in (1, 2)]
    for thread in threads + sealers:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    for thread in sealers:
        thread.join()
    with database.transaction() as session:
        while audit_chain.seal(session, KEYS) is not None:
            pass
    with database.transaction() as session:
        report = audit_chain.verify_chain(session, KEYS)
    database.dispose()
    assert errors == []
    assert report.ok, report
    assert report.checked == writers * per_writer * 2
    assert report.checkpoints > 1


APP_ROLE = "hospital_app_test"


@pytest.mark.postgresql
def test_the_service_role_owns_nothing_and_cannot_touch_the_trail(
    app: Flask, scratch_postgres: str
) -> None:
    command.upgrade(alembic_config(scratch_postgres), "head")
    owner = create_engine(normalise_url(scratch_postgres))
    with owner.begin() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {APP_ROLE}"))
        conn.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN"))
    try:
        with owner.begin() as conn:
            grant_app_role(conn, APP_ROLE)
        base, _, name = scratch_postgres.rpartition("/")
        scheme, _, host = base.partition("://")
        app_url = f"{scheme}://{APP_ROLE}@{host.rpartition('@')[2]}/{name}"
        database = Database(app_url)
        # The service works as this role: it writes, the sequencer seals, verify holds.
        with database.transaction() as session:
            audit.record(session, Actor(1, "doctor"), "test.write", "t", 1)
        with database.transaction() as session:
            assert audit_chain.seal(session, KEYS) is not None
        with database.transaction() as session:
            assert audit_chain.verify_chain(session, KEYS).ok
        # The whole demo hospital can be built as this role (every table the service writes).
        from web import demo

        with database.transaction() as session:
            assert demo.seed(session)
        refused = [
            "ALTER TABLE audit_events DISABLE TRIGGER USER",
            "ALTER TABLE audit_events DISABLE TRIGGER ALL",
            "DROP TRIGGER audit_events_no_change ON audit_events",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "UPDATE audit_events SET detail = '{}'",
            "DELETE FROM audit_checkpoints",
            "UPDATE audit_checkpoints SET pushed = true",
            "DROP TABLE outbox_messages",
            "CREATE TABLE scratch (id int)",
            "UPDATE alembic_version SET version_num = '0001'",
        ]
        for statement in refused:
            with (
                pytest.raises(ProgrammingError, match=r"permission denied|must be owner"),
                database.transaction() as session,
            ):
                session.execute(text(statement))
        database.dispose()
    finally:
        with owner.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {APP_ROLE}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {APP_ROLE}"))
        owner.dispose()
