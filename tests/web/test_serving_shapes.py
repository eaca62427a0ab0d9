"""Every request on its own, in every shape a hospital deploys: the real gunicorn server
(`hospital serve` and `gunicorn web.wsgi:app`) on a scratch PostgreSQL, sync workers and
gthread, one worker and several. Requests from several roles are interleaved, in sequence (the
same worker answers one after another) and concurrently, and each must answer as its own
caller: a token as its own account, no token 401, a body never reaching another request, and a
refused request leaving nothing behind for the next one."""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from alembic import command as alembic_command
from flask import Flask
from sqlalchemy import create_engine, text

from core.db import Database, commit, normalise_url
from identity.rules import PractitionerKind
from identity.services import issue_token
from migrations import alembic_config
from tests import factories
from tests.conftest import BACKEND, TEST_DATA_KEY, TEST_SECRET_KEY

pytestmark = pytest.mark.postgresql

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Caller:
    username: str
    role: str
    token: str


@dataclass(frozen=True)
class World:
    url: str
    patient_a: Caller
    patient_b: Caller
    doctor: Caller
    pharmacist: Caller

    @property
    def callers(self) -> tuple[Caller, ...]:
        return (self.patient_a, self.patient_b, self.doctor, self.pharmacist)


@pytest.fixture(scope="module")
def world(app: Flask) -> Iterator[World]:
    """A migrated scratch database with two verified patients, a doctor and a pharmacist,
    committed so that another process (the server) sees them."""
    import uuid

    name = f"shapes_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(BACKEND.pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{BACKEND.pg_url.rpartition('/')[0]}/{name}"
    database = Database(url)
    try:
        alembic_command.upgrade(alembic_config(url), "head")
        session = database.sessionmaker()
        factories.bind(session)
        try:
            a = factories.verified_patient("110105198503141235", "张三")
            b = factories.verified_patient("110105197001011233", "李四")
            doctor = factories.practitioner(PractitionerKind.doctor).account
            pharmacist = factories.practitioner(PractitionerKind.pharmacist).account

            def caller(account: object) -> Caller:
                token = issue_token(session, account, 3600).token  # type: ignore[arg-type]
                return Caller(account.username, account.role.value, token)  # type: ignore[attr-defined]

            made = World(url, caller(a), caller(b), caller(doctor), caller(pharmacist))
            commit(session)
        finally:
            factories.bind(None)
            session.close()
        yield made
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# name -> the command line after the port is known; the shapes README.md names.
SHAPES: dict[str, Callable[[int], list[str]]] = {
    "sync 1x1": lambda port: [
        str(BIN / "hospital"), "serve", "--port", str(port), "--workers", "1", "--threads", "1"
    ],
    "sync 2x1": lambda port: [
        str(BIN / "hospital"), "serve", "--port", str(port), "--workers", "2", "--threads", "1"
    ],
    "gthread 1x4": lambda port: [
        str(BIN / "hospital"), "serve", "--port", str(port), "--workers", "1", "--threads", "4"
    ],
    "gthread 2x4": lambda port: [
        str(BIN / "hospital"), "serve", "--port", str(port), "--workers", "2", "--threads", "4"
    ],
    "gunicorn web.wsgi:app --preload sync 2x1": lambda port: [
        str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--preload",
        "web.wsgi:app",
    ],
}  # fmt: skip


