"""Celery tasks of core: outbox delivery and the relay that picks up what is due."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from core import audit, audit_chain, audit_checkpoints, idempotency, outbox, runtime
from core.audit_chain import AuditKeys
from core.audit_checkpoints import CheckpointFile
from core.celery_app import celery
from core.db import after_commit

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


@celery.task(name="core.deliver_outbox_messages")
def deliver_outbox_messages(message_ids: list[int]) -> list[str | None]:
    """What one commit wrote, in one task: each message delivered on its own (its own
    transaction, its own retry), so one partner down delays nobody else's."""
    return [deliver_outbox_message(message_id) for message_id in message_ids]


outbox.set_delivery_scheduler(lambda message_ids: deliver_outbox_messages.delay(message_ids))


@celery.task(name="core.seal_audit")
def seal_audit() -> int:
    """Chain what waits in the audit trail and keep the checkpoint outside the database (run
    by beat every few seconds; in process, after each commit that recorded events)."""
    rt = runtime.current()
    settings = rt.settings
    keys = AuditKeys.derive(settings.audit_key)
    store = CheckpointFile(settings.audit_checkpoint_file)
    sealed = 0
    while True:
        with rt.database.transaction() as session:
            row = audit_chain.seal(
                session, keys, push_every=dt.timedelta(seconds=settings.audit_push_every_seconds)
            )
            if row is None:
                return sealed
            audit_checkpoints.publish(session, row, settings)
            checkpoint = audit_chain.Checkpoint.of(row)
            after_commit(session, partial(store.append, checkpoint))
        sealed = checkpoint.tree_size


def _seal_in_process() -> None:
    if not runtime.current().settings.audit_seal_after_commit:
        return
    try:
        seal_audit()
    except Exception:
        # The door has committed already; the next commit (or beat) seals what waits.
        log.exception("sealing the audit trail failed; it is retried at the next commit")


audit.set_seal_scheduler(_seal_in_process)


@celery.task(name="core.purge_idempotent_requests")
def purge_idempotent_requests() -> int:
    """Forget kept answers older than a day (an Idempotency-Key is for retries, not forever)."""
    with runtime.current().database.transaction() as session:
        return idempotency.purge(session)
