"""The hand-off to the hospital platform: FHIR through the outbox while the platform is down
and when it comes back, exactly once; the platform's signed callback books the visit."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.db import utcnow
from core.models import OutboxMessage, OutboxStatus
from core.tasks import relay_outbox
from followup.models import Referral, ReferralState
from identity.services import issue_token
from tests import factories
from tests.fakes import http_receiver
from tests.fakes.http_receiver import Receiver
from tests.followup.helpers import patient_with_diagnosis, start_visit
from web.platform_auth import sign

SECRET = "platform-shared-secret"


@pytest.fixture
def platform() -> Iterator[Receiver]:
    server = http_receiver.start()
    yield server
    server.stop()


@pytest.fixture
def platform_app(make_app: Any, platform: Receiver) -> Flask:
    built: Flask = make_app(HOSPITAL_PLATFORM_URL=platform.url, PLATFORM_CALLBACK_SECRET=SECRET)
    return built


def _red_flag_referral(app: Flask, session: Session) -> tuple[dict, int]:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    response = start_visit(app.test_client(), headers, diagnosis_id, symptoms=["chest_pain"])
    assert response.status_code == 409
    return headers, response.json["referral_id"]


def _make_all_due(session: Session) -> None:
    for message in session.scalars(select(OutboxMessage)):
        message.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
    session.commit()


def test_referral_reaches_the_platform_once_through_an_outage(
    platform_app: Flask, session: Session, platform: Receiver
) -> None:
    platform.fail_next = 3  # the platform is down for the first three attempts
    _, referral_id = _red_flag_referral(platform_app, session)
    for _ in range(5):
        _make_all_due(session)
        relay_outbox()
    key = f"referral-{referral_id}"
    attempts = [r for r in platform.received if r.headers.get("Idempotency-Key") == key]
    assert len(attempts) == 4  # three failures, then delivered; never again afterwards
    assert list(platform.applied) == [key]  # exactly one ServiceRequest applied
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
    ).one()
    assert message.status is OutboxStatus.delivered

    bundle = Bundle.model_validate(platform.applied[key])
    resources = {e.resource.get_resource_type(): e.resource for e in bundle.entry}
    assert set(resources) == {"Patient", "Condition", "ServiceRequest"}
    request = resources["ServiceRequest"]
    assert request.priority == "stat"
    assert request.subject.reference == bundle.entry[0].fullUrl
    assert resources["Patient"].identifier[0].value == "110105198503141235"
    assert resources["Condition"].code.coding[0].code == "I10.x00x002"
    assert attempts[-1].path == "/fhir"


def test_no_platform_configured_keeps_the_referral_pending(make_app: Any, session: Session) -> None:
    unconfigured = make_app(HOSPITAL_PLATFORM_URL="")
    _, referral_id = _red_flag_referral(unconfigured, session)

    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == f"referral-{referral_id}")
    ).one()
    assert message.status is OutboxStatus.pending
    assert "not configured" in (message.last_error or "")


def _callback(
    app: Flask, referral_id: int, body: dict, *, secret: str = SECRET, timestamp: int | None = None
) -> Any:
    raw = json.dumps(body).encode()
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return app.test_client().post(
        f"/api/v1/platform/referrals/{referral_id}/callback",
        data=raw,
        content_type="application/json",
        headers={"X-Platform-Timestamp": ts, "X-Platform-Signature": sign(secret, ts, raw)},
    )


def test_signed_callback_books_and_tells_the_patient(platform_app: Flask, session: Session) -> None:
    headers, referral_id = _red_flag_referral(platform_app, session)
    at = (clock.now() + dt.timedelta(hours=2)).replace(microsecond=0)
    response = _callback(
        platform_app,
        referral_id,
        {
            "status": "booked",
            "appointment_at": at.isoformat(),
            "location": "门诊楼二层 急诊科",
            "reference": "HP-77",
        },
    )
    assert response.status_code == 200, response.json
    assert response.json["state"] == "booked"
    client = platform_app.test_client()
    referral = client.get("/api/v1/me/referrals", headers=headers).json["referrals"][0]
    assert referral["location"] == "门诊楼二层 急诊科"
    inbox = client.get("/api/v1/me/notifications", headers=headers).json["notifications"]
    assert inbox[0]["kind"] == "referral.booked"
    assert "门诊楼二层" in inbox[0]["body"]


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "wrong-secret"},
        {"timestamp": int(time.time()) - 3600},
    ],
)
def test_bad_or_stale_signatures_change_nothing(
    platform_app: Flask, session: Session, tamper: dict
) -> None:
    _, referral_id = _red_flag_referral(platform_app, session)
    response = _callback(platform_app, referral_id, {"status": "declined"}, **tamper)
    assert response.status_code == 401
    assert response.json["code"] == "bad_signature"
    referral = session.get(Referral, referral_id)
    assert referral is not None
    assert referral.state is ReferralState.requested


def test_platform_imports_a_confirmed_diagnosis(platform_app: Flask, session: Session) -> None:
    account = factories.verified_patient()
    body = {
        "id_number": "110105198503141235",
        "icd10_code": "E11.900",
        "diagnosed_on": "2026-10-01",
        "institution_name": "第一人民医院",
        "doctor_name": "周医生",
        "reference": "HP-D-1",
    }
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    response = platform_app.test_client().post(
        "/api/v1/platform/diagnoses",
        data=raw,
        content_type="application/json",
        headers={"X-Platform-Timestamp": ts, "X-Platform-Signature": sign(SECRET, ts, raw)},
    )
    assert response.status_code == 201, response.json
    assert response.json["status"] == "confirmed"
    token_headers = {"Authorization": f"Bearer {issue_token(session, account, 60).token}"}
    mine = platform_app.test_client().get("/api/v1/me/diagnoses", headers=token_headers).json
    assert [d["icd10_code"] for d in mine["diagnoses"]] == ["E11.900"]
