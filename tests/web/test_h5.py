"""The patient's H5 pages at a phone's size: the journey from sign-in to the pick-up QR code, a
red-flag visit, WeChat web sign-in, and nobody sees another family's records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import Actor
from identity.models import WeChatFollower
from prescriptions.services.drugs import LoadReport
from tests import factories
from tests.browser import screenshot
from tests.fakes import wechat as fake_wechat
from tests.followup.helpers import doctor_headers, patient_with_diagnosis
from tests.helpers import sign_in
from tests.pharmacy.helpers import pharmacy, stock_up
from tests.prescriptions.helpers import claim, pharmacist_headers
from wechat import client as wechat_client

PHONE = {"width": 375, "height": 667}


def _sign_in(page: Any, username: str) -> None:
    base = page.base_url
    page.goto(f"{base}/sign-in")
    page.fill("#username", username)
    page.fill("#password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/h5/")


def test_the_journey_from_sign_in_to_the_pick_up_code(
    client: FlaskClient, session: Session, page: Any, catalogue: LoadReport
) -> None:
    account, _, _ = patient_with_diagnosis(session)
    near = pharmacy(session, "NEAR", 39.91, 116.40)
    stock_up(session, near, "苯磺酸氨氯地平片", 100)
    doctor = factories.practitioner()
    session.commit()
    page.set_viewport_size(PHONE)
    _sign_in(page, account.username)
    screenshot(page, "h5-home")
    page.click("#start-visit")
    page.fill("#complaint", "血压稳定，氨氯地平快吃完了")
    page.check("#consent")
    screenshot(page, "h5-new-visit")
    page.click("#submit-visit")
    page.wait_for_selector("#state")
    assert "待接诊" in page.text_content("#state") or "等待" in page.text_content("main")
    visit_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    dr = doctor_headers(session, doctor)
    assert client.post(f"/api/v1/consultations/{visit_id}/accept", headers=dr).status_code == 200
    client.post(
        f"/api/v1/consultations/{visit_id}/messages",
        headers=dr,
        json={"text": "您好，按原方案续药"},
    )
    written = client.post(
        f"/api/v1/consultations/{visit_id}/prescriptions",
        headers=dr,
        json={"items": [{"drug": "氨氯地平", "dose_mg": 5, "times_per_day": 1, "days": 28}]},
    ).json
    client.post(f"/api/v1/prescriptions/{written['id']}/sign", headers=dr)
    ph = pharmacist_headers(session)
    claim(client, ph)
    assert (
        client.post(f"/api/v1/prescriptions/{written['id']}/approve", headers=ph).status_code == 200
    )
    session.commit()

    page.wait_for_selector("text=您好，按原方案续药")  # appears without reloading
    record = {"chief_complaint": "高血压复诊", "diagnosis_code": "I10.x00x002",
              "diagnosis_name": "原发性高血压", "plan": "继续氨氯地平 5mg 每日一次"}  # fmt: skip
    done = client.post(f"/api/v1/consultations/{visit_id}/complete", headers=dr, json=record)
    assert done.status_code == 200, done.json
    session.commit()
    page.reload()
    assert "继续氨氯地平 5mg 每日一次" in page.text_content("#record")
    screenshot(page, "h5-visit")
    page.goto(f"{page.base_url}/h5/prescriptions")
    page.click(f"text=处方 #{written['id']}")
    assert len(page.text_content("#code").strip()) == 19
    page.select_option("#pharmacy_id", str(near.id))
    page.click("#reserve")
    page.wait_for_selector("#arranged")
    assert "到店自取" in page.text_content("#arranged")
    screenshot(page, "h5-prescription")


def test_a_red_flag_visit_says_what_to_do_now(session: Session, page: Any) -> None:
    account, _, _ = patient_with_diagnosis(session)
    session.commit()
    page.set_viewport_size(PHONE)
    _sign_in(page, account.username)
    page.goto(f"{page.base_url}/h5/visits/new")
    page.fill("#complaint", "今天早上开始胸口痛")
    page.check("input[value=chest_pain]")
    page.check("#consent")
    page.click("#submit-visit")
    page.wait_for_selector("#red-flag")
    assert "120" in page.text_content("#red-flag")
    screenshot(page, "h5-red-flag")


def test_nobody_reaches_another_familys_pages(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    owner, headers, diagnosis_id = patient_with_diagnosis(session)
    from tests.followup.helpers import start_visit

    visit_id = start_visit(client, headers, diagnosis_id).json["id"]
    other = factories.verified_patient("310104199007084564", "李四")
    sign_in(client, other.username)
    assert client.get(f"/h5/visits/{visit_id}").status_code == 404
    assert client.get(f"/h5/visits/{visit_id}/messages.json").status_code == 404
    assert client.get("/h5/prescriptions/1").status_code == 404
    del owner


@pytest.fixture
def fake() -> Iterator[fake_wechat.FakeWeChat]:
    server = fake_wechat.start("wx-oa-h5", "oa-secret")
    wechat_client.forget_clients()
    yield server
    server.stop()


def test_wechat_web_sign_in(make_app: Any, session: Session, fake: Any) -> None:
    app: Flask = make_app(
        WECHAT_OA_APP_ID="wx-oa-h5", WECHAT_OA_APP_SECRET="oa-secret", WECHAT_API_BASE=fake.url
    )
    account, _, _ = patient_with_diagnosis(session)
    session.add(WeChatFollower(app_id="wx-oa-h5", openid="o-h5-1", account_id=account.id,
                               subscribed=True, accepted_templates=[]))  # fmt: skip
    session.flush()
    browser = app.test_client()
    start = browser.get("/h5/auth/wechat")
    target = urlsplit(start.headers["Location"])
    assert target.netloc == "open.weixin.qq.com"
    query = parse_qs(target.query)
    assert query["scope"] == ["snsapi_base"]
    state = query["state"][0]
    fake.oauth_codes["CODE-1"] = "o-h5-1"
    back = browser.get(f"/h5/auth/wechat/return?code=CODE-1&state={state}")
    assert back.headers["Location"].endswith("/h5/")
    assert "发起复诊" in browser.get("/h5/").get_data(as_text=True)
    # A forged state, or a code used twice, signs nobody in.
    other = app.test_client()
    other.get("/h5/auth/wechat")
    refused = other.get("/h5/auth/wechat/return?code=CODE-1&state=forged")
    assert refused.headers["Location"].endswith("/h5/auth/")


def test_sign_with_a_family_doctor_report_a_dangerous_reading_and_see_the_chart(
    session: Session, page: Any
) -> None:
    from followup.models import Referral
    from followup.services import contracts
    from identity.rules import PractitionerKind

    account, _, _ = patient_with_diagnosis(session)
    doctor = factories.practitioner(kind=PractitionerKind.family_doctor, department="全科")
    contracts.create_team(session, Actor.system(), "赵医生团队", "东城中心", doctor, [])
    session.commit()
    page.set_viewport_size(PHONE)
    _sign_in(page, account.username)
    page.goto(f"{page.base_url}/h5/family-doctor/")
    page.click("#sign")  # without ticking the agreement: refused, nothing signed
    page.wait_for_selector("text=请先阅读并同意家庭医生签约服务协议")
    page.check("#sg-agree")
    page.click("#sign")
    page.wait_for_selector("#schedule")
    assert "高血压：下次随访" in page.text_content("#schedule")
    for systolic, diastolic in ((150, 95), (138, 86)):
        page.fill("#rd-systolic", str(systolic))
        page.fill("#rd-diastolic", str(diastolic))
        page.click("#report")
        page.wait_for_selector(f"text=已记录血压 {systolic}/{diastolic} mmHg")
    page.fill("#rd-systolic", "186")
    page.fill("#rd-diastolic", "112")
    page.click("#report")
    page.wait_for_selector("text=已通知医院和您的家庭医生")
    assert "120" in page.text_content("main")
    assert page.locator("#charts svg").count() == 1
    screenshot(page, "h5-family-doctor")
    session.expire_all()
    assert session.query(Referral).count() == 1


AXE = __import__("pathlib").Path(__file__).resolve().parent.parent / "vendor" / "axe.min.js"


def _serious_violations(page: Any) -> list[str]:
    # Evaluated through the browser's debugging protocol: the checker is not part of the page,
    # and the page's Content-Security-Policy (no inline script) rightly refuses a script tag.
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;window.axe = axe;")
    found = page.evaluate(
        """async () => {
            const rules = ["wcag2a", "wcag2aa", "best-practice"];
            const result = await axe.run(document, {runOnly: rules});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
        }"""
    )
    return list(found)


def test_the_main_pages_have_no_serious_accessibility_violations(
    client: FlaskClient, session: Session, page: Any
) -> None:
    from followup.services import contracts
    from identity.rules import PractitionerKind

    account, _, _ = patient_with_diagnosis(session)
    doctor = factories.practitioner(kind=PractitionerKind.family_doctor, department="全科")
    contracts.create_team(session, Actor.system(), "赵医生团队", "东城中心", doctor, [])
    session.commit()
    page.set_viewport_size(PHONE)
    _sign_in(page, account.username)
    found = {}
    for path in (
        "/h5/",
        "/h5/visits/new",
        "/h5/prescriptions",
        "/h5/family-doctor/",
        "/h5/me/",
        "/h5/referrals",
        "/h5/diagnoses",
        "/h5/me/diagnoses/upload",
    ):
        page.goto(page.base_url + path)
        found[path] = _serious_violations(page)
    assert found == {path: [] for path in found}
    # The checker itself works: a page with an unlabelled image and input is caught.
    page.set_content('<html lang="zh"><title>t</title><main><img src="x.png"><input></main></html>')
    caught = " ".join(_serious_violations(page))
    assert "image-alt" in caught
    assert "label" in caught


def test_delivery_and_a_visit_for_a_dependent_without_javascript(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    from followup.models import Consultation
    from pharmacy.models import Fulfilment
    from tests.helpers import csrf_token
    from tests.pharmacy.helpers import approved_with_face

    written = approved_with_face(client, session)
    where = pharmacy(session)
    stock_up(session, where, "苯磺酸氨氯地平片", 100)
    sign_in(client, written.patient.username)
    page = f"/h5/prescriptions/{written.id}"
    token = csrf_token(client, page)
    done = client.post(
        f"{page}/delivery",
        data={"csrf_token": token, "dl-recipient": "张三", "dl-phone": "13800138000",
              "dl-region": "北京市东城区", "dl-detail": "东华门大街 1 号"},
        follow_redirects=True,
    )  # fmt: skip
    assert "已提交配送" in done.get_data(as_text=True)
    row = session.scalar(select(Fulfilment))
    assert row is not None
    assert row.method.value == "delivery"

    child = factories.child_of(written.patient, "510107201506060483", "张小花")  # 11 years old
    diagnosis = factories.diagnosis(child, code="J45.900", name="支气管哮喘")
    token = csrf_token(client, "/h5/visits/new")
    started = client.post(
        "/h5/visits/new",
        data={"csrf_token": token, "person_id": child.id, "diagnosis_id": diagnosis.id,
              "complaint": "哮喘控制可以，续药", "consent": "y"},
    )  # fmt: skip
    assert started.status_code == 302, started.get_data(as_text=True)[:500]
    visit = session.scalar(select(Consultation).where(Consultation.person_id == child.id))
    assert visit is not None
    assert visit.guardian_person_id == written.patient.person_id


def test_a_photo_in_the_visit_reaches_only_this_family(
    client: FlaskClient, session: Session
) -> None:
    import io

    from tests.followup.helpers import start_visit
    from tests.helpers import csrf_token

    account, headers, diagnosis_id = patient_with_diagnosis(session)
    visit_id = start_visit(client, headers, diagnosis_id).json["id"]
    doctor = factories.practitioner()
    client.post(f"/api/v1/consultations/{visit_id}/accept", headers=doctor_headers(session, doctor))
    sign_in(client, account.username)
    path = f"/h5/visits/{visit_id}"
    png = (
        __import__("pathlib").Path(__file__).resolve().parents[2] / "web/static/demo/diagnosis.png"
    )
    sent = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "text": "",
              "photo": (io.BytesIO(png.read_bytes()), "lab.png")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )  # fmt: skip
    assert "我发送的图片" in sent.get_data(as_text=True)
    assert client.get(f"{path}/messages/1/image").mimetype == "image/png"
    other = factories.verified_patient("310104199007084564", "李四")
    stranger = client.application.test_client()
    sign_in(stranger, other.username)
    assert stranger.get(f"{path}/messages/1/image").status_code == 404
