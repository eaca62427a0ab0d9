"""Who may have a return visit online: the eligibility matrix, consent and red flags.
Every refusal creates no visit."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import OutboxMessage
from followup.models import Consultation, DiagnosisStatus, Referral
from identity.models import Relation, Role
from tests import factories
from tests.followup.helpers import patient_with_diagnosis, start_visit
from tests.helpers import bearer
from tests.people import CHILD_ID_NUMBER


def _visits(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Consultation)) or 0


def test_confirmed_recent_diagnosis_opens_a_visit(client: FlaskClient, session: Session) -> None:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    response = start_visit(client, headers, diagnosis_id)
    assert response.status_code == 201, response.json
    visit = response.json
    assert visit["state"] == "requested"
    assert visit["department"] == "心血管内科"
    assert visit["patient_name"] == "张*"
    row = session.get(Consultation, visit["id"])
    assert row is not None
    assert row.consent_version == "v1"
    assert len(row.consent_digest) == 64


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("someone_elses", "没有该就诊人"),
        ("pending", "尚待医生确认"),
        ("rejected", "未通过"),
        ("other_disease", "不在可在线复诊"),
        ("too_old", "超过 12 个月"),
        ("missing", "没有该就诊人"),
    ],
)
def test_first_visits_are_refused(
    client: FlaskClient, session: Session, case: str, detail: str
) -> None:
    account = factories.verified_patient()
    headers = bearer(session, account=account)
    assert account.person is not None
    other = factories.person("310104199007084564", "李四")
    options: dict[str, Any] = {
        "someone_elses": lambda: factories.diagnosis(other).id,
        "pending": lambda: factories.diagnosis(account.person, status=DiagnosisStatus.pending).id,
        "rejected": lambda: factories.diagnosis(account.person, status=DiagnosisStatus.rejected).id,
        "other_disease": lambda: (
            factories.diagnosis(account.person, code="J06.900", name="急性上呼吸道感染").id
        ),
        "too_old": lambda: factories.diagnosis(account.person, days_ago=400).id,
        "missing": lambda: 999_999,
    }
    response = start_visit(client, headers, options[case]())
    assert response.status_code == 422
    assert response.json["code"] == "first_visit_not_allowed"
    assert detail in response.json["detail"]
    assert response.json["handoff"]["action"] == "book_in_person"
    assert _visits(session) == 0


@pytest.mark.parametrize(("days_ago", "allowed"), [(364, True), (365, True), (366, False)])
def test_a_diagnosis_counts_for_a_year_to_the_day(
    client: FlaskClient, session: Session, days_ago: int, allowed: bool
) -> None:
    """The window's edge, so a shorter window than the year the settings say cannot pass."""
    _, headers, diagnosis_id = patient_with_diagnosis(session, days_ago=days_ago)
    response = start_visit(client, headers, diagnosis_id)
    assert (response.status_code == 201) is allowed, response.json


def test_window_is_configurable(make_app: Any, session: Session) -> None:
    app = make_app(RETURN_VISIT_WINDOW_DAYS=30)
    _, headers, diagnosis_id = patient_with_diagnosis(session, days_ago=45)
    response = start_visit(app.test_client(), headers, diagnosis_id)
    assert response.json["code"] == "first_visit_not_allowed"


def test_consent_is_shown_then_recorded(client: FlaskClient, session: Session) -> None:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    refused = start_visit(client, headers, diagnosis_id, consent=False)
    assert refused.status_code == 422
    assert refused.json["code"] == "consent_required"
    assert "知情同意书" in refused.json["consent_text"]
    assert refused.json["consent_version"] == "v1"
    assert _visits(session) == 0
    assert start_visit(client, headers, diagnosis_id).status_code == 201


