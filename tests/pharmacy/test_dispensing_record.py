"""Dispensing at the service: the code that finds a prescription, the pharmacist who must be on
duty at this pharmacy, the pharmacy that holds the reservation, the record of what left (lots
first expiry first, the boxes, the time), and what goes to the supervision platform."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock, outbox, runtime
from core.audit import Actor
from core.models import AuditEvent, Notification, OutboxMessage
from pharmacy import rules
from pharmacy.models import Fulfilment, FulfilmentMethod, FulfilmentState, PharmacyPharmacist
from pharmacy.services import dispensing
from prescriptions.models import Prescription
from prescriptions.services.drugs import LoadReport
from tests import factories
from tests.helpers import trace_codes
from tests.pharmacy.helpers import approved_with_face, code_of, kiosk_at, pharmacist_at, stock_up
from tests.pharmacy.helpers import pharmacy as make_pharmacy

AMLODIPINE = "苯磺酸氨氯地平片"


@pytest.fixture
def shop(client: FlaskClient, session: Session, catalogue: LoadReport) -> dict[str, Any]:
    """A pharmacy with amlodipine in two good lots, a pharmacist on duty, and an approved
    prescription for 28 tablets (one box of 28, or as packed)."""
    where = make_pharmacy(session)
    soon = stock_up(session, where, AMLODIPINE, 20, days_left=30, batch="SOON")
    later = stock_up(session, where, AMLODIPINE, 100, days_left=400, batch="LATER")
    written = approved_with_face(client, session)
    prescription = session.get(Prescription, written.id)
    assert prescription is not None
    return {
        "pharmacy": where,
        "soon": soon,
        "later": later,
        "pharmacist": pharmacist_at(session, where),
        "written": written,
        "prescription": prescription,
        "code": code_of(session, written.id),
    }


def _dispense(session: Session, shop: dict[str, Any], **kw: Any) -> Any:
    args: dict[str, Any] = {"trace_codes": trace_codes(2)}
    args.update(kw)
    return dispensing.dispense(
        session,
        Actor(shop["pharmacist"].account_id, "pharmacist"),
        shop["prescription"],
        kw.pop("pharmacy_id", shop["pharmacy"].id),
        kw.pop("pharmacist", shop["pharmacist"]),
        clock.now(),
        **{k: v for k, v in args.items() if k not in ("pharmacy_id", "pharmacist")},
    )


def test_a_code_as_typed_finds_its_prescription(session: Session, shop: dict[str, Any]) -> None:
    code = shop["code"]
    typed = code.replace("-", " ").lower()
    assert dispensing.find_by_code(session, typed).id == shop["prescription"].id
    assert dispensing.find_by_code(session, code, lock=True).id == shop["prescription"].id


def test_what_is_not_a_code_is_said_so(session: Session, shop: dict[str, Any]) -> None:
    with pytest.raises(rules.InvalidCode) as garbage:
        dispensing.find_by_code(session, "hello")
    assert garbage.value.detail == "请扫描处方笺上的二维码，或输入 16 位取药码"
    unknown = "0000-0000-0000-0000" if shop["code"] != "0000-0000-0000-0000" else "1111111111111111"
    with pytest.raises(rules.InvalidCode) as nowhere:
        dispensing.find_by_code(session, unknown)
    assert nowhere.value.detail == "取药码无效"


def test_only_a_pharmacist_on_duty_here_confirms(session: Session, shop: dict[str, Any]) -> None:
    where = shop["pharmacy"]
    dispensing.on_duty(session, shop["pharmacist"], where.id)  # on duty here: nothing raised
    doctor = factories.practitioner()
    with pytest.raises(rules.PharmacistNotOnDuty) as not_a_pharmacist:
        dispensing.on_duty(session, doctor, where.id)
    assert not_a_pharmacist.value.detail == "确认人不是药师"
    elsewhere = pharmacist_at(session, make_pharmacy(session, code="PH-2"))
    with pytest.raises(rules.PharmacistNotOnDuty) as other_shop:
        dispensing.on_duty(session, elsewhere, where.id)
    assert other_shop.value.detail == "须由本药房在岗药师确认"
    off = pharmacist_at(session, where, on_duty=False)
    with pytest.raises(rules.PharmacistNotOnDuty):
        dispensing.on_duty(session, off, where.id)
    session.execute(
        PharmacyPharmacist.__table__.update()
        .where(PharmacyPharmacist.practitioner_id == off.id)
        .values(on_duty=True)
    )
    session.expire_all()
    dispensing.on_duty(session, off, where.id)


def test_the_record_of_what_left(session: Session, shop: dict[str, Any]) -> None:
    boxes = trace_codes(2)
    before = clock.now()
    record = _dispense(session, shop, trace_codes=boxes)
    soon, later = shop["soon"], shop["later"]
    assert record.prescription_id == shop["prescription"].id
    assert record.pharmacy_id == shop["pharmacy"].id
    assert record.pharmacist_id == shop["pharmacist"].id
    assert record.kiosk_id is None
    assert record.identity_check_id is None
    assert record.lots == [
        {
            "drug": soon.drug.code,
            "lot_id": soon.id,
            "batch_number": "SOON",
            "expiry_date": soon.expiry_date.isoformat(),
            "units": 20,
        },
        {
            "drug": later.drug.code,
            "lot_id": later.id,
            "batch_number": "LATER",
            "expiry_date": later.expiry_date.isoformat(),
            "units": 8,
        },
    ]
    assert record.dispensed_at >= before
    assert shop["prescription"].redeemed_at == record.dispensed_at
    fulfilment = session.scalar(
        select(Fulfilment).where(Fulfilment.prescription_id == shop["prescription"].id)
    )
    assert fulfilment is not None
    assert fulfilment.method is FulfilmentMethod.pickup
    assert fulfilment.state is FulfilmentState.dispensed
    assert fulfilment.pharmacy_id == shop["pharmacy"].id
    assert sorted(box.trace_code for box in record.boxes) == sorted(boxes)
    event = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_type == "prescription")
        .where(AuditEvent.subject_id == str(shop["prescription"].id))
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None
    assert event.detail["pharmacy_id"] == shop["pharmacy"].id
    assert event.detail["kiosk_id"] is None
    assert event.detail["pharmacist_id"] == shop["pharmacist"].id
    assert event.detail["lots"] == [[soon.id, 20], [later.id, 8]]
    assert event.detail["boxes"] == 2
    message = session.scalar(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == f"dispensing-{record.id}")
    )
    assert message is not None
    assert message.channel == "supervision.dispensing"
    assert message.payload == {"dispensing_id": record.id}


def test_the_patient_hears_who_dispensed_it(session: Session, shop: dict[str, Any]) -> None:
    record = _dispense(session, shop)
    notice = session.scalars(select(Notification).order_by(Notification.id.desc())).first()
    assert notice is not None
    assert notice.account_id == shop["written"].patient.id
    assert notice.kind == "prescription.dispensed"
    assert notice.data == {
        "prescription_id": shop["prescription"].id,
        "pharmacy_id": shop["pharmacy"].id,
    }
    assert notice.title == "药品已发出"
    assert notice.body == (
        f"处方 #{shop['prescription'].id} 的药品已由{record.pharmacy.name}发出"
        f"（药师 {shop['pharmacist'].name}）。请按医嘱用药，如有不适及时就医。"
    )


def test_a_reservation_elsewhere_is_refused(session: Session, shop: dict[str, Any]) -> None:
    elsewhere = make_pharmacy(session, code="PH-3")
    session.add(
        Fulfilment(
            prescription_id=shop["prescription"].id,
            method=FulfilmentMethod.pickup,
            state=FulfilmentState.reserved,
            pharmacy_id=elsewhere.id,
        )
    )
    session.flush()
    with pytest.raises(rules.ReservedElsewhere) as raised:
        _dispense(session, shop)
    assert raised.value.detail == f"已预留在{elsewhere.name}"


def test_a_delivery_is_not_handed_out_at_a_kiosk(session: Session, shop: dict[str, Any]) -> None:
    session.add(
        Fulfilment(
            prescription_id=shop["prescription"].id,
            method=FulfilmentMethod.delivery,
            state=FulfilmentState.awaiting_dispense,
            pharmacy_id=shop["pharmacy"].id,
        )
    )
    session.flush()
    terminal = kiosk_at(session, shop["pharmacy"])
    with pytest.raises(rules.ReservedElsewhere) as raised:
        _dispense(session, shop, kiosk_id=terminal.kiosk.id)
    assert raised.value.detail == "该处方选择了配送到家"
    packed = _dispense(session, shop)  # packed for the courier at the counter
    assert packed.kiosk_id is None


def test_a_shortage_names_what_is_missing(session: Session, shop: dict[str, Any]) -> None:
    other = make_pharmacy(session, code="PH-4")
    stock_up(session, other, AMLODIPINE, 10, days_left=400)
    with pytest.raises(rules.OutOfStock) as raised:
        _dispense(session, shop, pharmacy_id=other.id, pharmacist=pharmacist_at(session, other))
    assert raised.value.detail == "缺少 1 种药品"
    assert len(raised.value.extra["missing"]) == 1


def test_the_supervision_platform_gets_the_boxes(
    session: Session, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    boxes = trace_codes(2)
    record = _dispense(session, shop, trace_codes=boxes)
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(outbox, "post_json", lambda *args: sent.append(args))
    settings = runtime.current().settings
    dispensing.send_dispensing(session, {"dispensing_id": record.id}, "key-1", settings)
    ((url, body, key, used),) = sent
    assert (url, key, used) == (settings.supervision_url, "key-1", settings)
    assert body == {
        "type": "dispensing",
        "prescription_id": shop["prescription"].id,
        "pharmacy_id": shop["pharmacy"].id,
        "dispensed_at": record.dispensed_at.isoformat(),
        "lots": record.lots,
        "trace_codes": boxes,
    }
    with pytest.raises(outbox.DeliveryError) as gone:
        dispensing.send_dispensing(session, {"dispensing_id": record.id + 999}, "k", settings)
    assert gone.value.permanent is True
    assert str(gone.value) == "no such dispensing"


def test_an_hour_later_is_the_time_recorded(session: Session, shop: dict[str, Any]) -> None:
    later = clock.now() + dt.timedelta(hours=1)
    record = dispensing.dispense(
        session,
        Actor.system(),
        shop["prescription"],
        shop["pharmacy"].id,
        shop["pharmacist"],
        later,
        trace_codes=trace_codes(2),
    )
    assert record.dispensed_at == later
    assert shop["prescription"].redeemed_at == later


def test_a_drug_barred_since_review_is_named(session: Session, shop: dict[str, Any]) -> None:
    from prescriptions.rules import ControlledDrug

    shop["prescription"].items[0].drug.blocked = True  # a new formulary version barred it
    session.flush()
    with pytest.raises(ControlledDrug) as raised:
        _dispense(session, shop)
    assert raised.value.detail == f"{AMLODIPINE} 为特殊管理药品，不得调配"
