"""Celery tasks of pharmacy: releasing reservations of expired prescriptions (beat) and the
courier channel's registration (imported with the tasks)."""

from __future__ import annotations

from core import clock, runtime
from core.celery_app import celery
from pharmacy import courier, fulfilment

__all__ = ["courier", "release_reservations"]


@celery.task(name="pharmacy.release_reservations")
def release_reservations() -> int:
    """Stock held for prescriptions past their validity goes back on the shelf."""
    with runtime.current().database.transaction() as session:
        return len(fulfilment.release_expired(session, clock.now()))
