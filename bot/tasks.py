"""Slow bot work, after the webhook has answered: asking WeChat for a new follower's unionid
to link them to their patient account."""

from __future__ import annotations

import logging

from bot import notifications
from core import clock, providers, runtime
from core.celery_app import celery
from core.notify import notify
from identity.services import followers
from wechat.interfaces import WeChat

log = logging.getLogger(__name__)
__all__ = ["link_follower", "notifications"]


@celery.task(name="bot.link_follower", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def link_follower(app_id: str, openid: str) -> bool:
    rt = runtime.current()
    cfg = rt.settings
    if not cfg.wechat_oa_app_id or not cfg.wechat_oa_app_secret:
        return False
    wechat = providers.find(WeChat, cfg).official_account()
    info = wechat.user.get(openid)
    unionid = info.get("unionid")
    if not unionid:
        return False
    with rt.database.transaction() as session:
        row = followers.follower(session, app_id, openid, clock.now())
        account = followers.link_by_unionid(session, row, unionid)
        if account is None:
            return False
        # The answer to the follow, now that we know who it is (a customer-service message).
        notify(session, account.id, "wechat.linked", "公众号已关联您的就诊账户",
               "今后复诊、处方、取药和配送的消息会在这里通知您。")  # fmt: skip
        return True
