"""The Official Account webhook through the real wechatpy code: signatures and AES envelopes
built here independently, events, retries, red flags in every state, readings, binding."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import redis as redis_lib
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import AuditEvent
from followup.models import Reading, Referral
from identity.models import WeChatFollower
from prescriptions.models import Prescription
from tests.followup.helpers import patient_with_diagnosis

TOKEN = "oa-callback-token"
APP_ID = "wx-oa-test"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")  # 43 characters
OPENID = "oOA-patient-1"


def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324


def _query(stamp: int | None = None, **extra: str) -> dict[str, str]:
    timestamp = str(stamp if stamp is not None else int(time.time()))
    nonce = "n" + os.urandom(4).hex()
    return {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": _sign(TOKEN, timestamp, nonce),
        **extra,
    }


def _xml(kind: str, created: int | None = None, **fields: str) -> str:
    parts = [
        "<ToUserName><![CDATA[gh_test]]></ToUserName>",
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>",
        f"<CreateTime>{created or int(time.time())}</CreateTime>",
        f"<MsgType><![CDATA[{kind}]]></MsgType>",
    ]
    parts += [f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()]
    return "<xml>" + "".join(parts) + "</xml>"


def _text(content: str, msg_id: int | None = None) -> str:
    return _xml("text", Content=content, MsgId=str(msg_id or secrets.randbits(62)))


def _sealed(body: str) -> tuple[dict[str, str], str]:
    """As WeChat sends it in 安全模式: the query (with msg_signature over the sealed body) and the
    envelope holding the message sealed with the EncodingAESKey."""
    encrypted = _encrypt(body)
    query = _query(encrypt_type="aes")
    query["msg_signature"] = _sign(TOKEN, query["timestamp"], query["nonce"], encrypted)
    envelope = (
        "<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    return query, envelope


def _post(client: FlaskClient, body: str) -> str:
    """A message in 安全模式 (required outside the demo); the reply opened the same way."""
    query, envelope = _sealed(body)
    response = client.post("/wechat/callback", query_string=query, data=envelope.encode())
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    if not text.startswith("<xml>"):
        return text
    return _decrypt(ET.fromstring(text).findtext("Encrypt") or "")  # noqa: S314 - our own reply


def _content(reply: str) -> str:
    return ET.fromstring(reply).findtext("Content") or ""  # noqa: S314 - our own reply


@pytest.fixture
def oa(make_app: Any, redis: Any) -> Flask:
    """The Official Account configured; Redis (answers already given) flushed."""
    app: Flask = make_app(WECHAT_OA_TOKEN=TOKEN, WECHAT_OA_APP_ID=APP_ID, WECHAT_OA_AES_KEY=AES_KEY)
    return app


def _bind(oa: Flask, session: Session) -> tuple[FlaskClient, dict]:
    client = oa.test_client()
    _, patient, _ = patient_with_diagnosis(session)
    code = client.post("/api/v1/me/wechat-binding-code", headers=patient).json["code"]
    reply = _content(_post(client, _text(f"绑定 {code}")))
    assert "绑定成功，张*" in reply
    again = _content(_post(client, _text(f"绑定 {code}")))
    assert "绑定码无效或已过期" in again  # once only
    return client, patient


def test_server_check_and_bad_signatures(oa: Flask, session: Session) -> None:
    client = oa.test_client()
    ok = client.get("/wechat/callback", query_string=_query(echostr="hello"))
    assert ok.get_data(as_text=True) == "hello"
    forged = {**_query(echostr="x"), "signature": "0" * 40}
    assert client.get("/wechat/callback", query_string=forged).status_code == 403
    stale = _query(stamp=int(time.time()) - 3600, echostr="x")
    assert client.get("/wechat/callback", query_string=stale).status_code == 403
    body = _text("你好").encode()
    assert client.post("/wechat/callback", query_string=forged, data=body).status_code == 403
    assert session.scalar(select(func.count()).select_from(WeChatFollower)) == 0


def test_follow_with_a_pharmacy_scene_then_unfollow(oa: Flask, session: Session) -> None:
    client = oa.test_client()
    reply = _content(_post(client, _xml("event", Event="subscribe", EventKey="qrscene_pharmacy:1")))
    assert "合作药房" in reply
    assert "1 复诊开药" in reply
    row = session.scalar(select(WeChatFollower))
    assert row is not None
    assert row.subscribed
    assert row.scene == "pharmacy:1"
    assert _post(client, _xml("event", Event="unsubscribe")) == "success"
    session.refresh(row)
    assert row.subscribed is False


def test_red_flags_come_first_in_every_state(oa: Flask, session: Session) -> None:
    client = oa.test_client()
    unlinked = _content(_post(client, _text("我胸口痛得厉害")))
    assert "120" in unlinked
    client, _ = _bind(oa, session)
    _post(client, _xml("event", Event="CLICK", EventKey="READING"))  # waiting for a reading
    for text in ("突然喘不上气", "我爸一侧肢体无力，嘴歪", "刚才晕倒了"):
        reply = _content(_post(client, _text(text)))
        assert "120" in reply, text
        assert "已为您通知医院" in reply
    assert session.scalar(select(func.count()).select_from(Referral)) == 3
    # "没有胸痛" is not a red flag: the menu, and no hand-off.
    assert "1 复诊开药" in _content(_post(client, _text("最近没有胸痛，想问问")))
    assert session.scalar(select(func.count()).select_from(Referral)) == 3


def test_readings_good_bad_and_dangerous(oa: Flask, session: Session) -> None:
    client = oa.test_client()
    assert "绑定码" in _content(_post(client, _text("血压 150/95")))  # not linked yet
    client, _ = _bind(oa, session)
    assert "已记录血压 150/95 mmHg" in _content(_post(client, _text("血压 150/95")))
    assert "已记录血糖 7.8 mmol/L" in _content(_post(client, _text("血糖7.8")))
    assert "已记录血压 128/82" in _content(_post(client, _text("ＢＰ １２８／８２")))
    assert "不合理" in _content(_post(client, _text("血压 300/20")))
    low = _content(_post(client, _text("血糖 2.9")))
    assert "120" in low
    assert session.scalar(select(func.count()).select_from(Reading)) == 4
    assert session.scalar(select(func.count()).select_from(Referral)) == 1


def test_the_bot_never_prescribes(oa: Flask, session: Session) -> None:
    client, _ = _bind(oa, session)
    for text in ("帮我续方氨氯地平", "药快吃完了，能直接开药吗", "给我开点降压药", "开个处方"):
        reply = _content(_post(client, _text(text)))
        assert "不能代开或续开" in reply
    assert "您还没有处方" in _content(_post(client, _text("我的处方")))
    assert session.scalar(select(func.count()).select_from(Prescription)) == 0


def test_retries_get_the_same_answer_and_no_second_effect(oa: Flask, session: Session) -> None:
    client, _ = _bind(oa, session)
    body = _text("血压 140/90", msg_id=42)
    first = _post(client, body)
    assert _post(client, body) == first
    assert _post(client, body) == first
    assert session.scalar(select(func.count()).select_from(Reading)) == 1
    created = int(time.time()) - 5
    event = _xml("event", created=created, Event="subscribe")
    _post(client, event)
    _post(client, event)
    follows = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "wechat.follow")
    )
    assert follows == 1


def test_menu_for_the_unknown_and_success_for_the_unhandled(oa: Flask, session: Session) -> None:
    client = oa.test_client()
    assert "1 复诊开药" in _content(_post(client, _text("今天天气怎么样")))
    assert "1 复诊开药" in _content(
        _post(client, _xml("image", PicUrl="http://x/y.jpg", MediaId="m", MsgId="77"))
    )
    assert _post(client, _xml("event", Event="VIEW", EventKey="https://x")) == "success"
    human = _post(client, _xml("event", Event="CLICK", EventKey="HUMAN"))
    assert "transfer_customer_service" in human


def test_subscribe_message_choices_are_recorded(oa: Flask, session: Session) -> None:
    client = oa.test_client()
    popup = (
        "<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[T-RX]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>"
        "<PopupScene>0</PopupScene></List></SubscribeMsgPopupEvent>"
    )
    body = _xml("event", Event="subscribe_msg_popup_event").replace("</xml>", popup + "</xml>")
    assert _post(client, body) == "success"
    row = session.scalar(select(WeChatFollower))
    assert row is not None
    assert row.accepted_templates == ["T-RX"]


def _aes_key() -> bytes:
    return base64.b64decode(AES_KEY + "=")


def _encrypt(plain: str) -> str:
    """WeChat's envelope: AES-256-CBC (IV = first 16 bytes of the key), PKCS#7 to 32 bytes,
    over 16 random bytes, the length (4 bytes, network order), the message and the AppID."""
    key = _aes_key()
    raw = os.urandom(16) + struct.pack(">I", len(plain.encode())) + plain.encode() + APP_ID.encode()
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()


def _decrypt(encrypted: str) -> str:
    key = _aes_key()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    raw = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    raw = raw[: -raw[-1]]
    (length,) = struct.unpack(">I", raw[16:20])
    assert raw[20 + length :].decode() == APP_ID
    return raw[20 : 20 + length].decode()


def test_encrypted_mode_both_ways(oa: Flask, session: Session) -> None:
    client = oa.test_client()
    query, envelope = _sealed(_text("今天天气怎么样"))
    response = client.post("/wechat/callback", query_string=query, data=envelope.encode())
    assert response.status_code == 200
    answer = ET.fromstring(response.get_data(as_text=True))  # noqa: S314
    sealed = answer.findtext("Encrypt") or ""
    assert answer.findtext("MsgSignature") == _sign(
        TOKEN, answer.findtext("TimeStamp") or "", answer.findtext("Nonce") or "", sealed
    )
    assert "1 复诊开药" in _content(_decrypt(sealed))
    forged = {**query, "msg_signature": "0" * 40}
    assert (
        client.post("/wechat/callback", query_string=forged, data=envelope.encode()).status_code
        == 403
    )


def test_answers_stay_fast_when_celery_is_slow(make_app: Any, session: Session, redis: Any) -> None:
    """A new follower's unionid is fetched by a task; with a broker and no worker (the worst
    case) the answer still comes at once."""
    from tests.conftest import BACKEND

    app: Flask = make_app(
        WECHAT_OA_TOKEN=TOKEN,
        WECHAT_OA_APP_ID=APP_ID,
        WECHAT_OA_AES_KEY=AES_KEY,
        CELERY_EAGER=False,
        REDIS_URL=BACKEND.redis_url,
    )
    client = app.test_client()
    broker = redis_lib.Redis.from_url(BACKEND.redis_url)
    queued = broker.llen("celery")
    reply = _post(client, _xml("event", Event="subscribe"))
    assert "感谢关注" in _content(reply)
    # Answered without waiting for it: the look-up is still in the queue, nobody ran it.
    assert broker.llen("celery") == queued + 1
    follower = session.scalar(select(WeChatFollower))
    assert follower is not None
    assert follower.unionid is None


def test_the_demo_cli_talks_to_the_real_webhook(make_app: Any, session: Session) -> None:
    """`hospital wechat say` signs and posts like WeChat; demo mode configures a token."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from web.cli import cli

    demo = make_app(DEMO_MODE=True)
    result = CliRunner().invoke(
        cli, ["wechat", "say", "今天天气怎么样"], obj=ScriptInfo(create_app=lambda: demo)
    )
    assert result.exit_code == 0, result.output
    assert "1 复诊开药" in result.output


