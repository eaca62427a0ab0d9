"""Secrets never reach the database or a log: a failed call whose error names the URL with the
AppSecret in it is stored and logged without it."""

from __future__ import annotations

import logging

import pytest
import requests
from sqlalchemy.orm import Session

from core import outbox, runtime
from core.logging import PersonalDataFilter
from core.models import OutboxMessage
from core.redact import redact

APP_SECRET = "0123456789abcdef0123456789abcdef"
TOKEN_URL = (
    "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1"
    f"&secret={APP_SECRET}"
)


def _failing_sender(*_args: object) -> None:
    try:
        requests.get(TOKEN_URL.replace("https://api.weixin.qq.com", "http://127.0.0.1:9"),
                     timeout=2)  # fmt: skip
    except requests.RequestException as exc:  # as the WeChat client would fail
        raise outbox.DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def test_a_failed_delivery_stores_no_secret(session: Session) -> None:
    outbox.register_channel("test.secret", _failing_sender)
    outbox.enqueue(session, "test.secret", {}, idempotency_key="secret-1")
    session.flush()
    message = session.query(OutboxMessage).filter_by(idempotency_key="secret-1").one()
    outbox.deliver(session, message.id, runtime.current().settings)
    session.refresh(message)
    assert message.last_error
    assert "secret=***" in message.last_error
    assert APP_SECRET not in message.last_error


@pytest.mark.parametrize(
    "text",
    [
        TOKEN_URL,
        f'{{"appid": "wx1", "secret": "{APP_SECRET}"}}',
        f"Authorization: Bearer {APP_SECRET}",
        f"/sns/jscode2session?appid=wx1&secret={APP_SECRET}&js_code=abc",
    ],
)
def test_secrets_are_redacted_in_text_and_logs(text: str, caplog: pytest.LogCaptureFixture) -> None:
    assert APP_SECRET not in redact(text)
    logger = logging.getLogger("test.redaction")
    logger.addFilter(PersonalDataFilter())
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("calling %s", text)
    assert APP_SECRET not in caplog.text
