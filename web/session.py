"""One database session per request, committed once by the door.

A view that returns normally has its session committed after it (then the after-commit work
runs); a view that raises has it rolled back — unless the refusal's class keeps its effects
(DomainError.keeps_effects: a blocked controlled drug's audit, a failed sign-in counted towards
lock-out, a red flag's hand-off), which are committed with the error answer. Forms in the
consoles and H5 pages do the same through web.actions.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session

from core.db import Database, commit
from core.errors import DomainError


def database() -> Database:
    db: Database = current_app.extensions["hospital.db"]
    return db


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    session: Session = g.db_session
    return session


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
