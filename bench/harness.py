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
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

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
    pid: int = 0  # gunicorn's master, for a profiler to attach to


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


def wait_healthy(base: str, server: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Until /healthz answers; a server that exits or never answers stops the benchmark
    (with its log), rather than measuring refused connections."""
    for _ in range(150):
        if server.poll() is not None:
            break
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    log.seek(0)
    tail = log.read()[-2000:].decode(errors="replace")
    raise SystemExit(f"the server at {base} never became healthy:\n{tail}")


def warm_up(base: str, token: str, path: str = "/api/v1/me", requests_each: int = 30) -> None:
    """A few untimed requests through every worker first: imports, connection pools and
    caches filled before the clock starts, as in a server that has been up a while."""
    for _ in range(requests_each):
        # A new connection each time, so that every worker process gets some.
        requests.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@contextmanager
def serving(stage: Stage, args: argparse.Namespace) -> Iterator[str]:
    """`hospital serve` (gunicorn) on a free local port, until the block ends."""
    port = _free_port()
    hospital = str(Path(sys.executable).parent / "hospital")
    command_line = [hospital, "serve", "--port", str(port)]
    command_line += ["--workers", str(args.workers), "--threads", str(args.threads)]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            command_line,
            env={**os.environ, **stage.env},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, server, log)
            stage.base, stage.pid = base, server.pid
            yield base
        finally:
            server.terminate()
            server.wait(timeout=20)


class StepFailed(Exception):
    """A step of a flow was refused: the flow stops there and is not counted as done."""


@dataclass
class Timings:
    base: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    succeeded: Counter[str] = field(default_factory=Counter)  # calls answered 2xx, by kind
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
        required: bool = True,
    ) -> dict:
        """The answer's body. A refused step raises StepFailed (the flow stops there)
        unless it is not `required` (an answer that may be a refusal: {})."""
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
            else:
                self.succeeded[kind] += 1
        if response.status_code >= 400:
            if required:
                raise StepFailed(kind)
            return {}
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
