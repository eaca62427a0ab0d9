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
from core.models import AuditEvent, OutboxMessage, OutboxStatus
from core.tasks import relay_outbox
from followup.models import PlatformEvent, Referral, ReferralState
from identity.services import issue_token
from tests import factories
from tests.fakes import fhir_server
from tests.fakes.http_receiver import Receiver
from tests.followup.helpers import patient_with_diagnosis, start_visit
from tests.helpers import partner_signature as sign

SECRET = "platform-shared-secret"


@pytest.fixture
def platform(receiver: Receiver) -> Receiver:
    return receiver


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
    app: Flask,
    referral_id: int,
    body: dict,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    signed_as: dict | None = None,
) -> Any:
    raw = json.dumps(body).encode()
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signed = json.dumps(signed_as).encode() if signed_as is not None else raw
    return app.test_client().post(
        f"/api/v1/platform/referrals/{referral_id}/callback",
        data=raw,
        content_type="application/json",
        headers={"X-Platform-Timestamp": ts, "X-Platform-Signature": sign(secret, ts, signed)},
    )


def test_signed_callback_books_and_tells_the_patient(platform_app: Flask, session: Session) -> None:
    headers, referral_id = _red_flag_referral(platform_app, session)
    at = (clock.now() + dt.timedelta(hours=2)).replace(microsecond=0)
    response = _callback(
        platform_app,
        referral_id,
        {
            "event_id": "evt-1",
            "occurred_at": clock.now().isoformat(),
            "status": "booked",
            "appointment_at": at.isoformat(),
            "location": "门诊楼二层 急诊科",
            "reference": "HP-77",
        },
    )
    assert response.status_code == 200, response.json
    assert response.json["outcome"] == "applied"
    assert response.json["referral"]["state"] == "booked"
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
        # Signed for another event, sent with this one: the body is what is signed.
        {"signed_as": {"event_id": "e", "status": "booked"}},
    ],
)
def test_bad_or_stale_signatures_change_nothing(
    platform_app: Flask, session: Session, tamper: dict
) -> None:
    _, referral_id = _red_flag_referral(platform_app, session)
    body = {"event_id": "e", "occurred_at": clock.now().isoformat(), "status": "declined"}
    response = _callback(platform_app, referral_id, body, **tamper)
    assert response.status_code == 401
    assert response.json["code"] == "bad_signature"
    referral = session.get(Referral, referral_id)
    assert referral is not None
    assert referral.state is ReferralState.requested


def _event(event_id: str, status: str, minutes: int, **extra: Any) -> dict[str, Any]:
    """A platform event that happened `minutes` after a fixed moment (the platform's clock)."""
    at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)
    body = {"event_id": event_id, "occurred_at": at.isoformat(), "status": status, **extra}
    if status == "booked" and "appointment_at" not in body:
        body["appointment_at"] = (at + dt.timedelta(days=1, minutes=minutes)).isoformat()
    return body


def _patient_messages(session: Session, referral_id: int) -> list[str]:
    from core.models import Notification

    return [
        n.kind
        for n in session.scalars(select(Notification).order_by(Notification.id))
        if n.data.get("referral_id") == referral_id and n.kind != "referral.created"
    ]


def test_a_replayed_event_changes_nothing_and_tells_the_patient_once(
    platform_app: Flask, session: Session
) -> None:
    _, referral_id = _red_flag_referral(platform_app, session)
    booked = _event("evt-7", "booked", 5, location="急诊科")
    first = _callback(platform_app, referral_id, booked)
    assert first.json["outcome"] == "applied"
    for _ in range(3):
        again = _callback(platform_app, referral_id, booked)
        assert again.status_code == 200
        assert again.json["outcome"] == "duplicate"
    assert _patient_messages(session, referral_id) == ["referral.booked"]
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == str(referral_id))
    ).all()
    assert actions.count("referral.booked") == 1


def test_an_event_arriving_late_never_moves_the_referral_backwards(
    platform_app: Flask, session: Session
) -> None:
    _, referral_id = _red_flag_referral(platform_app, session)
    assert _callback(platform_app, referral_id, _event("b", "booked", 10)).json["outcome"] == (
        "applied"
    )
    late = _callback(platform_app, referral_id, _event("a", "accepted", 5))  # happened before
    assert late.status_code == 200
    assert late.json["outcome"] == "stale"
    assert late.json["referral"]["state"] == "booked"
    # A newer event that would go backwards is refused, and changes nothing either.
    backwards = _callback(platform_app, referral_id, _event("c", "accepted", 20))
    assert backwards.status_code == 409
    assert backwards.json["code"] == "invalid_state"
    referral = session.get(Referral, referral_id)
    assert referral is not None
    session.refresh(referral)
    assert referral.state is ReferralState.booked
    assert _patient_messages(session, referral_id) == ["referral.booked"]


