"""Delivery: the pharmacy's pharmacist dispenses, the courier order goes out through the outbox
(to a fake courier on 127.0.0.1), and signed courier updates move it to the patient's door;
a bad signature or a replay changes nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Notification, OutboxMessage
from identity.services import issue_token
from pharmacy.models import Fulfilment, FulfilmentState
from prescriptions.services.drugs import LoadReport
from tests.fakes.http_receiver import Receiver
from tests.helpers import partner_signature as sign
from tests.helpers import trace_codes
from tests.pharmacy.helpers import approved_with_face, pharmacist_at, pharmacy, stock_up

SECRET = "courier-shared-secret"
ADDRESS = {
    "recipient": "张三",
    "phone": "13800138000",
    "region": "北京市朝阳区",
    "detail": "建国路 1 号 2 单元 301",
}


@pytest.fixture
def courier(receiver: Receiver) -> Receiver:
    return receiver


@pytest.fixture
def courier_app(make_app: Any, courier: Receiver) -> Flask:
    built: Flask = make_app(COURIER_URL=courier.url, COURIER_CALLBACK_SECRET=SECRET)
    return built


def _event(app: Flask, body: dict, secret: str = SECRET, stamp: int | None = None) -> Any:
    raw = json.dumps(body).encode()
    timestamp = str(stamp if stamp is not None else int(time.time()))
    return app.test_client().post(
        "/api/v1/courier/events",
        data=raw,
        content_type="application/json",
        headers={
            "X-Courier-Timestamp": timestamp,
            "X-Courier-Signature": sign(secret, timestamp, raw),
        },
    )


def test_delivery_from_dispatch_to_the_door(
    courier_app: Flask, session: Session, courier: Receiver, catalogue: LoadReport
) -> None:
    client = courier_app.test_client()
    written = approved_with_face(client, session)
    where = pharmacy(session)
    stock_up(session, where, "苯磺酸氨氯地平片", 100)
    pharmacist = pharmacist_at(session, where)
    chosen = client.post(
        f"/api/v1/prescriptions/{written.id}/fulfilment",
        headers=written.patient_headers,
        json={"method": "delivery", "address": ADDRESS},
    )
    assert chosen.status_code == 201, chosen.json
    assert chosen.json["state"] == "awaiting_dispense"

    staff = {"Authorization": f"Bearer {issue_token(session, pharmacist.account, 600).token}"}
    dispatched = client.post(
        f"/api/v1/deliveries/{written.id}/dispatch",
        headers=staff,
        json={"trace_codes": trace_codes()},
    )
    assert dispatched.status_code == 200, dispatched.json
    session.commit()  # the outbox message is sent once the request's transaction commits
    assert len(courier.received) == 1
    order = courier.received[0].body
    assert order["dropoff"]["detail"] == ADDRESS["detail"]
    assert order["order_id"].startswith("RX")
    # The outbox row names the delivery only: no address or phone in it.
    payloads = [json.dumps(m.payload) for m in session.scalars(select(OutboxMessage))]
    assert not any(ADDRESS["phone"] in p or "建国路" in p for p in payloads)

    shown = client.get(
        f"/api/v1/prescriptions/{written.id}/fulfilment", headers=written.patient_headers
    ).json
    code = shown["delivery_code"]
    assert len(code) == 6
    order_id = order["order_id"]

    picked = {"event_id": "e1", "order_id": order_id, "status": "picked_up"}
    assert _event(courier_app, picked, secret="wrong").status_code == 401
    assert _event(courier_app, picked, stamp=int(time.time()) - 3600).status_code == 401
    first = _event(courier_app, picked)
    assert first.json == {"order_id": order_id, "state": "picked_up", "applied": True}
    replay = _event(courier_app, picked)
    assert replay.json["applied"] is False
    moving = _event(courier_app, {"event_id": "e2", "order_id": order_id, "status": "in_transit"})
    assert moving.json["state"] == "in_transit"
    wrong_code = _event(
        courier_app,
        {"event_id": "e3", "order_id": order_id, "status": "delivered", "confirmation_code": "x"},
    )
    assert wrong_code.json["code"] == "confirmation_mismatch"
    delivered = _event(
        courier_app,
        {"event_id": "e4", "order_id": order_id, "status": "delivered", "confirmation_code": code},
    )
    assert delivered.json["state"] == "delivered"

    row = session.scalar(select(Fulfilment).where(Fulfilment.prescription_id == written.id))
    assert row is not None
    session.refresh(row)
    assert row.state is FulfilmentState.delivered
    kinds = list(
        session.scalars(
            select(Notification.kind)
            .where(Notification.account_id == written.patient.id)
            .order_by(Notification.id)
        )
    )
    assert kinds[-4:] == [
        "prescription.dispensed",
        "delivery.picked_up",
        "delivery.in_transit",
        "delivery.delivered",
    ]  # one each: the replay told nobody anything


def test_drugs_barred_from_online_sale_are_collected_in_person(
    courier_app: Flask, session: Session, catalogue: LoadReport
) -> None:
    client = courier_app.test_client()
    written = approved_with_face(
        client, session, items=[{"drug": "华法林", "dose_mg": 2.5, "times_per_day": 1, "days": 28}]
    )
    where = pharmacy(session)
    stock_up(session, where, "华法林钠片", 100)
    refused = client.post(
        f"/api/v1/prescriptions/{written.id}/fulfilment",
        headers=written.patient_headers,
        json={"method": "delivery", "address": ADDRESS},
    )
    assert refused.status_code == 409
    assert refused.json["code"] == "delivery_not_allowed"
    assert session.scalar(select(func.count()).select_from(Fulfilment)) == 0
    pickup = client.post(
        f"/api/v1/prescriptions/{written.id}/fulfilment",
        headers=written.patient_headers,
        json={"method": "pickup", "pharmacy_id": where.id},
    )
    assert pickup.status_code == 201, pickup.json


def test_courier_updates_need_the_secret_configured(make_app: Any, session: Session) -> None:
    app: Flask = make_app()
    response = _event(app, {"event_id": "x", "order_id": "RX1", "status": "picked_up"})
    assert response.status_code == 503
