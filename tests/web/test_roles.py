"""Each role reaches its own console and API, and is refused elsewhere."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from identity.models import Role
from identity.rules import PractitionerKind, Title
from tests import factories
from tests.helpers import bearer, csrf_token, sign_in
from tests.pharmacy.helpers import kiosk_at, pharmacy
from web.consoles.views import CONSOLES

CONSOLE_PATHS = {console.role: f"/{console.path}" for console in CONSOLES}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_refused_from_other_consoles(
    client: FlaskClient, session: Session, role: Role
) -> None:
    # The doctor's and pharmacist's consoles need a registered practitioner behind the account.
    if role is Role.doctor:
        account = factories.practitioner().account
    elif role is Role.pharmacist:
        account = factories.practitioner(
            kind=PractitionerKind.pharmacist, department="药剂科", title=Title.pharmacist
        ).account
    elif role is Role.family_doctor:
        account = factories.practitioner(
            kind=PractitionerKind.family_doctor, department="全科"
        ).account
    elif role is Role.kiosk:
        account = kiosk_at(session, pharmacy(session)).kiosk.account
        account.password_hash = factories.PASSWORD_HASH
        session.flush()
    else:
        account = factories.account(role)
    response = sign_in(client, account.username)
    assert response.status_code == 302
    for console_role, path in CONSOLE_PATHS.items():
        page = client.get(path, follow_redirects=True)
        if console_role is role:
            assert page.status_code == 200, path
            assert account.display_name in page.get_data(as_text=True)
        else:
            assert page.status_code == 403, f"{role} reached {path}"
            assert "无权访问" in page.get_data(as_text=True)


def test_signed_in_staff_land_on_their_console(client: FlaskClient, session: Session) -> None:
    account = factories.account(Role.pharmacist)
    response = sign_in(client, account.username)
    assert response.headers["Location"] == "/pharmacist/"


def test_anonymous_visitor_is_sent_to_sign_in(client: FlaskClient, session: Session) -> None:
    response = client.get("/doctor/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=/doctor/")


def test_sign_in_never_redirects_to_another_site(client: FlaskClient, session: Session) -> None:
    account = factories.account(Role.doctor)
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in?next=//evil.example/steal",
        data={"username": account.username, "password": factories.PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/doctor/"


def test_sign_in_form_needs_csrf_token(client: FlaskClient, session: Session) -> None:
    account = factories.account(Role.doctor)
    response = client.post(
        "/sign-in", data={"username": account.username, "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/doctor/").status_code == 302  # not signed in


def test_wrong_password_is_explained_in_chinese(client: FlaskClient, session: Session) -> None:
    account = factories.account(Role.doctor)
    page = sign_in(client, account.username, "wrong")
    assert page.status_code == 200
    assert "用户名或密码错误" in page.get_data(as_text=True)


def test_console_lockout_survives_the_failed_requests(
    client: FlaskClient, session: Session
) -> None:
    account = factories.account(Role.doctor)
    for _ in range(5):
        sign_in(client, account.username, "wrong")
    page = sign_in(client, account.username)  # the right password, too late
    assert "账户已锁定" in page.get_data(as_text=True)
    assert client.get("/doctor/").status_code == 302


def test_session_cookie_flags(client: FlaskClient, session: Session) -> None:
    account = factories.account(Role.doctor)
    response = sign_in(client, account.username)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=Lax" in cookie


def test_api_needs_a_bearer_token(client: FlaskClient, session: Session) -> None:
    response = client.get("/api/v1/auth/whoami")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "unauthorized"


def test_api_ignores_console_cookies(client: FlaskClient, session: Session) -> None:
    account = factories.account(Role.doctor)
    sign_in(client, account.username)
    assert client.get("/api/v1/auth/whoami").status_code == 401


@pytest.mark.parametrize("role", list(Role))
def test_api_token_names_its_account(client: FlaskClient, session: Session, role: Role) -> None:
    response = client.get("/api/v1/auth/whoami", headers=bearer(session, role))
    assert response.status_code == 200
    assert response.json["role"] == role.value


def test_password_token_and_api_lockout(client: FlaskClient, session: Session) -> None:
    account = factories.account(Role.pharmacist)
    ok = client.post(
        "/api/v1/auth/token", json={"username": account.username, "password": factories.PASSWORD}
    )
    assert ok.status_code == 200
    headers = {"Authorization": f"Bearer {ok.json['access_token']}"}
    assert client.get("/api/v1/auth/whoami", headers=headers).json["role"] == "pharmacist"

    codes = [
        client.post(
            "/api/v1/auth/token", json={"username": account.username, "password": "wrong"}
        ).json["code"]
        for _ in range(5)
    ]
    assert codes == ["authentication_failed"] * 4 + ["account_locked"]
    locked = client.post(
        "/api/v1/auth/token", json={"username": account.username, "password": factories.PASSWORD}
    )
    assert locked.status_code == 423
    assert int(locked.headers["Retry-After"]) > 0


def test_revoked_token_is_refused(client: FlaskClient, session: Session) -> None:
    headers = bearer(session, Role.doctor)
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/whoami", headers=headers).status_code == 401


def test_unregistered_doctor_account_is_told_why(client: FlaskClient, session: Session) -> None:
    account = factories.account(Role.doctor)
    sign_in(client, account.username)
    page = client.get("/doctor/")
    assert page.status_code == 403
    assert "未登记为医务人员" in page.get_data(as_text=True)
