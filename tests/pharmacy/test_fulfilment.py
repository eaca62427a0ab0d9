"""Choosing how to get the drugs: the nearest open pharmacies with every item, reservations
that hold stock until the prescription expires, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from pharmacy.models import Fulfilment, Reservation
from pharmacy.tasks import release_reservations
from prescriptions.models import Prescription
from tests.pharmacy.helpers import CLOSED, approved_with_face, pharmacy, stock_up
from tests.prescriptions.helpers import written_prescription

AMLODIPINE = "苯磺酸氨氯地平片"
TIANANMEN = {"lat": 39.9087, "lng": 116.3975}


def _nearby(client: FlaskClient, pid: int, headers: dict) -> list[int]:
    response = client.get(
        f"/api/v1/prescriptions/{pid}/pharmacies", query_string=TIANANMEN, headers=headers
    )
    assert response.status_code == 200, response.json
    return [p["id"] for p in response.json["pharmacies"]]


def _pickup(client: FlaskClient, pid: int, headers: dict, pharmacy_id: int) -> object:
    return client.post(
        f"/api/v1/prescriptions/{pid}/fulfilment",
        headers=headers,
        json={"method": "pickup", "pharmacy_id": pharmacy_id},
    )


@pytest.mark.usefixtures("catalogue")
def test_nearest_open_pharmacies_with_every_item(client: FlaskClient, session: Session) -> None:
    written = approved_with_face(client, session)
    near = pharmacy(session, "NEAR", 39.91, 116.40)
    far = pharmacy(session, "FAR", 40.05, 116.30)
    closed = pharmacy(session, "CLOSED", 39.9088, 116.3976, hours=CLOSED)
    short = pharmacy(session, "SHORT", 39.909, 116.398)
    stale = pharmacy(session, "STALE", 39.9089, 116.3977)
    for where in (near, far, closed):
        stock_up(session, where, AMLODIPINE, 100)
    stock_up(session, short, AMLODIPINE, 27)  # one tablet short of 28
    stock_up(session, stale, AMLODIPINE, 100, days_left=-1)  # expired
    assert _nearby(client, written.id, written.patient_headers) == [near.id, far.id]


@pytest.mark.usefixtures("catalogue")
def test_pickup_reserves_until_expiry_and_others_cannot_take_it(
    client: FlaskClient, session: Session
) -> None:
    first = approved_with_face(client, session)
    second = approved_with_face(client, session, id_number="310104199007084564")
    where = pharmacy(session)
    stock_up(session, where, AMLODIPINE, 40)
    chosen = _pickup(client, first.id, first.patient_headers, where.id)
    assert chosen.status_code == 201, chosen.json  # type: ignore[attr-defined]
    assert chosen.json["state"] == "reserved"  # type: ignore[attr-defined]
    inbox = client.get("/api/v1/me/notifications", headers=first.patient_headers).json
    assert inbox["notifications"][0]["kind"] == "fulfilment.reserved"
    # 28 of 40 are held: the second patient does not see this pharmacy, and cannot reserve.
    assert _nearby(client, second.id, second.patient_headers) == []
    refused = _pickup(client, second.id, second.patient_headers, where.id)
    assert refused.json["code"] == "out_of_stock"  # type: ignore[attr-defined]
    again = _pickup(client, first.id, first.patient_headers, where.id)
    assert again.json["code"] == "fulfilment_exists"  # type: ignore[attr-defined]

    # Once the first prescription is past its last day the stock goes back on the shelf.
    assert release_reservations() == 0
    fulfilment = session.scalar(select(Fulfilment).where(Fulfilment.prescription_id == first.id))
    assert fulfilment is not None
    fulfilment.reserved_until = clock.now() - dt.timedelta(seconds=1)
    session.commit()
    assert release_reservations() == 1
    assert (
        session.scalar(
            select(func.count()).select_from(Reservation).where(Reservation.active.is_(True))
        )
        == 0
    )
    assert _nearby(client, second.id, second.patient_headers) == [where.id]


@pytest.mark.usefixtures("catalogue")
def test_unapproved_or_expired_prescriptions_change_nothing(
    client: FlaskClient, session: Session
) -> None:
    where = pharmacy(session)
    stock_up(session, where, AMLODIPINE, 100)
    approved = approved_with_face(client, session, id_number="310104199007084564")
    unreviewed = written_prescription(client, session)
    response = _pickup(client, unreviewed.id, unreviewed.patient_headers, where.id)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert response.json["code"] == "not_approved"  # type: ignore[attr-defined]

    row = session.get(Prescription, approved.id)
    assert row is not None
    row.valid_until = clock.today() - dt.timedelta(days=1)  # its last day has passed
    session.flush()
    response = _pickup(client, approved.id, approved.patient_headers, where.id)
    assert response.status_code == 410  # type: ignore[attr-defined]
    assert response.json["code"] == "prescription_expired"  # type: ignore[attr-defined]
    assert session.scalar(select(func.count()).select_from(Fulfilment)) == 0

    bad = client.post(
        f"/api/v1/prescriptions/{approved.id}/fulfilment",
        headers=approved.patient_headers,
        json={"method": "drone"},
    )
    assert bad.status_code == 422


@pytest.mark.usefixtures("catalogue")
def test_only_the_patient_arranges_their_prescription(
    client: FlaskClient, session: Session
) -> None:
    written = approved_with_face(client, session)
    other = approved_with_face(client, session, id_number="310104199007084564")
    where = pharmacy(session)
    stock_up(session, where, AMLODIPINE, 100)
    response = _pickup(client, written.id, other.patient_headers, where.id)
    assert response.status_code == 404  # type: ignore[attr-defined]
    looked = client.get(
        f"/api/v1/prescriptions/{written.id}/pharmacies",
        query_string=TIANANMEN,
        headers=other.patient_headers,
    )
    assert looked.status_code == 404


@pytest.mark.usefixtures("catalogue")
def test_a_patient_cancels_a_pickup_and_chooses_again(
    client: FlaskClient, session: Session
) -> None:
    written = approved_with_face(client, session)
    near = pharmacy(session, "NEAR")
    other = pharmacy(session, "OTHER", 39.95, 116.45)
    for where in (near, other):
        stock_up(session, where, AMLODIPINE, 30)
    path = f"/api/v1/prescriptions/{written.id}/fulfilment"
    assert _pickup(client, written.id, written.patient_headers, near.id).status_code == 201  # type: ignore[attr-defined]
    assert client.delete(path, headers=written.patient_headers).status_code == 204
    assert client.delete(path, headers=written.patient_headers).json["code"] == "invalid_state"
    again = _pickup(client, written.id, written.patient_headers, other.id)
    assert again.status_code == 201  # type: ignore[attr-defined]
    active = session.scalars(select(Reservation).where(Reservation.active.is_(True))).all()
    assert [(r.pharmacy_id, r.units) for r in active] == [(other.id, 28)]
    kept = session.scalar(select(func.count()).select_from(Reservation))
    assert kept == 2  # the cancelled reservation stays, inactive


@pytest.mark.usefixtures("catalogue")
def test_the_pharmacy_search_does_not_query_once_per_pharmacy(
    client: FlaskClient, session: Session, count_queries: Any
) -> None:
    """Two pharmacies or twelve: the same number of statements (an N+1 would grow with them)."""
    written = approved_with_face(client, session)
    for n in range(2):
        stock_up(session, pharmacy(session, f"A{n}", 39.91 + n / 100, 116.40), AMLODIPINE, 100)
    session.flush()
    with count_queries() as few:
        assert len(_nearby(client, written.id, written.patient_headers)) == 2
    for n in range(10):
        stock_up(session, pharmacy(session, f"B{n}", 39.95 + n / 100, 116.40), AMLODIPINE, 100)
    session.flush()
    with count_queries() as many:
        assert len(_nearby(client, written.id, written.patient_headers)) == 12
    assert len(many) == len(few), many
