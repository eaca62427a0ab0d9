"""Stock: receiving and adjusting lots through the API, every movement audited, never below
zero, expired goods refused, only the pharmacy's own staff; alerts."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.models import AuditEvent
from identity.models import Role
from pharmacy.tasks import stock_alerts
from prescriptions.services.drugs import LoadReport
from tests.helpers import bearer
from tests.pharmacy.helpers import drug, pharmacist_at, pharmacy, stock_up


def test_staff_receive_and_adjust_with_reasons(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    where = pharmacy(session)
    staff = bearer(session, account=pharmacist_at(session, where).account)
    amlodipine = drug(session, "苯磺酸氨氯地平片")
    expiry = (clock.today() + dt.timedelta(days=365)).isoformat()
    lot = {"drug_id": amlodipine.code, "batch_number": "A1", "expiry_date": expiry, "quantity": 50}
    received = client.post(f"/api/v1/pharmacies/{where.id}/stock", headers=staff, json=lot)
    assert received.status_code == 201, received.json
    more = client.post(f"/api/v1/pharmacies/{where.id}/stock", headers=staff, json=lot)
    assert more.json["quantity"] == 100  # the same batch again adds to its lot
    lot_id = received.json["lot_id"]
    adjust = f"/api/v1/pharmacies/{where.id}/stock/{lot_id}/adjust"
    below = client.post(adjust, headers=staff, json={"change": -101, "reason": "盘点"})
    assert below.json["code"] == "invalid_stock"
    no_reason = client.post(adjust, headers=staff, json={"change": -1, "reason": " "})
    assert no_reason.json["code"] == "invalid_stock"
    broken = client.post(adjust, headers=staff, json={"change": -3, "reason": "破损"})
    assert broken.json["quantity"] == 97
    listed = client.get(f"/api/v1/pharmacies/{where.id}/stock", headers=staff).json["lots"]
    assert [(x["batch_number"], x["quantity"]) for x in listed] == [("A1", 97)]
    actions = list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("stock.%"))
            .order_by(AuditEvent.id)
        )
    )
    assert actions == ["stock.received", "stock.received", "stock.adjusted"]


def test_refusals_change_nothing(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    where = pharmacy(session)
    staff = bearer(session, account=pharmacist_at(session, where).account)
    outsider = bearer(session, account=pharmacist_at(session, pharmacy(session, "PH-9")).account)
    patient = bearer(session, Role.patient)
    good = {
        "drug_id": drug(session, "苯磺酸氨氯地平片").code,
        "batch_number": "A1",
        "expiry_date": (clock.today() + dt.timedelta(days=30)).isoformat(),
        "quantity": 10,
    }
    path = f"/api/v1/pharmacies/{where.id}/stock"
    assert client.post(path, headers=outsider, json=good).status_code == 403
    assert client.post(path, headers=patient, json=good).status_code == 403
    expired = {**good, "expiry_date": clock.today().isoformat()}
    assert client.post(path, headers=staff, json=expired).json["code"] == "invalid_stock"
    controlled = {**good, "drug_id": drug(session, "盐酸羟考酮缓释片").code}
    assert client.post(path, headers=staff, json=controlled).json["code"] == "unknown_drug"
    assert client.get(path, headers=staff).json["lots"] == []


def test_alerts_for_low_stock_and_lots_near_or_past_expiry(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    where = pharmacy(session)
    staff = bearer(session, account=pharmacist_at(session, where).account)
    stock_up(session, where, "苯磺酸氨氯地平片", 500, days_left=400)
    stock_up(session, where, "缬沙坦胶囊", 500, days_left=30)
    stock_up(session, where, "二甲双胍片", 20, days_left=400)
    stock_up(session, where, "二甲双胍片", 500, days_left=-2)
    alerts = client.get(f"/api/v1/pharmacies/{where.id}/alerts", headers=staff).json["alerts"]
    assert {(a["kind"], a["generic_name"]) for a in alerts} == {
        ("near_expiry", "缬沙坦胶囊"),
        ("expired", "二甲双胍片"),
        ("low_stock", "二甲双胍片"),  # the expired 500 do not count
    }


def test_pharmacists_on_duty_hear_of_alerts_once_a_day(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    where = pharmacy(session)
    on_duty = pharmacist_at(session, where)
    off_duty = pharmacist_at(session, where, on_duty=False)
    stock_up(session, where, "缬沙坦胶囊", 10)
    session.commit()
    assert stock_alerts() == 1
    assert stock_alerts() == 0  # not again today
    inbox = client.get(
        "/api/v1/me/notifications", headers=bearer(session, account=on_duty.account)
    ).json["notifications"]
    assert inbox[0]["kind"] == "stock.alerts"
    assert "缬沙坦胶囊" in inbox[0]["body"]
    quiet = client.get(
        "/api/v1/me/notifications", headers=bearer(session, account=off_duty.account)
    ).json["notifications"]
    assert quiet == []
