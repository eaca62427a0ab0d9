"""Official Account followers: following and unfollowing, and linking a follower to the
patient account (by unionid, or by a one-time binding code from the mini-program)."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.audit import Actor
from core.crypto import blind_index
from core.errors import DomainError
from identity.models import (
    Account,
    BindingCode,
    WeChatFollower,
    WeChatIdentity,
    WeChatSubscription,
)
from identity.services.accounts import actor_of

CODE_CONTEXT = "identity.binding_code"
CODE_TTL = dt.timedelta(minutes=10)


class InvalidBindingCode(DomainError):
    code = "invalid_binding_code"
    status = 422
    title = "绑定码无效或已过期"


def follower(session: Session, app_id: str, openid: str, now: dt.datetime) -> WeChatFollower:
    """The follower row (created on first sight), locked; their last message is now."""
    row = session.scalar(
        select(WeChatFollower)
        .where(WeChatFollower.app_id == app_id, WeChatFollower.openid == openid)
        .with_for_update()
    )
    if row is None:
        row = WeChatFollower(app_id=app_id, openid=openid, subscribed=True, accepted_templates=[])
        session.add(row)
    row.last_message_at = now
    session.flush()
    return row


def follow(
    session: Session, app_id: str, openid: str, scene: str | None, now: dt.datetime
) -> WeChatFollower:
    row = follower(session, app_id, openid, now)
    row.subscribed = True
    row.subscribed_at = now
    row.scene = scene or row.scene
    session.flush()
    audit.record(session, Actor(row.account_id, "wechat"), "wechat.follow", "wechat_follower",
                 row.id, {"scene": scene})  # fmt: skip
    return row


def unfollow(session: Session, app_id: str, openid: str, now: dt.datetime) -> WeChatFollower:
    row = follower(session, app_id, openid, now)
    row.subscribed = False
    row.unsubscribed_at = now
    session.flush()
    audit.record(session, Actor(row.account_id, "wechat"), "wechat.unfollow", "wechat_follower",
                 row.id)  # fmt: skip
    return row


def link_by_unionid(session: Session, row: WeChatFollower, unionid: str) -> Account | None:
    """WeChat gives the same unionid to the mini-program and the Official Account."""
    row.unionid = unionid
    identity = session.scalar(
        select(WeChatIdentity).where(WeChatIdentity.unionid == unionid).limit(1)
    )
    if identity is not None and row.account_id is None:
        row.account_id = identity.account_id
        audit.record(session, Actor(identity.account_id, "wechat"), "wechat.link",
                     "wechat_follower", row.id, {"by": "unionid"})  # fmt: skip
    session.flush()
    return row.account


def issue_binding_code(session: Session, account: Account, now: dt.datetime) -> str:
    """Eight digits, valid for 10 minutes, once; earlier unused codes stop working."""
    for old in session.scalars(
        select(BindingCode).where(
            BindingCode.account_id == account.id, BindingCode.used_at.is_(None)
        )
    ):
        old.used_at = now
    code = f"{secrets.randbelow(10**8):08d}"
    session.add(
        BindingCode(
            account_id=account.id,
            code_index=blind_index(code, CODE_CONTEXT),
            expires_at=now + CODE_TTL,
        )
    )
    session.flush()
    audit.record(session, actor_of(account), "wechat.binding_code", "account", account.id)
    return code


def bind(session: Session, row: WeChatFollower, code: str, now: dt.datetime) -> Account:
    found = session.scalar(
        select(BindingCode)
        .where(BindingCode.code_index == blind_index(code.strip(), CODE_CONTEXT))
        .with_for_update()
    )
    if found is None or found.used_at is not None or found.expires_at <= now:
        raise InvalidBindingCode()
    found.used_at = now
    row.account_id = found.account_id
    session.flush()
    audit.record(session, Actor(found.account_id, "wechat"), "wechat.link", "wechat_follower",
                 row.id, {"by": "code"})  # fmt: skip
    assert row.account is not None  # noqa: S101 - just linked
    return row.account


def record_subscriptions(session: Session, row: WeChatFollower, data: dict[str, object]) -> None:
    """subscribe_msg_popup_event / subscribe_msg_change_event: which mini-program message
    templates the user accepted or turned off (wechatpy gives these as unknown messages)."""
    accepted = set(row.accepted_templates or [])
    for name in ("SubscribeMsgPopupEvent", "SubscribeMsgChangeEvent"):
        block = data.get(name)
        if not isinstance(block, dict):
            continue
        items = block.get("List")
        for item in items if isinstance(items, list) else [items]:
            if not isinstance(item, dict) or not item.get("TemplateId"):
                continue
            template = str(item["TemplateId"])
            if item.get("SubscribeStatusString") == "accept":
                accepted.add(template)
            else:
                accepted.discard(template)
    row.accepted_templates = sorted(accepted)
    session.flush()


MAX_CREDITS = 20  # more acceptances than this are not kept: nobody needs a backlog of pings


def accept_subscriptions(session: Session, account: Account, template_ids: list[str]) -> None:
    """The mini-program reports the templates the patient accepted: one message each."""
    for template in dict.fromkeys(t.strip() for t in template_ids if t.strip()):
        row = session.scalar(
            select(WeChatSubscription)
            .where(
                WeChatSubscription.account_id == account.id,
                WeChatSubscription.template_id == template[:64],
            )
            .with_for_update()
        )
        if row is None:
            row = WeChatSubscription(account_id=account.id, template_id=template[:64], remaining=0)
            session.add(row)
        row.remaining = min(row.remaining + 1, MAX_CREDITS)
    session.flush()


def take_subscription(session: Session, account_id: int, template_id: str) -> bool:
    """Use one allowed message of the template, if the patient has one left."""
    row = session.scalar(
        select(WeChatSubscription)
        .where(
            WeChatSubscription.account_id == account_id,
            WeChatSubscription.template_id == template_id,
        )
        .with_for_update()
    )
    if row is None or row.remaining <= 0:
        return False
    row.remaining -= 1
    session.flush()
    return True


def has_subscription(session: Session, account_id: int, template_id: str) -> bool:
    remaining = session.scalar(
        select(WeChatSubscription.remaining).where(
            WeChatSubscription.account_id == account_id,
            WeChatSubscription.template_id == template_id,
        )
    )
    return bool(remaining and remaining > 0)


def mini_program_openid(session: Session, app_id: str, account_id: int) -> str | None:
    return session.scalar(
        select(WeChatIdentity.openid)
        .where(WeChatIdentity.app_id == app_id, WeChatIdentity.account_id == account_id)
        .limit(1)
    )
