"""One database session per request, committed once by the door.

A view that returns normally has its session committed after it (then the after-commit work
runs); a view that raises has it rolled back. A view that must keep a change although it
answers with an error (a failed sign-in counted towards lock-out) commits explicitly with
`commit_now` before raising.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session

from core.db import Database, commit


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


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit(response: Response) -> Response:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400:
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
