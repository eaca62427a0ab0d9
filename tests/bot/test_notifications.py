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

from core import clock
from core.models import OutboxMessage, OutboxStatus
from core.notify import notify
from core.tasks import relay_outbox
from identity.models import WeChatFollower
from tests import factories
from tests.fakes import wechat as fake_wechat
from tests.fakes.wechat import FakeWeChat
from wechat import client as wechat_client

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


def test_mini_program_subscribe_messages_for_those_who_do_not_follow(
    make_app: Any, fake: FakeWeChat, session: Session, redis: Any
) -> None:
    """No Official Account link: one subscribe message per acceptance, then nothing."""
    from identity.models import WeChatIdentity
    from tests.helpers import bearer

    app: Flask = make_app(
        WECHAT_APP_ID=APP_ID,
        WECHAT_APP_SECRET=SECRET,
        WECHAT_MP_TEMPLATE_ID="MP-TPL",
        WECHAT_API_BASE=fake.url,
    )
    patient = factories.verified_patient()
    session.add(WeChatIdentity(app_id=APP_ID, openid="mp-o-1", account_id=patient.id))
    session.flush()
    accepted = app.test_client().post(
        "/api/v1/me/wechat-subscriptions",
        headers=bearer(session, account=patient),
        json={"accepted": ["MP-TPL"]},
    )
    assert accepted.status_code == 204
    first = _tell(session, patient.id)
    second = _tell(session, patient.id)
    assert first.status is OutboxStatus.delivered
    assert second.status is OutboxStatus.delivered
    assert [(path, body["touser"]) for path, body in fake.sent] == [
        ("/cgi-bin/message/subscribe/send", "mp-o-1")
    ]
    assert fake.sent[0][1]["data"]["thing1"]["value"] == "处方已审核通过"


def test_a_new_follower_is_linked_by_unionid_and_told(
    make_app: Any, fake: FakeWeChat, session: Session, redis: Any
) -> None:
    """The follow is answered at once; the unionid look-up (slow) runs as a task, links the
    follower to the mini-program account with the same unionid, and tells them."""
    from identity.models import WeChatIdentity
    from tests.bot.test_webhook import AES_KEY, TOKEN, _content, _post, _xml

    app: Flask = make_app(
        WECHAT_OA_APP_ID=APP_ID,
        WECHAT_OA_APP_SECRET=SECRET,
        WECHAT_OA_TOKEN=TOKEN,
        WECHAT_OA_AES_KEY=AES_KEY,
        WECHAT_API_BASE=fake.url,
    )
    patient = factories.verified_patient()
    session.add(
        WeChatIdentity(app_id="wx-mini", openid="mp-1", unionid="U-1", account_id=patient.id)
    )
    session.flush()
    assert "感谢关注" in _content(_post(app.test_client(), _xml("event", Event="subscribe")))
    row = session.scalar(select(WeChatFollower))
    assert row is not None
    session.refresh(row)
    assert row.account_id == patient.id
    for message in session.scalars(select(OutboxMessage)):
        message.next_attempt_at = clock.now() - dt.timedelta(seconds=1)
    session.commit()
    relay_outbox()
    assert any("公众号已关联" in body["text"]["content"] for _, body in fake.sent)
