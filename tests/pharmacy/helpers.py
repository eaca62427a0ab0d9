"""Pharmacies with stock, pharmacists on duty and kiosks, built through the real services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from identity.models import Practitioner
from identity.rules import PractitionerKind, Title
from identity.services import issue_token
from pharmacy.models import Kiosk, Pharmacy, StockLot
from pharmacy.services import kiosk, pharmacies, stock
from prescriptions.models import Drug, Prescription
from tests import factories
from tests.prescriptions.helpers import Written, approved_prescription

ALL_DAY = {str(day): [["00:00", "24:00"]] for day in range(1, 8)}
CLOSED = {str(day): [] for day in range(1, 8)}


def pharmacy(
    session: Session,
    code: str = "PH-1",
    lat: float = 39.9087,
    lng: float = 116.3975,
    hours: dict[str, list[list[str]]] | None = None,
) -> Pharmacy:
    return pharmacies.create_pharmacy(
        session,
        Actor.system(),
        pharmacies.NewPharmacy(
            code=code,
            name=f"仁心大药房{code}店",
            chain="仁心大药房",
            address=f"北京市东城区{code}号",
            latitude=lat,
            longitude=lng,
            opening_hours=hours if hours is not None else ALL_DAY,
            licence_number=f"京AA{code}",
        ),
    )


def pharmacist_at(session: Session, where: Pharmacy, on_duty: bool = True) -> Practitioner:
    practitioner = factories.practitioner(
        kind=PractitionerKind.pharmacist, department="药房", title=Title.pharmacist
    )
    pharmacies.add_pharmacist(session, Actor.system(), where.id, practitioner.id, on_duty)
    return practitioner


@dataclass
class Terminal:
    kiosk: Kiosk
    headers: dict


def kiosk_at(session: Session, where: Pharmacy, name: str = "1 号终端") -> Terminal:
    registered = kiosk.register(session, Actor.system(), where.id, name)
    token = issue_token(session, registered.kiosk.account, 3600).token
    return Terminal(registered.kiosk, {"Authorization": f"Bearer {token}"})


def drug(session: Session, generic_name: str) -> Drug:
    found = session.scalar(select(Drug).where(Drug.generic_name == generic_name))
    assert found is not None, generic_name
    return found


def stock_up(
    session: Session,
    where: Pharmacy,
    generic_name: str,
    units: int,
    days_left: int = 365,
    batch: str | None = None,
) -> StockLot:
    """A lot expiring `days_left` days from today (received when it was still good)."""
    today = clock.today()
    expiry = today + dt.timedelta(days=days_left)
    found = drug(session, generic_name)
    return stock.receive(
        session,
        Actor.system(),
        where.id,
        found.id,
        batch or f"B{generic_name[:2]}{days_left}",
        expiry,
        units,
        min(today, expiry - dt.timedelta(days=1)),
    )


def code_of(session: Session, prescription_id: int) -> str:
    row = session.get(Prescription, prescription_id)
    assert row is not None
    assert row.redemption_code is not None
    return row.redemption_code


def approved_with_face(client: FlaskClient, session: Session, **kwargs: object) -> Written:
    """An approved prescription whose patient's face is enrolled (as real-name verification
    leaves it): 氨氯地平 5 mg once a day for 28 days, i.e. 28 tablets of 5 mg."""
    written = approved_prescription(client, session, **kwargs)  # type: ignore[arg-type]
    person = written.patient.person
    assert person is not None
    person.face_encoding = factories._enrolled_face()
    session.flush()
    return written
