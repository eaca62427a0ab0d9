"""The admin console registers practitioners; practitioners check in with their face."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from identity.models import Practitioner, Role
from tests import faces, factories
from tests.helpers import csrf_token, sign_in


def _register_form(client: FlaskClient, institution_id: int, **overrides: object) -> dict:
    data = {
        "csrf_token": csrf_token(client, "/admin/"),
        "name": "刘主任",
        "kind": "doctor",
        "title": "主任医师",
        "licence_number": "110000000123",
        "department": "内分泌科",
        "institution_id": str(institution_id),
        "practice_started_on": "2001-09-01",
        "username": "dr.liu",
        "password": "a long password",
        "face_photo": (io.BytesIO(faces.id_photo()), "face.jpg"),
    }
    data.update(overrides)
    return data


def test_admin_registers_a_practitioner_in_the_console(
    client: FlaskClient, session: Session
) -> None:
    admin = factories.account(Role.admin)
    institution = factories.InstitutionFactory(name="第一人民医院")
    sign_in(client, admin.username)
    response = client.post(
        "/admin/",
        data=_register_form(client, institution.id),
        follow_redirects=True,
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert "已登记 刘主任（主任医师）" in page
    assert "第一人民医院" in page
    assert "符合" in page
    assert session.scalar(select(Practitioner.name)) == "刘主任"


def test_console_explains_ineligibility_and_refusals(client: FlaskClient, session: Session) -> None:
    admin = factories.account(Role.admin)
    institution = factories.InstitutionFactory()
    sign_in(client, admin.username)
    this_year = clock.today().year
    page = client.post(
        "/admin/",
        data=_register_form(client, institution.id, practice_started_on=f"{this_year - 1}-01-01"),
        follow_redirects=True,
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "不符合" in page
    assert "须独立临床工作满 3 年" in page
    refused = client.post(
        "/admin/",
        data=_register_form(
            client,
            institution.id,
            username="dr.x",
            licence_number="110000000999",
            face_photo=(io.BytesIO(faces.no_face()), "x.png"),
        ),
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "登记未成功" in refused
    assert "未检测到人脸" in refused


def test_practitioner_face_check_page(client: FlaskClient, session: Session) -> None:
    admin = factories.account(Role.admin)
    institution = factories.InstitutionFactory()
    sign_in(client, admin.username)
    client.post(
        "/admin/", data=_register_form(client, institution.id), content_type="multipart/form-data"
    )
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/admin/")})
    sign_in(client, "dr.liu", "a long password")
    page = client.get("/face-check/").get_data(as_text=True)
    assert "尚未核验或已过期" in page
    wrong = client.post(
        "/face-check/",
        data={
            "csrf_token": csrf_token(client, "/face-check/"),
            "selfie": (io.BytesIO(faces.other_person()), "me.jpg"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "人脸比对未通过" in wrong
    ok = client.post(
        "/face-check/",
        data={
            "csrf_token": csrf_token(client, "/face-check/"),
            "selfie": (io.BytesIO(faces.same_person_variants()["mirrored"]), "me.jpg"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "人脸核验通过" in ok
    assert "核验有效，至" in ok


def test_admin_console_is_for_admins_only(client: FlaskClient, session: Session) -> None:
    doctor = factories.account(Role.doctor)
    sign_in(client, doctor.username)
    assert client.get("/admin/").status_code == 403
