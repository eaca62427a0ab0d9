"""Celery tasks of core: outbox delivery and the relay that picks up what is due."""

from __future__ import annotations

import logging

from core import outbox, runtime
from core.celery_app import celery

log = logging.getLogger(__name__)


@celery.task(name="core.deliver_outbox_message")
def deliver_outbox_message(message_id: int) -> str | None:
    rt = runtime.current()
    with rt.database.transaction() as session:
        result = outbox.deliver(session, message_id, rt.settings)
    if result.retry_in is not None:
        log.info("outbox message %s failed, retrying in %.1fs", message_id, result.retry_in)
        if not rt.settings.celery_eager:
            # In process there is no worker to come back later: the relay retries instead.
            deliver_outbox_message.apply_async((message_id,), countdown=result.retry_in)
    return result.status.value if result.status else None


@celery.task(name="core.relay_outbox")
def relay_outbox(limit: int = 100) -> int:
    """Send every pending message whose next attempt is due (run by beat)."""
    rt = runtime.current()
    with rt.database.transaction() as session:
        due = outbox.due_message_ids(session, limit)
    for message_id in due:
        if rt.settings.celery_eager:
            deliver_outbox_message(message_id)
        else:
            deliver_outbox_message.delay(message_id)
    return len(due)


outbox.set_delivery_scheduler(lambda message_id: deliver_outbox_message.delay(message_id))
