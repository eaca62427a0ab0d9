"""WeChat's callback signature: SHA-1 over the sorted token, timestamp and nonce, compared in
constant time; a timestamp far from now is refused, so a captured request cannot be replayed
later."""

from __future__ import annotations

import hashlib
import hmac
import time

MAX_SKEW_SECONDS = 300


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's scheme


def valid(token: str, signature: str, timestamp: str, nonce: str, now: float | None = None) -> bool:
    try:
        skew = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    if skew > MAX_SKEW_SECONDS:
        return False
    return hmac.compare_digest(sign(token, timestamp, nonce), signature or "")
