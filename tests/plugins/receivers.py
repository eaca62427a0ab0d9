"""Partners on 127.0.0.1: a receiver that records what the outbox sends, and the fake 人脸核身."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def receiver() -> Iterator[Any]:
    """A partner on 127.0.0.1 that records what arrives (tests.fakes.http_receiver)."""
    from tests.fakes import http_receiver

    server = http_receiver.start()
    yield server
    server.stop()


@pytest.fixture
def faceid_server() -> Iterator[Any]:
    """The fake 人脸核身 on a free port, holding the test identities' reference photos."""
    from tests.fakes import faceid

    with faceid.running() as server:
        yield server