@pytest.fixture(scope="module", params=list(SHAPES))
def server(
    request: pytest.FixtureRequest, world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": world.url,
        "REDIS_URL": BACKEND.redis_url,
        "CELERY_EAGER": "1",
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATA_KEY": TEST_DATA_KEY,
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        # These tests sign in many times from one address; the limit has its own tests.
        "SIGN_IN_RATE_LIMIT": "10000 per minute",
    }
    env.pop("DEMO_MODE", None)
    log = tmp_path_factory.mktemp("server") / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            SHAPES[request.param](port), env=env, stdout=out, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _whoami(http: requests.Session, base: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return http.get(f"{base}/api/v1/auth/whoami", headers=headers, timeout=30)


def _check_whoami(http: requests.Session, base: str, caller: Caller | None) -> None:
    response = _whoami(http, base, caller.token if caller else None)
    if caller is None:
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "unauthorized"
        return
    assert response.status_code == 200, response.text
    assert response.json()["username"] == caller.username
    assert response.json()["role"] == caller.role


def test_each_token_answers_as_its_own_account_in_sequence(server: str, world: World) -> None:
    """One connection, one request after another: the shape in which a worker reusing one
    application context answered everybody as the first account it saw."""
    rng = random.Random(12)
    choices: list[Caller | None] = [*world.callers, None]
    with requests.Session() as http:
        for _ in range(120):
            _check_whoami(http, server, rng.choice(choices))
        # A forged or revoked-looking token is refused even right after a valid one.
        _check_whoami(http, server, world.doctor)
        bad = _whoami(http, server, "not-a-token")
        assert bad.status_code == 401


def test_each_token_answers_as_its_own_account_concurrently(server: str, world: World) -> None:
    choices: list[Caller | None] = [*world.callers, None]
    plan = [choices[i % len(choices)] for i in range(400)]
    random.Random(7).shuffle(plan)

    def one(caller: Caller | None) -> None:
        with requests.Session() as http:
            _check_whoami(http, server, caller)

    with ThreadPoolExecutor(max_workers=16) as pool:
        for future in [pool.submit(one, caller) for caller in plan]:
            future.result()


def _bearer(caller: Caller) -> dict[str, str]:
    return {"Authorization": f"Bearer {caller.token}"}


def test_a_body_never_reaches_the_next_request(server: str, world: World) -> None:
    reading = {"kind": "weight", "weight_kg": 70.5}
    with requests.Session() as http:
        for _ in range(6):
            posted = http.post(
                f"{server}/api/v1/readings", json=reading, headers=_bearer(world.patient_a)
            )
            assert posted.status_code == 201, posted.text
            # A sign-in with an empty body is told about its own missing fields.
            empty = http.post(f"{server}/api/v1/auth/token", json={})
            assert empty.status_code == 422, empty.text
            fields = {e["field"] for e in empty.json()["errors"]}
            assert fields == {"username", "password"}
            wrong = http.post(
                f"{server}/api/v1/auth/token", json={"username": "nobody", "password": "x"}
            )
            assert wrong.status_code == 401, wrong.text
            assert wrong.json()["code"] == "authentication_failed"


def _readings(http: requests.Session, base: str, caller: Caller) -> list[dict[str, object]]:
    response = http.get(f"{base}/api/v1/me/readings", headers=_bearer(caller))
    assert response.status_code == 200, response.text
    readings: list[dict[str, object]] = response.json()["readings"]
    return readings


def test_a_refused_request_leaves_nothing_for_the_next(server: str, world: World) -> None:
    with requests.Session() as http:
        before_a = len(_readings(http, server, world.patient_a))
        before_b = len(_readings(http, server, world.patient_b))
        for _ in range(4):
            refused = http.post(
                f"{server}/api/v1/readings",
                json={"kind": "blood_pressure", "systolic": 400, "diastolic": 20},
                headers=_bearer(world.patient_a),
            )
            assert refused.status_code == 422, refused.text
            assert refused.json()["code"] == "implausible_reading"
            accepted = http.post(
                f"{server}/api/v1/readings",
                json={"kind": "blood_pressure", "systolic": 128, "diastolic": 82, "pulse": 70},
                headers=_bearer(world.patient_b),
            )
            assert accepted.status_code == 201, accepted.text
        after_a = _readings(http, server, world.patient_a)
        after_b = _readings(http, server, world.patient_b)
    assert len(after_a) == before_a
    assert len(after_b) == before_b + 4
    assert all(r["systolic"] == 128 for r in after_b[:4])


_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def _session_cookie(response: requests.Response) -> str:
    # Outside demo mode the cookie is Secure; over plain http it is carried by hand.
    header = response.headers.get("Set-Cookie", "")
    match = re.search(r"session=([^;]+)", header)
    assert match, header
    return match.group(1)


def test_a_console_session_is_not_lent_to_the_next_visitor(server: str, world: World) -> None:
    with requests.Session() as http:
        page = http.get(f"{server}/sign-in")
        match = _CSRF.search(page.text)
        assert match, page.text[:500]
        token = match.group(1)
        cookie = _session_cookie(page)
        signed_in = http.post(
            f"{server}/sign-in",
            data={"csrf_token": token, "username": world.doctor.username,
                  "password": factories.PASSWORD},
            headers={"Cookie": f"session={cookie}"},
            allow_redirects=False,
        )  # fmt: skip
        assert signed_in.status_code == 302, signed_in.text[:500]
        cookie = _session_cookie(signed_in)
        for _ in range(5):
            mine = http.get(
                f"{server}/doctor/", headers={"Cookie": f"session={cookie}"},
                allow_redirects=False,
            )  # fmt: skip
            assert mine.status_code == 200, mine.status_code
            stranger = http.get(f"{server}/doctor/", allow_redirects=False)
            assert stranger.status_code == 302
            assert "/sign-in" in stranger.headers["Location"]
