"""Celery tasks of followup."""

from __future__ import annotations

from core import clock, runtime
from core.celery_app import celery
from followup.services import consultations


@celery.task(name="followup.expire_consultations")
def expire_consultations() -> int:
    """Requests no doctor accepted in time become expired, and the patient is told."""
    with runtime.current().database.transaction() as session:
        return len(consultations.expire_due(session, clock.now()))
