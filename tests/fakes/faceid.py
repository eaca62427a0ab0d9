"""The fake 人脸核身 (identity.verification.fake_server) for tests: started on a free port with
the reference photos of the test identities, and the patient's side of its liveness page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from flask import Flask

from identity.verification import fake_server
from tests import faces

SECRET_ID = "test-faceid-id"
SECRET_KEY = "test-faceid-key"
ADULT = ("张三", "110105198503141235")
OTHER = ("王五", "310104199007084564")


def references() -> dict[str, tuple[str, bytes]]:
    """The source holds 张三's ID photo (the astronaut) and 王五's (Grace Hopper)."""
    return {ADULT[1]: (ADULT[0], faces.id_photo()), OTHER[1]: (OTHER[0], faces.other_person())}


@contextmanager
def running() -> Iterator[fake_server.Running]:
    server = fake_server.serve(fake_server.FakeFaceId(SECRET_ID, SECRET_KEY, references()))
    try:
        yield server
    finally:
        server.stop()


def settings_for(server: fake_server.Running, **extra: Any) -> dict[str, Any]:
    return {"FACEID_API_BASE": server.url, "FACEID_SECRET_ID": SECRET_ID,
            "FACEID_SECRET_KEY": SECRET_KEY, "FACEID_RULE_ID": "1", **extra}  # fmt: skip


def do_liveness(url: str, photo: bytes) -> requests.Response:
    """What the patient's phone does on the provider's page: send a live photo."""
    return requests.post(
        url, files={"selfie": ("live.jpg", photo, "image/jpeg")}, allow_redirects=False, timeout=30
    )


def verify(app: Flask, headers: dict[str, str], photo: bytes | None = None) -> Any:
    """The whole check through the API: start, the liveness step, finish. The finish answer."""
    client = app.test_client()
    started = client.post("/api/v1/me/identity-verification", headers=headers)
    assert started.status_code == 201, started.json
    live = do_liveness(started.json["url"], photo or faces.same_person_variants()["selfie 640x480"])
    assert live.status_code == 302
    token = started.json["token"]
    return client.post(f"/api/v1/me/identity-verification/{token}/result", headers=headers)
