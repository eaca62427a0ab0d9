"""Many transactions appending at once still form one unbroken chain (real commits)."""

from __future__ import annotations

import threading

import pytest
from alembic import command

from core import audit
from core.audit import Actor
from core.db import Database
from migrations import alembic_config


@pytest.mark.postgresql
def test_concurrent_writers_never_fork_the_chain(scratch_postgres: str) -> None:
    command.upgrade(alembic_config(scratch_postgres), "head")
    database = Database(scratch_postgres)
    writers, per_writer = 8, 15
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                with database.transaction() as session:
                    audit.record(session, Actor(worker, "doctor"), "test.write", "t", i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.transaction() as session:
        report = audit.verify_chain(session)
    database.dispose()
    assert report.ok, report
    assert report.checked == writers * per_writer
