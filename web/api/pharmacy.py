"""Pharmacy API: the patient chooses how to get the drugs; staff manage pharmacies, kiosks and
stock, and dispatch deliveries; the courier's signed updates."""

from __future__ import annotations

from flask import Blueprint, Response, request

from core import clock
from core.errors import NotFound
from identity.models import Role
from identity.services import actor_of
from pharmacy import access, rules
from pharmacy.models import Dispensing, Fulfilment, FulfilmentMethod, Pharmacy, StockLot
from pharmacy.schemas import (
    AdjustIn,
    AlertList,
    AlertOut,
    CourierEventIn,
    CourierEventOut,
    DispatchIn,
    DispensedLot,
    DispensingOut,
    FulfilmentIn,
    FulfilmentOut,
    KioskIn,
    KioskOut,
    LotList,
    LotOut,
    NewPharmacyIn,
    PharmacistOnDutyIn,
    PharmacyList,
    PharmacyOut,
    ReceiveIn,
)
from pharmacy.services import courier, fulfilment, kiosk, stock
from pharmacy.services import pharmacies as pharmacy_services
from prescriptions.services import drugs, prescribing, records
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation
from web.platform_auth import courier_signed
from web.responses import json_model
from web.session import db_session

bp = Blueprint("api_pharmacy", __name__)


def pharmacy_out(p: Pharmacy, distance: float | None = None) -> PharmacyOut:
    return PharmacyOut(
        id=p.id,
        name=p.name,
        chain=p.chain,
        address=p.address,
        latitude=p.latitude,
        longitude=p.longitude,
        distance_km=round(distance, 2) if distance is not None else None,
        open_now=rules.is_open(p.opening_hours, clock.now()),
        opening_hours=p.opening_hours,
    )


def fulfilment_out(f: Fulfilment, for_patient: bool) -> FulfilmentOut:
    return FulfilmentOut(
        prescription_id=f.prescription_id,
        method=f.method.value,
        method_label=f.method.label,
        state=f.state.value,
        state_label=f.state.label,
        pharmacy_id=f.pharmacy_id,
        pharmacy_name=f.pharmacy.name,
        pharmacy_address=f.pharmacy.address,
        reserved_until=f.reserved_until,
        courier_order_id=f.courier_order_id,
        delivery_code=f.delivery_code if for_patient else None,
    )


def dispensing_out(d: Dispensing) -> DispensingOut:
    return DispensingOut(
        prescription_id=d.prescription_id,
        pharmacy_id=d.pharmacy_id,
        kiosk_id=d.kiosk_id,
        pharmacist_name=d.pharmacist.name,
        dispensed_at=d.dispensed_at,
        lots=[DispensedLot.model_validate(lot) for lot in d.lots],
        trace_codes=[box.trace_code for box in d.boxes],
    )


def _coordinate(name: str, low: float, high: float) -> float:
    try:
        value = float(request.args[name])
    except (KeyError, ValueError):
        raise ApiProblem(422, "validation_error", f"请提供有效的 {name}") from None
    if not low <= value <= high:
        raise ApiProblem(422, "validation_error", f"{name} 超出范围")
    return value


@bp.get("/prescriptions/<int:prescription_id>/pharmacies")
@operation(
    "Open pharmacies that hold every item of the prescription, nearest first (?lat=&lng=)",
    tag="pharmacy",
    response=PharmacyList,
    problems=("not_found", "not_approved", "prescription_expired", "validation_error"),
)
@api_roles_required(Role.patient)
def pharmacies(prescription_id: int) -> tuple[Response, int]:
    lat, lng = _coordinate("lat", -90, 90), _coordinate("lng", -180, 180)
    session, account = db_session(), api_account()
    prescription = prescribing.get(session, prescription_id)
    records.visible_to(session, account, prescription)
    found = fulfilment.pharmacies_for(session, prescription, lat, lng, clock.now())
    return json_model(
        PharmacyList(pharmacies=[pharmacy_out(c.pharmacy, c.distance_km) for c in found])
    )


@bp.post("/prescriptions/<int:prescription_id>/fulfilment")
@operation(
    "Choose pick-up at a pharmacy (stock reserved until the prescription expires) or delivery",
    tag="pharmacy",
    body=FulfilmentIn,
    response=FulfilmentOut,
    status=201,
    problems=(
        "not_found",
        "not_approved",
        "prescription_expired",
        "already_dispensed",
        "fulfilment_exists",
        "out_of_stock",
        "delivery_not_allowed",
        "validation_error",
    ),
)
@api_roles_required(Role.patient)
def choose(prescription_id: int) -> tuple[Response, int]:
    data: FulfilmentIn = body()
    session, account, now = db_session(), api_account(), clock.now()
    if data.method == FulfilmentMethod.pickup.value:
        if data.pharmacy_id is None:
            raise ApiProblem(422, "validation_error", "到店自取须选择药房")
        chosen = fulfilment.choose_pickup(session, account, prescription_id, data.pharmacy_id, now)
    else:
        if data.address is None:
            raise ApiProblem(422, "validation_error", "配送须填写收货地址")
        address = fulfilment.Address(**data.address.model_dump())
        chosen = fulfilment.choose_delivery(
            session, account, prescription_id, address, data.pharmacy_id, now
        )
    return json_model(fulfilment_out(chosen, True), 201)


