"""人脸核身 against the authoritative source, tried as an attacker would: the patient never
supplies the reference photo, the result is fetched by the server from the provider (signed
both ways), for the account and the person that opened the check, once."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from identity.models import Account, IdentityCheck, IdentityCheckState, Role
from identity.verification import fake_server
from tests import faces, factories
from tests.fakes import faceid
from tests.helpers import bearer


def _registered(app: Flask, session: Session, name: str, id_number: str) -> tuple[dict, Account]:
    account = factories.account(Role.patient)
    headers = bearer(session, account=account)
    registered = app.test_client().post(
        "/api/v1/me/real-name",
        json={"name": name, "id_number": id_number, "phone": "13812345678"},
        headers=headers,
    )
    assert registered.status_code == 200, registered.json
    return headers, account


def _verified(app: Flask, headers: dict) -> bool:
    me = app.test_client().get("/api/v1/me", headers=headers).json
    return bool(me["verification"]["verified"])


def test_the_live_face_matches_the_public_security_photo(
    faceid_app: Flask, session: Session
) -> None:
    headers, _ = _registered(faceid_app, session, *faceid.ADULT)
    assert not _verified(faceid_app, headers)
    finished = faceid.verify(faceid_app, headers)
    assert finished.status_code == 200, finished.json
    assert finished.json["passed"] is True
    assert _verified(faceid_app, headers)
    row = session.scalars(select(IdentityCheck)).one()
    assert row.state is IdentityCheckState.passed
    assert row.provider == "tencent-faceid"
    raw = session.execute(text("SELECT token FROM identity_checks")).scalar_one()
    assert row.token.encode() not in bytes(raw)  # the token is sealed at rest


def test_a_made_up_identity_cannot_be_verified_with_any_photo(
    faceid_app: Flask, session: Session
) -> None:
    """The issue's attack: 钱七, an ID number nobody holds, with one selfie for everything."""
    headers, _ = _registered(faceid_app, session, "钱七", "110105199001011232")
    finished = faceid.verify(faceid_app, headers, faces.id_photo())
    assert finished.status_code == 422
    assert finished.json["code"] == "identity_check_failed"
    assert finished.json["result"] == "3001"
    assert not _verified(faceid_app, headers)


def test_someone_elses_number_with_my_face_fails(faceid_app: Flask, session: Session) -> None:
    headers, _ = _registered(faceid_app, session, *faceid.ADULT)  # 张三's number
    finished = faceid.verify(faceid_app, headers, faces.other_person())  # not 张三's face
    assert finished.status_code == 422
    assert finished.json["result"] == "2004"
    assert not _verified(faceid_app, headers)


