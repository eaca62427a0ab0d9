"""Test harness: real PostgreSQL and Redis, one outer transaction per test.

The schema is built once per run by the Alembic revisions themselves. Each test gets a
connection inside an outer transaction; the app's sessions (requests, tasks, CLI commands) are
bound to that connection and commit only savepoints, and everything is rolled back after the
test. Where PostgreSQL is not reachable the suite runs on SQLite and says so loudly, unless
REQUIRE_SERVICES=1, which makes a missing service fail the run.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from alembic import command as alembic_command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from core import runtime
from core.db import Database, normalise_url
from migrations import alembic_config
from prescriptions import screening
from tests import factories
from web.app import create_app

pytest_plugins = [
    "tests.browser",
    "tests.plugins.catalogue",
    "tests.plugins.prescriptions",
    "tests.plugins.receivers",
]

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
REQUIRE = os.environ.get("REQUIRE_SERVICES") == "1"

TEST_SECRET_KEY = secrets.token_hex(32)
CHECKPOINT_DIR = Path(tempfile.mkdtemp(prefix="audit-checkpoints-"))
TEST_DATA_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _postgres_reachable(url: str) -> str | None:
    try:
        engine = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means "not reachable"; the reason is reported
        return str(exc).splitlines()[0]
    return None


def _redis_reachable(url: str) -> str | None:
    try:
        redis_lib.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:  # as above
        return str(exc)
    return None


def _child_database(server_url: str) -> str:
    """The URL of this process's own database mut_<pid> on the server of `server_url`,
    created if missing; databases of children that are gone (killed on a timeout) are
    dropped first."""
    base, _, _ = server_url.rpartition("/")
    admin = create_engine(
        normalise_url(server_url),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )
    name = f"mut_{os.getpid()}"
    try:
        with admin.connect() as conn:
            existing = list(
                conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname ~ '^mut_[0-9]+$'")
                ).scalars()
            )
            for other in existing:
                if other != name and not _alive(int(other.removeprefix("mut_"))):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)'))
            if name not in existing:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return f"{base}/{name}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_child_database(server_url: str, name: str) -> None:
    admin = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


class Backend:
    def __init__(self) -> None:
        self.pg_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
        self.server_url = self.pg_url
        self.pg_error = _postgres_reachable(self.server_url)
        # mutmut runs several pytest children at once (MUTANT_UNDER_TEST is set in them) and
        # each rebuilds schema `public`: each child gets a database of its own, mut_<pid>.
        self.child_database = (
            "MUTANT_UNDER_TEST" in os.environ
            and self.pg_error is None
            and self.pg_url.startswith("postgresql")
        )
        if self.child_database:
            self.pg_url = _child_database(self.server_url)
        self.redis_url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)
        self.redis_error = _redis_reachable(self.redis_url)
        self.sqlite_path: Path | None = None

    @property
    def is_postgres(self) -> bool:
        return self.pg_error is None

    @property
    def database_url(self) -> str:
        if self.is_postgres:
            return self.pg_url
        if self.sqlite_path is None:
            self.sqlite_path = Path(tempfile.mkdtemp()) / "test.sqlite3"
        return f"sqlite:///{self.sqlite_path}"

    @property
    def warning(self) -> str | None:
        parts = []
        if not self.is_postgres:
            parts.append(
                f"PostgreSQL NOT REACHABLE ({self.pg_error}): running on SQLite, "
                "PostgreSQL-specific tests SKIPPED"
            )
        if self.redis_error is not None:
            parts.append(f"Redis NOT REACHABLE ({self.redis_error}): Redis tests SKIPPED")
        return "; ".join(parts) or None


BACKEND: Backend


def pytest_configure(config: pytest.Config) -> None:
    global BACKEND  # decided once per run, before collection
    BACKEND = Backend()
    if REQUIRE and BACKEND.warning:
        raise pytest.UsageError(f"REQUIRE_SERVICES=1 but {BACKEND.warning}")


def pytest_unconfigure(config: pytest.Config) -> None:
    backend = globals().get("BACKEND")
    if backend is not None and backend.child_database:
        _drop_child_database(backend.server_url, backend.pg_url.rpartition("/")[2])


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"database: {BACKEND.database_url.split('@')[-1]}", f"redis: {BACKEND.redis_url}"]
    if BACKEND.warning:
        lines.append("!" * 30 + " " + BACKEND.warning + " " + "!" * 30)
    return lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if BACKEND.warning:
        terminalreporter.section("SERVICES MISSING", sep="!", red=True, bold=True)
        terminalreporter.line(BACKEND.warning, red=True, bold=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgresql" in item.keywords and not BACKEND.is_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL"))
        if "redis" in item.fixturenames and BACKEND.redis_error is not None:
            item.add_marker(pytest.mark.skip(reason="needs Redis"))


def _fresh_schema(url: str) -> None:
    if url.startswith("postgresql"):
        engine = create_engine(normalise_url(url))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    alembic_command.upgrade(alembic_config(url), "head")


def _make_savepoints_work_on_sqlite(database: Database) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
    @event.listens_for(database.engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(database.engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")


def test_settings(**extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "DATABASE_URL": BACKEND.database_url,
        "REDIS_URL": BACKEND.redis_url if BACKEND.redis_error is None else None,
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATA_KEY": TEST_DATA_KEY,
        "CELERY_EAGER": True,
        "TESTING": True,
        # The suite signs in many times from one address; the limit has its own test.
        "SIGN_IN_RATE_LIMIT": "10000 per minute",
        # Tests seal the audit trail where they mean to (each test's writes are rolled back,
        # which a checkpoint file outside the database would not forget).
        "AUDIT_SEAL_AFTER_COMMIT": False,
        "AUDIT_CHECKPOINT_FILE": str(CHECKPOINT_DIR / "audit-checkpoints.jsonl"),
    }
    values.update(extra)
    return values


@pytest.fixture(scope="session", autouse=True)
def _fresh_screening_caches() -> None:
    """Screening's indexes are built once per process; a test session builds its own, so a
    process forked after they were built (mutation testing) still tests what builds them."""
    screening.package_index.cache_clear()
    screening._build.cache_clear()
    screening.controls_of_ingredient.cache_clear()
    screening.install(None, None)  # and forgets what was screened


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    _fresh_schema(BACKEND.database_url)
    flask_app = create_app(test_settings())
    database: Database = flask_app.extensions["hospital.db"]
    if database.dialect == "sqlite":
        _make_savepoints_work_on_sqlite(database)
    yield flask_app
    database.dispose()


@pytest.fixture
def connection(app: Flask) -> Iterator[Connection]:
    """The test's connection, inside an outer transaction that is rolled back at the end."""
    database: Database = app.extensions["hospital.db"]
    original = database.sessionmaker
    conn = database.engine.connect()
    outer = conn.begin()
    database.sessionmaker = sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield conn
    finally:
        database.sessionmaker = original
        outer.rollback()
        conn.close()
        # The formulary this process screens against went with the rolled-back data.
        screening.install(None, None)


