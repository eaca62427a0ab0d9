"""A visit's life: accepted by a checked doctor, messages in order, a signed record that
never changes, referral, cancellation and expiry; every illegal move refused."""

from __future__ import annotations

import datetime as dt
import io
from itertools import product
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import clock
from core.errors import InvalidState
from core.models import Notification, OutboxMessage
from followup import rules
from followup.models import Consultation, ConsultationState, VisitRecord
from followup.services import visit_records
from followup.tasks import expire_consultations
from identity.models import Practitioner, Role
from tests import faces, factories
from tests.followup.helpers import doctor_headers, patient_with_diagnosis, start_visit
from tests.helpers import bearer

RECORD = {
    "chief_complaint": "高血压复诊，续开降压药",
    "history": "原发性高血压 3 年，规律服用氨氯地平",
    "findings": "自测血压 135/85 mmHg，无不适",
    "diagnosis_code": "I10.x00x002",
    "plan": "继续氨氯地平 5mg 每日一次，2 周后复测血压",
}


@pytest.mark.parametrize(("current", "target"), list(product(ConsultationState, repeat=2)))
def test_state_machine_allows_exactly_its_transitions(
    current: ConsultationState, target: ConsultationState
) -> None:
    if target in rules.TRANSITIONS[current]:
        rules.VISIT.check(current, target)
    else:
        with pytest.raises(InvalidState):
            rules.VISIT.check(current, target)


def _requested(client: FlaskClient, session: Session) -> tuple[dict, int]:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    response = start_visit(client, headers, diagnosis_id)
    assert response.status_code == 201, response.json
    return headers, response.json["id"]


def _post(client: FlaskClient, path: str, headers: dict, json: Any = None) -> Any:
    return client.post(f"/api/v1/consultations/{path}", json=json, headers=headers)


def test_whole_visit(client: FlaskClient, session: Session) -> None:
    patient, visit_id = _requested(client, session)
    doctor = factories.practitioner()
    dr = doctor_headers(session, doctor)
    queue = client.get("/api/v1/doctor/queue", headers=dr).json["consultations"]
    assert [c["id"] for c in queue] == [visit_id]
    assert queue[0]["patient_name"] == "张三"  # the doctor sees the name; the patient view masks

    assert _post(client, f"{visit_id}/accept", dr).json["state"] == "accepted"
    assert (
        _post(client, f"{visit_id}/messages", patient, {"text": "最近血压 135/85"}).status_code
        == 201
    )
    reply = _post(client, f"{visit_id}/messages", dr, {"text": "好的，继续原方案"})
    assert reply.status_code == 201
    photo = client.post(
        f"/api/v1/consultations/{visit_id}/images",
        headers=patient,
        data={"image": (io.BytesIO(faces.id_photo()), "bp.jpg")},
        content_type="multipart/form-data",
    )
    assert photo.status_code == 201
    listed = client.get(f"/api/v1/consultations/{visit_id}/messages", headers=patient).json
    assert [m["seq"] for m in listed["messages"]] == [1, 2, 3]
    assert [m["sender_role"] for m in listed["messages"]] == ["patient", "doctor", "patient"]
    after = client.get(f"/api/v1/consultations/{visit_id}/messages?after=2", headers=dr).json
    assert [m["seq"] for m in after["messages"]] == [3]
    image = client.get(after["messages"][0]["image_url"], headers=dr)
    assert image.data == faces.id_photo()

    done = _post(client, f"{visit_id}/complete", dr, RECORD)
    assert done.status_code == 200, done.json
    assert done.json["signature_valid"] is True
    assert done.json["content"]["diagnosis_name"] == "原发性高血压"
    assert done.json["content"]["diagnosis_code"] == "I10.x00x002"
    record = client.get(f"/api/v1/consultations/{visit_id}/record", headers=patient).json
    assert record["latest"]["version"] == 1
    assert client.get(f"/api/v1/consultations/{visit_id}", headers=patient).json["state"] == (
        "completed"
    )
    kinds = set(session.scalars(select(Notification.kind)))
    assert {"consultation.accepted", "consultation.reply", "consultation.completed"} <= kinds
    keys = session.scalars(select(OutboxMessage.idempotency_key)).all()
    assert f"visit-{visit_id}" in keys  # pushed to the supervision platform


