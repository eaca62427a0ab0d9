"""Delivery: a pharmacist on duty dispenses the order, the courier order goes out through the
outbox (retried, idempotent, the address read from the sealed record at send time), and the
courier's signed updates move it on: picked up, in transit, delivered with the recipient's
confirmation code, or failed. A replayed update changes nothing; the patient is told at each
step."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import outbox, providers, transitions
from core.audit import Actor
from core.errors import DomainError, InvalidState, NotFound
from core.settings import Settings
from identity.models import Account
from identity.services import actor_of, practitioners
from pharmacy import rules
from pharmacy.interfaces import Courier
from pharmacy.models import (
    CourierEvent,
    Dispensing,
    Fulfilment,
    FulfilmentMethod,
    FulfilmentState,
)
from pharmacy.services.dispensing import dispense
from prescriptions.models import Prescription

CHANNEL = "courier.order"
COURIER = Actor(None, "courier")

# status → (state, the patient's message)
TRANSITIONS: dict[str, tuple[FulfilmentState, str]] = {
    "picked_up": (FulfilmentState.picked_up, "快递员已揽收您的药品"),
    "in_transit": (FulfilmentState.in_transit, "您的药品正在配送途中"),
    "delivered": (FulfilmentState.delivered, "您的药品已送达并签收"),
    "failed": (FulfilmentState.failed, "药品配送未成功，药房将联系您"),
}


class ConfirmationMismatch(DomainError):
    code = "confirmation_mismatch"
    status = 422
    title = "签收码不符，不能确认送达"


def dispatch(
    session: Session,
    account: Account,
    fulfilment_id: int,
    now: dt.datetime,
    trace_codes: Sequence[str],
) -> Dispensing:
    """The pharmacy's pharmacist dispenses a delivery order; the courier is called after."""
    pharmacist = practitioners.practitioner_for(session, account)
    fulfilment = session.get(Fulfilment, fulfilment_id)
    if fulfilment is None or fulfilment.method is not FulfilmentMethod.delivery:
        raise NotFound("没有这个配送单")
    prescription = session.get(
        Prescription, fulfilment.prescription_id, with_for_update=True, populate_existing=True
    )
    assert prescription is not None  # noqa: S101 - a foreign key
    record = dispense(
        session, actor_of(account), prescription, fulfilment.pharmacy_id, pharmacist, now,
        trace_codes=trace_codes,
    )  # fmt: skip
    fulfilment.courier_order_id = f"RX{fulfilment.id:08d}"
    fulfilment.delivery_code = f"{secrets.randbelow(10**6):06d}"
    session.flush()
    outbox.enqueue(
        session,
        CHANNEL,
        {"fulfilment_id": fulfilment.id},
        idempotency_key=fulfilment.courier_order_id,
    )
    return record


def send_order(
    session: Session, payload: dict[str, Any], idempotency_key: str, settings: Settings
) -> None:
    fulfilment = session.get(Fulfilment, payload["fulfilment_id"])
    if fulfilment is None or fulfilment.address is None:
        raise outbox.DeliveryError("no such delivery", permanent=True)
    address = json.loads(fulfilment.address)
    pharmacy = fulfilment.pharmacy
    body = {
        "order_id": fulfilment.courier_order_id,
        "pickup": {"name": pharmacy.name, "address": pharmacy.address},
        "dropoff": address,
        "cold_chain": False,
        "requires_confirmation_code": True,
    }
    providers.find(Courier, settings).place_order(body, idempotency_key)


def apply_event(
    session: Session,
    event_id: str,
    order_id: str,
    status: str,
    confirmation_code: str | None,
    detail: dict[str, Any],
    now: dt.datetime,
) -> tuple[Fulfilment, bool]:
    """Apply one courier update; (fulfilment, False) when the event was seen before."""
    fulfilment = session.scalar(
        select(Fulfilment).where(Fulfilment.courier_order_id == order_id).with_for_update()
    )
    if fulfilment is None:
        raise NotFound("没有这个配送单")
    if session.scalar(select(CourierEvent.id).where(CourierEvent.event_id == event_id)):
        return fulfilment, False
    if status not in TRANSITIONS:
        raise InvalidState(f"未知的配送状态 {status}")
    state, message = TRANSITIONS[status]
    transitions.check(rules.FULFILMENT_MOVES, fulfilment.state, state, "配送单")
    if state is FulfilmentState.delivered and not hmac.compare_digest(
        (confirmation_code or "").strip(), fulfilment.delivery_code or "-"
    ):
        raise ConfirmationMismatch()
    session.add(
        CourierEvent(
            event_id=event_id,
            fulfilment_id=fulfilment.id,
            status=status,
            detail={k: v for k, v in detail.items() if k in {"note", "at", "courier"}},
            received_at=now,
        )
    )
    fulfilment.updated_at = now
    transitions.transition(
        session,
        rules.FULFILMENT,
        fulfilment,
        state,
        COURIER,
        details={"event_id": event_id},
        notice=transitions.Notice(
            fulfilment.prescription.consultation.account_id,
            f"delivery.{status}",
            "配送进度",
            f"处方 #{fulfilment.prescription_id}：{message}。",
            {"prescription_id": fulfilment.prescription_id, "state": state.value},
        ),
        action=f"delivery.{status}",
        subject=("prescription", fulfilment.prescription_id),
    )
    return fulfilment, True
