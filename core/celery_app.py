"""The Celery application. Configured by the app factory: with REDIS_URL it uses Redis as
broker; without it (or with CELERY_EAGER) tasks run in process, right where they are sent."""

from __future__ import annotations

import importlib

from celery import Celery

from core import outbox, providers
from core.settings import Settings

celery = Celery("hospital")

CHANNEL_PACKAGES = ("core", "followup", "pharmacy", "bot")
PROVIDER_PACKAGES = ("identity", "followup", "pharmacy", "wechat")
TASK_MODULES = [
    "core.tasks",
    "identity.tasks",
    "followup.tasks",
    "prescriptions.tasks",
    "pharmacy.tasks",
    "bot.tasks",
]


def configure(settings: Settings) -> Celery:
    if celery.conf.broker_url != (settings.redis_url or "memory://"):
        # Configured again with another broker (a second app in one process, as in tests):
        # forget the connections to the previous one.
        celery._pool = None
        celery.amqp._producer_pool = None
    celery.conf.update(
        broker_url=settings.redis_url or "memory://",
        result_backend=None,
        task_always_eager=settings.celery_eager,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="Asia/Shanghai",
        enable_utc=True,
        beat_schedule={
            "relay-outbox": {"task": "core.relay_outbox", "schedule": 10.0},
            # Events wait at most a few seconds for their place in the audit chain.
            "seal-audit": {"task": "core.seal_audit", "schedule": 2.0},
            "purge-expired-tokens": {"task": "identity.purge_expired_tokens", "schedule": 3600.0},
            "purge-idempotent-requests": {
                "task": "core.purge_idempotent_requests",
                "schedule": 3600.0,
            },
            "expire-consultations": {"task": "followup.expire_consultations", "schedule": 60.0},
            "follow-up-reminders": {"task": "followup.send_reminders", "schedule": 3600.0},
            "expire-prescriptions": {
                "task": "prescriptions.expire_prescriptions",
                "schedule": 300.0,
            },
            "remind-expiring": {"task": "prescriptions.remind_expiring", "schedule": 1800.0},
            "escalate-reviews": {"task": "prescriptions.escalate_reviews", "schedule": 60.0},
            "stock-alerts": {"task": "pharmacy.stock_alerts", "schedule": 3600.0},
            "release-reservations": {
                "task": "pharmacy.release_reservations",
                "schedule": 300.0,
            },
        },
    )
    celery.autodiscover_tasks(lambda: [], force=True)
    wire()
    providers.check(settings)
    return celery


def wire() -> None:
    """Every package's Celery tasks, outbox senders and provider backends, registered here and
    only here: the app factory calls it, and the worker and beat build the app. A package's
    `channels` module names its senders; two senders for one channel fail start-up, and a
    message for a channel nobody sends is refused where it is written (outbox.UnknownChannel).
    A package's `providers.register()` registers its backends (core.providers); `configure`
    then fails start-up on a backend setting nobody registered."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    for package in CHANNEL_PACKAGES:
        channels = importlib.import_module(f"{package}.channels")
        for name, sender in channels.senders().items():
            outbox.register_channel(name, sender)
    for package in PROVIDER_PACKAGES:
        importlib.import_module(f"{package}.providers").register()