def test_scanning_a_family_doctor_code_while_following(oa: Flask, session: Session) -> None:
    client = oa.test_client()
    _post(client, _xml("event", Event="subscribe"))
    reply = _content(_post(client, _xml("event", Event="SCAN", EventKey="family_doctor:7")))
    assert "家庭医生" in reply


def test_a_reading_inside_a_sentence_is_recorded_and_triaged(oa: Flask, session: Session) -> None:
    client, _ = _bind(oa, session)
    reply = _content(_post(client, _text("在家量血压 190/120，头有点晕")))
    assert "已记录血压 190/120 mmHg" in reply
    assert "120 急救" in reply
    assert "已为您通知医院" in reply
    assert "190/120" in reply  # the reply says what fired
    assert session.scalar(select(func.count()).select_from(Reading)) == 1
    assert session.scalar(select(func.count()).select_from(Referral)) == 1
    # An ordinary reading in a sentence is recorded, not answered with the menu.
    calm = _content(_post(client, _text("今天早上量的血压是132/84，挺好的")))
    assert "已记录血压 132/84 mmHg" in calm
    assert session.scalar(select(func.count()).select_from(Reading)) == 2


@pytest.mark.parametrize("text", ["不想活了，活着太累", "把一瓶降压药都吃了", "bu xiang huo le"])
def test_thoughts_of_suicide_get_the_crisis_line_never_the_menu(
    oa: Flask, session: Session, text: str
) -> None:
    client, _ = _bind(oa, session)
    reply = _content(_post(client, _text(text)))
    assert "12356" in reply
    assert "120" in reply
    assert "1 复诊开药" not in reply
    assert session.scalar(select(func.count()).select_from(Referral)) == 1


