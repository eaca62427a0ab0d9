"""Notifications out to WeChat (the outbox's `wechat.notify` channel). A follower who wrote
to the Official Account in the last 48 hours gets a customer-service message; otherwise, or when
WeChat says the window has closed (45015), a template message. Someone who does not follow the
Official Account (or unfollowed) gets nothing there; their inbox still has it. The access token
is cached in Redis and refreshed by wechatpy when WeChat says it expired."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from bot import client
from core import clock, outbox, runtime
from core.models import Notification
from core.notify import WECHAT_CHANNEL
from core.settings import Settings
from identity.models import WeChatFollower

WINDOW = dt.timedelta(hours=48)
WINDOW_CLOSED = 45015


def _follower(session: Session, app_id: str, account_id: int) -> WeChatFollower | None:
    return session.scalar(
        select(WeChatFollower)
        .where(
            WeChatFollower.app_id == app_id,
            WeChatFollower.account_id == account_id,
            WeChatFollower.subscribed.is_(True),
        )
        .order_by(WeChatFollower.id.desc())
        .limit(1)
    )


def send(session: Session, payload: dict[str, Any], key: str, settings: Settings) -> None:
    note = session.get(Notification, payload["notification_id"])
    if note is None:
        raise outbox.DeliveryError("no such notification", permanent=True)
    if not settings.wechat_oa_app_id:
        return  # no Official Account configured: the in-app inbox is the only channel
    row = _follower(session, settings.wechat_oa_app_id, note.account_id)
    if row is None:
        return  # not following (or unfollowed): nothing is sent to them
    wechat = client.client_for(
        settings.wechat_oa_app_id, settings.wechat_oa_app_secret, settings, runtime.current().redis
    )
    text = f"【{note.title}】{note.body}"
    when = note.created_at.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")
    try:
        recent = row.last_message_at is not None and clock.now() - row.last_message_at < WINDOW
        if recent:
            try:
                wechat.message.send_text(row.openid, text)
                return
            except WeChatClientException as exc:
                if exc.errcode != WINDOW_CLOSED:
                    raise
        if not settings.wechat_oa_template_id:
            return  # nothing else may be sent outside the window
        wechat.message.send_template(
            row.openid,
            settings.wechat_oa_template_id,
            {
                "first": {"value": note.title},
                "keyword1": {"value": note.body[:100]},
                "keyword2": {"value": when},
                "remark": {"value": "详情请打开互联网医院小程序查看。"},
            },
        )
    except WeChatClientException as exc:
        raise outbox.DeliveryError(f"WeChat {exc.errcode}: {exc.errmsg}") from exc
    except OSError as exc:  # requests' connection errors and timeouts
        raise outbox.DeliveryError(f"{type(exc).__name__}: {exc}") from exc


outbox.register_channel(WECHAT_CHANNEL, send)
