from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import AuditEvent
from identity.models import Role
from tests.helpers import bearer


def test_screen_reports_each_name_and_audits_blocked_ones(
    client: FlaskClient, session: Session
) -> None:
    response = client.post(
        "/api/v1/drugs/screen",
        json={"names": ["奥施康定", "吗丁啉", "维他命X"]},
        headers=bearer(session, Role.doctor),
    )
    assert response.status_code == 200
    results = {r["name"]: r for r in response.json["results"]}
    assert results["奥施康定"]["blocked"] is True
    assert results["奥施康定"]["control_label"] == "麻醉药品"
    assert results["吗丁啉"]["blocked"] is False
    assert results["吗丁啉"]["drug_id"].startswith("D")
    assert results["维他命X"]["known"] is False
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "drug.blocked")).all()
    assert [e.subject_id for e in events] == ["奥施康定"]
    assert events[0].detail["door"] == "api.screen"


def test_search_by_initials(client: FlaskClient, session: Session) -> None:
    response = client.get("/api/v1/drugs?q=aldp", headers=bearer(session, Role.pharmacist))
    drugs = response.json["drugs"]
    assert drugs[0]["generic_name"] == "苯磺酸氨氯地平片"
    assert ["络活喜"] in [d["brands"] for d in drugs if d["generic_name"] == "苯磺酸氨氯地平片"]
    assert all("氨氯地平" in d["generic_name"] for d in drugs)


def test_patients_cannot_screen(client: FlaskClient, session: Session) -> None:
    response = client.post(
        "/api/v1/drugs/screen", json={"names": ["吗啡"]}, headers=bearer(session, Role.patient)
    )
    assert response.status_code == 403
