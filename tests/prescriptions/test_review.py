"""Pharmacist review: claims never overlap, approval signs over the doctor-signed content,
rejection goes back with a reason, and a changed prescription cannot be approved. The signed
prescriptions are built through the services (tests.plugins.prescriptions); the review is done
through the API, as the pharmacist does it."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from core import clock
from prescriptions.models import Prescription
from prescriptions.services import review
from tests import factories
from tests.followup.helpers import doctor_headers
from tests.plugins.prescriptions import Build
from tests.prescriptions.helpers import claim, pharmacist_headers

_pharmacist = pharmacist_headers
_claim = claim


def test_two_pharmacists_never_hold_the_same_prescription(
    client: FlaskClient, session: Session, prescribed: Build
) -> None:
    first = prescribed().prescription.id
    second = prescribed(id_number="310104199007084564").prescription.id
    a, b = _pharmacist(session), _pharmacist(session)
    got_a = _claim(client, a)["prescription"]["id"]
    got_b = _claim(client, b)["prescription"]["id"]
    assert [got_a, got_b] == [first, second]  # oldest first, never the same
    assert _claim(client, _pharmacist(session))["prescription"] is None


def test_approval_signs_and_verifies(
    client: FlaskClient, session: Session, prescribed: Build
) -> None:
    pid = prescribed().prescription.id
    ph = _pharmacist(session)
    claimed = _claim(client, ph)
    assert claimed["findings"] == []
    approved = client.post(f"/api/v1/prescriptions/{pid}/approve", headers=ph)
    assert approved.status_code == 200, approved.json
    assert approved.json["state"] == "approved"
    verify = client.get(f"/api/v1/prescriptions/{pid}/verify", headers=ph).json
    assert verify["doctor_signature_valid"] is True
    assert verify["pharmacist_signature_valid"] is True


def test_unclaimed_or_unchecked_approvals_are_refused(
    client: FlaskClient, session: Session, prescribed: Build
) -> None:
    pid = prescribed().prescription.id
    ph = _pharmacist(session)
    assert client.post(f"/api/v1/prescriptions/{pid}/approve", headers=ph).status_code == 403
    _claim(client, ph)
    unchecked = _pharmacist(session, face_checked=False)
    assert client.post(f"/api/v1/prescriptions/{pid}/approve", headers=unchecked).status_code == 403


def test_changed_prescription_cannot_be_approved(
    client: FlaskClient, session: Session, prescribed: Build
) -> None:
    pid = prescribed().prescription.id
    ph = _pharmacist(session)
    _claim(client, ph)
    session.execute(text("UPDATE prescription_items SET dose = 10"))
    session.expire_all()
    response = client.post(f"/api/v1/prescriptions/{pid}/approve", headers=ph)
    assert response.json["code"] == "invalid_state"
    assert "签名校验失败" in response.json["detail"]


def test_rejection_goes_back_with_reason(
    client: FlaskClient, session: Session, prescribed: Build
) -> None:
    pid = prescribed().prescription.id
    ph = _pharmacist(session)
    _claim(client, ph)
    bad = client.post(
        f"/api/v1/prescriptions/{pid}/reject", headers=ph, json={"reason": "nonsense", "note": "x"}
    )
    assert bad.status_code == 422
    rejected = client.post(
        f"/api/v1/prescriptions/{pid}/reject",
        headers=ph,
        json={"reason": "dose", "note": "请核对剂量"},
    )
    assert rejected.json["state"] == "rejected"


def test_doctors_cannot_review(client: FlaskClient, session: Session) -> None:
    response = client.post(
        "/api/v1/pharmacist/claim", headers=doctor_headers(session, factories.practitioner())
    )
    assert response.status_code == 403


def test_the_pre_review_shows_every_rule_the_door_would_refuse(
    client: FlaskClient, session: Session, prescribed: Build
) -> None:
    """One set of rules: what changed since the doctor signed (an allergy declared, the drug
    barred by a new formulary, the dose) is found at review, each as the door words it."""
    pid = prescribed().prescription.id
    row = session.get(Prescription, pid)
    assert row is not None
    assert review.assess(row, clock.today()) == []
    row.person.allergies = json.dumps(["氨氯地平"])
    row.items[0].dose = 20
    session.flush()
    found = {f.code: f for f in review.assess(row, clock.today())}
    assert {"allergy_conflict", "dose_exceeds_max"} <= set(found)
    assert "与患者过敏史（氨氯地平）冲突" in found["allergy_conflict"].message
    assert "日剂量 20 mg 超过最大 10 mg" in found["dose_exceeds_max"].message
    row.items[0].drug.blocked = True  # barred since it was written: that decides it
    assert "controlled_drug" in {f.code for f in review.assess(row, clock.today())}
    row.items[0].dose, row.items[0].drug.blocked = 5, False  # as signed: the allergy remains
    session.flush()
    ph = _pharmacist(session)
    _claim(client, ph)
    refused = client.post(f"/api/v1/prescriptions/{pid}/approve", headers=ph)
    assert refused.status_code == 409
    assert "过敏史" in refused.json["detail"]
