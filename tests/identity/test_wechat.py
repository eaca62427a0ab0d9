"""WeChat sign-in through the real wechatpy and requests code, against a fake WeChat API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.models import Account, Role, WeChatIdentity
from tests.fakes import wechat
from tests.fakes.wechat import FakeWeChat
from wechat import client as wechat_client


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    server = wechat.start()
    yield server
    server.stop()
    wechat_client.forget_clients()


@pytest.fixture
def wx_app(make_app: Any, fake: FakeWeChat, redis: redis_lib.Redis) -> Flask:
    app: Flask = make_app(
        WECHAT_APP_ID=fake.app_id, WECHAT_APP_SECRET=fake.secret, WECHAT_API_BASE=fake.url
    )
    return app


def _sign_in(app: Flask, code: str) -> Any:
    return app.test_client().post("/api/v1/auth/wechat", json={"code": code})


def test_code_becomes_a_patient_token(wx_app: Flask, fake: FakeWeChat, session: Session) -> None:
    fake.codes["code-1"] = {"openid": "o-1", "session_key": "sk-1", "unionid": "u-1"}
    response = _sign_in(wx_app, "code-1")
    assert response.status_code == 200, response.json
    assert response.json["role"] == "patient"
    headers = {"Authorization": f"Bearer {response.json['access_token']}"}
    assert wx_app.test_client().get("/api/v1/me", headers=headers).status_code == 200
    identity = session.scalars(select(WeChatIdentity)).one()
    assert (identity.openid, identity.unionid, identity.session_key) == ("o-1", "u-1", "sk-1")
    # wechatpy put the access token on jscode2session; the token came from our fake.
    path, query = fake.calls[-1]
    assert path == "/sns/jscode2session"
    assert query["access_token"] == "TOKEN-1"


def test_access_token_is_cached_in_redis(
    wx_app: Flask, fake: FakeWeChat, session: Session, redis: redis_lib.Redis
) -> None:
    fake.codes["a"] = {"openid": "o-1", "session_key": "k"}
    fake.codes["b"] = {"openid": "o-2", "session_key": "k"}
    assert _sign_in(wx_app, "a").status_code == 200
    assert _sign_in(wx_app, "b").status_code == 200
    assert fake.token_calls == 1
    assert json.loads(redis.get(f"wechatpy:{fake.app_id}_access_token") or "null") == "TOKEN-1"


def test_same_person_signs_in_to_the_same_account(
    wx_app: Flask, fake: FakeWeChat, session: Session
) -> None:
    fake.codes["first"] = {"openid": "o-9", "session_key": "k1"}
    fake.codes["again"] = {"openid": "o-9", "session_key": "k2"}
    first = _sign_in(wx_app, "first").json
    again = _sign_in(wx_app, "again").json
    whoami = [
        wx_app.test_client()
        .get("/api/v1/auth/whoami", headers={"Authorization": f"Bearer {t['access_token']}"})
        .json["id"]
        for t in (first, again)
    ]
    assert whoami[0] == whoami[1]
    assert session.scalar(select(WeChatIdentity.session_key)) == "k2"


def test_unionid_joins_identities_across_apps(
    wx_app: Flask, fake: FakeWeChat, session: Session
) -> None:
    patient = Account(username="wx_existing", role=Role.patient, display_name="微信用户")
    session.add(patient)
    session.flush()
    session.add(
        WeChatIdentity(
            app_id="wx-official-account", openid="oa-1", unionid="u-7", account_id=patient.id
        )
    )
    session.flush()
    fake.codes["c"] = {"openid": "mp-1", "session_key": "k", "unionid": "u-7"}
    token = _sign_in(wx_app, "c").json["access_token"]
    me = (
        wx_app.test_client()
        .get("/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"})
        .json
    )
    assert me["id"] == patient.id


def test_invalid_code_is_refused(wx_app: Flask, fake: FakeWeChat, session: Session) -> None:
    response = _sign_in(wx_app, "never-issued")
    assert response.status_code == 401
    assert response.json["code"] == "invalid_wechat_code"
    assert session.scalar(select(WeChatIdentity)) is None


def test_code_cannot_be_used_twice(wx_app: Flask, fake: FakeWeChat, session: Session) -> None:
    fake.codes["once"] = {"openid": "o-1", "session_key": "k"}
    assert _sign_in(wx_app, "once").status_code == 200
    assert _sign_in(wx_app, "once").json["code"] == "invalid_wechat_code"


def test_wechat_down_is_a_clear_error(make_app: Any, session: Session) -> None:
    app = make_app(
        WECHAT_APP_ID="wx-down",
        WECHAT_APP_SECRET="s",
        WECHAT_API_BASE="http://127.0.0.1:9",
        WECHAT_TIMEOUT_SECONDS=1.0,
    )
    response = _sign_in(app, "any")
    assert response.status_code == 502
    assert response.json["code"] == "wechat_unavailable"
    wechat_client.forget_clients()


def test_not_configured(client: Any, session: Session) -> None:
    response = client.post("/api/v1/auth/wechat", json={"code": "x"})
    assert response.status_code == 503
    assert response.json["code"] == "wechat_not_configured"
