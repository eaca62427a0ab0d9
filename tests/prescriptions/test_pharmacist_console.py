"""The pharmacist console: the queue, claiming, findings, returning with a reason, and a whole
review in a real browser with the keyboard."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from identity.models import Practitioner
from identity.rules import PractitionerKind, Title
from prescriptions.models import Prescription, PrescriptionState
from prescriptions.services.drugs import LoadReport
from tests import factories
from tests.browser import screenshot, sign_in_as
from tests.helpers import csrf_token, sign_in
from tests.prescriptions.helpers import written_prescription


def _pharmacist() -> Practitioner:
    return factories.practitioner(
        kind=PractitionerKind.pharmacist, department="药剂科", title=Title.supervising_pharmacist
    )


def test_queue_claim_and_return_with_a_reason(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    written = written_prescription(client, session)
    pharmacist = _pharmacist()
    sign_in(client, pharmacist.account.username)
    queue = client.get("/pharmacist/").get_data(as_text=True)
    assert "待审核（1）" in queue
    assert "苯磺酸氨氯地平片" in queue

    token = csrf_token(client, "/pharmacist/")
    claimed = client.post("/pharmacist/claim", data={"csrf_token": token})
    assert claimed.headers["Location"] == f"/pharmacist/prescriptions/{written.id}"
    page = client.get(claimed.headers["Location"]).get_data(as_text=True)
    assert "未发现问题" in page
    assert "校验通过" in page
    assert "未记录" in page  # no allergy history: the pharmacist sees it is missing

    token = csrf_token(client, claimed.headers["Location"])
    empty = client.post(
        f"/pharmacist/prescriptions/{written.id}/reject",
        data={"csrf_token": token, "reason": "dose", "note": ""},
        follow_redirects=True,
    )
    assert "请选择退回理由并写明说明" in empty.get_data(as_text=True)
    returned = client.post(
        f"/pharmacist/prescriptions/{written.id}/reject",
        data={"csrf_token": token, "reason": "dose", "note": "剂量请再核对"},
        follow_redirects=True,
    )
    assert f"处方 #{written.id} 已退回医生" in returned.get_data(as_text=True)
    row = session.get(Prescription, written.id)
    assert row is not None
    assert row.state is PrescriptionState.rejected
    assert row.review_note == "剂量请再核对"


def test_a_pharmacist_cannot_approve_without_holding_it(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    written = written_prescription(client, session)
    sign_in(client, _pharmacist().account.username)
    path = f"/pharmacist/prescriptions/{written.id}"
    page = client.get(path).get_data(as_text=True)
    assert "请先在队列中领取本处方再审核" in page
    token = csrf_token(client, path)
    response = client.post(f"{path}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert "请先领取这张处方" in response.get_data(as_text=True)
    row = session.get(Prescription, written.id)
    assert row is not None
    assert row.state is PrescriptionState.signed


def test_a_pharmacist_reviews_and_approves_in_the_browser(
    client: FlaskClient, session: Session, page: Any, catalogue: LoadReport
) -> None:
    written = written_prescription(
        client,
        session,
        items=[
            {"drug": "氨氯地平", "dose_mg": 5, "times_per_day": 1, "days": 28},
            {"drug": "格华止", "dose_mg": 500, "times_per_day": 3, "days": 28},
        ],
    )
    pharmacist = _pharmacist()
    session.commit()

    sign_in_as(page, pharmacist.account.username, factories.PASSWORD, "/pharmacist/")
    assert "待审核（1）" in page.text_content("main")
    screenshot(page, "pharmacist-queue")
    page.click("#claim")
    page.wait_for_url(re.compile(rf".*/pharmacist/prescriptions/{written.id}$"))
    assert "二甲双胍片" in page.text_content("#items")
    assert "未发现问题" in page.text_content("#findings")
    screenshot(page, "pharmacist-review")
    page.keyboard.press("a")  # the shortcut approves and signs
    page.wait_for_selector(f"text=处方 #{written.id} 已审核通过并签名")
    assert "暂无待审核处方" in page.text_content("main")

    session.expire_all()
    row = session.get(Prescription, written.id)
    assert row is not None
    assert row.state is PrescriptionState.approved
    assert row.pharmacist_id == pharmacist.id
