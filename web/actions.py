"""One way for a console or H5 form to act: run the service, commit once on success; on a
refusal roll back — or commit, when the refusal's effects stand (DomainError.keeps_effects) —
and say why in Chinese. The pages' counterpart of the API's error handler (indico's
`web/rh.py`: one commit per request, rollback on any exception)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import flash

from core.errors import DomainError
from web.session import commit_now, db_session

T = TypeVar("T")


def message_of(exc: DomainError) -> str:
    """What the person is told: the detail, led by the title where they differ."""
    return exc.detail if exc.detail == exc.title else f"{exc.title}：{exc.detail}"


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What an action came to: done with its value, or refused (already told, and rolled back
    or — where the refusal's effects stand — committed)."""

    done: bool
    value: T | None = None


def attempt(
    action: Callable[[], T],
    done: str | Callable[[T], str] | None = None,
    refused: str | None = None,
) -> Outcome[T]:
    """Run `action`; commit and flash `done` (or what it says of the value) if it goes through,
    and the refusal (led by `refused`, as 登记未成功) if not."""
    session = db_session()
    try:
        value = action()
    except DomainError as exc:
        if exc.keeps_effects:
            commit_now()
        else:
            session.rollback()
        said = message_of(exc)
        flash(f"{refused}：{said}" if refused else said, "error")
        return Outcome(False)
    commit_now()
    if done is not None:
        flash(done if isinstance(done, str) else done(value), "ok")
    return Outcome(True, value)


def form_action(action: Callable[[], object], done: str | None = None) -> bool:
    """Whether the action went through: committed (flashing `done`), or refused (flashed)."""
    return attempt(action, done).done
