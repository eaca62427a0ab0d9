"""The patient's real-name pages in Chromium at a phone's width: register, do 人脸核身 on the
provider's page (the fake, holding the public-security photo), come back verified."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from identity.models import Role
from identity.verification import fake_server
from tests import faces, factories
from tests.browser import screenshot
from tests.fakes import faceid
from tests.web.test_h5 import PHONE, _sign_in


@pytest.fixture
def faceid_server() -> Iterator[fake_server.Running]:
    with faceid.running() as server:
        yield server


@pytest.fixture
def live_server(make_app: Any, faceid_server: fake_server.Running, session: Any) -> Iterator[str]:
    """This module's pages are served by an app that talks to the fake 人脸核身."""
    app = make_app(**faceid.settings_for(faceid_server))
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_real_name_then_face_check_on_the_providers_page(
    session: Any, page: Any, tmp_path: Path
) -> None:
    account = factories.account(Role.patient)
    session.commit()
    selfie = tmp_path / "me.jpg"
    selfie.write_bytes(faces.encode(faces.selfie_640x480()))
    page.set_viewport_size(PHONE)
    _sign_in(page, account.username)
    page.click("#verify-link")
    page.fill("#rn-name", faceid.ADULT[0])
    page.fill("#rn-id_number", "110105198503141234")  # wrong check digit
    page.fill("#rn-phone", "13800138000")
    page.click("#save-real-name")
    assert "身份证号码无效" in page.text_content("main")
    page.fill("#rn-name", faceid.ADULT[0])
    page.fill("#rn-id_number", faceid.ADULT[1])
    page.fill("#rn-phone", "13800138000")
    page.click("#save-real-name")
    page.wait_for_selector("#face-form")
    assert page.locator("input[type=file]").count() == 0  # no photo of ours to upload
    page.click("#verify-face")
    page.wait_for_selector("text=人脸核身（演示服务）")  # the provider's page
    page.set_input_files("input[name=selfie]", str(selfie))
    page.click("button[type=submit]")
    page.wait_for_selector("text=实名认证完成")
    assert "人脸核验：已通过" in page.text_content("#verification")
    screenshot(page, "h5-identity-verified")


def test_a_stranger_face_is_refused_on_the_providers_page(
    session: Any, page: Any, tmp_path: Path
) -> None:
    account = factories.account(Role.patient)
    session.commit()
    stranger = tmp_path / "other.jpg"
    stranger.write_bytes(faces.other_person())
    page.set_viewport_size(PHONE)
    _sign_in(page, account.username)
    page.click("#verify-link")
    page.fill("#rn-name", faceid.ADULT[0])
    page.fill("#rn-id_number", faceid.ADULT[1])
    page.fill("#rn-phone", "13800138000")
    page.click("#save-real-name")
    page.click("#verify-face")
    page.set_input_files("input[name=selfie]", str(stranger))
    page.click("button[type=submit]")
    page.wait_for_selector("text=人脸核身未通过")
    assert "人脸核验：未通过" in page.text_content("#verification")