@bp.get("/prescriptions/<int:prescription_id>/fulfilment")
@operation(
    "How the prescription's drugs reach the patient, and where that stands",
    tag="pharmacy",
    response=FulfilmentOut,
    problems=("not_found",),
)
@api_roles_required(Role.patient, Role.pharmacist)
def show(prescription_id: int) -> tuple[Response, int]:
    session, account = db_session(), api_account()
    prescription = prescribing.get(session, prescription_id)
    access.ensure_may_read(session, account, prescription)
    found = fulfilment.for_prescription(session, prescription_id)
    if found is None:
        raise NotFound("尚未选择取药方式")
    return json_model(fulfilment_out(found, account.role is Role.patient))


@bp.delete("/prescriptions/<int:prescription_id>/fulfilment")
@operation(
    "Cancel the pick-up or delivery before anything was dispensed; the stock goes back",
    tag="pharmacy",
    status=204,
    problems=("not_found", "invalid_state"),
)
@api_roles_required(Role.patient)
def cancel(prescription_id: int) -> Response:
    fulfilment.cancel(db_session(), api_account(), prescription_id, clock.now())
    return Response(status=204)


# --- staff: pharmacies, pharmacists on duty, kiosks -------------------------------------------


@bp.post("/pharmacies")
@operation(
    "Register a pharmacy (admin)",
    tag="pharmacy",
    body=NewPharmacyIn,
    response=PharmacyOut,
    status=201,
    problems=("validation_error",),
)
@api_roles_required(Role.admin)
def create_pharmacy() -> tuple[Response, int]:
    data: NewPharmacyIn = body()
    pharmacy = pharmacy_services.create_pharmacy(
        db_session(), actor_of(api_account()), pharmacy_services.NewPharmacy(**data.model_dump())
    )
    return json_model(pharmacy_out(pharmacy), 201)


@bp.put("/pharmacies/<int:pharmacy_id>/pharmacists")
@operation(
    "Register a pharmacist at a pharmacy, on or off duty (admin)",
    tag="pharmacy",
    body=PharmacistOnDutyIn,
    status=204,
    problems=("not_found", "validation_error"),
)
@api_roles_required(Role.admin)
def pharmacist_on_duty(pharmacy_id: int) -> Response:
    data: PharmacistOnDutyIn = body()
    pharmacy_services.add_pharmacist(
        db_session(), actor_of(api_account()), pharmacy_id, data.practitioner_id, data.on_duty
    )
    return Response(status=204)


@bp.post("/pharmacies/<int:pharmacy_id>/kiosks")
@operation(
    "Register a kiosk at a pharmacy; its device secret is shown once (admin)",
    tag="pharmacy",
    body=KioskIn,
    response=KioskOut,
    status=201,
    problems=("not_found",),
)
@api_roles_required(Role.admin)
def register_kiosk(pharmacy_id: int) -> tuple[Response, int]:
    data: KioskIn = body()
    registered = kiosk.register(db_session(), actor_of(api_account()), pharmacy_id, data.name)
    out = KioskOut(
        kiosk_id=registered.kiosk.id,
        pharmacy_id=pharmacy_id,
        username=registered.username,
        secret=registered.secret,
        reader_key=registered.reader_key,
    )
    return json_model(out, 201)


@bp.post("/kiosks/<int:kiosk_id>/reader-key")
@operation(
    "Issue a new key for the kiosk's ID card reader (the old one stops at once; shown once)",
    tag="pharmacy",
    response=KioskOut,
    problems=("not_found",),
)
@api_roles_required(Role.admin)
def rotate_reader_key(kiosk_id: int) -> tuple[Response, int]:
    row, key = kiosk.rotate_reader_key(db_session(), actor_of(api_account()), kiosk_id)
    out = KioskOut(kiosk_id=row.id, pharmacy_id=row.pharmacy_id, username=row.account.username,
                   reader_key=key)  # fmt: skip
    return json_model(out)


@bp.post("/kiosks/<int:kiosk_id>/revoke")
@operation(
    "Revoke a kiosk: its credentials and tokens stop working at once (admin)",
    tag="pharmacy",
    response=KioskOut,
    problems=("not_found",),
)
@api_roles_required(Role.admin)
def revoke_kiosk(kiosk_id: int) -> tuple[Response, int]:
    revoked = kiosk.revoke(db_session(), actor_of(api_account()), kiosk_id, clock.now())
    return json_model(
        KioskOut(
            kiosk_id=revoked.id,
            pharmacy_id=revoked.pharmacy_id,
            username=revoked.account.username,
            revoked_at=revoked.revoked_at,
        )
    )


# --- staff: stock -------------------------------------------------------------------------------


def lot_out(lot: StockLot) -> LotOut:
    return LotOut(
        lot_id=lot.id,
        drug_id=lot.drug.code,
        generic_name=lot.drug.generic_name,
        batch_number=lot.batch_number,
        expiry_date=lot.expiry_date,
        quantity=lot.quantity,
    )


