"""The kiosk screen from scan to dispense, in a real browser (and refusals in Chinese)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from pharmacy.models import Dispensing
from pharmacy.services import kiosk
from tests import faces, factories
from tests.browser import screenshot, serving, sign_in_as
from tests.fakes.id_card_reader import FakeReaderService
from tests.helpers import csrf_token, sign_in, trace_codes
from tests.pharmacy.helpers import (
    approved_with_face,
    code_of,
    kiosk_at,
    pharmacist_at,
    pharmacy,
    stock_up,
)

# Every test here prescribes from the shipped catalogue.
pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture
def reader() -> Iterator[FakeReaderService]:
    service = FakeReaderService()
    yield service
    service.stop()


@pytest.fixture
def live_server(make_app: Any, reader: FakeReaderService, session: Any) -> Iterator[str]:
    """The kiosk screen of this module asks the fake reader service for the card."""
    with serving(make_app(KIOSK_READER_URL=reader.url)) as url:
        yield url


def _counter(client: FlaskClient, session: Session) -> dict[str, Any]:
    where = pharmacy(session)
    stock_up(session, where, "苯磺酸氨氯地平片", 100)
    written = approved_with_face(client, session)
    terminal = kiosk_at(session, where)
    terminal.kiosk.account.password_hash = factories.PASSWORD_HASH  # its device secret
    session.flush()
    return {
        "code": code_of(session, written.id),
        "terminal": terminal,
        "pharmacist": pharmacist_at(session, where),
        "written": written,
    }


def test_the_kiosk_screen_refuses_in_chinese(client: FlaskClient, session: Session) -> None:
    counter = _counter(client, session)
    sign_in(client, counter["terminal"].kiosk.account.username)
    token = csrf_token(client, "/kiosk/")
    page = client.post(
        "/kiosk/", data={"csrf_token": token, "token": "1234"}, follow_redirects=True
    )
    assert "取药码无效" in page.get_data(as_text=True)
    # A revoked kiosk's screen stops working at once.
    kiosk.revoke(session, Actor.system(), counter["terminal"].kiosk.id, clock.now())
    session.flush()
    assert client.get("/kiosk/").status_code == 302


def test_a_patient_collects_at_the_kiosk_screen(
    client: FlaskClient, session: Session, page: Any, tmp_path: Any, reader: FakeReaderService
) -> None:
    counter = _counter(client, session)
    session.commit()
    reader.kiosk = counter["terminal"].kiosk  # 张三's card lies on this kiosk's reader
    selfie = tmp_path / "selfie.jpg"
    selfie.write_bytes(faces.encode(faces.selfie_640x480()))
    base = page.base_url
    page.set_viewport_size({"width": 1080, "height": 1920})  # a portrait kiosk screen
    sign_in_as(page, counter["terminal"].kiosk.account.username, factories.PASSWORD, "/kiosk/")
    page.fill("#token", counter["code"].lower())  # typed, as a person might
    page.click("#scan")
    page.wait_for_url(f"{base}/kiosk/serve")
    assert "苯磺酸氨氯地平片 5mg × 28" in page.text_content("#items")
    assert "张*" in page.text_content("main")
    screenshot(page, "kiosk-items")
    page.click("#read-card")
    page.wait_for_selector("text=已读取：张*")
    page.set_input_files("#selfie", str(selfie))
    page.click("#verify")
    page.wait_for_selector("text=身份核验通过，请药师确认发药")
    page.fill("#username", counter["pharmacist"].account.username)
    page.fill("#password", factories.PASSWORD)
    page.fill("#trace_codes", "\n".join(trace_codes(2)))  # as the scanner types them
    page.click("#dispense")
    page.wait_for_selector("#done")
    assert "× 28" in page.text_content("#lots")
    screenshot(page, "kiosk-dispensed")
    session.expire_all()
    record = session.scalar(select(Dispensing))
    assert record is not None
    assert record.prescription_id == counter["written"].id