def test_a_vital_sign_without_a_number_is_asked_about(oa: Flask, session: Session) -> None:
    client, _ = _bind(oa, session)
    reply = _content(_post(client, _text("血糖十几，有点口渴")))
    assert "具体" in reply
    assert "1 复诊开药" not in reply
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def _plain(client: FlaskClient, body: str, query: dict[str, str] | None = None) -> Any:
    return client.post("/wechat/callback", query_string=query or _query(), data=body.encode())


def test_plaintext_callbacks_are_refused_outside_the_demo(oa: Flask, session: Session) -> None:
    """In plaintext mode the signature covers no body: one captured signature carried any body
    for 5 minutes (the probe read a patient's pick-up code this way)."""
    refused = _plain(oa.test_client(), _text("2"))
    assert refused.status_code == 403


def test_a_signature_is_good_for_one_body_only(make_app: Any, session: Session, redis: Any) -> None:
    app: Flask = make_app(WECHAT_OA_TOKEN=TOKEN, WECHAT_OA_APP_ID=APP_ID,
                          WECHAT_OA_PLAINTEXT_ALLOWED=True)  # fmt: skip
    client = app.test_client()
    query = _query()
    first = _text("你好", msg_id=1)
    assert _plain(client, first, query).status_code == 200
    # WeChat's own retry (same signature, same body) is answered again...
    assert _plain(client, first, query).status_code == 200
    # ...but the same signature with another body, or from another sender, is a replay.
    assert _plain(client, _text("2", msg_id=2), query).status_code == 403
    other_sender = first.replace(OPENID, "oOA-someone-else")
    assert _plain(client, other_sender, query).status_code == 403
    guesses = [_plain(client, _text(f"绑定 {n:08d}", msg_id=10 + n), query).status_code
               for n in range(20)]  # fmt: skip
    assert set(guesses) == {403}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not xml at all", 400),
        ("<xml><a>" * 50 + "x" + "</a>" * 50 + "</xml>", 400),  # deeply nested
        (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            "<xml><Content>&b;</Content></xml>",
            400,
        ),  # entities
        ("<xml>" + "<Content>x</Content>" * 10_000 + "</xml>", 413),  # too big
    ],
)
def test_malformed_xml_is_a_client_error_not_a_crash(
    make_app: Any, session: Session, redis: Any, body: str, status: int
) -> None:
    app: Flask = make_app(WECHAT_OA_TOKEN=TOKEN, WECHAT_OA_APP_ID=APP_ID,
                          WECHAT_OA_PLAINTEXT_ALLOWED=True)  # fmt: skip
    response = _plain(app.test_client(), body)
    assert response.status_code == status


