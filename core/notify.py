"""Telling a person something: a row in their inbox, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import outbox
from core.models import Notification

WECHAT_CHANNEL = "wechat.notify"


def notify(
    session: Session,
    account_id: int,
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any] | None = None,
) -> Notification:
    """Into the person's inbox, and out to WeChat through the outbox (the bot's sender decides
    how, or that they follow nothing and get nothing)."""
    note = Notification(account_id=account_id, kind=kind, title=title, body=body, data=data or {})
    session.add(note)
    session.flush()
    outbox.enqueue(
        session, WECHAT_CHANNEL, {"notification_id": note.id}, idempotency_key=f"note-{note.id}"
    )
    return note


def inbox(session: Session, account_id: int, limit: int = 50) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.account_id == account_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
