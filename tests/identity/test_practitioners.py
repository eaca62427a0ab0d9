"""Practitioners: registration, eligibility with reasons, face checks, signing keys."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from core import clock
from identity.models import Practitioner, Role
from identity.rules import PractitionerKind, Title
from identity.services import practitioners as service
from tests import faces, factories
from tests.helpers import bearer
from tests.people import years_before

PRESCRIPTION = {"items": [{"drug": "氨氯地平片", "dose": "5mg", "frequency": "qd"}], "days": 28}


def _years_ago(years: int) -> str:
    today = clock.today()
    return years_before(today, years).isoformat()


def _form(institution_id: int, **overrides: Any) -> dict[str, Any]:
    data = {
        "username": f"dr{overrides.get('licence_number', '110101198001')}",
        "password": "a long password",
        "name": "王建国",
        "kind": "doctor",
        "licence_number": "110101198001",
        "title": "主治医师",
        "department": "心血管内科",
        "institution_id": str(institution_id),
        "practice_started_on": _years_ago(8),
    }
    data.update(overrides)
    data["face_photo"] = (io.BytesIO(faces.id_photo()), "face.jpg")
    return data


def _register(client: FlaskClient, session: Session, **overrides: Any) -> Any:
    institution = factories.InstitutionFactory()
    return client.post(
        "/api/v1/admin/practitioners",
        data=_form(institution.id, **overrides),
        headers=bearer(session, Role.admin),
        content_type="multipart/form-data",
    )


def _face_check(client: FlaskClient, headers: dict, selfie: bytes) -> Any:
    return client.post(
        "/api/v1/practitioners/me/face-check",
        data={"selfie": (io.BytesIO(selfie), "me.jpg")},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_admin_registers_an_eligible_doctor(client: FlaskClient, session: Session) -> None:
    response = _register(client, session)
    assert response.status_code == 201, response.json
    doctor = response.json
    assert doctor["eligibility"] == {"eligible": True, "reasons": []}
    assert doctor["title"] == "主治医师"
    assert len(doctor["active_key_fingerprint"]) == 64
    raw = session.execute(text("SELECT face_encoding FROM practitioners")).scalar_one()
    practitioner = session.get(Practitioner, doctor["id"])
    assert practitioner is not None
    clear = practitioner.face_encoding.encode()
    assert clear.startswith(b"[")
    assert clear[:16] not in bytes(raw)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"practice_started_on": _years_ago(2)}, "满 3 年"),
        ({"title": "执业助理医师"}, "助理医师"),
        ({"kind": "pharmacist", "title": "药士", "licence_number": "PH0000001"}, "药师及以上"),
        (
            {
                "kind": "pharmacist",
                "title": "药师",
                "licence_number": "PH0000002",
                "practice_started_on": _years_ago(1),
            },
            "调剂工作经验",
        ),
    ],
)
def test_ineligible_practitioners_see_why(
    client: FlaskClient, session: Session, overrides: dict, reason: str
) -> None:
    response = _register(client, session, **overrides)
    assert response.status_code == 201, response.json
    eligibility = response.json["eligibility"]
    assert eligibility["eligible"] is False
    assert any(reason in r for r in eligibility["reasons"]), eligibility
    practitioner = session.get(Practitioner, response.json["id"])
    assert practitioner is not None
    with pytest.raises(service.NotEligible) as refused:
        service.ensure_may_act(practitioner, clock.now())
    assert reason in refused.value.detail


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"title": "主管药师"}, "与人员类别不符"),
        ({"practice_started_on": (clock.today() + dt.timedelta(days=1)).isoformat()}, "晚于今天"),
        ({"licence_number": "bad licence!"}, "执业证书编码"),
    ],
)
def test_bad_registrations_create_nothing(
    client: FlaskClient, session: Session, overrides: dict, fragment: str
) -> None:
    response = _register(client, session, **overrides)
    assert response.status_code == 422
    assert fragment in response.json["detail"]
    assert session.query(Practitioner).count() == 0


def test_registration_photo_must_show_one_face(client: FlaskClient, session: Session) -> None:
    institution = factories.InstitutionFactory()
    data = _form(institution.id)
    data["face_photo"] = (io.BytesIO(faces.no_face()), "x.png")
    response = client.post(
        "/api/v1/admin/practitioners",
        data=data,
        headers=bearer(session, Role.admin),
        content_type="multipart/form-data",
    )
    assert response.json["code"] == "no_face"


@pytest.mark.parametrize("role", [Role.doctor, Role.pharmacist, Role.patient, Role.kiosk])
def test_only_admins_register(client: FlaskClient, session: Session, role: Role) -> None:
    institution = factories.InstitutionFactory()
    response = client.post(
        "/api/v1/admin/practitioners",
        data=_form(institution.id),
        headers=bearer(session, role),
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def _doctor(client: FlaskClient, session: Session) -> tuple[Practitioner, dict]:
    response = _register(client, session)
    practitioner = session.get(Practitioner, response.json["id"])
    assert practitioner is not None
    return practitioner, bearer(session, account=practitioner.account)


def test_face_check_unlocks_clinical_actions_for_a_while(
    client: FlaskClient, session: Session
) -> None:
    practitioner, headers = _doctor(client, session)
    with pytest.raises(service.FaceCheckRequired):
        service.ensure_may_act(practitioner, clock.now())
    refused = _face_check(client, headers, faces.other_person())
    assert refused.json["code"] == "face_mismatch"
    ok = _face_check(client, headers, faces.same_person_variants()["selfie 640x480"])
    assert ok.status_code == 200
    session.expire_all()
    service.ensure_may_act(practitioner, clock.now())
    later = clock.now() + dt.timedelta(minutes=31)
    with pytest.raises(service.FaceCheckRequired):
        service.ensure_may_act(practitioner, later)
    me = client.get("/api/v1/practitioners/me", headers=headers).json
    assert me["face_check_valid_until"] is not None


def test_signatures_need_a_face_check_and_survive_key_rotation(
    client: FlaskClient, session: Session
) -> None:
    practitioner, headers = _doctor(client, session)
    with pytest.raises(service.FaceCheckRequired):
        service.sign(session, practitioner, PRESCRIPTION, clock.now())
    _face_check(client, headers, faces.id_photo())
    session.expire_all()
    first = service.sign(session, practitioner, PRESCRIPTION, clock.now())
    assert service.verify(session, first.key_fingerprint, PRESCRIPTION, first.value)
    changed = {**PRESCRIPTION, "days": 84}
    assert not service.verify(session, first.key_fingerprint, changed, first.value)

    rotated = client.post(
        f"/api/v1/admin/practitioners/{practitioner.id}/rotate-key",
        headers=bearer(session, Role.admin),
    )
    assert rotated.status_code == 200
    assert rotated.json["fingerprint"] != first.key_fingerprint
    session.expire_all()
    second = service.sign(session, practitioner, PRESCRIPTION, clock.now())
    assert second.key_fingerprint == rotated.json["fingerprint"]
    # The old signature still verifies with the retired key.
    assert service.verify(session, first.key_fingerprint, PRESCRIPTION, first.value)
    old_key = client.get(f"/api/v1/signing-keys/{first.key_fingerprint}", headers=headers).json
    assert old_key["retired_at"] is not None


def test_private_keys_are_sealed(client: FlaskClient, session: Session) -> None:
    practitioner, _ = _doctor(client, session)
    key = service.active_key(session, practitioner)
    raw = session.execute(text("SELECT private_key FROM signing_keys")).scalar_one()
    assert key.private_key.encode() not in bytes(raw)


def test_ineligible_doctor_cannot_sign_even_after_face_check(
    client: FlaskClient, session: Session
) -> None:
    response = _register(client, session, practice_started_on=_years_ago(1))
    practitioner = session.get(Practitioner, response.json["id"])
    assert practitioner is not None
    headers = bearer(session, account=practitioner.account)
    assert _face_check(client, headers, faces.id_photo()).status_code == 200
    session.expire_all()
    with pytest.raises(service.NotEligible):
        service.sign(session, practitioner, PRESCRIPTION, clock.now())


def test_kind_and_role_match(client: FlaskClient, session: Session) -> None:
    response = _register(client, session, kind="family_doctor", licence_number="FD1234567")
    practitioner = session.get(Practitioner, response.json["id"])
    assert practitioner is not None
    assert practitioner.kind is PractitionerKind.family_doctor
    assert practitioner.account.role is Role.family_doctor
    assert practitioner.title is Title.attending_physician