def test_a_booking_moved_to_another_time_is_applied_and_told(
    platform_app: Flask, session: Session
) -> None:
    _, referral_id = _red_flag_referral(platform_app, session)
    _callback(platform_app, referral_id, _event("b1", "booked", 10))
    moved_to = dt.datetime(2026, 12, 3, 14, 30, tzinfo=dt.UTC)
    moved = _callback(
        platform_app, referral_id, _event("b2", "booked", 30, appointment_at=moved_to.isoformat())
    )
    assert moved.json["outcome"] == "applied"
    assert dt.datetime.fromisoformat(moved.json["referral"]["appointment_at"]) == moved_to
    assert _patient_messages(session, referral_id) == ["referral.booked", "referral.booked"]
    # Declined is the end: a later booking is refused.
    _callback(platform_app, referral_id, _event("d", "declined", 40))
    refused = _callback(platform_app, referral_id, _event("b3", "booked", 50))
    assert refused.status_code == 409


@pytest.mark.parametrize("seed", range(8))
def test_any_order_of_delivery_with_replays_ends_in_the_latest_state(
    platform_app: Flask, session: Session, seed: int
) -> None:
    """The platform retries and its events overtake each other: whatever the order, the
    referral ends as the latest event says, and each booking is told once."""
    import random

    _, referral_id = _red_flag_referral(platform_app, session)
    final_time = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)
    events = [
        _event("x1", "accepted", 1),
        _event("x2", "booked", 2),
        _event("x3", "booked", 3, appointment_at=final_time.isoformat(), location="二号楼"),
    ]
    deliveries = events + random.Random(seed).choices(events, k=4)
    random.Random(seed).shuffle(deliveries)
    for event in deliveries:
        assert _callback(platform_app, referral_id, event).status_code == 200
    referral = session.get(Referral, referral_id)
    assert referral is not None
    session.refresh(referral)
    assert referral.state is ReferralState.booked
    assert referral.appointment_at == final_time
    assert referral.location == "二号楼"
    messages = _patient_messages(session, referral_id)
    assert 1 <= len(messages) <= 2  # x2 is told only if it came before x3


@pytest.mark.parametrize(
    "body",
    [
        {"event_id": "n", "occurred_at": "2026-12-01T09:00:00", "status": "accepted"},  # naive
        {"event_id": "", "occurred_at": "2026-12-01T09:00:00+08:00", "status": "accepted"},
        {"occurred_at": "2026-12-01T09:00:00+08:00", "status": "accepted"},
        {"event_id": "n", "occurred_at": "2026-12-01T09:00:00+08:00", "status": "booked"},
    ],
)
def test_malformed_events_are_refused(
    platform_app: Flask, session: Session, body: dict[str, Any]
) -> None:
    _, referral_id = _red_flag_referral(platform_app, session)
    response = _callback(platform_app, referral_id, body)
    assert response.status_code == 422
    assert session.scalars(select(PlatformEvent)).all() == []


def test_an_event_id_cannot_be_reused_for_another_referral(
    platform_app: Flask, session: Session
) -> None:
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    first, second = (
        start_visit(
            platform_app.test_client(), headers, diagnosis_id, symptoms=["chest_pain"]
        ).json["referral_id"]
        for _ in range(2)
    )
    assert _callback(platform_app, first, _event("same", "accepted", 1)).status_code == 200
    reused = _callback(platform_app, second, _event("same", "accepted", 1))
    assert reused.status_code == 409
    assert reused.json["code"] == "event_id_reused"


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


OTHER_ID = "11010519491231002X"


@pytest.fixture
def fhir_platform() -> Iterator[fhir_server.FhirStore]:
    store = fhir_server.start()
    yield store
    store.stop()


def test_a_person_referred_many_times_is_one_patient_at_the_platform(
    make_app: Any, session: Session, fhir_platform: fhir_server.FhirStore
) -> None:
    app = make_app(HOSPITAL_PLATFORM_URL=fhir_platform.url)
    _, headers, diagnosis_id = patient_with_diagnosis(session)
    for _ in range(16):
        response = start_visit(app.test_client(), headers, diagnosis_id, symptoms=["chest_pain"])
        assert response.status_code == 409
    _, other_headers, other_diagnosis = patient_with_diagnosis(session, OTHER_ID)
    start_visit(app.test_client(), other_headers, other_diagnosis, symptoms=["chest_pain"])
    relay_outbox()
    patients = fhir_platform.of_type("Patient")
    assert len(patients) == 2  # two people, two Patients: never one per referral
    requests = fhir_platform.of_type("ServiceRequest")
    assert len(requests) == 17
    first_patient = next(p for p in patients if p["identifier"][0]["value"] != OTHER_ID)
    subjects = {r["subject"]["reference"] for r in requests}
    assert subjects == {f"Patient/{p['id']}" for p in patients}
    mine = [r for r in requests if r["subject"]["reference"] == f"Patient/{first_patient['id']}"]
    assert len(mine) == 16


def test_the_fake_platform_would_duplicate_without_the_condition(
    fhir_platform: fhir_server.FhirStore,
) -> None:
    """The FHIR server really creates a Patient per unconditional POST: the test above would
    catch a hand-off that forgot `ifNoneExist`."""
    patient = {"resourceType": "Patient", "identifier": [{"system": "s", "value": "1"}]}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:p",
                "resource": patient,
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    for _ in range(2):
        assert fhir_platform.transaction(bundle)[0] == 200
    assert len(fhir_platform.of_type("Patient")) == 2
    bundle["entry"][0]["request"]["ifNoneExist"] = "identifier=s|1"  # type: ignore[index]
    assert fhir_platform.transaction(bundle)[0] == 412  # two match now: FHIR refuses
