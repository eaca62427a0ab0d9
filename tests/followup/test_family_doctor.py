"""Family-doctor contracts, home readings, follow-ups, the worklist and reminders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from core.models import Notification
from followup.models import Contract, FollowUpPlan, Reading, Referral
from followup.services import contracts, follow_ups
from identity.models import Practitioner
from identity.rules import PractitionerKind
from tests import factories
from tests.followup.helpers import patient_with_diagnosis
from tests.helpers import bearer


@dataclass
class Setup:
    patient: dict
    doctor: Practitioner
    doctor_headers: dict
    team_id: int


@pytest.fixture
def setup(client: FlaskClient, session: Session) -> Setup:
    _, patient, _ = patient_with_diagnosis(session)  # hypertension confirmed offline
    doctor = factories.practitioner(kind=PractitionerKind.family_doctor, department="全科")
    team = contracts.create_team(session, Actor.system(), "赵医生团队", "东城社区卫生服务中心",
                                 doctor, [])  # fmt: skip
    return Setup(patient, doctor, bearer(session, account=doctor.account), team.id)


def _agreement(client: FlaskClient, headers: dict) -> dict:
    agreement = client.get("/api/v1/family-doctor/agreement", headers=headers).json
    assert "风险告知" in agreement["text"]
    return {"agreement_version": agreement["version"], "agreement_digest": agreement["digest"]}


def _sign(client: FlaskClient, setup: Setup, **extra: Any) -> Any:
    return client.post(
        "/api/v1/me/contracts",
        headers=setup.patient,
        json={"team_id": setup.team_id, **_agreement(client, setup.patient), **extra},
    )


def test_signing_records_consent_and_plans(
    client: FlaskClient, session: Session, setup: Setup
) -> None:
    unread = client.post(
        "/api/v1/me/contracts",
        headers=setup.patient,
        json={"team_id": setup.team_id, "agreement_version": "v1", "agreement_digest": "x"},
    )
    assert unread.status_code == 422
    assert unread.json["code"] == "agreement_required"
    assert "服务内容" in unread.json["agreement_text"]
    signed = _sign(client, setup)
    assert signed.status_code == 201, signed.json
    assert [p["disease"] for p in signed.json["plans"]] == ["hypertension"]
    assert (
        signed.json["plans"][0]["next_due_on"]
        == (clock.today() + dt.timedelta(days=14)).isoformat()
    )
    row = session.get(Contract, signed.json["id"])
    assert row is not None
    assert row.agreement_digest == _agreement(client, setup.patient)["agreement_digest"]
    # One team at a time: a second team (or the same one again) is refused.
    other = factories.practitioner(kind=PractitionerKind.family_doctor, department="全科")
    team2 = contracts.create_team(session, Actor.system(), "另一团队", "西城中心", other, [])
    again = _sign(client, setup, team_id=team2.id)
    assert again.status_code == 409
    assert again.json["code"] == "already_contracted"


def test_terminate_then_sign_elsewhere_and_renew_at_term_end(
    client: FlaskClient, session: Session, setup: Setup
) -> None:
    contract_id = _sign(client, setup).json["id"]
    early = client.post(
        f"/api/v1/me/contracts/{contract_id}/renew",
        headers=setup.patient,
        json=_agreement(client, setup.patient),
    )
    assert early.json["code"] == "invalid_state"  # not yet near the end
    row = session.get(Contract, contract_id)
    assert row is not None
    row.ends_on = clock.today() + dt.timedelta(days=10)
    session.flush()
    renewed = client.post(
        f"/api/v1/me/contracts/{contract_id}/renew",
        headers=setup.patient,
        json=_agreement(client, setup.patient),
    )
    assert renewed.status_code == 201, renewed.json
    assert renewed.json["starts_on"] == (row.ends_on + dt.timedelta(days=1)).isoformat()
    # The follow-up plan (and its schedule) moved to the new contract.
    assert len(renewed.json["plans"]) == 1
    stranger = bearer(session, account=factories.practitioner(
        kind=PractitionerKind.family_doctor, department="全科").account)  # fmt: skip
    path = f"/api/v1/contracts/{renewed.json['id']}/terminate"
    assert client.post(path, headers=stranger, json={"reason": "x"}).status_code == 403
    ended = client.post(path, headers=setup.doctor_headers, json={"reason": "居民搬离辖区"})
    assert ended.json["state"] == "terminated"


@pytest.mark.parametrize(
    "reading",
    [
        {"kind": "blood_pressure", "systolic": 30, "diastolic": 20},
        {"kind": "blood_pressure", "systolic": 400, "diastolic": 90},
        {"kind": "blood_pressure", "systolic": 120, "diastolic": 130},
        {"kind": "glucose", "glucose_mmol": 0},
        {"kind": "weight", "weight_kg": 0.5},
        {"kind": "blood_pressure", "systolic": 130},
    ],
)
def test_implausible_readings_are_refused(
    client: FlaskClient, session: Session, setup: Setup, reading: dict
) -> None:
    response = client.post("/api/v1/readings", headers=setup.patient, json=reading)
    assert response.status_code == 422
    assert response.json["code"] == "implausible_reading"
    assert session.scalar(select(func.count()).select_from(Reading)) == 0


def test_a_dangerous_reading_hands_off_and_alerts_the_family_doctor(
    client: FlaskClient, session: Session, setup: Setup
) -> None:
    _sign(client, setup)
    fine = client.post(
        "/api/v1/readings",
        headers=setup.patient,
        json={"kind": "blood_pressure", "systolic": 128, "diastolic": 82, "pulse": 72},
    )
    assert fine.status_code == 201
    assert fine.json["band"] == "in_band"
    danger = client.post(
        "/api/v1/readings", headers=setup.patient, json={"kind": "glucose", "glucose_mmol": 2.8}
    )
    assert danger.json["band"] == "danger"
    assert danger.json["in_person_required"] is True
    assert "120" in danger.json["advice"]
    assert session.get(Referral, danger.json["referral_id"]) is not None
    told = session.scalar(
        select(Notification).where(Notification.account_id == setup.doctor.account_id)
    )
    assert told is not None
    assert told.kind == "reading.alert"
    work = client.get("/api/v1/family-doctor/worklist", headers=setup.doctor_headers).json
    assert [a["note"] for a in work["alerts"]] == ["最近一次自测读数达到紧急转诊标准"]


def test_follow_ups_by_the_team_set_the_next_date(
    client: FlaskClient, session: Session, setup: Setup
) -> None:
    plan_id = _sign(client, setup).json["plans"][0]["id"]
    visit = {"held_on": clock.today().isoformat(), "way": "clinic", "adherence": "regular"}
    path = f"/api/v1/follow-up-plans/{plan_id}/records"
    outsider = bearer(session, account=factories.practitioner(
        kind=PractitionerKind.family_doctor, department="全科").account)  # fmt: skip
    high = {**visit, "systolic": 150, "diastolic": 95}
    assert client.post(path, headers=outsider, json=high).status_code == 403
    first = client.post(path, headers=setup.doctor_headers,
                        json={**visit, "systolic": 150, "diastolic": 95})  # fmt: skip
    assert first.json["classification"] == "unsatisfactory"
    assert first.json["next_due_on"] == (clock.today() + dt.timedelta(days=14)).isoformat()
    second = client.post(path, headers=setup.doctor_headers,
                         json={**visit, "systolic": 148, "diastolic": 92})  # fmt: skip
    assert second.json["classification"] == "refer"
    assert second.json["referral_id"] is not None
    third = client.post(path, headers=setup.doctor_headers,
                        json={**visit, "systolic": 128, "diastolic": 80})  # fmt: skip
    assert third.json["classification"] == "satisfactory"
    assert third.json["next_due_on"] == (clock.today() + dt.timedelta(days=90)).isoformat()


def test_reminders_once_and_overdue_across_time(
    client: FlaskClient, session: Session, setup: Setup
) -> None:
    _sign(client, setup)
    plan = session.scalar(select(FollowUpPlan))
    assert plan is not None
    due = plan.next_due_on
    # Two days before it is due: the patient is reminded, once however often beat runs.
    two_days_before = dt.datetime.combine(due - dt.timedelta(days=2), dt.time(10), clock.CHINA)
    assert follow_ups.send_reminders(session, two_days_before) == 1
    assert follow_ups.send_reminders(session, two_days_before) == 0
    # A day after it was due, still not held: overdue, the team lead is told, once.
    after = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(10), clock.CHINA)
    assert follow_ups.send_reminders(session, after) == 1
    assert follow_ups.send_reminders(session, after) == 0
    kinds = set(session.scalars(select(Notification.kind)))
    assert {"follow_up.due", "follow_up.overdue"} <= kinds
    work = follow_ups.worklist(session, [setup.team_id], due + dt.timedelta(days=1))
    assert [p.id for p in work.overdue] == [plan.id]


def test_a_guardian_signs_for_a_child_and_hears_before_the_term_ends(
    client: FlaskClient, session: Session, setup: Setup
) -> None:
    from identity.models import Account

    # The patient of the fixture (the only account with a person).
    account = session.scalars(select(Account).where(Account.person_id.is_not(None))).first()
    assert account is not None
    child = factories.child_of(account)
    signed = _sign(client, setup, person_id=child.id, package="basic")
    assert signed.status_code == 201, signed.json
    row = session.get(Contract, signed.json["id"])
    assert row is not None
    assert row.person_id == child.id
    assert row.guardian_person_id == account.person_id
    assert signed.json["plans"] == []  # no chronic disease confirmed for the child
    month_before = dt.datetime.combine(row.ends_on - dt.timedelta(days=20), dt.time(9), clock.CHINA)
    assert follow_ups.send_reminders(session, month_before) == 1
    assert follow_ups.send_reminders(session, month_before) == 0
    told = session.scalar(select(Notification).where(Notification.kind == "contract.ending"))
    assert told is not None
    assert told.account_id == account.id
