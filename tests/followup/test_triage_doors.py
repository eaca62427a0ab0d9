"""One triage engine at every door: the visit request says why it stops (and asks when a number
is unreadable), and every message a patient writes during a visit is screened — the doctor is
alerted at once and the patient told what to do, in the conversation and in the answer."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import AuditEvent, Notification
from followup.models import Consultation, Referral
from tests import factories
from tests.followup.helpers import doctor_headers, patient_with_diagnosis, start_visit


def test_a_stroke_in_the_complaint_is_never_queued(app: Flask, session: Session) -> None:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    response = start_visit(
        app.test_client(), headers, diagnosis_id,
        complaint="我爸刚才吃饭的时候突然嘴歪了，筷子也拿不住，想续降压药",
    )  # fmt: skip
    assert response.status_code == 409
    body = response.json
    assert body["code"] == "in_person_required"
    assert body["call_120"]
    flag = next(f for f in body["red_flags"] if f["code"] == "stroke")
    assert flag["words"]
    assert "卒中" in flag["source"] + flag["label"]
    assert body["explanation"]
    assert session.scalar(select(func.count()).select_from(Consultation)) == 0
    referral = session.scalars(select(Referral)).one()
    assert any("嘴歪" in item for item in referral.red_flags)  # what fired, for the doctor
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "triage.red_flags")).one()
    assert event.detail["flags"][0]["source"]


def test_a_reading_in_the_complaint_is_judged_too(app: Flask, session: Session) -> None:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    stopped = start_visit(
        app.test_client(), headers, diagnosis_id, complaint="在家量血压 190/120，想加药"
    )
    assert stopped.status_code == 409


def test_an_unreadable_number_is_asked_about_and_changes_nothing(
    app: Flask, session: Session
) -> None:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    response = start_visit(app.test_client(), headers, diagnosis_id, complaint="血糖十几，想续药")
    assert response.status_code == 422
    assert response.json["code"] == "vital_sign_unclear"
    assert response.json["questions"]
    assert session.scalar(select(func.count()).select_from(Consultation)) == 0
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_a_red_flag_during_a_visit_alerts_the_doctor_and_tells_the_patient(
    app: Flask, session: Session
) -> None:
    _patient, headers, diagnosis_id = patient_with_diagnosis(session)
    client = app.test_client()
    visit = start_visit(client, headers, diagnosis_id).json
    doctor = factories.practitioner()
    accepted = client.post(
        f"/api/v1/consultations/{visit['id']}/accept", headers=doctor_headers(session, doctor)
    )
    assert accepted.status_code == 200, accepted.json
    messages = f"/api/v1/consultations/{visit['id']}/messages"
    calm = client.post(messages, json={"text": "最近血压挺稳的"}, headers=headers)
    assert calm.status_code == 201
    assert calm.json["alert"] is None
    sent = client.post(
        f"/api/v1/consultations/{visit['id']}/messages",
        json={"text": "医生，我现在胸口像压了块石头，出了一身冷汗"}, headers=headers,
    )  # fmt: skip
    assert sent.status_code == 201
    assert "120" in sent.json["alert"]
    thread = client.get(f"/api/v1/consultations/{visit['id']}/messages", headers=headers).json
    system = [m for m in thread["messages"] if m["sender_role"] == "system"]
    assert len(system) == 1
    assert "胸口" in system[0]["text"]
    alert = session.scalars(
        select(Notification).where(
            Notification.account_id == doctor.account_id,
            Notification.kind == "consultation.red_flag",
        )
    ).one()
    assert "急性冠脉" in alert.body or "心梗" in alert.body
    assert session.scalar(select(func.count()).select_from(Referral)) == 1


def test_one_open_visit_per_diagnosis(app: Flask, session: Session) -> None:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    client = app.test_client()
    first = start_visit(client, headers, diagnosis_id)
    assert first.status_code == 201
    second = start_visit(client, headers, diagnosis_id)
    assert second.status_code == 409
    assert second.json["code"] == "visit_already_open"
    assert second.json["consultation_id"] == first.json["id"]
    assert session.scalar(select(func.count()).select_from(Consultation)) == 1
    # Once that visit ends, a new one can start.
    cancelled = client.post(f"/api/v1/consultations/{first.json['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.json
    assert start_visit(client, headers, diagnosis_id).status_code == 201