@pytest.fixture
def count_queries(connection: Connection) -> Callable[[], AbstractContextManager[list[str]]]:
    """`with count_queries() as statements:` — the SQL a block runs on the test's connection,
    to pin N+1 queries (a list that queries once per row grows with its rows)."""

    @contextmanager
    def counting() -> Iterator[list[str]]:
        statements: list[str] = []

        def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        event.listen(connection, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(connection, "before_cursor_execute", before)

    return counting


@pytest.fixture
def session(app: Flask, connection: Connection) -> Iterator[Session]:
    database: Database = app.extensions["hospital.db"]
    db_session = database.sessionmaker()
    factories.bind(db_session)
    try:
        yield db_session
    finally:
        factories.bind(None)
        db_session.close()


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def redis() -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(BACKEND.redis_url)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def make_app(app: Flask, connection: Connection) -> Iterator[Any]:
    """Build another app (other settings) on the test's connection; the session-wide app's
    runtime is put back afterwards."""
    saved = runtime.current()

    def build(**overrides: Any) -> Flask:
        other = create_app(test_settings(**overrides))
        other.extensions["hospital.db"].sessionmaker = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        return other

    yield build
    runtime.install(saved)
    from core import crypto
    from core.celery_app import configure

    crypto.configure(saved.settings.data_key)
    configure(saved.settings)


@pytest.fixture
def faceid_app(make_app: Any, faceid_server: Any) -> Flask:
    """An app whose real-name checks go to the fake 人脸核身."""
    from tests.fakes import faceid

    built: Flask = make_app(**faceid.settings_for(faceid_server))
    return built


@pytest.fixture
def scratch_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database for tests that need real commits from several
    connections at once; dropped afterwards."""
    import uuid

    name = f"scratch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(BACKEND.pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = BACKEND.pg_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def is_postgres() -> bool:
    return BACKEND.is_postgres
