"""Dependents by consent, tried as an attacker would: a stranger claimed as a spouse, a child
claimed by someone who is not their guardian, a second guardian, a consent withdrawn."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import AuditEvent, Notification
from identity.models import Account, Dependent, DependentState, Role
from identity.services import patients
from tests import faces, factories
from tests.helpers import bearer, seal_and_verify
from tests.people import CHILD_ID_NUMBER

ADULT = "110105198503141235"
STRANGER = "310104199007084564"
CHILD = CHILD_ID_NUMBER


def _patient(session: Session, id_number: str, name: str) -> tuple[Account, dict]:
    account = factories.verified_patient(id_number, name)
    return account, bearer(session, account=account)


def _ask(client: FlaskClient, headers: dict, name: str, id_number: str, relation: str) -> object:
    body = {"name": name, "id_number": id_number, "relation": relation}
    return client.post("/api/v1/me/dependents", headers=headers, json=body)


def _proof(client: FlaskClient, headers: dict, dependent_id: int) -> object:
    return client.post(
        f"/api/v1/me/dependents/{dependent_id}/proof", headers=headers,
        data={"proof_type": "hukou", "proof": (faces.io.BytesIO(faces.id_photo()), "hukou.jpg")},
        content_type="multipart/form-data",
    )  # fmt: skip


def _admin(session: Session) -> dict:
    return bearer(session, Role.admin)


def _can_seek_care(session: Session, account: Account, person_id: int) -> bool:
    session.expire_all()
    try:
        patients.care_context(session, account, person_id)
    except patients.Forbidden:
        return False
    return True


def test_a_stranger_cannot_adopt_an_adult(client: FlaskClient, session: Session) -> None:
    """The issue's attack: link an existing adult as "spouse" and read their records."""
    _, attacker = _patient(session, ADULT, "张三")
    victim, victim_headers = _patient(session, STRANGER, "李四")
    asked = _ask(client, attacker, "李四", STRANGER, "spouse")
    assert asked.status_code == 201
    assert asked.json["state"] == "pending_consent"
    assert asked.json["person"] is None  # nothing of the person is shown
    attacker_account = session.scalars(
        select(Account).where(Account.person_id != victim.person_id, Account.role == Role.patient)
    ).first()
    assert attacker_account is not None
    assert not _can_seek_care(session, attacker_account, victim.person_id)  # type: ignore[arg-type]
    # Their diagnoses, readings and allergies stay closed to the requester.
    pid = victim.person_id
    assert client.get(f"/api/v1/me/readings?person_id={pid}", headers=attacker).status_code == 403
    wiped = client.put("/api/v1/me/allergies", headers=attacker,
                       json={"person_id": pid, "allergies": []})  # fmt: skip
    assert wiped.status_code == 403
    # The victim is told, and declines.
    note = session.scalars(select(Notification).where(Notification.account_id == victim.id)).one()
    assert "申请将您添加为就诊人" in note.title
    requests_ = client.get("/api/v1/me/consent-requests", headers=victim_headers).json["requests"]
    assert len(requests_) == 1
    declined = client.post(f"/api/v1/me/consent-requests/{requests_[0]['id']}/decline",
                           headers=victim_headers)  # fmt: skip
    assert declined.status_code == 200
    assert not _can_seek_care(session, attacker_account, pid)  # type: ignore[arg-type]
    # The attacker cannot confirm on the victim's behalf.
    assert client.post(f"/api/v1/me/consent-requests/{requests_[0]['id']}/confirm",
                       headers=attacker).status_code == 404  # fmt: skip


def test_an_adult_without_a_verified_account_cannot_be_added(
    client: FlaskClient, session: Session
) -> None:
    _, headers = _patient(session, ADULT, "张三")
    response = _ask(client, headers, "王五", "33010619650201235X", "parent")
    assert response.status_code == 409
    assert response.json["code"] == "dependent_needs_account"


def test_an_adult_who_consents_then_withdraws(client: FlaskClient, session: Session) -> None:
    holder, headers = _patient(session, ADULT, "张三")
    spouse, spouse_headers = _patient(session, STRANGER, "李四")
    link = _ask(client, headers, "李四", STRANGER, "spouse").json
    assert client.post(f"/api/v1/me/consent-requests/{link['id']}/confirm",
                       headers=spouse_headers).status_code == 200  # fmt: skip
    assert _can_seek_care(session, holder, spouse.person_id)  # type: ignore[arg-type]
    me = client.get("/api/v1/me", headers=headers).json
    assert me["dependents"][0]["state"] == "active"
    assert me["dependents"][0]["person"]["name"] == "李*"
    links = client.get("/api/v1/me/linked-by", headers=spouse_headers).json["links"]
    assert links[0]["state"] == "active"
    assert client.post(f"/api/v1/me/linked-by/{links[0]['id']}/withdraw",
                       headers=spouse_headers).status_code == 204  # fmt: skip
    assert not _can_seek_care(session, holder, spouse.person_id)  # type: ignore[arg-type]
    assert client.get("/api/v1/me", headers=headers).json["dependents"][0]["person"] is None