def test_with_the_database_down_wechat_is_asked_to_retry_and_nothing_is_lost(
    oa: Flask, make_app: Any, session: Session
) -> None:
    """Before: the bot answered "success" and the reading was gone. Now it answers 503, lets
    go of the message, and WeChat's retry (the same request) records it once."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    client, _ = _bind(oa, session)
    down = make_app(WECHAT_OA_TOKEN=TOKEN, WECHAT_OA_APP_ID=APP_ID, WECHAT_OA_AES_KEY=AES_KEY)
    dead = create_engine(
        "postgresql+psycopg2://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 1}
    )
    down.extensions["hospital.db"].sessionmaker = sessionmaker(bind=dead)
    query, envelope = _sealed(_text("血压 150/95", msg_id=777))
    failed = down.test_client().post("/wechat/callback", query_string=query, data=envelope.encode())
    assert failed.status_code == 503
    dead.dispose()
    # WeChat sends the very same request again once the database is back.
    retried = client.post("/wechat/callback", query_string=query, data=envelope.encode())
    assert retried.status_code == 200
    reply = _decrypt(ET.fromstring(retried.get_data(as_text=True)).findtext("Encrypt") or "")  # noqa: S314
    assert "已记录血压 150/95" in _content(reply)
    assert session.scalar(select(func.count()).select_from(Reading)) == 1
