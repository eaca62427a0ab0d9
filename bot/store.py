"""Short-lived bot state: which messages were already answered (WeChat retries a message it
got no answer to within 5 seconds, three times) and where each conversation stands. Redis
when configured (shared by every process), else memory (the embedded demo, one process)."""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis

ANSWER_TTL = 60  # WeChat's retries come within ~15 s
STATE_TTL = 30 * 60  # a conversation left alone for half an hour starts over


class Store(Protocol):
    def claim(self, key: str, ttl: int) -> bool: ...
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str, ttl: int) -> None: ...
    def delete(self, key: str) -> None: ...


class RedisStore:
    def __init__(self, client: redis.Redis, prefix: str = "bot:") -> None:
        self.client, self.prefix = client, prefix

    def claim(self, key: str, ttl: int) -> bool:
        return bool(self.client.set(self.prefix + key, "", nx=True, ex=ttl))

    def get(self, key: str) -> str | None:
        value = self.client.get(self.prefix + key)
        return value.decode() if isinstance(value, bytes) else value

    def put(self, key: str, value: str, ttl: int) -> None:
        self.client.set(self.prefix + key, value, ex=ttl)

    def delete(self, key: str) -> None:
        self.client.delete(self.prefix + key)


class MemoryStore:
    def __init__(self) -> None:
        self.values: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def _live(self, key: str) -> str | None:
        found = self.values.get(key)
        if found is None or found[1] < time.monotonic():
            self.values.pop(key, None)
            return None
        return found[0]

    def claim(self, key: str, ttl: int) -> bool:
        with self.lock:
            if self._live(key) is not None:
                return False
            self.values[key] = ("", time.monotonic() + ttl)
            return True

    def get(self, key: str) -> str | None:
        with self.lock:
            return self._live(key)

    def put(self, key: str, value: str, ttl: int) -> None:
        with self.lock:
            self.values[key] = (value, time.monotonic() + ttl)

    def delete(self, key: str) -> None:
        with self.lock:
            self.values.pop(key, None)
