"""Explicit wiring: one call registers every package's outbox senders, tasks and provider
backends, in the web process and in the worker alike; a channel nothing sends is refused where
it is written, and a backend nobody registered fails start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import outbox
from core.audit_checkpoints import PUSH_CHANNEL
from core.models import OutboxMessage
from core.notify import WECHAT_CHANNEL
from followup.services.consultations import SUPERVISION_CHANNEL
from followup.services.referrals import PLATFORM_CHANNEL
from pharmacy.services.courier import CHANNEL as COURIER_CHANNEL
from pharmacy.services.dispensing import SUPERVISION_DISPENSING

EVERY_CHANNEL = {
    "http.json",
    PUSH_CHANNEL,
    WECHAT_CHANNEL,
    SUPERVISION_CHANNEL,
    PLATFORM_CHANNEL,
    COURIER_CHANNEL,
    SUPERVISION_DISPENSING,
}
ROOT = Path(__file__).resolve().parents[2]


def test_a_process_that_only_builds_the_app_can_send_on_every_channel(tmp_path: Path) -> None:
    """As `hospital worker` starts: a fresh interpreter, the app factory, nothing else."""
    script = (
        "import json; from web.app import create_app; from core import outbox, celery_app,"
        " providers; create_app();"
        "print(json.dumps({'channels': sorted(outbox._channels),"
        " 'tasks': sorted(t for t in celery_app.celery.tasks if not t.startswith('celery.')),"
        " 'providers': providers.registered()}))"
    )
    done = _fresh_process(script, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    wired = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(wired["channels"]) >= EVERY_CHANNEL
    assert {"core.relay_outbox", "prescriptions.expire_prescriptions"} <= set(wired["tasks"])
    assert wired["providers"] == {
        "FaceEngine": ["dlib"],
        "IdentityProvider": ["tencent"],
        "HospitalPlatform": ["fhir"],
        "Courier": ["http"],
        "WeChat": ["wechatpy"],
    }


def test_a_backend_nobody_registered_fails_start_up(tmp_path: Path) -> None:
    done = _fresh_process(
        "from web.app import create_app; create_app()", tmp_path, COURIER_BACKEND="sf-express"
    )
    assert done.returncode != 0
    assert "COURIER_BACKEND=sf-express: no such Courier (known: http)" in done.stderr


def _fresh_process(script: str, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DEMO_MODE": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/wiring.db",
        "AUDIT_CHECKPOINT_FILE": str(tmp_path / "checkpoints.jsonl"),
        **extra,
    }
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_a_message_for_a_channel_nobody_sends_is_refused_at_once(
    app: Flask, session: Session
) -> None:
    before = session.scalar(select(func.count()).select_from(OutboxMessage))
    with pytest.raises(outbox.UnknownChannel):
        outbox.enqueue(session, "pharmacy.courrier", {"order": 1})  # a typo of a channel
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == before


def test_two_senders_for_one_channel_fail_start_up(app: Flask) -> None:
    def impostor(*_: object) -> None:
        raise AssertionError("never sent")

    with pytest.raises(RuntimeError, match="two senders"):
        outbox.register_channel(WECHAT_CHANNEL, impostor)
