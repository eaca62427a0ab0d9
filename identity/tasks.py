"""Celery tasks of identity."""

from __future__ import annotations

from core import runtime
from core.celery_app import celery
from identity import services


@celery.task(name="identity.purge_expired_tokens")
def purge_expired_tokens() -> int:
    with runtime.current().database.transaction() as session:
        return services.purge_expired_tokens(session)
