"""Inbound calls from the hospital platform: HMAC-SHA256 over the timestamp and the raw body,
with a shared secret, compared in constant time; stale timestamps are refused (replays)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import request

from web.errors import ApiProblem
from web.settings import settings

F = TypeVar("F", bound=Callable[..., Any])
MAX_SKEW_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def platform_signed(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        secret = settings().platform_callback_secret
        if not secret:
            raise ApiProblem(503, "platform_not_configured", "医院平台回调未配置")
        timestamp = request.headers.get("X-Platform-Timestamp", "")
        signature = request.headers.get("X-Platform-Signature", "")
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            skew = float("inf")
        expected = sign(secret, timestamp, request.get_data())
        if skew > MAX_SKEW_SECONDS or not hmac.compare_digest(expected, signature):
            raise ApiProblem(401, "bad_signature", "签名无效或已过期")
        return view(*args, **kwargs)

    wrapper.platform_signed = True  # type: ignore[attr-defined]
    return cast(F, wrapper)
