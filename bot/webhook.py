"""The Official Account's callback (`GET/POST /wechat/callback`): signature checked in
constant time and stale timestamps refused; plain and encrypted (AES) modes through wechatpy;
every message answered well within WeChat's 5 seconds (only database work here; slow work goes
to Celery after the commit); WeChat's retries get the first answer again and have no second
effect; anything unhandled is answered "success"."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import redis
import xmltodict
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET
from flask import Blueprint, Response, abort, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply, TransferCustomerServiceReply

from bot import conversation, notifications
from bot.store import ANSWER_TTL, MemoryStore, RedisStore, Store
from core import clock, runtime
from identity.services import followers
from web.openapi import operation
from web.session import commit_now, db_session
from web.settings import settings
from wechat import signature

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__, url_prefix="/wechat")
SUCCESS = "success"
_memory = MemoryStore()
__all__ = ["bp", "notifications"]  # importing the door registers the WeChat sender


def store() -> Store:
    redis_client = runtime.current().redis
    return RedisStore(redis_client) if redis_client is not None else _memory


def _crypto() -> WeChatCrypto | None:
    cfg = settings()
    if request.args.get("encrypt_type") != "aes":
        return None
    if not cfg.wechat_oa_aes_key:
        abort(400)
    return WeChatCrypto(cfg.wechat_oa_token, cfg.wechat_oa_aes_key, cfg.wechat_oa_app_id)


MAX_BODY_BYTES = 64 * 1024  # WeChat's messages are a few hundred bytes
MAX_XML_DEPTH = 4  # <xml><Field>…</Field></xml>; subscribe-message events nest two more
NONCE_TTL = 600  # longer than the signature's 5-minute window


def _refuse_replays(raw: bytes) -> None:
    """A (timestamp, nonce) pair is used once. WeChat's own retries repeat it with the same
    body and are answered as retries; the same signature with another body is a replay."""
    args = request.args
    key = f"nonce:{args.get('timestamp', '')}:{args.get('nonce', '')}"
    digest = hashlib.sha256(raw).hexdigest()
    kv = store()
    if kv.claim(key, NONCE_TTL):
        kv.put(key + ":body", digest, NONCE_TTL)
    elif kv.get(key + ":body") != digest:
        log.warning("wechat callback replay refused (nonce reused with another body)")
        abort(403)


def _well_formed(body: str) -> bool:
    """WeChat's flat XML and nothing else: no DTD or entities (defusedxml), shallow."""
    try:
        root = DefusedET.fromstring(body, forbid_dtd=True)
    except (DefusedET.ParseError, DefusedXmlException, ValueError):
        return False

    def depth(node: Any, level: int = 1) -> int:
        return max([level, *(depth(child, level + 1) for child in node)])

    return bool(root.tag == "xml" and depth(root) <= MAX_XML_DEPTH)


def _checked() -> None:
    cfg = settings()
    if not cfg.wechat_oa_token:
        abort(503)
    args = request.args
    if not signature.valid(
        cfg.wechat_oa_token,
        args.get("signature", ""),
        args.get("timestamp", ""),
        args.get("nonce", ""),
    ):
        abort(403)


SIGNED_QUERY = (
    ("signature", True, "SHA-1 of the sorted token, timestamp and nonce"),
    ("timestamp", True, "seconds; more than 5 minutes away is refused"),
    ("nonce", True, "used once with its body"),
)


