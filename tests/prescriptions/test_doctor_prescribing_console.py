"""Prescribing in the doctor console: write, sign, revise after a return; refusals in Chinese
and nothing saved; a controlled drug is refused and audited; in a real browser too."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import AuditEvent
from identity.models import Practitioner
from prescriptions.models import Prescription, PrescriptionState
from tests import factories
from tests.browser import screenshot, sign_in_as
from tests.followup.helpers import doctor_headers, patient_with_diagnosis, start_visit
from tests.helpers import csrf_token, sign_in
from tests.prescriptions.helpers import claim, pharmacist_headers

# Every test here prescribes from the shipped catalogue.
pytestmark = pytest.mark.usefixtures("catalogue")


def _accepted_visit(client: FlaskClient, session: Session) -> tuple[int, Practitioner]:
    _, patient, diagnosis_id = patient_with_diagnosis(session)
    visit_id = int(start_visit(client, patient, diagnosis_id).json["id"])
    doctor = factories.practitioner()
    client.post(f"/api/v1/consultations/{visit_id}/accept", headers=doctor_headers(session, doctor))
    return visit_id, doctor


def _rows(*items: tuple[str, str, str, str]) -> dict[str, str]:
    data = {}
    for n, (drug, dose, times, days) in enumerate(items, start=1):
        data |= {f"drug_{n}": drug, f"dose_{n}": dose, f"times_{n}": times, f"days_{n}": days}
    return data


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Prescription)) or 0


def test_write_sign_and_revise_after_a_return(client: FlaskClient, session: Session) -> None:
    visit_id, doctor = _accepted_visit(client, session)
    sign_in(client, doctor.account.username)
    page = f"/doctor/consultations/{visit_id}"
    token = csrf_token(client, page)
    written = client.post(
        f"/doctor/consultations/{visit_id}/prescriptions",
        data={"csrf_token": token, "valid_days": "1", **_rows(("络活喜", "5", "1", "28"))},
        follow_redirects=True,
    )
    text = written.get_data(as_text=True)
    assert "处方已开具，请核对后签名" in text
    assert "苯磺酸氨氯地平片 5mg ×1盒：每次 5 mg，每日一次，口服，共 28 天" in text
    row = session.scalar(select(Prescription))
    assert row is not None
    signed = client.post(
        f"/doctor/prescriptions/{row.id}/sign", data={"csrf_token": token}, follow_redirects=True
    )
    assert "处方已签名，等待药师审核" in signed.get_data(as_text=True)

    ph = pharmacist_headers(session)
    claim(client, ph)
    client.post(
        f"/api/v1/prescriptions/{row.id}/reject",
        headers=ph,
        json={"reason": "dose", "note": "请减量"},
    )
    returned = client.get(page).get_data(as_text=True)
    assert "药师退回：剂量或用法不适宜 — 请减量" in returned
    revised = client.post(
        f"/doctor/prescriptions/{row.id}/revise",
        data={"csrf_token": token, "valid_days": "1", **_rows(("氨氯地平", "2.5", "1", "28"))},
        follow_redirects=True,
    )
    assert "处方已修改，请核对后重新签名" in revised.get_data(as_text=True)
    session.expire_all()
    row = session.get(Prescription, row.id)
    assert row is not None
    assert row.state is PrescriptionState.written
    assert row.revision == 2
    assert row.items[0].dose == 2.5


def test_refusals_are_shown_and_nothing_is_saved(client: FlaskClient, session: Session) -> None:
    visit_id, doctor = _accepted_visit(client, session)
    sign_in(client, doctor.account.username)
    token = csrf_token(client, f"/doctor/consultations/{visit_id}")
    blocked_before = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "drug.blocked")
    )
    for rows, message in (
        (_rows(("奥 施 康 定", "10", "2", "7")), "特殊管理药品不得在互联网医院开具"),
        (_rows(("氨氯地平", "5", "1", "60")), "处方用量超过规定天数"),
        (_rows(("氨氯地平", "abc", "1", "28")), "第 1 行的数字无效"),
        (_rows(("不存在的药", "5", "1", "28")), "药品目录中没有该药品"),
        ({}, "处方中没有药品"),
    ):
        response = client.post(
            f"/doctor/consultations/{visit_id}/prescriptions",
            data={"csrf_token": token, "valid_days": "1", **rows},
            follow_redirects=True,
        )
        assert message in response.get_data(as_text=True), message
    assert _count(session) == 0
    blocked_after = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "drug.blocked")
    )
    assert blocked_after == (blocked_before or 0) + 1


def test_another_doctor_cannot_sign_or_revise(client: FlaskClient, session: Session) -> None:
    visit_id, doctor = _accepted_visit(client, session)
    client.post(
        f"/api/v1/consultations/{visit_id}/prescriptions",
        headers=doctor_headers(session, doctor),
        json={"items": [{"drug": "氨氯地平", "dose_mg": 5, "times_per_day": 1, "days": 28}]},
    )
    row = session.scalar(select(Prescription))
    assert row is not None
    other = factories.practitioner()
    sign_in(client, other.account.username)
    token = csrf_token(client, "/doctor/")
    assert (
        client.post(f"/doctor/prescriptions/{row.id}/sign", data={"csrf_token": token}).status_code
        == 404
    )
    assert row.state is PrescriptionState.written


def test_a_doctor_prescribes_and_signs_in_the_browser(
    client: FlaskClient, session: Session, page: Any
) -> None:
    visit_id, doctor = _accepted_visit(client, session)
    session.commit()
    base = page.base_url
    sign_in_as(page, doctor.account.username, factories.PASSWORD, "/doctor/")
    page.goto(f"{base}/doctor/consultations/{visit_id}")
    form = page.locator("#new-prescription")
    form.locator("[name=drug_1]").fill("苯磺酸氨氯地平片")
    form.locator("[name=dose_1]").fill("5")
    form.locator("[name=times_1]").fill("1")
    form.locator("[name=days_1]").fill("28")
    form.locator("[name=drug_2]").fill("代文")
    form.locator("[name=dose_2]").fill("80")
    form.locator("[name=times_2]").fill("1")
    form.locator("[name=days_2]").fill("28")
    page.click("#prescribe")
    page.wait_for_selector("text=处方已开具，请核对后签名")
    row = session.scalar(select(Prescription))
    assert row is not None
    page.click(f"#sign-{row.id}")
    page.wait_for_selector("text=处方已签名，等待药师审核")
    screenshot(page, "doctor-console-prescription")
    session.expire_all()
    row = session.get(Prescription, row.id)
    assert row is not None
    assert row.state is PrescriptionState.signed
    assert [i.drug.generic_name for i in row.items] == ["苯磺酸氨氯地平片", "缬沙坦胶囊"]