def test_a_child_needs_a_proof_that_staff_accept(client: FlaskClient, session: Session) -> None:
    parent, headers = _patient(session, ADULT, "张三")
    asked = _ask(client, headers, "张小宝", CHILD, "child").json
    assert asked["state"] == "pending_proof"
    assert asked["is_guardian"] is True
    child = session.get(Dependent, asked["id"])
    assert child is not None
    assert not _can_seek_care(session, parent, child.person_id)
    assert _proof(client, headers, asked["id"]).json["state"] == "pending_review"
    queue = client.get("/api/v1/admin/dependent-reviews", headers=_admin(session)).json["reviews"]
    assert [r["id"] for r in queue] == [asked["id"]]
    proof = client.get(queue[0]["proof_url"], headers=_admin(session))
    assert proof.status_code == 200
    assert (
        proof.headers["Cache-Control"].startswith("private")
        or "no-store" in proof.headers["Cache-Control"]
    )
    # A patient cannot review; staff can.
    assert client.post(f"/api/v1/admin/dependent-reviews/{asked['id']}/decision", headers=headers,
                       json={"approve": True}).status_code == 403  # fmt: skip
    decision = f"/api/v1/admin/dependent-reviews/{asked['id']}/decision"
    decided = client.post(decision, headers=_admin(session), json={"approve": True, "note": "一致"})
    assert decided.json["state"] == "active"
    assert _can_seek_care(session, parent, child.person_id)
    assert patients.care_context(session, parent, child.person_id).guardian is not None


def test_a_child_claimed_by_a_non_guardian_is_refused_by_staff(
    client: FlaskClient, session: Session
) -> None:
    stranger, headers = _patient(session, STRANGER, "李四")
    asked = _ask(client, headers, "张小宝", CHILD, "child").json
    assert _proof(client, headers, asked["id"]).status_code == 200
    decision = f"/api/v1/admin/dependent-reviews/{asked['id']}/decision"
    refused = client.post(
        decision, headers=_admin(session), json={"approve": False, "note": "不符"}
    )
    assert refused.json["state"] == "declined"
    row = session.get(Dependent, asked["id"])
    assert row is not None
    assert not _can_seek_care(session, stranger, row.person_id)


def test_a_second_guardian_needs_the_first_ones_consent(
    client: FlaskClient, session: Session
) -> None:
    mother = factories.verified_patient(ADULT, "张三")
    child = factories.child_of(mother, CHILD)
    _, other = _patient(session, STRANGER, "李四")
    asked = _ask(client, other, "张小宝", CHILD, "child").json
    waiting = _proof(client, other, asked["id"]).json
    assert waiting["state"] == "pending_consent"  # not to staff yet: the mother decides first
    mother_headers = bearer(session, account=mother)
    requests_ = client.get("/api/v1/me/consent-requests", headers=mother_headers).json["requests"]
    assert requests_[0]["as_guardian"] is True
    assert client.post(f"/api/v1/me/consent-requests/{asked['id']}/decline",
                       headers=mother_headers).status_code == 200  # fmt: skip
    assert client.get("/api/v1/admin/dependent-reviews",
                      headers=_admin(session)).json["reviews"] == []  # fmt: skip
    other_account = session.scalars(
        select(Account).where(Account.person_id != mother.person_id, Account.role == Role.patient)
    ).first()
    assert other_account is not None
    assert not _can_seek_care(session, other_account, child.id)


def test_bad_proofs_change_nothing(client: FlaskClient, session: Session) -> None:
    _, headers = _patient(session, ADULT, "张三")
    asked = _ask(client, headers, "张小宝", CHILD, "child").json
    bad = client.post(
        f"/api/v1/me/dependents/{asked['id']}/proof", headers=headers,
        data={"proof_type": "hukou", "proof": (faces.io.BytesIO(b"<svg></svg>"), "x.svg")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert bad.status_code == 422
    assert bad.json["code"] == "invalid_proof"
    assert session.get(Dependent, asked["id"]).state is DependentState.pending_proof  # type: ignore[union-attr]


def test_every_step_is_audited_and_the_chain_holds(client: FlaskClient, session: Session) -> None:
    _, headers = _patient(session, ADULT, "张三")
    _, spouse_headers = _patient(session, STRANGER, "李四")
    link = _ask(client, headers, "李四", STRANGER, "spouse").json
    client.post(f"/api/v1/me/consent-requests/{link['id']}/confirm", headers=spouse_headers)
    client.delete(f"/api/v1/me/dependents/{link['id']}", headers=headers)
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_type == "dependent")
    ).all()
    assert actions == ["dependent.request", "dependent.consent", "dependent.remove"]
    assert seal_and_verify(session).ok


def test_the_h5_page_shows_requests_and_pending_links(app: Flask, session: Session) -> None:
    from tests.helpers import csrf_token, sign_in

    holder = factories.verified_patient(ADULT, "张三")
    spouse = factories.verified_patient(STRANGER, "李四")
    client = app.test_client()
    _ask(client, bearer(session, account=holder), "李四", STRANGER, "spouse")
    sign_in(client, spouse.username)
    page = client.get("/h5/me/").get_data(as_text=True)
    assert "待您确认" in page
    assert "申请将您添加为就诊人" in page
    link_id = session.scalars(select(Dependent.id)).one()
    token = csrf_token(client, "/h5/me/")
    done = client.post(f"/h5/me/consent/{link_id}/confirm", data={"csrf_token": token})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Dependent, link_id).state is DependentState.active  # type: ignore[union-attr]


def test_staff_review_a_proof_in_the_admin_console(client: FlaskClient, session: Session) -> None:
    from tests.helpers import csrf_token, sign_in

    _, headers = _patient(session, ADULT, "张三")
    asked = _ask(client, headers, "张小宝", CHILD, "child").json
    _proof(client, headers, asked["id"])
    admin = factories.account(Role.admin)
    sign_in(client, admin.username)
    page = client.get("/admin/").get_data(as_text=True)
    assert "监护关系审核（1）" in page
    assert client.get(f"/admin/dependent-reviews/{asked['id']}/proof").status_code == 200
    token = csrf_token(client, "/admin/")
    done = client.post(f"/admin/dependent-reviews/{asked['id']}/approve",
                       data={"csrf_token": token})  # fmt: skip
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Dependent, asked["id"]).state is DependentState.active  # type: ignore[union-attr]
