"""Demo mode: the demo sign-in and seed exist only there; production refuses weak secrets."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import ConfigError
from core.settings import DEMO_DATA_KEY, DEMO_SECRET_KEY, Settings
from identity import face
from identity.models import Account, Role
from identity.services import dependents, patients, practitioners
from web.cli import cli
from web.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DEMO_SELFIE


def test_demo_sign_in_is_refused_outside_demo_mode(client: FlaskClient, session: Session) -> None:
    response = client.post("/api/v1/auth/demo", json={"username": "patient"})
    assert response.status_code == 403
    assert response.json["code"] == "demo_mode_off"


def test_seed_demo_is_refused_outside_demo_mode(app: Flask, session: Session) -> None:
    result = CliRunner().invoke(cli, ["seed-demo"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code != 0
    assert "DEMO_MODE" in result.output
    assert session.scalar(select(Account).where(Account.username == "admin")) is None


def test_seed_demo_then_demo_tokens_for_every_role(make_app: Any, session: Session) -> None:
    demo = make_app(DEMO_MODE=True)
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: demo)
    first = runner.invoke(cli, ["seed-demo"], obj=info)
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["seed-demo"], obj=info)
    assert "created" not in second.output  # idempotent
    client = demo.test_client()
    for username, role, _ in DEMO_ACCOUNTS:
        response = client.post("/api/v1/auth/demo", json={"username": username})
        assert response.status_code == 200, response.json
        assert response.json["role"] == role.value
        headers = {"Authorization": f"Bearer {response.json['access_token']}"}
        assert client.get("/api/v1/auth/whoami", headers=headers).json["username"] == username
    unknown = client.post("/api/v1/auth/demo", json={"username": "mallory"})
    assert unknown.json["code"] == "unknown_demo_account"
    # Staff sign in to their consoles with the published demo password.
    page_client = demo.test_client()
    from tests.helpers import seal_and_verify, sign_in

    assert sign_in(page_client, "doctor", "demo").headers["Location"] == "/doctor/"
    queue = page_client.get("/doctor/").get_data(as_text=True)
    assert "等待接诊（1）" in queue  # the demo visit waits for the demo doctor
    # The demo prescription waits for the demo pharmacist, who must face-check to sign.
    pharmacist_client = demo.test_client()
    assert sign_in(pharmacist_client, "pharmacist", "demo").headers["Location"] == "/pharmacist/"
    review_queue = pharmacist_client.get("/pharmacist/").get_data(as_text=True)
    assert "待审核（1）" in review_queue
    assert "审核签名前请先完成" in review_queue
    # The demo family doctor sees 张三 with his home readings charted.
    family_client = demo.test_client()
    assert sign_in(family_client, "familydoctor", "demo").headers["Location"] == "/family-doctor/"
    assert "全部签约居民（1）" in family_client.get("/family-doctor/").get_data(as_text=True)
    # The demo kiosk is a terminal of the demo pharmacy, whose stock raises two alerts.
    kiosk_client = demo.test_client()
    assert sign_in(kiosk_client, "kiosk", "demo").headers["Location"] == "/kiosk/"
    assert "仁心大药房（王府井店）" in kiosk_client.get("/kiosk/").get_data(as_text=True)
    admin = client.post("/api/v1/auth/demo", json={"username": "admin"}).json["access_token"]
    from pharmacy.models import Pharmacy

    demo_pharmacy = session.scalar(select(Pharmacy))
    assert demo_pharmacy is not None
    alerts = client.get(
        f"/api/v1/pharmacies/{demo_pharmacy.id}/alerts",
        headers={"Authorization": f"Bearer {admin}"},
    ).json["alerts"]
    assert {(a["kind"], a["generic_name"]) for a in alerts} == {
        ("near_expiry", "苯磺酸氨氯地平片"),
        ("low_stock", "阿托伐他汀钙片"),
    }
    assert seal_and_verify(session).ok
    assert {a.role for a in session.scalars(select(Account))} >= set(Role)
    # The demo patient can seek care (real name and face done) for self and a child under 6;
    # the demo practitioners are eligible and enrolled with the demo face.
    patient = session.scalar(select(Account).where(Account.username == "patient"))
    assert patient is not None
    context = patients.care_context(session, patient, None)
    assert context.patient.id_number == "110105198503141235"
    child = dependents.active(session, patient)[0]
    assert patients.care_context(session, patient, child.person_id).age_on(clock.today()) < 6
    for practitioner in practitioners.all_practitioners(session):
        assert practitioners.eligibility_of(practitioner, clock.today()).eligible
        attempt = practitioners.face_check(
            session, practitioner, DEMO_SELFIE.read_bytes(), face.DlibMatcher(), 60, 5, clock.now()
        )
        assert attempt.row.matched
    # The demo kiosk's reader holds 张三's card: a reading signed with that kiosk's key.
    from pharmacy import id_card
    from pharmacy.models import Kiosk

    kiosk_client = demo.test_client()
    sign_in(kiosk_client, "kiosk", DEMO_PASSWORD)
    reading = kiosk_client.get("/kiosk/demo-reader").get_data(as_text=True)
    terminal = session.scalars(select(Kiosk)).first()
    assert terminal is not None
    assert terminal.reader_key
    card = id_card.verify(reading, terminal.reader_key, clock.now())
    assert card.id_number == "110105198503141235"


STRONG_SECRET = secrets.token_hex(32)
STRONG_DATA_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"SECRET_KEY": DEMO_SECRET_KEY, "DATA_KEY": "x"},
        {"SECRET_KEY": "a-private-secret"},
        {"SECRET_KEY": "a-private-secret", "DATA_KEY": DEMO_DATA_KEY},
        # From the security probe: a one-letter key, and the demo key with one more "=".
        {"SECRET_KEY": "x", "DATA_KEY": STRONG_DATA_KEY},
        {"SECRET_KEY": STRONG_SECRET, "DATA_KEY": DEMO_DATA_KEY + "="},
        {"SECRET_KEY": "a" * 40, "DATA_KEY": STRONG_DATA_KEY},  # long but not random
        {"SECRET_KEY": DEMO_SECRET_KEY + "!!", "DATA_KEY": STRONG_DATA_KEY},
    ],
)
def test_refuses_to_start_outside_demo_mode_with_default_secrets(
    env: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env, tmp_path)


def test_rejects_a_malformed_data_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings.from_env({"SECRET_KEY": STRONG_SECRET, "DATA_KEY": "c2hvcnQ="}, tmp_path)


def test_demo_mode_runs_on_embedded_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"DEMO_MODE": "1"}, tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'hospital.sqlite3'}"
    assert settings.celery_eager
    assert settings.redis_url is None


def test_cli_explains_refused_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DEMO_MODE", raising=False)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert "configuration refused: SECRET_KEY must be set" in result.output


def test_gen_key_needs_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    result = CliRunner().invoke(cli, ["gen-key"])
    assert result.exit_code == 0
    Settings.from_env({"SECRET_KEY": STRONG_SECRET, "DATA_KEY": result.output.strip()}, Path("."))


def test_strong_private_keys_are_accepted(tmp_path: Path) -> None:
    settings = Settings.from_env({"SECRET_KEY": STRONG_SECRET, "DATA_KEY": STRONG_DATA_KEY},
                                 tmp_path)  # fmt: skip
    assert not settings.demo_mode
