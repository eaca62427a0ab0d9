"""Bad input gets an RFC 9457 problem document on the API and a Chinese page elsewhere,
and changes nothing."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from identity.models import ApiToken


def _assert_problem(response: object, status: int, code: str) -> dict:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.mimetype == "application/problem+json"  # type: ignore[attr-defined]
    body = response.json  # type: ignore[attr-defined]
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"].endswith(code)
    assert body["title"]
    return body


def test_body_that_is_not_json(client: FlaskClient, session: Session) -> None:
    response = client.post(
        "/api/v1/auth/token", data="username=x", content_type="application/x-www-form-urlencoded"
    )
    _assert_problem(response, 400, "invalid_json")


def test_body_that_fails_validation_names_the_fields(client: FlaskClient, session: Session) -> None:
    tokens_before = session.scalar(select(func.count()).select_from(ApiToken))
    response = client.post("/api/v1/auth/token", json={"username": "", "extra": 1})
    body = _assert_problem(response, 422, "validation_error")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"username", "password"}
    assert session.scalar(select(func.count()).select_from(ApiToken)) == tokens_before


def test_unknown_api_path(client: FlaskClient, session: Session) -> None:
    _assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method(client: FlaskClient, session: Session) -> None:
    _assert_problem(client.get("/api/v1/auth/token"), 405, "method_not_allowed")


def test_pages_show_errors_in_chinese(client: FlaskClient, session: Session) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "未找到" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("post", "/api/v1/auth/token", {"username": "doctor\u0000", "password": "x"}),
        ("post", "/api/v1/auth/demo", {"username": "\u0000"}),
        ("post", "/api/v1/kiosk/dispense", {"token": "A\u0000", "identity_check_id": 1}),
        ("post", "/api/v1/me/referrals", {"reason": "\u0000"}),
    ],
)  # fmt: skip
def test_a_nul_character_is_a_400_problem_not_a_crash(
    client: FlaskClient, session: Session, method: str, path: str, payload: dict
) -> None:
    response = getattr(client, method)(path, json=payload)
    assert response.status_code == 400
    assert response.json["code"] == "invalid_characters"
    query = client.get("/api/v1/drugs", query_string={"q": "a\x00"})
    assert query.status_code == 400


def test_method_not_allowed_says_what_is(client: FlaskClient, session: Session) -> None:
    response = client.get("/api/v1/auth/token")
    assert response.status_code == 405
    assert response.json["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
