"""Outages with real processes: a Celery worker killed mid-delivery, PostgreSQL restarted
under load, Redis restarted. Nothing is lost, nothing is done twice, requests fail cleanly
(503, never 500) and the service recovers by itself."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from alembic import command
from flask import Flask
from sqlalchemy import func, select

from core import outbox, runtime
from core.db import Database
from core.models import OutboxMessage, OutboxStatus
from core.tasks import relay_outbox
from followup.models import Referral
from followup.services.referrals import PLATFORM_CHANNEL
from migrations import alembic_config
from tests import conftest, factories
from tests.fakes.http_receiver import Receiver
from tests.helpers import bearer
from tests.resilience.processes import (
    free_port,
    hospital,
    private_postgres,
    private_redis,
    service_env,
    wait_healthy,
    wait_until,
)
from web.app import create_app

pytestmark = pytest.mark.postgresql


@pytest.fixture
def restore_runtime(app: Flask) -> Iterator[None]:
    saved = runtime.current()
    yield
    from core import crypto
    from core.celery_app import configure

    runtime.install(saved)
    crypto.configure(saved.settings.data_key)
    configure(saved.settings)


def _local_app(database_url: str, redis_url: str) -> Database:
    """This process as a door of the same service (it enqueues, as a web worker would)."""
    app = create_app(
        conftest.test_settings(DATABASE_URL=database_url, REDIS_URL=redis_url, CELERY_EAGER=False)
    )
    database: Database = app.extensions["hospital.db"]
    return database


def _message(database: Database, message_id: int) -> OutboxMessage:
    with database.transaction() as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        return message


def test_a_worker_killed_mid_delivery_loses_nothing_and_applies_once(
    scratch_postgres: str, tmp_path: Path, receiver: Receiver, restore_runtime: None
) -> None:
    command.upgrade(alembic_config(scratch_postgres), "head")
    with private_redis() as broker:
        env = service_env(scratch_postgres, broker.url, tmp_path)
        database = _local_app(scratch_postgres, broker.url)
        receiver.stall_next = 30  # the receiver holds the first attempt: the worker waits on it
        with hospital(["worker", "--concurrency=1"], env, tmp_path / "worker-1.log") as first:
            with database.transaction() as session:
                message_id = outbox.enqueue(
                    session, "http.json", {"url": receiver.url + "/orders", "body": {"n": 1}},
                    "kill-test-1",
                ).id  # fmt: skip
            assert receiver.stalled.wait(60), (tmp_path / "worker-1.log").read_text()
            os.killpg(first.pid, signal.SIGKILL)  # in the middle of the delivery
            first.wait(timeout=10)
        # The worker's transaction died with it: the message is still to send, not lost.
        assert _message(database, message_id).status is OutboxStatus.pending
        with hospital(["worker", "--concurrency=1"], env, tmp_path / "worker-2.log"):
            relay_outbox()  # what beat does every 10 s
            wait_until(
                lambda: _message(database, message_id).status is OutboxStatus.delivered,
                60,
                "the redelivery",
            )
        database.dispose()
    attempts = [r for r in receiver.received if r.headers.get("Idempotency-Key") == "kill-test-1"]
    assert len(attempts) == 2  # the interrupted one and the redelivery, under one key
    assert list(receiver.applied) == ["kill-test-1"]  # applied once


def _create_patient(database_url: str) -> dict[str, str]:
    database = Database(database_url)
    with database.transaction() as session:
        factories.bind(session)
        headers = bearer(session, account=factories.verified_patient())
        factories.bind(None)
    database.dispose()
    return headers


def test_postgres_restarted_under_load_fails_cleanly_and_recovers(
    tmp_path: Path, restore_runtime: None
) -> None:
    with private_postgres() as pg, private_redis() as cache:
        command.upgrade(alembic_config(pg.url), "head")
        _local_app(pg.url, cache.url)  # crypto for the factories
        headers = _create_patient(pg.url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = service_env(pg.url, cache.url, tmp_path, CELERY_EAGER="1")
        args = ["serve", "--port", str(port), "--workers", "2", "--threads", "4"]
        statuses: list[int] = []
        keys: list[str] = []
        stop = threading.Event()
        lock = threading.Lock()

        def client() -> None:
            http = requests.Session()
            while not stop.is_set():
                key = uuid.uuid4().hex
                with lock:
                    keys.append(key)
                while True:  # a well-behaved client retries the same request, same key
                    try:
                        answer = http.post(
                            f"{base}/api/v1/me/referrals",
                            headers={**headers, "Idempotency-Key": key},
                            json={"reason": "复查"},
                            timeout=30,
                        )
                    except requests.RequestException:
                        status = 0  # the connection itself failed
                    else:
                        status = answer.status_code
                    with lock:
                        statuses.append(status)
                    if status == 201:
                        break
                    time.sleep(0.2)

        with hospital(args, env, tmp_path / "serve.log"):
            wait_healthy(base)
            clients = [threading.Thread(target=client) for _ in range(4)]
            for thread in clients:
                thread.start()
            time.sleep(2)
            pg.stop()  # PostgreSQL goes away under load ...
            time.sleep(2)
            pg.start()  # ... and comes back; the service is not restarted
            time.sleep(3)
            stop.set()
            for thread in clients:
                thread.join(timeout=60)
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        log = (tmp_path / "serve.log").read_text(errors="replace")
        counts = {s: statuses.count(s) for s in set(statuses)}
        assert set(counts) <= {201, 503}, (counts, log[-3000:])  # never a 500, never a hang-up
        assert counts.get(503, 0) > 0  # the outage was real
        database = Database(pg.url)
        with database.transaction() as session:
            referrals = session.scalar(select(func.count()).select_from(Referral))
            deliveries = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.channel == PLATFORM_CHANNEL)
            )
        database.dispose()
    assert referrals == len(keys)  # each request done exactly once: none lost, none twice
    assert deliveries == referrals  # and never half-done (a referral without its hand-off)


def test_redis_restarted_tasks_are_still_delivered(
    scratch_postgres: str, tmp_path: Path, receiver: Receiver, restore_runtime: None
) -> None:
    command.upgrade(alembic_config(scratch_postgres), "head")
    with private_redis() as broker:
        env = service_env(scratch_postgres, broker.url, tmp_path)
        database = _local_app(scratch_postgres, broker.url)
        with hospital(["worker", "--concurrency=1"], env, tmp_path / "worker.log"):
            ids = itertools.count()

            def send() -> int:
                with database.transaction() as session:
                    n = next(ids)
                    return outbox.enqueue(
                        session, "http.json",
                        {"url": receiver.url + "/orders", "body": {"n": n}}, f"redis-test-{n}",
                    ).id  # fmt: skip

            before = send()
            wait_until(lambda: _message(database, before).status is OutboxStatus.delivered, 60,
                       "delivery before the restart")  # fmt: skip
            broker.stop()
            during = send()  # committed; enqueueing it fails (logged), the relay has it
            broker.start()  # an empty Redis: the queue was lost with it
            relay_outbox()  # what beat does every 10 s
            wait_until(lambda: _message(database, during).status is OutboxStatus.delivered, 90,
                       "delivery after the restart")  # fmt: skip
            after = send()
            wait_until(lambda: _message(database, after).status is OutboxStatus.delivered, 60,
                       "delivery by the reconnected worker")  # fmt: skip
        database.dispose()
    assert sorted(receiver.applied) == [f"redis-test-{n}" for n in range(3)]
