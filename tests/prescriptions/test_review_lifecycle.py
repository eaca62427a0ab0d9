"""After review: a returned prescription is revised and signed anew (the returned version
kept), approved ones expire when their validity runs out, and reviews left waiting are
escalated."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core import clock
from core.errors import InvalidState
from identity.rules import PractitionerKind, Title
from prescriptions.models import Prescription
from prescriptions.services import review
from prescriptions.services.drugs import LoadReport
from prescriptions.tasks import escalate_reviews, expire_prescriptions, remind_expiring
from tests import factories
from tests.followup.helpers import doctor_headers
from tests.helpers import bearer
from tests.prescriptions.helpers import (
    ITEM,
    approved_prescription,
    claim,
    pharmacist_headers,
    written_prescription,
)

# Every test here prescribes from the shipped catalogue.
pytestmark = pytest.mark.usefixtures("catalogue")


def _reject(client: FlaskClient, session: Session) -> tuple[int, dict, dict]:
    written = written_prescription(client, session)
    ph = pharmacist_headers(session)
    assert claim(client, ph)["prescription"]["id"] == written.id
    rejected = client.post(
        f"/api/v1/prescriptions/{written.id}/reject",
        headers=ph,
        json={"reason": "dose", "note": "剂量偏大，请核对"},
    )
    assert rejected.json["state"] == "rejected"
    return written.id, written.doctor_headers, ph


def test_a_returned_prescription_is_revised_signed_again_and_approved(
    client: FlaskClient, session: Session
) -> None:
    pid, dr, ph = _reject(client, session)
    inbox = client.get("/api/v1/me/notifications", headers=dr).json["notifications"]
    assert inbox[0]["kind"] == "prescription.rejected"
    assert "剂量偏大" in inbox[0]["body"]
    old_signature = session.get(Prescription, pid).doctor_signature  # type: ignore[union-attr]

    revised = client.put(
        f"/api/v1/prescriptions/{pid}",
        headers=dr,
        json={"items": [{**ITEM, "dose_mg": 2.5}]},
    )
    assert revised.status_code == 200, revised.json
    assert revised.json["state"] == "written"
    assert revised.json["revision"] == 2
    assert revised.json["items"][0]["dose_mg"] == 2.5
    # Not signed, so not in any pharmacist's queue yet.
    assert claim(client, ph)["prescription"] is None

    assert client.post(f"/api/v1/prescriptions/{pid}/sign", headers=dr).status_code == 200
    row = session.get(Prescription, pid)
    assert row is not None
    assert row.doctor_signature != old_signature
    assert claim(client, ph)["prescription"]["id"] == pid
    approved = client.post(f"/api/v1/prescriptions/{pid}/approve", headers=ph)
    assert approved.json["state"] == "approved"
    assert approved.json["revision"] == 2

    from prescriptions.services.records import versions

    kept = versions(session, row)
    assert [v.revision for v in kept] == [1]
    assert kept[0].content["items"][0]["dose"] == 5
    assert kept[0].review_reason == "dose"
    assert kept[0].doctor_signature == old_signature


def test_the_old_signature_does_not_carry_over_to_a_revision(
    client: FlaskClient, session: Session
) -> None:
    """Someone putting the returned version's signature back on the revised content is caught."""
    pid, dr, _ = _reject(client, session)
    row = session.get(Prescription, pid)
    assert row is not None
    old_key, old_signature = row.doctor_signature_key, row.doctor_signature
    client.put(f"/api/v1/prescriptions/{pid}", headers=dr, json={"items": [ITEM]})
    session.expire_all()
    row = session.get(Prescription, pid)
    assert row is not None
    row.doctor_signature_key, row.doctor_signature = old_key, old_signature
    row.state = row.state.signed
    session.flush()
    verify = client.get(f"/api/v1/prescriptions/{pid}/verify", headers=dr).json
    assert verify["doctor_signature_valid"] is False


def test_only_the_prescriber_revises_and_only_before_approval(
    client: FlaskClient, session: Session
) -> None:
    pid, _, _ = _reject(client, session)
    other = doctor_headers(session, factories.practitioner())
    response = client.put(f"/api/v1/prescriptions/{pid}", headers=other, json={"items": [ITEM]})
    assert response.status_code == 403

    approved = approved_prescription(client, session, id_number="310104199007084564")
    response = client.put(
        f"/api/v1/prescriptions/{approved.id}",
        headers=approved.doctor_headers,
        json={"items": [{**ITEM, "days": 14}]},
    )
    assert response.status_code == 409
    assert response.json["code"] == "invalid_state"