def test_accepting_needs_a_fresh_face_check(client: FlaskClient, session: Session) -> None:
    _, visit_id = _requested(client, session)
    doctor = factories.practitioner(face_checked=False)
    response = _post(client, f"{visit_id}/accept", doctor_headers(session, doctor))
    assert response.status_code == 403
    assert response.json["code"] == "face_check_required"


def test_ineligible_doctor_cannot_accept(client: FlaskClient, session: Session) -> None:
    _, visit_id = _requested(client, session)
    doctor = factories.practitioner(years=2)
    response = _post(client, f"{visit_id}/accept", doctor_headers(session, doctor))
    assert response.json["code"] == "practitioner_not_eligible"


def test_other_department_cannot_accept_or_see(client: FlaskClient, session: Session) -> None:
    _, visit_id = _requested(client, session)
    doctor = factories.practitioner(department="呼吸内科")
    headers = doctor_headers(session, doctor)
    assert _post(client, f"{visit_id}/accept", headers).status_code == 404
    assert client.get("/api/v1/doctor/queue", headers=headers).json["consultations"] == []


def test_second_doctor_cannot_take_an_accepted_visit(client: FlaskClient, session: Session) -> None:
    _, visit_id = _requested(client, session)
    first, second = factories.practitioner(), factories.practitioner()
    assert _post(client, f"{visit_id}/accept", doctor_headers(session, first)).status_code == 200
    again = _post(client, f"{visit_id}/accept", doctor_headers(session, second))
    assert again.status_code in {404, 409}
    message = _post(client, f"{visit_id}/messages", doctor_headers(session, second), {"text": "x"})
    assert message.status_code == 404


@pytest.mark.parametrize(
    ("setup", "action", "payload", "code"),
    [
        ([], "complete", RECORD, "forbidden"),  # not accepted: nobody's visit to complete
        (["accept"], "complete", RECORD, "invalid_state"),  # the visit has not started
        (["accept", "message", "complete"], "cancel", None, "invalid_state"),
        (["accept", "message", "complete"], "referral", {"reason": "x"}, "invalid_state"),
        (["accept", "message", "complete"], "accept", None, "invalid_state"),
        (["cancel"], "accept", None, "not_found"),  # no longer in anyone's queue
    ],
)
def test_illegal_transitions_are_refused(
    client: FlaskClient,
    session: Session,
    setup: list[str],
    action: str,
    payload: Any,
    code: str,
) -> None:
    patient, visit_id = _requested(client, session)
    dr = doctor_headers(session, factories.practitioner())
    for step in setup:
        if step == "message":
            _post(client, f"{visit_id}/messages", dr, {"text": "您好"})
        elif step == "cancel":
            _post(client, f"{visit_id}/cancel", patient)
        else:
            assert (
                _post(
                    client, f"{visit_id}/{step}", dr, RECORD if step == "complete" else None
                ).status_code
                == 200
            )
    before = session.get(Consultation, visit_id)
    assert before is not None
    state = before.state
    response = _post(client, f"{visit_id}/{action}", patient if action == "cancel" else dr, payload)
    assert response.json["code"] == code, response.json
    assert response.status_code == {"invalid_state": 409, "forbidden": 403, "not_found": 404}[code]
    session.expire_all()
    after = session.get(Consultation, visit_id)
    assert after is not None
    assert after.state is state


def test_no_messages_after_the_visit_ends(client: FlaskClient, session: Session) -> None:
    patient, visit_id = _requested(client, session)
    _post(client, f"{visit_id}/cancel", patient)
    response = _post(client, f"{visit_id}/messages", patient, {"text": "还在吗"})
    assert response.json["code"] == "invalid_state"


def test_patient_cannot_act_as_doctor(client: FlaskClient, session: Session) -> None:
    patient, visit_id = _requested(client, session)
    assert _post(client, f"{visit_id}/accept", patient).status_code == 403
    assert _post(client, f"{visit_id}/complete", patient, RECORD).status_code == 403


