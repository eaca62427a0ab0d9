"""bot's outbox sender: notifications to the patient in WeChat."""

from __future__ import annotations

from bot import notifications
from core import outbox
from core.notify import WECHAT_CHANNEL


def senders() -> dict[str, outbox.Sender]:
    return {WECHAT_CHANNEL: notifications.send}
