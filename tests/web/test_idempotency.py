"""Idempotency-Key on creating requests: a retry after a lost answer gets the first answer and
creates nothing more, even when the two copies race; another request under the same key is
refused; and a request whose work after the commit fails (Redis down) still answers 201."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import runtime
from core.db import Database
from core.models import OutboxMessage, OutboxStatus
from followup.models import Referral
from migrations import alembic_config
from tests import conftest, factories
from tests.helpers import bearer
from web.app import create_app

REFERRALS = "/api/v1/me/referrals"


def _referrals(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Referral)) or 0


def test_a_retry_gets_the_first_answer_and_creates_nothing(
    client: FlaskClient, session: Session
) -> None:
    headers = bearer(session, account=factories.verified_patient())
    keyed = {**headers, "Idempotency-Key": "referral-7f3a"}
    first = client.post(REFERRALS, headers=keyed, json={"reason": "想去医院复查"})
    assert first.status_code == 201, first.json
    again = client.post(REFERRALS, headers=keyed, json={"reason": "想去医院复查"})
    assert again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _referrals(session) == 1
    # Without a key, a second request is a second referral, as before.
    assert client.post(REFERRALS, headers=headers, json={"reason": "再次"}).status_code == 201
    assert _referrals(session) == 2


def test_the_same_key_for_another_request_is_refused(client: FlaskClient, session: Session) -> None:
    headers = {**bearer(session, account=factories.verified_patient()), "Idempotency-Key": "k-1"}
    client.post(REFERRALS, headers=headers, json={"reason": "第一次"})
    other = client.post(REFERRALS, headers=headers, json={"reason": "另一件事"})
    assert other.status_code == 422
    assert other.json["code"] == "idempotency_key_reused"
    assert _referrals(session) == 1


@pytest.mark.parametrize("key", ["", "有中文", "x" * 65, "a b", "a\tb"])
def test_a_malformed_key_is_refused(client: FlaskClient, session: Session, key: str) -> None:
    headers = {**bearer(session, account=factories.verified_patient()), "Idempotency-Key": key}
    response = client.post(REFERRALS, headers=headers, json={"reason": "复查"})
    assert response.status_code == 400
    assert response.json["code"] == "invalid_idempotency_key"
    assert _referrals(session) == 0


def test_keys_belong_to_one_account(client: FlaskClient, session: Session) -> None:
    one = {**bearer(session, account=factories.verified_patient()), "Idempotency-Key": "same"}
    other_account = factories.verified_patient("11010519491231002X", "王五")
    two = {**bearer(session, account=other_account), "Idempotency-Key": "same"}
    assert client.post(REFERRALS, headers=one, json={"reason": "复查"}).status_code == 201
    answer = client.post(REFERRALS, headers=two, json={"reason": "复查"})
    assert answer.status_code == 201
    assert "Idempotent-Replayed" not in answer.headers  # not someone else's answer
    assert _referrals(session) == 2


@pytest.mark.postgresql
def test_two_copies_racing_create_one_referral(scratch_postgres: str) -> None:
    command.upgrade(alembic_config(scratch_postgres), "head")
    saved = runtime.current()
    app = create_app(conftest.test_settings(DATABASE_URL=scratch_postgres))
    try:
        database: Database = app.extensions["hospital.db"]
        with database.transaction() as session:
            from tests import factories as f

            f.bind(session)
            headers = bearer(session, account=f.verified_patient())
            f.bind(None)
        keyed = {**headers, "Idempotency-Key": "race-1"}
        answers: list[Any] = []
        start = threading.Barrier(4)

        def post() -> None:
            start.wait()
            answers.append(
                app.test_client().post(REFERRALS, headers=keyed, json={"reason": "复查"})
            )

        threads = [threading.Thread(target=post) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [a.status_code for a in answers] == [201] * 4
        assert len({a.json["id"] for a in answers}) == 1
        with database.transaction() as session:
            assert _referrals(session) == 1
        database.dispose()
    finally:
        _restore(saved)


def _restore(saved: runtime.Runtime) -> None:
    from core import crypto
    from core.celery_app import configure

    runtime.install(saved)
    crypto.configure(saved.settings.data_key)
    configure(saved.settings)


def test_redis_down_after_the_commit_is_not_a_server_error(make_app: Any, session: Session) -> None:
    """Before: the referral was committed, then enqueueing its delivery failed and the client
    got a 500 — and retried, creating it twice. Now the answer is 201 and the relay sends it."""
    app: Flask = make_app(REDIS_URL="redis://127.0.0.1:9/0", CELERY_EAGER=False)
    headers = bearer(session, account=factories.verified_patient())
    response = app.test_client().post(REFERRALS, headers=headers, json={"reason": "复查"})
    assert response.status_code == 201, response.json
    pending = session.scalars(select(OutboxMessage)).all()
    assert pending
    assert {m.status for m in pending} == {OutboxStatus.pending}
