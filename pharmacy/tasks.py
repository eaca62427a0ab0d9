"""Celery tasks of pharmacy: releasing reservations of expired prescriptions (beat) and the
courier channel's registration (imported with the tasks)."""

from __future__ import annotations

from core import clock, runtime
from core.celery_app import celery
from pharmacy.services import courier, fulfilment, pharmacies

__all__ = ["courier", "release_reservations", "stock_alerts"]


@celery.task(name="pharmacy.release_reservations")
def release_reservations() -> int:
    """Stock held for prescriptions past their validity goes back on the shelf."""
    with runtime.current().database.transaction() as session:
        return len(fulfilment.release_expired(session, clock.now()))


@celery.task(name="pharmacy.stock_alerts")
def stock_alerts() -> int:
    """Pharmacists on duty hear, once a day, what is low or expiring at their pharmacy."""
    with runtime.current().database.transaction() as session:
        return pharmacies.notify_alerts(session, clock.now())
