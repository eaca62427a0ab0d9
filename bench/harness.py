"""What the HTTP benchmarks share: a scratch database and gunicorn on 127.0.0.1, timed requests
from client threads, and the report of requests per second and p50/p99 per request kind."""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from alembic import command

from bench.face_verify import _percentile, _scratch_database
from migrations import alembic_config


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--server",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stage:
    """The scratch database's settings, and the base URL once the server is up."""

    env: dict[str, str]
    base: str = ""


@contextmanager
def scratch_stage(args: argparse.Namespace) -> Iterator[Stage]:
    """A migrated scratch database (dropped afterwards) and the settings that point at it."""
    url, drop = _scratch_database(args.server)
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": args.redis,
        "SECRET_KEY": secrets.token_hex(32),
        "DATA_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    try:
        command.upgrade(alembic_config(url), "head")
        yield Stage(env)
    finally:
        import redis

        redis.Redis.from_url(args.redis).flushdb()
        drop()


@contextmanager
def serving(stage: Stage, args: argparse.Namespace) -> Iterator[str]:
    """`hospital serve` (gunicorn) on a free local port, until the block ends."""
    port = _free_port()
    hospital = str(Path(sys.executable).parent / "hospital")
    server = subprocess.Popen(
        [
            hospital,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
        ],
        env={**os.environ, **stage.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        stage.base = base
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


@dataclass
class Timings:
    base: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(
        self,
        http: requests.Session,
        kind: str,
        method: str,
        path: str,
        token: str,
        json: object = None,
    ) -> dict:
        started = time.perf_counter()
        response = http.request(
            method,
            self.base + path,
            json=json,
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[kind].append(elapsed)
            if response.status_code >= 400:
                self.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
        return response.json() if response.content else {}

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def report(self, elapsed: float) -> None:
        print(f"requests per second: {self.total / elapsed:.1f}")
        for kind, values in self.latencies.items():
            print(
                f"  {kind:<9} p50 {statistics.median(values) * 1000:7.1f} ms   "
                f"p99 {_percentile(values, 0.99) * 1000:7.1f} ms   n={len(values)}"
            )
        everything = [v for values in self.latencies.values() for v in values]
        print(
            f"  all       p50 {statistics.median(everything) * 1000:7.1f} ms   "
            f"p99 {_percentile(everything, 0.99) * 1000:7.1f} ms"
        )
        if self.errors:
            print(f"{len(self.errors)} errors, first: {self.errors[0]}")


def run_clients(clients: int, client: Callable[[int], None]) -> float:
    """Run `client(i)` in `clients` threads at once; the seconds it took."""
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started
