"""The door's side of Idempotency-Key (core.idempotency): on a POST from a signed-in API
client, a kept answer is replayed before the view runs; a new success is kept in the same
transaction as what it did, so the answer and the effect commit together or not at all."""

from __future__ import annotations

from flask import Flask, Response, g, request

from core import idempotency
from web.auth import bearer_account
from web.session import db_session

HEADER = "Idempotency-Key"


def init_app(app: Flask) -> None:
    """Register after web.session: Flask runs after-request hooks last-registered first, so
    the answer is kept before the door commits."""

    @app.before_request
    def _replay() -> Response | None:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return None
        account = bearer_account()
        if account is None:
            return None  # the view answers 401 (or is public: the header means nothing there)
        g.api_account = account  # the view's api_account() uses it rather than look it up again
        claim = idempotency.Claim(
            account.id,
            key.strip(),
            idempotency.fingerprint(request.method, request.full_path, request.get_data()),
        )
        kept = idempotency.claim(db_session(), claim)
        if kept is not None:
            replay = Response(kept.body, status=kept.status, content_type=kept.content_type)
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        g.idempotency_claim = claim
        return None

    @app.after_request
    def _keep(response: Response) -> Response:
        claim: idempotency.Claim | None = g.pop("idempotency_claim", None)
        if claim is None or not 200 <= response.status_code < 300 or response.is_streamed:
            return response
        idempotency.remember(
            db_session(),
            claim,
            response.status_code,
            response.content_type or "application/json",
            response.get_data(),
        )
        return response
