"""A console session ends with sign-out: a copy of the cookie taken before stops working."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from tests import factories
from tests.helpers import csrf_token, sign_in


def test_a_copied_session_cookie_dies_with_sign_out(app: Flask, session: Session) -> None:
    doctor = factories.practitioner()
    browser = app.test_client()
    sign_in(browser, doctor.account.username)
    assert browser.get("/doctor/").status_code == 200
    stolen = browser.get_cookie("session")
    assert stolen is not None
    token = csrf_token(browser, "/doctor/")
    browser.post("/sign-out", data={"csrf_token": token})
    assert browser.get("/doctor/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen.value)
    replayed = thief.get("/doctor/")
    assert replayed.status_code == 302
    assert "/sign-in" in replayed.headers["Location"]
    # Signing in again works, with a new session.
    sign_in(browser, doctor.account.username)
    assert browser.get("/doctor/").status_code == 200


def test_a_forged_session_id_loads_nobody(app: Flask, session: Session) -> None:
    from web.auth import _load_user

    account_id = factories.practitioner().account.id
    with app.test_request_context():
        assert _load_user(f"{account_id}:0") is not None
        for forged in (str(account_id), f"{account_id}:1", "x:0", f"{account_id}:"):
            assert _load_user(forged) is None
