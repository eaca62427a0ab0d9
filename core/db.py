"""Database: declarative base, engine and session factory, column types.

One engine and one session factory per process (held by `Database`). The doors open one
session per request or task and commit it once; services only flush. Work that must happen
only once the transaction is durable (enqueueing a Celery task) is registered with
`after_commit` and run by the door after its commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def normalise_url(url: str) -> str:
    """Plain postgresql:// URLs use psycopg2 (SQLAlchemy 2.1 would otherwise pick psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def make_engine(url: str, autocommit: bool = False) -> Engine:
    """The engine of `url`; with `autocommit`, one whose connections never open a transaction
    (for sessions that only read)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it cost a round trip to PostgreSQL on every checkout, a fifth of a request's
    # time under load (bench/throughput.py --profile). Disconnects are handled optimistically:
    # the request that meets a dead connection gets a 503 to retry (web/errors.py), SQLAlchemy
    # then discards every connection of the pool made before the outage, and connections are
    # renewed after half an hour so that none outlives a server-side idle timeout.
    if autocommit:
        return create_engine(
            url, isolation_level="AUTOCOMMIT", pool_size=5, max_overflow=10, pool_recycle=1800
        )
    return create_engine(url, pool_size=10, max_overflow=20, pool_recycle=1800)


class Database:
    """The process's engine and session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(
            bind=self.engine, expire_on_commit=False
        )
        self._engines = [self.engine]
        _open_databases.add(self)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @cached_property
    def reader(self) -> sessionmaker[Session]:
        """Sessions for what only reads (an API GET): on PostgreSQL a pool of its own whose
        connections are in autocommit from the start, so no BEGIN and COMMIT go to the server
        and no isolation level is set and reset at each checkout."""
        if self.dialect != "postgresql":
            return self.sessionmaker
        engine = make_engine(self.url, autocommit=True)
        self._engines.append(engine)
        return sessionmaker(bind=engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work for a task or a CLI command: commit once, roll back on error."""
        session = self.sessionmaker()
        try:
            yield session
            commit(session)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self, close: bool = True) -> None:
        for engine in self._engines:
            engine.dispose(close=close)


# A forked child (a gunicorn worker, a Celery pool process) must never use a connection its
# parent opened: two processes on one socket interleave each other's statements. The child
# forgets the parent's pool without closing it (closing would end the parent's sessions too).
_open_databases: weakref.WeakSet[Database] = weakref.WeakSet()


def _forget_parent_connections() -> None:
    for database in list(_open_databases):
        database.dispose(close=False)


os.register_at_fork(after_in_child=_forget_parent_connections)

log = logging.getLogger(__name__)
AFTER_COMMIT_KEY = "after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the door has committed this session (never if it rolls back)."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def commit(session: Session) -> None:
    """The door's single commit, followed by the work that had to wait for it. That work never
    fails the door: what it did is committed, and an error now (Redis down while a delivery is
    enqueued) would make the client retry it. Whatever was not enqueued is picked up by the
    periodic relay, which reads the outbox from the database."""
    session.commit()
    callbacks: list[Callable[[], None]] = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("work after the commit failed; the periodic relay will pick it up")


def discard_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_callbacks_on_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        discard_after_commit(session)


# Every module that declares tables, named rather than imported so that core stays at the
# bottom of the dependency picture. The app factory and Alembic load them all.
MODEL_MODULES = (
    "core.models",
    "identity.models",
    "followup.models",
    "prescriptions.models",
    "pharmacy.models",
)


def load_models() -> None:
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)
