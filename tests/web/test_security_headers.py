"""Security headers on every kind of response: pages, the API, problems, files."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session


@pytest.mark.parametrize(
    "path", ["/", "/sign-in", "/h5/", "/api/v1/openapi.json", "/api/v1/auth/whoami", "/nowhere"]
)
def test_every_response_carries_the_security_headers(
    client: FlaskClient, session: Session, path: str
) -> None:
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_kiosk_may_reach_its_reader_and_forms_may_go_to_the_provider(
    make_app: object, session: Session
) -> None:
    app = make_app(KIOSK_READER_URL="http://127.0.0.1:18889/read",  # type: ignore[operator]
                   FACEID_API_BASE="faceid.tencentcloudapi.com")  # fmt: skip
    csp = app.test_client().get("/").headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:18889" in csp
    assert "form-action 'self' https://faceid.tencentcloudapi.com" in csp
