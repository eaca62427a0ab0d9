"""core's outbox senders: plain JSON over HTTP, and the audit checkpoints' push."""

from __future__ import annotations

from core import audit_checkpoints, outbox


def senders() -> dict[str, outbox.Sender]:
    return {
        "http.json": outbox.send_http_json,
        audit_checkpoints.PUSH_CHANNEL: audit_checkpoints.send_checkpoint,
    }
