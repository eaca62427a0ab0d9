"""/healthz: is the service able to do its work? Reports the database and Redis."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel
from sqlalchemy import text

from core import runtime
from web.openapi import operation
from web.session import database

bp = Blueprint("health", __name__)


class Health(BaseModel):
    status: str
    database: str
    redis: str


@bp.get("/healthz")
@operation(
    "Liveness and readiness: the database and Redis (when configured)",
    tag="meta",
    response=Health,
    public=True,
    description="200 when every configured dependency answers, 503 otherwise.",
)
def healthz() -> Response:
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value in {"ok", "not_configured"} for value in checks.values())
    response = jsonify({"status": "ok" if healthy else "unavailable", **checks})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _check_database() -> str:
    try:
        with database().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not healthy"; the reason goes to the log
        current_app.logger.warning("health: database unavailable: %s", exc)
        return "unavailable"
    return "ok"


def _check_redis() -> str:
    client = runtime.current().redis
    if client is None:
        return "not_configured"
    try:
        client.ping()
    except Exception as exc:  # as above
        current_app.logger.warning("health: redis unavailable: %s", exc)
        return "unavailable"
    return "ok"
