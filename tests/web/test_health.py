from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core import runtime


def test_reports_database_and_redis(
    client: FlaskClient, session: Session, redis: redis_lib.Redis
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.fixture
def dead_redis() -> Iterator[None]:
    rt = runtime.current()
    saved = rt.redis
    rt.redis = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    yield
    rt.redis = saved


def test_unavailable_redis_makes_it_unhealthy(
    client: FlaskClient, session: Session, dead_redis: None
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["redis"] == "unavailable"
    assert response.json["database"] == "ok"
