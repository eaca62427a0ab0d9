"""Secrets out of anything that is stored or logged: query parameters and fields named like a
credential, bearer tokens, and the values of settings that are secrets. An exception from an
HTTP client carries the URL it called — WeChat's token URL has the AppSecret in it."""

from __future__ import annotations

import re

# The names secrets go by (not a secret).
SECRET_NAMES = (
    r"secret|appsecret|app_secret|access_token|refresh_token|token|password|passwd|pwd|"  # noqa: S105
    r"signature|sign|key|api_key|apikey|secret_key|secretkey|session_key|code|js_code"
)
# name=value in a query string or a form body
_QUERY = re.compile(rf"(?i)([?&;]|\b)({SECRET_NAMES})=([^&\s'\"#]+)")
# "name": "value" in JSON, name: value in text
_FIELD = re.compile(rf"(?i)([\"']?(?:{SECRET_NAMES})[\"']?\s*[:=]\s*[\"'])([^\"']+)([\"'])")
_BEARER = re.compile(r"(?i)\b(bearer|basic|TC3-HMAC-SHA256)\s+[A-Za-z0-9._~+/=,:\-]+")
MASK = "***"


def redact(text: str) -> str:
    text = _QUERY.sub(lambda m: f"{m.group(1)}{m.group(2)}={MASK}", text)
    text = _FIELD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
