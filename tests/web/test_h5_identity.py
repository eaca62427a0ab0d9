"""The patient's real-name pages in Chromium at a phone's width: register, do 人脸核身 on the
provider's page (the fake, holding the public-security photo), come back verified."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from identity.models import Role
from tests import faces, factories
from tests.browser import screenshot, serving
from tests.fakes import faceid
from tests.web.test_h5 import PHONE, _sign_in


@pytest.fixture
def live_server(faceid_app: Flask, session: Any) -> Iterator[str]:
    """This module's pages are served by an app that talks to the fake 人脸核身."""
    with serving(faceid_app) as url:
        yield url


def _register(page: Any, session: Any) -> None:
    """A new patient on a phone, signed in, on the real-name page."""
    account = factories.account(Role.patient)
    session.commit()
    page.set_viewport_size(PHONE)
    _sign_in(page, account.username)
    page.click("#verify-link")


def _real_name(page: Any, id_number: str) -> None:
    page.fill("#rn-name", faceid.ADULT[0])
    page.fill("#rn-id_number", id_number)
    page.fill("#rn-phone", "13800138000")
    page.click("#save-real-name")


def test_real_name_then_face_check_on_the_providers_page(
    session: Any, page: Any, tmp_path: Path
) -> None:
    selfie = tmp_path / "me.jpg"
    selfie.write_bytes(faces.encode(faces.selfie_640x480()))
    _register(page, session)
    _real_name(page, "110105198503141234")  # wrong check digit
    assert "身份证号码无效" in page.text_content("main")
    _real_name(page, faceid.ADULT[1])
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
    stranger = tmp_path / "other.jpg"
    stranger.write_bytes(faces.other_person())
    _register(page, session)
    _real_name(page, faceid.ADULT[1])
    page.click("#verify-face")
    page.set_input_files("input[name=selfie]", str(stranger))
    page.click("button[type=submit]")
    page.wait_for_selector("text=人脸核身未通过")
    assert "人脸核验：未通过" in page.text_content("#verification")
