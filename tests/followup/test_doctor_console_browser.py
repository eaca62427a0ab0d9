"""A doctor walks a return visit through the console in a real browser."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from followup.models import Consultation, ConsultationState
from tests import factories
from tests.browser import screenshot, sign_in_as
from tests.followup.helpers import patient_with_diagnosis, start_visit


def test_doctor_accepts_replies_and_completes_a_visit(
    client: FlaskClient, session: Session, page: Any
) -> None:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    visit = start_visit(client, headers, diagnosis_id).json
    doctor = factories.practitioner()
    session.commit()

    sign_in_as(page, doctor.account.username, factories.PASSWORD, "/doctor/")
    assert "等待接诊（1）" in page.text_content("main")
    page.click("text=查看")
    page.click("#accept")
    assert page.text_content("#state") == "已接诊"
    page.fill("#text", "您好，最近血压控制怎么样？有头晕吗？")
    page.click("#send")
    assert "最近血压控制怎么样" in page.text_content("#chat")
    assert page.text_content("#state") == "问诊中"
    page.fill("#findings", "自测血压 135/85 mmHg")
    page.fill("#plan", "继续氨氯地平 5mg 每日一次，2 周后复测")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click("#complete")
    page.wait_for_selector("text=病历已签名，复诊完成")
    assert "已签名病历（第 1 版）" in page.text_content("main")
    screenshot(page, "doctor-console-visit")

    session.expire_all()
    row = session.get(Consultation, visit["id"])
    assert row is not None
    assert row.state is ConsultationState.completed
    # And on a tablet the same page still works.
    page.set_viewport_size({"width": 800, "height": 1280})
    page.reload()
    screenshot(page, "doctor-console-visit-tablet")
