"""A small HTTP server on 127.0.0.1 that plays an outside receiver (the hospital platform,
a regulator, a courier): it records what arrives, can be told to fail, and applies each
Idempotency-Key once, as a well-behaved receiver does."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    applied: dict[str, Any] = field(default_factory=dict)
    fail_next: int = 0
    fail_status: int = 503
    # Hold the next request this many seconds before answering (a slow receiver), having
    # recorded it as received; `stalled` is set once it is being held.
    stall_next: float = 0.0
    stalled: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers), body))
                stall, receiver.stall_next = receiver.stall_next, 0.0
            if stall:
                receiver.stalled.set()
                time.sleep(stall)
            with receiver.lock:
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    status = receiver.fail_status
                else:
                    key = self.headers.get("Idempotency-Key", "")
                    receiver.applied.setdefault(key, body)
                    status = 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if status == 200 else b'{"error": "down"}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
