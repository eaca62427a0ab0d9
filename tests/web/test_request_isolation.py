"""A request never starts inside another's application context, and a forked process never
uses its parent's database connections."""

from __future__ import annotations

import os

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import text

from core.db import Database
from identity.services import issue_token
from tests import factories
from tests.conftest import BACKEND


def test_a_request_inside_an_active_app_context_gets_its_own_g(
    app: Flask, client: FlaskClient
) -> None:
    patient = factories.verified_patient()
    token = issue_token(factories.current_session(), patient, 600).token
    # The shape of the old bug: the process runs inside an application context (a CLI
    # command) and a request arrives; Flask would reuse that context and its `g`.
    with app.app_context():
        first = client.get("/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"})
        assert first.status_code == 200
        assert "api_account" not in g  # the request's g was its own, not this one
        g.api_account = patient  # as a leaked context would carry it
        anonymous = client.get("/api/v1/auth/whoami")
    assert anonymous.status_code == 401
    assert anonymous.json["code"] == "unauthorized"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_reuse_the_parents_connections() -> None:
    database = Database(BACKEND.database_url)
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert database.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
        pid = os.fork()
        if pid == 0:  # the child: the parent's pooled connection must be forgotten
            os._exit(0 if database.engine.pool.checkedin() == 0 else 1)  # type: ignore[attr-defined]
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent keeps its own connection.
        assert database.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    finally:
        database.dispose()