def test_a_revision_is_held_to_every_rule(client: FlaskClient, session: Session) -> None:
    pid, dr, _ = _reject(client, session)
    response = client.put(
        f"/api/v1/prescriptions/{pid}", headers=dr, json={"items": [{**ITEM, "drug": "奥施康定"}]}
    )
    assert response.status_code == 422
    assert response.json["code"] == "controlled_drug"
    row = session.get(Prescription, pid)
    assert row is not None
    assert row.state.value == "rejected"
    assert row.revision == 1


def test_approved_prescriptions_expire_after_their_last_valid_day(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    written = approved_prescription(client, session)
    row = session.get(Prescription, written.id)
    assert row is not None
    assert expire_prescriptions() == 0  # still valid today
    row.valid_until = clock.today() - dt.timedelta(days=1)
    session.commit()
    assert expire_prescriptions() == 1
    assert expire_prescriptions() == 0
    shown = client.get(f"/api/v1/prescriptions/{written.id}", headers=written.patient_headers)
    assert shown.json["state"] == "expired"
    assert shown.json["redemption_code"] is None
    inbox = client.get("/api/v1/me/notifications", headers=written.patient_headers).json
    assert inbox["notifications"][0]["kind"] == "prescription.expired"


def test_an_out_of_date_prescription_is_neither_handed_out_nor_approved(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    written = written_prescription(client, session)
    pharmacist = factories.practitioner(
        kind=PractitionerKind.pharmacist, department="药剂科", title=Title.pharmacist
    )
    ph = bearer(session, account=pharmacist.account)
    assert claim(client, ph)["prescription"]["id"] == written.id
    # Two days on, the pharmacist (face-checked then) tries to approve it.
    later = clock.now() + dt.timedelta(days=2)
    pharmacist.face_checked_until = later + dt.timedelta(minutes=10)
    session.flush()
    with pytest.raises(InvalidState, match="有效期"):
        review.approve(session, pharmacist.account, written.id, later)

    stale = written_prescription(client, session, id_number="310104199007084564", sign=False)
    row = session.get(Prescription, stale.id)
    assert row is not None
    row.issued_on = row.valid_until = clock.today() - dt.timedelta(days=1)
    session.commit()
    assert client.post(f"/api/v1/prescriptions/{stale.id}/sign", headers=stale.doctor_headers)
    assert claim(client, pharmacist_headers(session))["prescription"] is None


def test_reviews_left_waiting_are_escalated_and_go_first(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    older = written_prescription(client, session)
    newer = written_prescription(client, session, id_number="310104199007084564")
    assert escalate_reviews() == 0
    # The newer one has waited 40 minutes (its doctor signed it then); the older one not.
    for pid, minutes in ((older.id, 1), (newer.id, 40)):
        row = session.get(Prescription, pid)
        assert row is not None
        row.doctor_signed_at = clock.now() - dt.timedelta(minutes=minutes)
    session.commit()
    assert escalate_reviews() == 1
    assert escalate_reviews() == 0
    ph = pharmacist_headers(session)
    queue = client.get("/api/v1/pharmacist/queue", headers=ph).json["waiting"]
    assert [e["prescription_id"] for e in queue] == [newer.id, older.id]
    assert queue[0]["escalated"] is True
    assert queue[0]["waiting_seconds"] >= 40 * 60
    assert claim(client, ph)["prescription"]["id"] == newer.id
    inbox = client.get("/api/v1/me/notifications", headers=newer.doctor_headers).json
    assert inbox["notifications"][0]["kind"] == "prescription.review_overdue"


def test_the_patient_is_reminded_once_on_the_last_valid_day(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    written = approved_prescription(client, session)  # valid today only
    session.commit()
    assert remind_expiring() == 1
    assert remind_expiring() == 0
    inbox = client.get("/api/v1/me/notifications", headers=written.patient_headers).json
    assert inbox["notifications"][0]["kind"] == "prescription.expiring"
