"""The counter's own checks, each with a test that fails without it: both signatures over the
content as it is now, and every drug screened again (barred since it was approved)."""

from __future__ import annotations

import base64
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from pharmacy.models import Dispensing, StockLot
from prescriptions.models import Prescription
from tests.pharmacy.test_kiosk import _dispense, _identity, counter  # noqa: F401 - fixture


def _attempt(client: FlaskClient, counter: dict[str, Any]) -> Any:  # noqa: F811
    terminal, code = counter["terminal"], counter["code"]
    check = _identity(client, terminal, code)
    assert check.status_code == 200, check.json
    return _dispense(client, terminal, code, check.json["identity_check_id"], counter["pharmacist"])


def _nothing_left(session: Session, counter: dict[str, Any]) -> None:  # noqa: F811
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Dispensing)) == 0
    later = session.get(StockLot, counter["lots"]["later"].id)
    assert later is not None
    assert later.quantity == 100


def test_a_line_changed_after_approval_is_not_dispensed(
    client: FlaskClient,
    session: Session,
    counter: dict[str, Any],  # noqa: F811
) -> None:
    session.execute(text("UPDATE prescription_items SET days = 56"))
    refused = _attempt(client, counter)
    assert refused.status_code == 409, refused.json
    assert refused.json["code"] == "signature_invalid"
    _nothing_left(session, counter)


def test_a_forged_pharmacist_signature_is_not_dispensed(
    client: FlaskClient,
    session: Session,
    counter: dict[str, Any],  # noqa: F811
) -> None:
    row = session.get(Prescription, counter["written"].id)
    assert row is not None
    assert row.pharmacist_signature
    raw = bytearray(base64.b64decode(row.pharmacist_signature))
    raw[0] ^= 0x01  # one bit of the signature
    row.pharmacist_signature = base64.b64encode(bytes(raw)).decode()
    session.flush()
    refused = _attempt(client, counter)
    assert refused.json["code"] == "signature_invalid"
    _nothing_left(session, counter)


def test_a_drug_barred_since_approval_is_not_dispensed(
    client: FlaskClient,
    session: Session,
    counter: dict[str, Any],  # noqa: F811
) -> None:
    row = session.get(Prescription, counter["written"].id)
    assert row is not None
    row.items[0].drug.blocked = True  # a new formulary version barred it
    session.flush()
    refused = _attempt(client, counter)
    assert refused.json["code"] == "controlled_drug", refused.json
    _nothing_left(session, counter)
