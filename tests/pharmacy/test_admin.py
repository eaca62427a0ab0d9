"""Operators register pharmacies, pharmacists on duty and kiosks; a kiosk signs in with its
device credentials, and once revoked neither they nor its tokens work."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from identity.models import Role
from identity.rules import PractitionerKind, Title
from tests import factories
from tests.helpers import bearer
from tests.pharmacy.helpers import ALL_DAY

STORE = {
    "code": "BJ-001",
    "name": "仁心大药房（王府井店）",
    "chain": "仁心大药房",
    "address": "北京市东城区王府井大街 100 号",
    "latitude": 39.9146,
    "longitude": 116.4109,
    "opening_hours": ALL_DAY,
    "licence_number": "京DA0100001",
}


def test_a_pharmacy_its_pharmacist_and_a_kiosk_that_is_later_revoked(
    client: FlaskClient, session: Session
) -> None:
    admin = bearer(session, Role.admin)
    created = client.post("/api/v1/pharmacies", headers=admin, json=STORE)
    assert created.status_code == 201, created.json
    pid = created.json["id"]
    assert client.post("/api/v1/pharmacies", headers=admin, json=STORE).status_code == 422
    nowhere = {**STORE, "code": "X", "latitude": 123}
    assert client.post("/api/v1/pharmacies", headers=admin, json=nowhere).status_code == 422
    doctor = factories.practitioner()
    on_duty = f"/api/v1/pharmacies/{pid}/pharmacists"
    refused = client.put(on_duty, headers=admin, json={"practitioner_id": doctor.id})
    assert refused.status_code == 422  # only pharmacists
    pharmacist = factories.practitioner(
        kind=PractitionerKind.pharmacist, department="药房", title=Title.pharmacist
    )
    assert (
        client.put(on_duty, headers=admin, json={"practitioner_id": pharmacist.id}).status_code
        == 204
    )

    registered = client.post(
        f"/api/v1/pharmacies/{pid}/kiosks", headers=admin, json={"name": "1 号终端"}
    ).json
    assert registered["secret"]
    signed_in = client.post(
        "/api/v1/auth/token",
        json={"username": registered["username"], "password": registered["secret"]},
    )
    assert signed_in.status_code == 200
    device = {"Authorization": f"Bearer {signed_in.json['access_token']}"}
    scan = client.post("/api/v1/kiosk/scan", headers=device, json={"token": "x"})
    assert scan.json["code"] == "invalid_code"  # the kiosk works

    revoked = client.post(f"/api/v1/kiosks/{registered['kiosk_id']}/revoke", headers=admin)
    assert revoked.json["revoked_at"]
    assert client.post("/api/v1/kiosk/scan", headers=device, json={"token": "x"}).status_code == 401
    again = client.post(
        "/api/v1/auth/token",
        json={"username": registered["username"], "password": registered["secret"]},
    )
    assert again.status_code == 401


def test_only_operators_register_pharmacies_and_kiosks(
    client: FlaskClient, session: Session
) -> None:
    for role in (Role.patient, Role.pharmacist, Role.kiosk, Role.doctor):
        response = client.post("/api/v1/pharmacies", headers=bearer(session, role), json=STORE)
        assert response.status_code == 403, role
