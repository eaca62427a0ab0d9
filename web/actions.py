"""One way for a console or H5 form to act: run the service, commit once on success; on a
refusal roll back — or commit, when the refusal's effects stand (DomainError.keeps_effects) —
and say why in Chinese. The pages' counterpart of the API's error handler (indico's
`web/rh.py`: one commit per request, rollback on any exception)."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash

from core.errors import DomainError
from web.session import commit_now, db_session


def message_of(exc: DomainError) -> str:
    """What the person is told: the detail, led by the title where they differ."""
    return exc.detail if exc.detail == exc.title else f"{exc.title}：{exc.detail}"


def form_action(action: Callable[[], object], done: str | None = None) -> bool:
    """Whether the action went through: committed (flashing `done`), or refused (flashed)."""
    session = db_session()
    try:
        action()
    except DomainError as exc:
        if exc.keeps_effects:
            commit_now()
        else:
            session.rollback()
        flash(message_of(exc), "error")
        return False
    commit_now()
    if done:
        flash(done, "ok")
    return True
