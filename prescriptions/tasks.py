"""Celery tasks of prescriptions: expiry and escalation of overdue reviews (run by beat)."""

from __future__ import annotations

from core import clock, runtime
from core.celery_app import celery
from prescriptions.services import review


@celery.task(name="prescriptions.expire_prescriptions")
def expire_prescriptions() -> int:
    """Prescriptions past their last valid day become expired; patients are told."""
    with runtime.current().database.transaction() as session:
        return len(review.expire_due(session, clock.now()))


@celery.task(name="prescriptions.escalate_reviews")
def escalate_reviews() -> int:
    rt = runtime.current()
    with rt.database.transaction() as session:
        return len(
            review.escalate_overdue(session, clock.now(), rt.settings.review_escalation_seconds)
        )


@celery.task(name="prescriptions.remind_expiring")
def remind_expiring() -> int:
    with runtime.current().database.transaction() as session:
        return len(review.remind_expiring(session, clock.now()))
