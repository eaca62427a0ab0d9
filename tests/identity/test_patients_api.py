"""Real-name registration, face verification and dependents, through the API."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from identity.models import Account, Person, Role
from identity.services import patients
from tests import factories
from tests.fakes import faceid
from tests.helpers import bearer, seal_and_verify
from tests.people import CHILD_ID_NUMBER

ADULT = "110105198503141235"
OTHER_ADULT = "310104199007084564"
CHILD_UNDER_6 = CHILD_ID_NUMBER
ELDER = "33010619650201235X"


def _real_name(client: FlaskClient, headers: dict, id_number: str = ADULT, **extra: str) -> object:
    data = {"name": "张三", "id_number": id_number, "phone": "13812345678", **extra}
    return client.post("/api/v1/me/real-name", json=data, headers=headers)


def _verified(app: Flask, session: Session) -> tuple[dict, Account]:
    """A patient who registered 张三's name and number and passed 人脸核身 with his face."""
    account = factories.account(Role.patient)
    headers = bearer(session, account=account)
    client = app.test_client()
    assert _real_name(client, headers).status_code == 200
    assert faceid.verify(app, headers).status_code == 200
    session.expire_all()  # the requests changed the account in their own sessions
    return headers, account


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_real_name_is_stored_sealed_and_shown_masked(client: FlaskClient, session: Session) -> None:
    headers = bearer(session)
    response = _real_name(client, headers, id_number="11010519920311001x")
    assert response.status_code == 200
    assert response.json["id_number"] == "110105********001X"
    assert response.json["name"] == "张*"
    assert response.json["phone"] == "138****5678"
    assert response.json["sex"] == "male"
    raw = session.execute(text("SELECT name, id_number, phone, id_number_index FROM persons")).one()
    stored = b"".join(bytes(v) for v in raw[:3])
    for clear in ("11010519920311001X", "13812345678", "张三"):
        assert clear.encode() not in stored
    assert "11010519920311001X" not in raw.id_number_index


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("id_number", "110105198503141234", "invalid_id_number"),
        ("id_number", "110105198502301230", "invalid_id_number"),
        ("phone", "12345", "invalid_phone"),
        ("name", "x", "invalid_name"),
    ],
)
def test_bad_real_name_input_stores_nothing(
    client: FlaskClient, session: Session, field: str, value: str, code: str
) -> None:
    headers = bearer(session)
    before = _count(session, Person)
    response = _real_name(client, headers, **{field: value})
    assert response.status_code == 422
    assert response.json["code"] == code
    assert _count(session, Person) == before
    assert client.get("/api/v1/me", headers=headers).json["person"] is None


def test_one_person_one_account(client: FlaskClient, session: Session) -> None:
    assert _real_name(client, bearer(session)).status_code == 200
    second = _real_name(client, bearer(session))
    assert second.status_code == 409
    assert second.json["code"] == "id_already_registered"
    lower_x = _real_name(client, bearer(session), id_number=ADULT.lower())
    assert lower_x.json["code"] == "id_already_registered"


def test_account_cannot_switch_to_another_person(client: FlaskClient, session: Session) -> None:
    headers = bearer(session)
    _real_name(client, headers)
    switched = _real_name(client, headers, id_number=OTHER_ADULT)
    assert switched.json["code"] == "real_name_locked"


def test_dependents_need_a_verified_patient(client: FlaskClient, session: Session) -> None:
    headers = bearer(session)
    _real_name(client, headers)
    response = client.post(
        "/api/v1/me/dependents",
        json={"name": "张小宝", "id_number": CHILD_UNDER_6, "relation": "child"},
        headers=headers,
    )
    assert response.status_code == 403
    assert response.json["code"] == "identity_unverified"
    assert "人脸核验" in response.json["detail"]


def test_unverified_patient_cannot_seek_care(session: Session) -> None:
    account = factories.account(Role.patient)
    with pytest.raises(patients.IdentityUnverified):
        patients.care_context(session, account, None)


def test_staff_cannot_use_patient_endpoints(client: FlaskClient, session: Session) -> None:
    response = _real_name(client, bearer(session, Role.doctor))
    assert response.status_code == 403


def test_every_step_is_audited(faceid_app: Flask, session: Session) -> None:
    _verified(faceid_app, session)
    actions = session.scalars(text("SELECT action FROM audit_events ORDER BY id")).all()
    assert "person.real_name" in actions
    assert "identity.check.finish" in actions
    assert seal_and_verify(session).ok
