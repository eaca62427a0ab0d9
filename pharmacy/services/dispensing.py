"""Dispensing: drugs leave a pharmacy on an approved prescription exactly once, ever.

The prescription row is locked first, so of two kiosks scanning the same code at the same
moment one dispenses and the other then finds it dispensed (409 `already_dispensed`); the
unique key on dispensings.prescription_id refuses a second record even if the code were wrong.
Every drug is screened again at this door, both signatures are checked against the content,
and stock is taken first-expiry-first-out from lots locked in id order, never below zero and
never from an expired lot: a shortage is refused before anything changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock, outbox, transitions
from core.audit import Actor
from core.settings import Settings
from identity.models import Practitioner
from identity.rules import PractitionerKind
from pharmacy import rules
from pharmacy.models import (
    DispensedBox,
    Dispensing,
    Fulfilment,
    FulfilmentMethod,
    FulfilmentState,
    PharmacyPharmacist,
)
from pharmacy.services import stock
from pharmacy.services import trace_codes as trace_codes_module
from pharmacy.services.fulfilment import ensure_dispensable, for_prescription, needed_units
from prescriptions import redemption
from prescriptions.models import Prescription
from prescriptions.rules import ControlledDrug
from prescriptions.services import prescribing, review
from prescriptions.services.drugs import screen_names


def find_by_code(session: Session, text: str, *, lock: bool = False) -> Prescription:
    code = redemption.normalise(text)
    if code is None:
        raise rules.InvalidCode("请扫描处方笺上的二维码，或输入 16 位取药码")
    prescription_id = session.scalar(
        select(Prescription.id).where(
            Prescription.redemption_code_index == redemption.index_of(code)
        )
    )
    if prescription_id is None:
        raise rules.InvalidCode()
    # populate_existing: what the previous lock holder committed, not a cached copy.
    prescription = session.get(
        Prescription, prescription_id, with_for_update=lock or None, populate_existing=lock
    )
    if prescription is None:
        raise rules.InvalidCode()
    return prescription


def on_duty(session: Session, practitioner: Practitioner, pharmacy_id: int) -> None:
    if practitioner.kind is not PractitionerKind.pharmacist:
        raise rules.PharmacistNotOnDuty("确认人不是药师")
    duty = session.scalar(
        select(PharmacyPharmacist).where(
            PharmacyPharmacist.pharmacy_id == pharmacy_id,
            PharmacyPharmacist.practitioner_id == practitioner.id,
            PharmacyPharmacist.on_duty.is_(True),
        )
    )
    if duty is None:
        raise rules.PharmacistNotOnDuty()


def check_content(session: Session, actor: Actor, prescription: Prescription) -> None:
    """The door's own checks: signatures over the content as it is now, and every drug
    screened again (a catalogue change since review counts)."""
    if not prescribing.doctor_signature_valid(session, prescription) or not (
        review.pharmacist_signature_valid(session, prescription)
    ):
        raise rules.SignatureInvalid()
    screened = screen_names(
        session, actor, [i.drug.generic_name for i in prescription.items], "dispense"
    )
    blocked = [r.name for r in screened if r.blocked]
    blocked += [i.drug.generic_name for i in prescription.items if i.drug.blocked]
    if blocked:
        raise ControlledDrug("、".join(dict.fromkeys(blocked)) + " 为特殊管理药品，不得调配")


def dispense(
    session: Session,
    actor: Actor,
    prescription: Prescription,
    pharmacy_id: int,
    pharmacist: Practitioner,
    now: dt.datetime,
    *,
    trace_codes: Sequence[str],
    kiosk_id: int | None = None,
    identity_check_id: int | None = None,
) -> Dispensing:
    """The caller holds the prescription's row lock and has confirmed who collects. Every box
    handed out is scanned: its traceability code is kept, and never dispensed again."""
    ensure_dispensable(prescription, now)
    check_content(session, actor, prescription)
    on_duty(session, pharmacist, pharmacy_id)
    fulfilment = for_prescription(session, prescription.id)
    if fulfilment is not None and fulfilment.pharmacy_id != pharmacy_id:
        raise rules.ReservedElsewhere(f"已预留在{fulfilment.pharmacy.name}")
    if (
        fulfilment is not None
        and kiosk_id is not None
        and (fulfilment.method is FulfilmentMethod.delivery)
    ):
        raise rules.ReservedElsewhere("该处方选择了配送到家")
    needed = needed_units(prescription)
    boxes = trace_codes_module.parse(trace_codes, len(needed))
    trace_codes_module.ensure_never_dispensed(session, boxes)
    today = clock.day_of(now)
    lots = stock.lots_of(session, pharmacy_id, needed, lock=True)
    held = stock.held_for_others(
        session, pharmacy_id, needed, fulfilment.id if fulfilment else None
    )
    missing = stock.shortfalls(lots, needed, held, today)
    if missing:
        raise rules.OutOfStock(f"缺少 {len(missing)} 种药品", missing=sorted(missing))
    taken = stock.take(session, actor, lots, needed, today, prescription.id)
    record = Dispensing(
        prescription_id=prescription.id,
        pharmacy_id=pharmacy_id,
        kiosk_id=kiosk_id,
        pharmacist_id=pharmacist.id,
        identity_check_id=identity_check_id,
        lots=[
            {
                "drug": t.lot.drug.code,
                "lot_id": t.lot.id,
                "batch_number": t.lot.batch_number,
                "expiry_date": t.lot.expiry_date.isoformat(),
                "units": t.units,
            }
            for t in taken
        ],
        dispensed_at=now,
    )
    session.add(record)
    prescription.redeemed_at = now
    if fulfilment is None:
        # Dispensed at the counter without a reservation: the fulfilment starts here.
        fulfilment = Fulfilment(
            prescription_id=prescription.id,
            method=FulfilmentMethod.pickup,
            pharmacy_id=pharmacy_id,
        )
    for reservation in fulfilment.reservations:
        reservation.active = False
    fulfilment.updated_at = now
    session.flush()  # the dispensing record written: the notice names its pharmacy
    transitions.transition(
        session,
        rules.FULFILMENT,
        fulfilment,
        FulfilmentState.dispensed,
        actor,
        details={
            "pharmacy_id": pharmacy_id,
            "kiosk_id": kiosk_id,
            "pharmacist_id": pharmacist.id,
            "lots": [[t.lot.id, t.units] for t in taken],
            "boxes": len(boxes),
        },
        notice=transitions.Notice(
            prescription.consultation.account_id,
            "prescription.dispensed",
            "药品已发出",
            f"处方 #{prescription.id} 的药品已由{record.pharmacy.name}发出"
            f"（药师 {pharmacist.name}）。请按医嘱用药，如有不适及时就医。",
            {"prescription_id": prescription.id, "pharmacy_id": pharmacy_id},
        ),
        subject=("prescription", prescription.id),
    )
    trace_codes_module.record(session, record.id, boxes)
    outbox.enqueue(
        session, SUPERVISION_DISPENSING, {"dispensing_id": record.id}, f"dispensing-{record.id}"
    )
    return record


SUPERVISION_DISPENSING = "supervision.dispensing"


def send_dispensing(
    session: Session, payload: dict[str, Any], idempotency_key: str, settings: Settings
) -> None:
    """Outbox sender: the dispensing and its boxes' traceability codes, for the supervision
    platform (药品追溯码 uploaded in full)."""
    record = session.get(Dispensing, payload["dispensing_id"])
    if record is None:
        raise outbox.DeliveryError("no such dispensing", permanent=True)
    codes = session.scalars(
        select(DispensedBox.trace_code).where(DispensedBox.dispensing_id == record.id)
    ).all()
    body = {
        "type": "dispensing",
        "prescription_id": record.prescription_id,
        "pharmacy_id": record.pharmacy_id,
        "dispensed_at": record.dispensed_at.isoformat(),
        "lots": record.lots,
        "trace_codes": list(codes),
    }
    outbox.post_json(settings.supervision_url, body, idempotency_key, settings)
