"""The patient API's busiest requests in as few round trips to PostgreSQL as they need
(bench/throughput.py measured them): the bearer token, its account and the account's person in
one query; nothing loaded twice."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from identity.models import Institution
from prescriptions.services.drugs import LoadReport
from tests import factories
from tests.helpers import bearer
from web.session import WriteOnRead, db_session

Counter = Callable[[], AbstractContextManager[list[str]]]
READING = {"kind": "blood_pressure", "systolic": 128, "diastolic": 82, "pulse": 70}


def _statements(queries: list[str]) -> list[str]:
    """What reached the database, without the test's own savepoints."""
    return [q for q in queries if not q.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO"))]


def test_the_busiest_requests_ask_the_database_once_per_thing_they_show(
    client: FlaskClient, session: Session, count_queries: Counter, catalogue: LoadReport
) -> None:
    patient = factories.verified_patient()
    assert patient.person is not None
    factories.diagnosis(patient.person)
    mine = bearer(session, account=patient)
    doctor = bearer(session, account=factories.practitioner().account)
    expected = [
        # account + person (with the token), dependents
        ("GET", "/api/v1/me", None, "patient", 2),
        # account + person, the prescriptions (none yet: nothing more)
        ("GET", "/api/v1/me/prescriptions", None, "patient", 2),
        # account, the formulary version in force (the index is built once per process)
        ("GET", "/api/v1/drugs?q=氨氯", None, "doctor", 2),
        # account + person, the reading, its audit event
        ("POST", "/api/v1/readings", READING, "patient", 3),
    ]
    for method, path, body, who, count in expected:
        headers = mine if who == "patient" else doctor
        client.get("/api/v1/drugs?q=warm", headers=doctor)  # the process's index, built once
        with count_queries() as queries:
            answer = client.open(path, method=method, headers=headers, json=body)
        assert answer.status_code < 300, answer.json
        assert len(_statements(queries)) == count, (path, queries)


@pytest.mark.postgresql
def test_an_api_read_runs_outside_a_transaction_and_may_not_write(make_app: Any) -> None:
    """No BEGIN and COMMIT around an API GET (it only reads); one that tries to write is
    refused before anything reaches the database. A POST has its transaction as ever."""
    app = make_app()
    db = app.extensions["hospital.db"]
    db.sessionmaker = sessionmaker(bind=db.engine, expire_on_commit=False)  # as in production
    with app.test_request_context("/api/v1/me", method="GET"):
        reading = db_session()
        assert reading.connection().connection.dbapi_connection.autocommit is True
        reading.add(Institution(code="READ-ONLY", name="不应写入"))
        with pytest.raises(WriteOnRead):
            reading.flush()
        reading.rollback()
    with app.test_request_context("/api/v1/readings", method="POST"):
        writing = db_session()
        assert writing.connection().connection.dbapi_connection.autocommit is False
        writing.rollback()
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM institutions WHERE code = 'READ-ONLY'")) == 0