@bp.get("/pharmacies/<int:pharmacy_id>/stock")
@operation(
    "A pharmacy's stock by lot (its pharmacists, admin)",
    tag="pharmacy",
    response=LotList,
    problems=("not_found", "forbidden"),
)
@api_roles_required(Role.admin, Role.pharmacist)
def list_stock(pharmacy_id: int) -> tuple[Response, int]:
    session = db_session()
    pharmacy_services.ensure_staff(session, api_account(), pharmacy_id)
    return json_model(
        LotList(lots=[lot_out(lot) for lot in pharmacy_services.lots(session, pharmacy_id)])
    )


@bp.post("/pharmacies/<int:pharmacy_id>/stock")
@operation(
    "Receive stock: a lot (batch, expiry, units) of a catalogue drug",
    tag="pharmacy",
    body=ReceiveIn,
    response=LotOut,
    status=201,
    problems=("not_found", "forbidden", "invalid_stock", "unknown_drug"),
)
@api_roles_required(Role.admin, Role.pharmacist)
def receive(pharmacy_id: int) -> tuple[Response, int]:
    data: ReceiveIn = body()
    session, account = db_session(), api_account()
    pharmacy_services.ensure_staff(session, account, pharmacy_id)
    drug = drugs.drug_by_code(session, data.drug_id)
    if drug is None or not drug.active or drug.blocked:
        raise ApiProblem(422, "unknown_drug", "药品目录中没有该药品，或为特殊管理药品")
    lot = stock.receive(
        session,
        actor_of(account),
        pharmacy_id,
        drug.id,
        data.batch_number,
        data.expiry_date,
        data.quantity,
        clock.today(),
    )
    return json_model(lot_out(lot), 201)


@bp.post("/pharmacies/<int:pharmacy_id>/stock/<int:lot_id>/adjust")
@operation(
    "Adjust a lot with a reason (count, breakage, destruction); never below zero",
    tag="pharmacy",
    body=AdjustIn,
    response=LotOut,
    problems=("not_found", "forbidden", "invalid_stock"),
)
@api_roles_required(Role.admin, Role.pharmacist)
def adjust(pharmacy_id: int, lot_id: int) -> tuple[Response, int]:
    data: AdjustIn = body()
    session, account = db_session(), api_account()
    pharmacy_services.ensure_staff(session, account, pharmacy_id)
    lot = stock.adjust(session, actor_of(account), pharmacy_id, lot_id, data.change, data.reason)
    return json_model(lot_out(lot))


@bp.get("/pharmacies/<int:pharmacy_id>/alerts")
@operation(
    "Low stock and lots near expiry (or expired with units left)",
    tag="pharmacy",
    response=AlertList,
    problems=("not_found", "forbidden"),
)
@api_roles_required(Role.admin, Role.pharmacist)
def alerts(pharmacy_id: int) -> tuple[Response, int]:
    session = db_session()
    pharmacy_services.ensure_staff(session, api_account(), pharmacy_id)
    found = stock.alerts(session, pharmacy_id, clock.today())
    out = [AlertOut(kind=a.kind, drug_id=a.drug_id, generic_name=a.generic_name, detail=a.detail)
           for a in found]  # fmt: skip
    return json_model(AlertList(alerts=out))


@bp.post("/deliveries/<int:prescription_id>/dispatch")
@operation(
    "A pharmacist on duty dispenses a delivery order; the courier is then called",
    tag="pharmacy",
    body=DispatchIn,
    response=DispensingOut,
    problems=(
        "trace_code_invalid",
        "trace_codes_missing",
        "trace_code_reused",
        "not_found",
        "already_dispensed",
        "pharmacist_not_on_duty",
        "out_of_stock",
        "prescription_expired",
        "signature_invalid",
    ),
)
@api_roles_required(Role.pharmacist)
def dispatch(prescription_id: int) -> tuple[Response, int]:
    session = db_session()
    found = fulfilment.for_prescription(session, prescription_id)
    if found is None or found.method is not FulfilmentMethod.delivery:
        raise NotFound("没有这个配送单")
    data: DispatchIn = body()
    record = courier.dispatch(session, api_account(), found.id, clock.now(), data.trace_codes)
    return json_model(dispensing_out(record))


@bp.post("/courier/events")
@operation(
    "Courier: a delivery update (HMAC-signed); a replayed event id changes nothing",
    tag="pharmacy",
    body=CourierEventIn,
    response=CourierEventOut,
    problems=("bad_signature", "not_found", "invalid_state", "confirmation_mismatch"),
    public=True,
)
@courier_signed
def courier_event() -> tuple[Response, int]:
    data: CourierEventIn = body()
    detail = {"note": data.note, "at": data.at.isoformat() if data.at else None}
    found, applied = courier.apply_event(
        db_session(),
        data.event_id,
        data.order_id,
        data.status,
        data.confirmation_code,
        detail,
        clock.now(),
    )
    return json_model(
        CourierEventOut(order_id=data.order_id, state=found.state.value, applied=applied)
    )
