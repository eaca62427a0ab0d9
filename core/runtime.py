"""The process's configured parts, installed once by the app factory.

Doors that are not Flask requests (Celery tasks, CLI commands) reach the database and
settings through here, so that domain code never imports Flask.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from core.db import Database
from core.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    redis: redis.Redis | None


_runtime: Runtime | None = None


def install(runtime: Runtime) -> None:
    global _runtime  # the process has one runtime, installed by create_app
    _runtime = runtime


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("no runtime installed: create the app first")
    return _runtime