def test_the_old_two_photo_endpoint_is_gone(faceid_app: Flask, session: Session) -> None:
    headers, _ = _registered(faceid_app, session, *faceid.ADULT)
    photo = faces.id_photo()
    response = faceid_app.test_client().post(
        "/api/v1/me/face-verification",
        data={"id_photo": (faces.io.BytesIO(photo), "a.jpg"),
              "selfie": (faces.io.BytesIO(photo), "b.jpg")},
        headers=headers, content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 404
    assert not _verified(faceid_app, headers)


def test_a_result_is_used_once_and_only_by_its_account(faceid_app: Flask, session: Session) -> None:
    headers, _ = _registered(faceid_app, session, *faceid.ADULT)
    client = faceid_app.test_client()
    started = client.post("/api/v1/me/identity-verification", headers=headers).json
    result_url = f"/api/v1/me/identity-verification/{started['token']}/result"
    # Before the liveness step: not finished, nothing decided.
    early = client.post(result_url, headers=headers)
    assert early.json["code"] == "verification_pending"
    faceid.do_liveness(started["url"], faces.same_person_variants()["brighter"])
    # Another patient replays the token: it is not theirs.
    other_headers, _ = _registered(faceid_app, session, *faceid.OTHER)
    stolen = client.post(result_url, headers=other_headers)
    assert stolen.status_code == 404
    assert not _verified(faceid_app, other_headers)
    assert client.post(result_url, headers=headers).status_code == 200
    replay = client.post(result_url, headers=headers)
    assert replay.json["code"] == "verification_used"


def test_a_check_opened_outside_the_hospital_is_not_accepted(
    faceid_app: Flask, faceid_server: fake_server.Running, session: Session
) -> None:
    """A BizToken for a check the attacker passed elsewhere (their own face and number) cannot
    verify an account here: only checks this account opened count."""
    from identity.verification.tencent import TencentFaceId

    provider = TencentFaceId(faceid_app.extensions["hospital.settings"])
    foreign = provider.start(faceid.OTHER[0], faceid.OTHER[1], "http://127.0.0.1/back")
    faceid.do_liveness(foreign.url, faces.other_person())
    assert provider.result(foreign.token).passed  # a genuine pass, for someone
    headers, _ = _registered(faceid_app, session, *faceid.ADULT)
    response = faceid_app.test_client().post(
        f"/api/v1/me/identity-verification/{foreign.token}/result", headers=headers
    )
    assert response.status_code == 404
    assert not _verified(faceid_app, headers)


def test_a_provider_answer_about_another_person_is_refused(
    faceid_app: Flask, faceid_server: fake_server.Running, session: Session
) -> None:
    """Even a passed check counts only if the provider says it was for the name and number on
    record (a provider-side mix-up or a tampered answer)."""
    headers, _ = _registered(faceid_app, session, *faceid.ADULT)
    client = faceid_app.test_client()
    started = client.post("/api/v1/me/identity-verification", headers=headers).json
    check = faceid_server.state.checks[started["token"]]
    check.id_number, check.name = faceid.OTHER[1], faceid.OTHER[0]
    faceid.do_liveness(started["url"], faces.other_person())
    finished = client.post(
        f"/api/v1/me/identity-verification/{started['token']}/result", headers=headers
    )
    assert finished.json["result"] == "identity_mismatch"
    assert not _verified(faceid_app, headers)


def test_a_wrongly_signed_client_is_refused_by_the_provider(
    make_app: object, faceid_server: fake_server.Running, session: Session
) -> None:
    app: Flask = make_app(**faceid.settings_for(faceid_server, FACEID_SECRET_KEY="not-the-key"))  # type: ignore[operator]
    headers, _ = _registered(app, session, *faceid.ADULT)
    response = app.test_client().post("/api/v1/me/identity-verification", headers=headers)
    assert response.status_code == 503
    assert response.json["code"] == "identity_provider_unavailable"
    assert session.scalar(select(func.count()).select_from(IdentityCheck)) == 0


def test_an_expired_check_cannot_be_finished(faceid_app: Flask, session: Session) -> None:
    headers, _ = _registered(faceid_app, session, *faceid.ADULT)
    client = faceid_app.test_client()
    started = client.post("/api/v1/me/identity-verification", headers=headers).json
    faceid.do_liveness(started["url"], faces.id_photo())
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    session.execute(text("UPDATE identity_checks SET expires_at = :t"), {"t": past})
    finished = client.post(
        f"/api/v1/me/identity-verification/{started['token']}/result", headers=headers
    )
    assert finished.json["code"] == "verification_expired"
    assert not _verified(faceid_app, headers)


def test_five_checks_a_day(faceid_app: Flask, session: Session) -> None:
    headers, _ = _registered(faceid_app, session, *faceid.ADULT)
    client = faceid_app.test_client()
    for _ in range(5):
        assert client.post("/api/v1/me/identity-verification", headers=headers).status_code == 201
    blocked = client.post("/api/v1/me/identity-verification", headers=headers)
    assert blocked.status_code == 429
    assert blocked.json["code"] == "too_many_attempts"


def test_unconfigured_provider_refuses_rather_than_falls_back(
    client: object, session: Session
) -> None:
    headers = bearer(session, account=factories.verified_patient())
    response = client.post("/api/v1/me/identity-verification", headers=headers)  # type: ignore[attr-defined]
    assert response.status_code == 503
