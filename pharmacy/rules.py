"""Pharmacy rules: how many units an item needs, opening hours, distance, and the refusals
with their stable codes."""

from __future__ import annotations

import datetime as dt
import math

from core import transitions
from core.errors import DomainError
from pharmacy.models import FulfilmentState

EARTH_RADIUS_KM = 6371.0
LOW_STOCK_UNITS = 60  # fewer units than this of a drug at a pharmacy is low
NEAR_EXPIRY_DAYS = 90  # a lot expiring within this many days is flagged


class NotApproved(DomainError):
    code = "not_approved"
    status = 422
    title = "处方尚未经药师审核通过"


class PrescriptionExpired(DomainError):
    code = "prescription_expired"
    status = 410
    title = "处方已过期"


class AlreadyDispensed(DomainError):
    code = "already_dispensed"
    status = 409
    title = "该处方已发药，不能重复取药"


class OutOfStock(DomainError):
    code = "out_of_stock"
    status = 409
    title = "药房库存不足"


class AlreadyArranged(DomainError):
    code = "fulfilment_exists"
    status = 409
    title = "该处方已选择取药方式"


class ReservedElsewhere(DomainError):
    code = "reserved_elsewhere"
    status = 409
    title = "该处方已预留在其他药房"


class InvalidCode(DomainError):
    code = "invalid_code"
    status = 404
    title = "取药码无效"


class IdentityNotConfirmed(DomainError):
    code = "identity_not_confirmed"
    status = 403
    title = "取药人身份未核验"


class PharmacistNotOnDuty(DomainError):
    code = "pharmacist_not_on_duty"
    status = 403
    title = "须由本药房在岗药师确认"


class DeliveryNotAllowed(DomainError):
    code = "delivery_not_allowed"
    status = 409
    title = "该处方含禁止网络销售的药品，请到店取药"


class SignatureInvalid(DomainError):
    code = "signature_invalid"
    status = 409
    title = "处方签名校验失败，不得调配"


# How drugs reach the patient (core.transitions.move): held at a pharmacy or prepared for
# delivery, dispensed, then for a delivery the courier's steps; released back to the shelf
# before dispensing, after which the patient may arrange it again.
_F = FulfilmentState
FULFILMENT_MOVES: dict[FulfilmentState | None, frozenset[FulfilmentState]] = {
    None: frozenset({_F.reserved, _F.awaiting_dispense, _F.dispensed}),
    _F.reserved: frozenset({_F.dispensed, _F.released}),
    _F.awaiting_dispense: frozenset({_F.dispensed, _F.released}),
    _F.released: frozenset({_F.reserved, _F.awaiting_dispense, _F.dispensed}),
    _F.dispensed: frozenset({_F.picked_up, _F.failed}),
    _F.picked_up: frozenset({_F.in_transit, _F.delivered, _F.failed}),
    _F.in_transit: frozenset({_F.in_transit, _F.delivered, _F.failed}),
    _F.delivered: frozenset(),
    _F.failed: frozenset(),
}
# A fulfilment's moves are the prescription's history (audited on the prescription).
FULFILMENT = transitions.Machine(
    "fulfilment",
    "取药",
    FULFILMENT_MOVES,
    {
        _F.reserved: "fulfilment.pickup",
        _F.awaiting_dispense: "fulfilment.delivery",
        _F.released: "fulfilment.release",
        _F.dispensed: "prescription.dispense",
    },
)


class InvalidStock(DomainError):
    code = "invalid_stock"
    status = 422
    title = "库存数据无效"


def is_open(hours: dict[str, list[list[str]]], at: dt.datetime) -> bool:
    """Whether a pharmacy is open at `at` (China time; a span may run past midnight)."""
    local = at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    now = local.strftime("%H:%M")
    for start, end in hours.get(str(local.isoweekday()), []):
        if start <= end and start <= now < end:
            return True
        if start > end and (now >= start or now < end):
            return True
    return False


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


class TraceCodeInvalid(DomainError):
    code = "trace_code_invalid"
    status = 422
    title = "药品追溯码无效（每盒一个 20 位数字码）"


class TraceCodesMissing(DomainError):
    code = "trace_codes_missing"
    status = 422
    title = "每种药品至少扫描一盒的追溯码"


class TraceCodeReused(DomainError):
    code = "trace_code_reused"
    status = 409
    title = "该追溯码的药品已发出，同一盒不能发两次"
