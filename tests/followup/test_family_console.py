"""The family-doctor console: worklist, a patient's chart against the target band, and a
follow-up recorded in a real browser."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from followup.models import FollowUpPlan, FollowUpRecord, Reading, ReadingKind
from followup.services import contracts
from identity.rules import PractitionerKind
from tests import factories
from tests.browser import screenshot, sign_in_as
from tests.followup.helpers import patient_with_diagnosis


def _signed_patient_with_readings(client: FlaskClient, session: Session) -> tuple[Any, int]:
    account, patient, _ = patient_with_diagnosis(session)
    doctor = factories.practitioner(kind=PractitionerKind.family_doctor, department="全科")
    team = contracts.create_team(session, Actor.system(), "赵医生团队", "东城中心", doctor, [])
    agreement = client.get("/api/v1/family-doctor/agreement", headers=patient).json
    signed = client.post(
        "/api/v1/me/contracts",
        headers=patient,
        json={"team_id": team.id, "agreement_version": agreement["version"],
              "agreement_digest": agreement["digest"]},
    )  # fmt: skip
    assert signed.status_code == 201, signed.json
    assert account.person is not None
    for days, (sys_, dia) in enumerate([(150, 95), (146, 92), (138, 86), (132, 84), (128, 80)]):
        session.add(
            Reading(person_id=account.person.id, account_id=account.id,
                    kind=ReadingKind.blood_pressure, systolic=sys_, diastolic=dia,
                    band="above" if sys_ >= 140 else "in_band", source="api",
                    measured_at=clock.now() - dt.timedelta(days=20 - days * 4))
        )  # fmt: skip
    session.flush()
    return doctor, signed.json["plans"][0]["id"]


def test_the_worklist_shows_overdue_follow_ups(client: FlaskClient, session: Session) -> None:
    from tests.helpers import sign_in

    doctor, plan_id = _signed_patient_with_readings(client, session)
    plan = session.get(FollowUpPlan, plan_id)
    assert plan is not None
    plan.next_due_on = clock.today() - dt.timedelta(days=3)
    session.flush()
    sign_in(client, doctor.account.username)
    page = client.get("/family-doctor/").get_data(as_text=True)
    assert "逾期未随访（1）" in page
    detail = client.get(f"/family-doctor/plans/{plan_id}").get_data(as_text=True)
    assert "<svg" in detail
    assert "血压趋势（目标 &lt;140/90 mmHg）" in detail


def test_a_follow_up_is_recorded_in_the_browser(
    client: FlaskClient, session: Session, page: Any
) -> None:
    doctor, _ = _signed_patient_with_readings(client, session)
    session.commit()
    sign_in_as(page, doctor.account.username, factories.PASSWORD, "/family-doctor/")
    assert "全部签约居民（1）" in page.text_content("main")
    page.click("#all a.button")
    page.fill("#systolic", "132")
    page.fill("#diastolic", "84")
    page.select_option("#way", "phone")
    page.fill("#notes", "血压控制满意，继续氨氯地平，低盐饮食")
    page.click("#save")
    page.wait_for_selector("text=随访已记录：控制满意")
    assert page.text_content("#next-due") == (clock.today() + dt.timedelta(days=90)).isoformat()
    screenshot(page, "family-doctor-follow-up")
    session.expire_all()
    row = session.scalar(select(FollowUpRecord))
    assert row is not None
    assert row.classification == "satisfactory"
    assert row.way == "phone"
