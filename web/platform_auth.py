"""Inbound calls from outside partners (the hospital platform, the courier): HMAC-SHA256 over
the timestamp and the raw body with a shared secret, compared in constant time; stale
timestamps are refused (replays)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import request

from core.settings import Settings
from web.errors import ApiProblem
from web.settings import settings

F = TypeVar("F", bound=Callable[..., Any])
MAX_SKEW_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_by(
    partner: str, secret_of: Callable[[Settings], str], not_configured: str
) -> Callable[[F], F]:
    """Views called by `partner`: headers X-{Partner}-Timestamp and X-{Partner}-Signature."""
    prefix = f"X-{partner.capitalize()}"

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            secret = secret_of(settings())
            if not secret:
                raise ApiProblem(503, f"{partner}_not_configured", not_configured)
            timestamp = request.headers.get(f"{prefix}-Timestamp", "")
            signature = request.headers.get(f"{prefix}-Signature", "")
            try:
                skew = abs(time.time() - int(timestamp))
            except ValueError:
                skew = float("inf")
            expected = sign(secret, timestamp, request.get_data())
            if skew > MAX_SKEW_SECONDS or not hmac.compare_digest(expected, signature):
                raise ApiProblem(401, "bad_signature", "签名无效或已过期")
            return view(*args, **kwargs)

        wrapper.signed_by = partner  # type: ignore[attr-defined]  # read by the OpenAPI builder
        return cast(F, wrapper)

    return decorator


platform_signed = signed_by(
    "platform", lambda cfg: cfg.platform_callback_secret, "医院平台回调未配置"
)
courier_signed = signed_by("courier", lambda cfg: cfg.courier_callback_secret, "配送回调未配置")
