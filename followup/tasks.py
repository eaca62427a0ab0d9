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


@celery.task(name="followup.send_reminders")
def send_reminders() -> int:
    """Follow-ups coming due and overdue, contracts ending: each reminder once per due event."""
    from followup.services import follow_ups

    with runtime.current().database.transaction() as session:
        return follow_ups.send_reminders(session, clock.now())
