"""Password attempts are limited per client address, across usernames, and the limit is shared
by every worker (Redis)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from tests import factories
from tests.helpers import csrf_token


def test_many_usernames_from_one_address_slow_down(make_app: Any, session: Session) -> None:
    app: Flask = make_app(SIGN_IN_RATE_LIMIT="5 per minute")
    client = app.test_client()
    answers = [
        client.post("/api/v1/auth/token", json={"username": f"guess{n}", "password": "x"})
        for n in range(8)
    ]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    assert all(a.status_code == 429 for a in answers[5:])
    assert answers[-1].json["code"] == "too_many_requests"
    assert int(answers[-1].headers["Retry-After"]) > 0
    # Another address is not slowed down by this one.
    other = app.test_client()
    elsewhere = other.post(
        "/api/v1/auth/token",
        json={"username": "guess", "password": "x"},
        environ_base={"REMOTE_ADDR": "127.0.0.2"},
    )
    assert elsewhere.status_code == 401


def test_the_console_sign_in_form_is_limited_too(make_app: Any, session: Session) -> None:
    app: Flask = make_app(SIGN_IN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    doctor = factories.practitioner()
    codes = []
    for _ in range(5):
        token = csrf_token(client, "/sign-in")
        form = {"csrf_token": token, "username": doctor.account.username, "password": "wrong"}
        codes.append(client.post("/sign-in", data=form).status_code)
    assert codes[:3] == [200, 200, 200]  # the form again, with the error
    assert codes[3:] == [429, 429]
    assert client.get("/sign-in").status_code == 200  # reading the page is not limited


def test_behind_a_proxy_the_clients_address_counts(make_app: Any, session: Session) -> None:
    app: Flask = make_app(SIGN_IN_RATE_LIMIT="2 per minute", TRUSTED_PROXIES=1)
    client = app.test_client()

    def attempt(client_address: str) -> int:
        return client.post("/api/v1/auth/token", json={"username": "u", "password": "x"},
                           headers={"X-Forwarded-For": client_address}).status_code  # fmt: skip

    assert [attempt("203.0.113.5") for _ in range(3)] == [401, 401, 429]
    assert attempt("203.0.113.6") == 401  # another patient behind the same proxy
