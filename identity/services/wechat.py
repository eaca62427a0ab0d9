"""Signing in with WeChat: one account per person, keyed on the unionid when WeChat gives one
(the same person across our mini-program and Official Account), else on the app's openid."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from identity.models import Account, Role, WeChatIdentity
from identity.services.accounts import actor_of, create_account


def sign_in(
    session: Session, app_id: str, openid: str, unionid: str | None, session_key: str | None
) -> Account:
    identity = session.scalar(
        select(WeChatIdentity).where(
            WeChatIdentity.app_id == app_id, WeChatIdentity.openid == openid
        )
    )
    if identity is None and unionid:
        sibling = session.scalar(
            select(WeChatIdentity).where(WeChatIdentity.unionid == unionid).limit(1)
        )
        account = sibling.account if sibling is not None else None
    else:
        account = identity.account if identity is not None else None
    if account is None:
        handle = hashlib.sha256(f"{unionid or app_id + ':' + openid}".encode()).hexdigest()[:16]
        account = create_account(
            session,
            username=f"wx_{handle}",
            password=None,
            role=Role.patient,
            display_name="微信用户",
        )
    if identity is None:
        identity = WeChatIdentity(app_id=app_id, openid=openid, account_id=account.id)
        session.add(identity)
    identity.unionid = unionid or identity.unionid
    identity.session_key = session_key
    identity.last_sign_in_at = utcnow()
    session.flush()
    audit.record(session, actor_of(account), "account.wechat_sign_in", "account", account.id)
    return account