def test_unverified_patient_is_refused(client: FlaskClient, session: Session) -> None:
    account = factories.account(Role.patient, person=factories.person())
    assert account.person is not None
    diagnosis = factories.diagnosis(account.person)
    response = start_visit(client, bearer(session, account=account), diagnosis.id)
    assert response.status_code == 403
    assert response.json["code"] == "identity_unverified"
    assert _visits(session) == 0


def test_visit_for_a_child_records_the_guardian(client: FlaskClient, session: Session) -> None:
    parent = factories.verified_patient()
    child = factories.person(CHILD_ID_NUMBER, "张小宝")
    from identity.models import Dependent, DependentState

    session.add(
        Dependent(
            account_id=parent.id,
            person_id=child.id,
            relation=Relation.child,
            is_guardian=True,
            state=DependentState.active,
        )
    )
    session.flush()
    diagnosis = factories.diagnosis(child, code="J45.900", name="支气管哮喘")
    response = start_visit(
        client, bearer(session, account=parent), diagnosis.id, patient_id=child.id
    )
    assert response.status_code == 201, response.json
    assert response.json["guardian_recorded"] is True
    assert response.json["department"] == "呼吸内科"
    row = session.get(Consultation, response.json["id"])
    assert row is not None
    assert row.guardian_person_id == parent.person_id


def test_nobody_starts_a_visit_for_a_stranger(client: FlaskClient, session: Session) -> None:
    account = factories.verified_patient()
    stranger = factories.person("310104199007084564", "李四")
    diagnosis = factories.diagnosis(stranger)
    response = start_visit(
        client, bearer(session, account=account), diagnosis.id, patient_id=stranger.id
    )
    assert response.status_code == 403
    assert _visits(session) == 0


RED_FLAG_REQUESTS = [
    {"symptoms": ["chest_pain"]},
    {"symptoms": ["shortness_of_breath"]},
    {"symptoms": ["fainting"]},
    {"symptoms": ["one_sided_weakness"]},
    {"symptoms": ["slurred_speech"]},
    {"symptoms": ["severe_headache"]},
    {"symptoms": ["vomiting_blood"]},
    {"vitals": {"systolic": 185, "diastolic": 100}},
    {"vitals": {"systolic": 150, "diastolic": 112}},
    {"vitals": {"glucose_mmol": 17.2}},
    {"vitals": {"glucose_mmol": 3.5}},
    {"complaint": "昨晚胸口痛了半小时，想开点药"},
]


@pytest.mark.parametrize("overrides", RED_FLAG_REQUESTS)
def test_red_flags_end_the_online_path_with_a_hand_off(
    client: FlaskClient, session: Session, overrides: dict
) -> None:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    response = start_visit(client, headers, diagnosis_id, **overrides)
    assert response.status_code == 409
    body = response.json
    assert body["code"] == "in_person_required"
    assert body["red_flags"]
    assert body["referral_id"] is not None
    assert _visits(session) == 0
    referral = session.get(Referral, body["referral_id"])
    assert referral is not None
    assert referral.source.value == "triage"
    assert referral.urgency.value in {"emergency", "urgent"}
    if referral.urgency.value == "emergency":
        assert body["call_120"] is True
        assert "120" in body["detail"]
    messages = session.scalars(select(OutboxMessage.idempotency_key)).all()
    assert f"referral-{referral.id}" in messages


def test_red_flag_even_without_consent_or_diagnosis(client: FlaskClient, session: Session) -> None:
    account = factories.verified_patient()
    response = start_visit(
        client, bearer(session, account=account), 999_999, consent=False, symptoms=["chest_pain"]
    )
    assert response.json["code"] == "in_person_required"
    assert response.json["call_120"] is True


def test_red_flag_advice_reaches_an_unverified_patient(
    client: FlaskClient, session: Session
) -> None:
    response = start_visit(client, bearer(session), 1, symptoms=["fainting"])
    assert response.status_code == 409
    assert "120" in response.json["detail"]
    assert response.json["referral_id"] is None
    assert session.scalar(select(func.count()).select_from(Referral)) == 0