@bp.get("/callback")
@operation(
    "WeChat's server check of the Official Account callback (echoes echostr)",
    tag="wechat",
    public=True,
    description="A wrong signature or a timestamp more than 5 minutes away is refused (403).",
    query=(*SIGNED_QUERY, ("echostr", False, "echoed back")),
    problems=("forbidden", "service_unavailable"),
)
def verify() -> Response:
    """WeChat's server check when the callback URL is configured."""
    _checked()
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/callback")
@operation(
    "Official Account messages and events from WeChat (XML; plain or AES encrypted)",
    tag="wechat",
    public=True,
    description="Body and reply are WeChat's XML; anything unhandled is answered `success`. "
    "Retries (same MsgId, or sender + CreateTime + Event) get the first answer. A message that "
    "could not be stored is answered 503, so that WeChat sends it again.",
    query=(
        *SIGNED_QUERY,
        ("encrypt_type", False, "aes in the encrypted mode (required outside the demo)"),
        ("msg_signature", False, "SHA-1 over the token, timestamp, nonce and sealed body"),
        ("openid", False, "the sender, as WeChat adds it"),
    ),
    problems=("bad_request", "forbidden", "payload_too_large", "service_unavailable"),
)
def receive() -> Response:
    _checked()
    crypto = _crypto()
    if crypto is None and not settings().wechat_oa_plaintext_allowed:
        # In plaintext mode the signature does not cover the body: only the safe mode's
        # msg_signature does. Outside the demo, WeChat must be set to 安全模式.
        abort(403)
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        abort(413)
    _refuse_replays(raw)
    body = raw.decode("utf-8", errors="replace")
    if crypto is not None:
        try:
            body = crypto.decrypt_message(
                body,
                request.args.get("msg_signature", ""),
                request.args.get("timestamp", ""),
                request.args.get("nonce", ""),
            )
        except (InvalidSignatureException, InvalidAppIdException):
            abort(403)
        except Exception:  # not WeChat's envelope at all
            abort(400)
    if not _well_formed(body):
        abort(400)
    message = parse_message(body)
    # The fields as WeChat sent them (wechatpy renames some events and strips qrscene_).
    data: dict[str, Any] = dict(xmltodict.parse(body)["xml"])
    key = "answered:" + (
        f"msg:{data['MsgId']}"
        if data.get("MsgId")
        else f"evt:{message.source}:{data.get('CreateTime')}:{data.get('Event')}"
    )
    kv = store()
    if not kv.claim(key, ANSWER_TTL):
        # A retry: the same answer again (or "success" while the first is still being made).
        return _respond(kv.get(key + ":reply") or SUCCESS, crypto)
    try:
        reply = handle(db_session(), kv, message, data)
        commit_now()
    except (DBAPIError, redis.RedisError):
        # Nothing was stored (the database or Redis is down): let the message go and answer
        # with an error, so that WeChat sends it again (three tries within about 15 s) and
        # the reading is not lost. The retry is handled as new.
        log.exception("wechat message %s could not be stored; WeChat will retry", key)
        db_session().rollback()
        kv.delete(key)
        abort(503)
    except Exception:  # a fault of ours that a retry would repeat: answer, log, move on
        log.exception("wechat message %s failed", key)
        db_session().rollback()
        return _respond(SUCCESS, crypto)
    rendered = _render(message, reply)
    kv.put(key + ":reply", rendered, ANSWER_TTL)
    if reply.link_in_background:
        from bot.tasks import link_follower

        try:
            link_follower.delay(settings().wechat_oa_app_id, message.source)
        except Exception:  # the answer goes out regardless; linking can happen on a later visit
            log.exception("could not start linking follower %s", message.source)
    return _respond(rendered, crypto)


def handle(session: Session, kv: Store, message: Any, data: dict[str, Any]) -> conversation.Reply:
    now = clock.now()
    app_id = settings().wechat_oa_app_id
    openid = message.source
    kind = data.get("MsgType")
    event = (data.get("Event") or "").lower()
    if kind == "event" and event == "subscribe":
        scene = (data.get("EventKey") or "").removeprefix("qrscene_") or None
        row = followers.follow(session, app_id, openid, scene, now)
        return conversation.on_subscribe(session, row, scene, now)
    if kind == "event" and event == "unsubscribe":
        followers.unfollow(session, app_id, openid, now)
        return conversation.Reply()
    row = followers.follower(session, app_id, openid, now)
    if kind == "text":
        return conversation.on_text(session, kv, row, data.get("Content") or "", now)
    if kind == "event" and event == "click":
        return conversation.on_click(session, kv, row, data.get("EventKey") or "", now)
    if kind == "event" and event == "scan":
        return conversation.on_subscribe(session, row, data.get("EventKey") or None, now)
    if kind == "event" and event.startswith("subscribe_msg"):
        followers.record_subscriptions(session, row, data)
        return conversation.Reply()
    if kind in {"image", "voice", "video", "location", "link"}:
        return conversation.Reply(conversation.MENU)
    return conversation.Reply()


def _render(message: Any, reply: conversation.Reply) -> str:
    if reply.transfer_to_human:
        return str(TransferCustomerServiceReply(message=message).render())
    if reply.text is None:
        return SUCCESS
    return str(TextReply(message=message, content=reply.text).render())


def _respond(text: str, crypto: WeChatCrypto | None) -> Response:
    if crypto is not None and text != SUCCESS:
        text = crypto.encrypt_message(text, request.args.get("nonce", ""))
    mimetype = "text/plain" if text == SUCCESS else "application/xml"
    return Response(text, mimetype=mimetype)