def test_other_patients_do_not_see_the_visit(client: FlaskClient, session: Session) -> None:
    _, visit_id = _requested(client, session)
    other = factories.verified_patient("310104199007084564", "李四")
    stranger = factories.account(Role.patient)
    for h in (bearer(session, account=stranger), bearer(session, account=other)):
        assert client.get(f"/api/v1/consultations/{visit_id}", headers=h).status_code == 404
        messages = client.get(f"/api/v1/consultations/{visit_id}/messages", headers=h)
        assert messages.status_code == 404


def _completed(client: FlaskClient, session: Session) -> tuple[dict, dict, int]:
    patient, visit_id = _requested(client, session)
    dr = doctor_headers(session, factories.practitioner())
    _post(client, f"{visit_id}/accept", dr)
    _post(client, f"{visit_id}/messages", dr, {"text": "您好"})
    assert _post(client, f"{visit_id}/complete", dr, RECORD).status_code == 200
    return patient, dr, visit_id


def test_record_is_immutable_and_amended_by_new_versions(
    client: FlaskClient, session: Session
) -> None:
    patient, dr, visit_id = _completed(client, session)
    with pytest.raises(DBAPIError, match="immutable"), session.begin_nested():
        session.execute(text("UPDATE visit_records SET signature = 'forged'"))
    with pytest.raises(DBAPIError, match="immutable"), session.begin_nested():
        session.execute(text("DELETE FROM visit_records"))
    amended = _post(
        client,
        f"{visit_id}/record/amendments",
        dr,
        {**RECORD, "plan": "氨氯地平改为 10mg 每日一次", "reason": "剂量笔误"},
    )
    assert amended.status_code == 201, amended.json
    history = client.get(f"/api/v1/consultations/{visit_id}/record", headers=patient).json
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert history["versions"][0]["content"]["plan"].startswith("继续氨氯地平 5mg")
    assert history["latest"]["amendment_reason"] == "剂量笔误"
    assert all(v["signature_valid"] for v in history["versions"])


def test_tampered_record_fails_verification(client: FlaskClient, session: Session) -> None:
    _completed(client, session)
    record = session.scalars(select(VisitRecord)).one()
    content = record.content.replace("5mg", "50mg")
    forged = VisitRecord(
        **{
            c: getattr(record, c)
            for c in (
                "consultation_id",
                "content_digest",
                "doctor_id",
                "signature_algorithm",
                "signature_key",
                "signature",
                "signed_at",
            )
        },
        version=9,
        content=content,
    )
    assert not visit_records.verify_record(session, forged)
    assert visit_records.verify_record(session, record)


def test_amending_needs_a_face_check(client: FlaskClient, session: Session) -> None:
    _, dr, visit_id = _completed(client, session)
    for practitioner in session.scalars(select(Practitioner)):
        practitioner.face_checked_until = None
    session.flush()
    response = _post(client, f"{visit_id}/record/amendments", dr, {**RECORD, "reason": "补充"})
    assert response.json["code"] == "face_check_required"


def test_doctor_refers_the_patient(client: FlaskClient, session: Session) -> None:
    patient, visit_id = _requested(client, session)
    dr = doctor_headers(session, factories.practitioner())
    _post(client, f"{visit_id}/accept", dr)
    response = _post(
        client,
        f"{visit_id}/referral",
        dr,
        {"reason": "血压波动大，需面诊调整方案", "urgency": "urgent"},
    )
    assert response.json["state"] == "referred"
    referrals = client.get("/api/v1/me/referrals", headers=patient).json["referrals"]
    assert referrals[0]["department"] == "心血管内科"
    assert referrals[0]["urgency"] == "urgent"


def test_unaccepted_requests_expire_and_the_patient_is_told(
    client: FlaskClient, session: Session
) -> None:
    patient, visit_id = _requested(client, session)
    row = session.get(Consultation, visit_id)
    assert row is not None
    row.accept_by = clock.now() - dt.timedelta(seconds=1)
    session.commit()
    assert expire_consultations() == 1
    assert expire_consultations() == 0
    assert (
        client.get(f"/api/v1/consultations/{visit_id}", headers=patient).json["state"] == "expired"
    )
    inbox = client.get("/api/v1/me/notifications", headers=patient).json["notifications"]
    assert inbox[0]["kind"] == "consultation.expired"
