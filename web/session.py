"""One database session per request, committed once by the door.

A view that returns normally has its session committed after it (then the after-commit work
runs); a view that raises has it rolled back — unless the refusal's class keeps its effects
(DomainError.keeps_effects: a blocked controlled drug's audit, a failed sign-in counted towards
lock-out, a red flag's hand-off), which are committed with the error answer. Forms in the
consoles and H5 pages do the same through web.actions.

An API GET reads and never writes (HTTP's safe method): its session runs on a connection in
autocommit, so PostgreSQL is not asked to BEGIN and COMMIT around what is only read — two of
the four or five round trips a read made (bench/throughput.py). A GET that tries to write is
refused before anything reaches the database (READ_ONLY: a programming error, a 500, tested).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.db import Database, commit
from core.errors import DomainError


def database() -> Database:
    db: Database = current_app.extensions["hospital.db"]
    return db


READ_ONLY = "read_only"


class WriteOnRead(RuntimeError):
    """An API GET tried to write: it would have been committed statement by statement."""


def _reads_only() -> bool:
    return request.method in {"GET", "HEAD"} and request.path.startswith("/api/")


def db_session() -> Session:
    if "db_session" not in g:
        db = database()
        reads = _reads_only()
        # The reader pool only where sessions go to the engine (not a test's shared connection).
        to_engine = db.sessionmaker.kw.get("bind") is db.engine
        opened = (db.reader if reads and to_engine else db.sessionmaker)()
        if reads:
            opened.info[READ_ONLY] = True
        g.db_session = opened
    session: Session = g.db_session
    return session


@event.listens_for(Session, "before_flush")
def _refuse_writes_on_read(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise WriteOnRead(f"{request.method} {request.path} tried to write")


def commit_now() -> None:
    commit(db_session())


def keep_effects(exc: DomainError) -> None:
    """The refusal's effects are committed with the error answer, if its class says so."""
    if exc.keeps_effects:
        g.keep_effects = True


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit(response: Response) -> Response:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400 or g.pop("keep_effects", False):
                commit(session)
            else:
                session.rollback()
        finally:
            session.close()
        return response

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()
