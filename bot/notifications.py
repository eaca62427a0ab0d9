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

from core import clock, outbox, providers
from core.models import Notification
from core.settings import Settings
from identity.models import WeChatFollower
from identity.services import followers
from wechat.interfaces import WeChat

WINDOW = dt.timedelta(hours=48)
WINDOW_CLOSED = 45015
REFUSED = 43101  # the user has not (or no longer) allowed this subscribe message


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
    row = (
        _follower(session, settings.wechat_oa_app_id, note.account_id)
        if settings.wechat_oa_app_id
        else None
    )
    if row is None:
        # Not following the Official Account (or unfollowed): a mini-program subscribe
        # message if they allowed one, else nothing (the in-app inbox has it).
        _send_subscribe_message(session, note, settings)
        return
    wechat = providers.find(WeChat, settings).official_account()
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


def _send_subscribe_message(session: Session, note: Notification, settings: Settings) -> None:
    template = settings.wechat_mp_template_id
    if not template or not settings.wechat_app_id:
        return
    openid = followers.mini_program_openid(session, settings.wechat_app_id, note.account_id)
    if openid is None or not followers.has_subscription(session, note.account_id, template):
        return
    wechat = providers.find(WeChat, settings).mini_program()
    when = note.created_at.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")
    data = {
        "thing1": {"value": note.title[:20]},
        "thing2": {"value": note.body[:20]},
        "time3": {"value": when},
    }
    try:
        wechat.wxa.send_subscribe_message(openid, template, data, page="pages/index/index")
    except WeChatClientException as exc:
        if exc.errcode == REFUSED:
            return  # the patient withdrew the permission: nothing more to do
        raise outbox.DeliveryError(f"WeChat {exc.errcode}: {exc.errmsg}") from exc
    except OSError as exc:
        raise outbox.DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    # Used only once sent: a failed attempt (retried later) keeps the permission.
    followers.take_subscription(session, note.account_id, template)
