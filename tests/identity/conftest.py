from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from identity.verification import fake_server
from tests.fakes import faceid


@pytest.fixture
def faceid_server() -> Iterator[fake_server.Running]:
    with faceid.running() as server:
        yield server


@pytest.fixture
def faceid_app(make_app: Any, faceid_server: fake_server.Running) -> Flask:
    app: Flask = make_app(**faceid.settings_for(faceid_server))
    return app
