"""Notifications reach WeChat through the outbox and the real wechatpy code, at a fake WeChat
API on 127.0.0.1: a customer-service message inside the 48-hour window, a template message
outside it or when WeChat answers 45015, a fresh token when WeChat says it expired, and nothing
for someone who unfollowed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import client as wechat_client
from core import clock
from core.models import OutboxMessage, OutboxStatus
from core.notify import notify
from core.tasks import relay_outbox
from identity.models import WeChatFollower
from tests import factories
from tests.fakes import wechat as fake_wechat
from tests.fakes.wechat import FakeWeChat

APP_ID, SECRET, TEMPLATE = "wx-oa-test", "oa-secret", "TPL-NOTICE"


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    server = fake_wechat.start(APP_ID, SECRET)
    wechat_client.forget_clients()
    yield server
    server.stop()
    wechat_client.forget_clients()


@pytest.fixture
def oa(make_app: Any, fake: FakeWeChat, redis: Any) -> Flask:
    app: Flask = make_app(
        WECHAT_OA_APP_ID=APP_ID,
        WECHAT_OA_APP_SECRET=SECRET,
        WECHAT_OA_TEMPLATE_ID=TEMPLATE,
        WECHAT_API_BASE=fake.url,
    )
    return app


def _follower(
    session: Session,
    wrote_hours_ago: float,
    subscribed: bool = True,
    id_number: str = "110105198503141235",
) -> int:
    patient = factories.verified_patient(id_number)
    session.add(
        WeChatFollower(
            app_id=APP_ID,
            openid=f"o-{patient.id}",
            account_id=patient.id,
            subscribed=subscribed,
            last_message_at=clock.now() - dt.timedelta(hours=wrote_hours_ago),
            accepted_templates=[],
        )
    )
    session.flush()
    return patient.id


def _tell(session: Session, account_id: int) -> OutboxMessage:
    note = notify(session, account_id, "prescription.approved", "处方已审核通过", "请取药。")
    session.commit()
    relay_outbox()  # what beat does every 10 s
    session.expire_all()
    message = session.scalar(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == f"note-{note.id}")
    )
    assert message is not None
    return message


@pytest.mark.usefixtures("oa")
def test_inside_the_window_a_customer_service_message(session: Session, fake: FakeWeChat) -> None:
    message = _tell(session, _follower(session, wrote_hours_ago=2))
    assert message.status is OutboxStatus.delivered
    assert [path for path, _ in fake.sent] == ["/cgi-bin/message/custom/send"]
    assert "处方已审核通过" in fake.sent[0][1]["text"]["content"]


@pytest.mark.usefixtures("oa")
def test_window_closed_falls_back_to_a_template(session: Session, fake: FakeWeChat) -> None:
    fake.custom_errcode = 45015
    message = _tell(session, _follower(session, wrote_hours_ago=2))
    assert message.status is OutboxStatus.delivered
    assert [path for path, _ in fake.sent] == ["/cgi-bin/message/template/send"]
    body = fake.sent[0][1]
    assert body["template_id"] == TEMPLATE
    assert body["data"]["first"]["value"] == "处方已审核通过"


@pytest.mark.usefixtures("oa")
def test_long_silent_followers_get_a_template(session: Session, fake: FakeWeChat) -> None:
    _tell(session, _follower(session, wrote_hours_ago=72))
    assert [path for path, _ in fake.sent] == ["/cgi-bin/message/template/send"]


@pytest.mark.usefixtures("oa")
def test_an_expired_token_is_replaced(session: Session, fake: FakeWeChat) -> None:
    account_id = _follower(session, wrote_hours_ago=1)
    _tell(session, account_id)
    fake.expired_tokens.add(fake.tokens_issued[-1])  # WeChat expires it early
    message = _tell(session, account_id)
    assert message.status is OutboxStatus.delivered
    assert len(fake.tokens_issued) == 2
    assert len(fake.sent) == 2


@pytest.mark.usefixtures("oa")
def test_unfollowed_or_unlinked_get_nothing(session: Session, fake: FakeWeChat) -> None:
    gone = _tell(session, _follower(session, wrote_hours_ago=1, subscribed=False))
    stranger = _tell(session, factories.verified_patient("310104199007084564").id)
    assert gone.status is OutboxStatus.delivered  # settled: nothing to send
    assert stranger.status is OutboxStatus.delivered
    assert fake.sent == []
