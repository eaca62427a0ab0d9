"""At the kiosk: scan, the collector's identity, a pharmacist on duty confirms, and the drugs
leave exactly once, first expiry first, never from an expired lot."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from pharmacy.models import Dispensing, StockLot, StockMovement
from pharmacy.services import kiosk, stock
from prescriptions.models import Prescription
from prescriptions.services.drugs import LoadReport
from tests import faces, factories
from tests.fakes import id_card_reader
from tests.fakes.id_card_reader import CHILD, STRANGER
from tests.helpers import trace_codes
from tests.people import CHILD_ID_NUMBER
from tests.pharmacy.helpers import (
    Terminal,
    approved_with_face,
    code_of,
    kiosk_at,
    pharmacist_at,
    pharmacy,
    stock_up,
)

AMLODIPINE = "苯磺酸氨氯地平片"


@pytest.fixture
def counter(client: FlaskClient, session: Session, catalogue: LoadReport) -> dict[str, Any]:
    """A pharmacy with amlodipine in three lots (one expired), a pharmacist on duty, a kiosk,
    and an approved prescription for 28 tablets."""
    where = pharmacy(session)
    lots = {
        "expired": stock_up(session, where, AMLODIPINE, 100, days_left=-1),
        "soon": stock_up(session, where, AMLODIPINE, 20, days_left=30),
        "later": stock_up(session, where, AMLODIPINE, 100, days_left=400),
    }
    written = approved_with_face(client, session)
    return {
        "pharmacy": where,
        "lots": lots,
        "pharmacist": pharmacist_at(session, where),
        "terminal": kiosk_at(session, where),
        "written": written,
        "code": code_of(session, written.id),
    }


def _identity(
    client: FlaskClient,
    terminal: Terminal,
    code: str,
    selfie: bytes | None = None,
    card: str | None = None,
    **form: Any,
) -> Any:
    data = {"token": code, "id_card": card or id_card_reader.reading(terminal.kiosk), **form}
    data["selfie"] = (io.BytesIO(selfie or faces.encode(faces.selfie_640x480())), "selfie.jpg")
    return client.post(
        "/api/v1/kiosk/identity",
        data=data,
        headers=terminal.headers,
        content_type="multipart/form-data",
    )


def _dispense(
    client: FlaskClient,
    terminal: Terminal,
    code: str,
    check_id: int,
    who: Any,
    boxes: list[str] | None = None,
) -> Any:
    return client.post(
        "/api/v1/kiosk/dispense",
        headers=terminal.headers,
        json={
            "token": code,
            "identity_check_id": check_id,
            "pharmacist_username": who.account.username,
            "pharmacist_password": factories.PASSWORD,
            "trace_codes": trace_codes(2) if boxes is None else boxes,
        },
    )


def test_scan_check_and_dispense_first_expiry_first(
    client: FlaskClient, session: Session, counter: dict[str, Any]
) -> None:
    terminal, code = counter["terminal"], counter["code"]
    scanned = client.post("/api/v1/kiosk/scan", headers=terminal.headers, json={"token": code})
    assert scanned.status_code == 200, scanned.json
    assert scanned.json["patient_name"] == "张*"
    assert scanned.json["items"][0]["units"] == 28
    # Typed as people type it: lower case, spaces instead of dashes.
    typed = code.lower().replace("-", " ")
    assert (
        client.post(
            "/api/v1/kiosk/scan", headers=terminal.headers, json={"token": typed}
        ).status_code
        == 200
    )

    check = _identity(client, terminal, code)
    assert check.status_code == 200, check.json
    assert check.json["collector_role"] == "patient"
    done = _dispense(client, terminal, code, check.json["identity_check_id"], counter["pharmacist"])
    assert done.status_code == 201, done.json
    lots = counter["lots"]
    taken = {(lot["lot_id"], lot["units"]) for lot in done.json["lots"]}
    assert taken == {(lots["soon"].id, 20), (lots["later"].id, 8)}  # never the expired lot
    session.expire_all()
    assert session.get(StockLot, lots["expired"].id).quantity == 100  # type: ignore[union-attr]
    assert session.get(StockLot, lots["soon"].id).quantity == 0  # type: ignore[union-attr]
    assert session.get(StockLot, lots["later"].id).quantity == 92  # type: ignore[union-attr]
    record = session.scalar(select(Dispensing))
    assert record is not None
    assert record.kiosk_id == terminal.kiosk.id
    assert record.pharmacist_id == counter["pharmacist"].id
    inbox = client.get("/api/v1/me/notifications", headers=counter["written"].patient_headers)
    assert inbox.json["notifications"][0]["kind"] == "prescription.dispensed"

    again = _dispense(
        client, terminal, code, check.json["identity_check_id"], counter["pharmacist"]
    )
    assert again.status_code == 409
    assert again.json["code"] == "already_dispensed"
    rescan = client.post("/api/v1/kiosk/scan", headers=terminal.headers, json={"token": code})
    assert rescan.json["code"] == "already_dispensed"


def test_no_dispensing_without_identity_or_a_pharmacist_on_duty(
    client: FlaskClient, session: Session, counter: dict[str, Any]
) -> None:
    terminal, code = counter["terminal"], counter["code"]
    someone_elses_card = _identity(
        client, terminal, code, card=id_card_reader.reading(terminal.kiosk, STRANGER)
    )
    assert someone_elses_card.json["code"] == "identity_not_confirmed"
    someone_else = _identity(client, terminal, code, selfie=faces.other_person())
    assert someone_else.json["code"] == "face_mismatch"
    assert _dispense(client, terminal, code, 0, counter["pharmacist"]).json["code"] == (
        "identity_not_confirmed"
    )
    check_id = _identity(client, terminal, code).json["identity_check_id"]
    off_duty = pharmacist_at(session, counter["pharmacy"], on_duty=False)
    assert _dispense(client, terminal, code, check_id, off_duty).json["code"] == (
        "pharmacist_not_on_duty"
    )
    elsewhere = pharmacist_at(session, pharmacy(session, code="PH-2"))
    assert _dispense(client, terminal, code, check_id, elsewhere).json["code"] == (
        "pharmacist_not_on_duty"
    )
    wrong_password = client.post(
        "/api/v1/kiosk/dispense",
        headers=terminal.headers,
        json={
            "token": code,
            "identity_check_id": check_id,
            "pharmacist_username": counter["pharmacist"].account.username,
            "pharmacist_password": "guess",
            "trace_codes": trace_codes(2),
        },
    )
    assert wrong_password.status_code == 403
    assert wrong_password.json["code"] == "pharmacist_authentication_failed"
    # Another kiosk cannot use this kiosk's identity check.
    other = kiosk_at(session, counter["pharmacy"], "2 号终端")
    assert _dispense(client, other, code, check_id, counter["pharmacist"]).json["code"] == (
        "identity_not_confirmed"
    )
    assert session.scalar(select(func.count()).select_from(Dispensing)) == 0
    assert (
        session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.kind == "dispensed")
        )
        == 0
    )


def test_a_shortage_is_refused_before_anything_changes(
    client: FlaskClient, session: Session, counter: dict[str, Any]
) -> None:
    terminal, code = counter["terminal"], counter["code"]
    lots = counter["lots"]
    # Leave 27 good tablets (20 + 7): one short of 28.
    stock.adjust(session, Actor.system(), counter["pharmacy"].id, lots["later"].id, -93, "盘点损耗")
    check_id = _identity(client, terminal, code).json["identity_check_id"]
    refused = _dispense(client, terminal, code, check_id, counter["pharmacist"])
    assert refused.status_code == 409
    assert refused.json["code"] == "out_of_stock"
    session.expire_all()
    assert session.get(StockLot, lots["soon"].id).quantity == 20  # type: ignore[union-attr]
    assert session.get(StockLot, lots["later"].id).quantity == 7  # type: ignore[union-attr]
    row = session.get(Prescription, counter["written"].id)
    assert row is not None
    assert row.redeemed_at is None


def test_a_revoked_kiosk_is_refused_at_once(
    client: FlaskClient, session: Session, counter: dict[str, Any]
) -> None:
    terminal, code = counter["terminal"], counter["code"]
    kiosk.revoke(session, Actor.system(), terminal.kiosk.id, clock.now())
    response = client.post("/api/v1/kiosk/scan", headers=terminal.headers, json={"token": code})
    assert response.status_code == 401


def test_codes_that_are_not_a_prescription_are_refused(
    client: FlaskClient, session: Session, counter: dict[str, Any]
) -> None:
    terminal = counter["terminal"]
    for token in ("not-a-code", "ABCD-EFGH-JKMN-PQRS", "' OR 1=1 --"):
        response = client.post(
            "/api/v1/kiosk/scan", headers=terminal.headers, json={"token": token}
        )
        assert response.status_code == 404
        assert response.json["code"] == "invalid_code"


def test_a_child_under_six_is_collected_by_the_guardian_only(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    """Not the child's digits, not the guardian without the child's digits, and not a face
    that is not the guardian's."""
    from tests.followup.helpers import doctor_headers, start_visit
    from tests.helpers import bearer
    from tests.prescriptions.helpers import claim, pharmacist_headers

    parent = factories.verified_patient()  # ID …1235: the guardian, who brings their card
    assert parent.person is not None
    child = factories.child_of(parent)  # under 6 (tests.people)
    diagnosis = factories.diagnosis(child, code="J45.900", name="支气管哮喘")
    doctor = factories.practitioner(department="呼吸内科")
    dr = doctor_headers(session, doctor)
    visit_id = start_visit(
        client, bearer(session, account=parent), diagnosis.id, patient_id=child.id
    ).json["id"]
    client.post(f"/api/v1/consultations/{visit_id}/accept", headers=dr)
    written = client.post(
        f"/api/v1/consultations/{visit_id}/prescriptions",
        headers=dr,
        json={
            "items": [{"drug": "孟鲁司特钠片", "dose_mg": 4, "times_per_day": 1, "days": 14}],
            "accompanying_physician": "儿科 孙医生",
        },
    ).json
    client.post(f"/api/v1/prescriptions/{written['id']}/sign", headers=dr)
    ph = pharmacist_headers(session)
    claim(client, ph)
    assert (
        client.post(f"/api/v1/prescriptions/{written['id']}/approve", headers=ph).status_code == 200
    )
    where = pharmacy(session)
    stock_up(session, where, "孟鲁司特钠片", 100)
    terminal = kiosk_at(session, where)
    code = code_of(session, written["id"])

    child_card = id_card_reader.reading(terminal.kiosk, CHILD)
    as_child = _identity(client, terminal, code, card=child_card)
    assert as_child.json["code"] == "identity_not_confirmed"
    assert "监护人" in as_child.json["detail"]
    without_child_digits = _identity(client, terminal, code)  # the guardian's card alone
    assert without_child_digits.json["code"] == "identity_not_confirmed"
    stranger = _identity(
        client, terminal, code, selfie=faces.other_person(), patient_id_last4=CHILD_ID_NUMBER[-4:]
    )
    assert stranger.json["code"] == "face_mismatch"
    guardian = _identity(client, terminal, code, patient_id_last4=CHILD_ID_NUMBER[-4:])
    assert guardian.status_code == 200, guardian.json
    assert guardian.json["collector_role"] == "guardian"
    done = _dispense(
        client, terminal, code, guardian.json["identity_check_id"], pharmacist_at(session, where)
    )
    assert done.status_code == 201, done.json


def test_the_card_reading_must_come_from_this_kiosks_reader_just_now(
    client: FlaskClient, session: Session, counter: dict[str, Any]
) -> None:
    """A photo or a reading the collector brings is not an ID card: a reading not signed with
    this kiosk's reader key, an old one replayed, or one edited after signing is refused; and
    the collector's face must be the card's."""
    import json
    import time

    terminal, code = counter["terminal"], counter["code"]
    forged_card = id_card_reader.reading(terminal.kiosk, key="guessed-key")
    assert _identity(client, terminal, code, card=forged_card).json["code"] == "id_card_refused"
    stale_card = id_card_reader.reading(terminal.kiosk, at=time.time() - 600)
    assert _identity(client, terminal, code, card=stale_card).json["code"] == "id_card_refused"
    edited = json.loads(id_card_reader.reading(terminal.kiosk, STRANGER))
    edited["photo"] = json.loads(id_card_reader.reading(terminal.kiosk))["photo"]
    edited["name"], edited["id_number"] = id_card_reader.PATIENT  # the patient's name on it
    assert _identity(client, terminal, code, card=json.dumps(edited)).json["code"] == (
        "id_card_refused"
    )
    other_kiosk = kiosk_at(session, counter["pharmacy"], "2 号终端")
    borrowed = _identity(client, terminal, code, card=id_card_reader.reading(other_kiosk.kiosk))
    assert borrowed.json["code"] == "id_card_refused"
    # The patient's real card, but someone else's face in front of the camera.
    assert _identity(client, terminal, code, selfie=faces.other_person()).json["code"] == (
        "face_mismatch"
    )
    # The card's photo is what counts: the patient's card with another face on its chip.
    other_chip = id_card_reader.chip_photo(faces.grace_hopper())
    swapped = id_card_reader.reading(terminal.kiosk, photo=other_chip)
    assert _identity(client, terminal, code, card=swapped).json["code"] == "face_mismatch"
    assert _identity(client, terminal, code).status_code == 200


def test_only_the_pharmacy_holding_the_reservation_verifies_its_collector(
    client: FlaskClient, session: Session, counter: dict[str, Any]
) -> None:
    written, code = counter["written"], counter["code"]
    reserved = client.post(
        f"/api/v1/prescriptions/{written.id}/fulfilment", headers=written.patient_headers,
        json={"method": "pickup", "pharmacy_id": counter["pharmacy"].id},
    )  # fmt: skip
    assert reserved.status_code == 201, reserved.json
    elsewhere = pharmacy(session, code="PH-2")
    stock_up(session, elsewhere, AMLODIPINE, 100, days_left=400)
    other = kiosk_at(session, elsewhere, "别家终端")
    refused = _identity(client, other, code, card=id_card_reader.reading(other.kiosk))
    assert refused.status_code == 409
    assert refused.json["code"] == "reserved_elsewhere"
    assert _identity(client, counter["terminal"], code).status_code == 200


def test_a_store_pharmacist_reads_only_what_their_pharmacy_holds(
    client: FlaskClient, session: Session, counter: dict[str, Any]
) -> None:
    from tests.helpers import bearer

    written = counter["written"]
    store = bearer(session, account=counter["pharmacist"].account)
    document = f"/api/v1/prescriptions/{written.id}/document"
    assert client.get(document, headers=store).status_code == 404  # not reserved here
    assert client.get(f"/api/v1/prescriptions/{written.id}", headers=store).status_code == 404
    elsewhere = pharmacist_at(session, pharmacy(session, code="PH-9"))
    client.post(
        f"/api/v1/prescriptions/{written.id}/fulfilment", headers=written.patient_headers,
        json={"method": "pickup", "pharmacy_id": counter["pharmacy"].id},
    )  # fmt: skip
    assert client.get(document, headers=store).status_code == 200  # now it is
    other_store = bearer(session, account=elsewhere.account)
    assert client.get(document, headers=other_store).status_code == 404
    # At the hospital, the pharmacist who reviewed it reads it; another one does not.
    from prescriptions.models import Prescription

    reviewed = session.get(Prescription, written.id)
    assert reviewed is not None
    assert reviewed.pharmacist is not None
    reviewer = bearer(session, account=reviewed.pharmacist.account)
    assert client.get(document, headers=reviewer).status_code == 200
    another = factories.practitioner(kind=factories.PractitionerKind.pharmacist,
                                     department="药剂科")  # fmt: skip
    assert client.get(document, headers=bearer(session, account=another.account)).status_code == (
        404
    )
    # The pharmacist console applies the same rule (it used to hand any PDF to any pharmacist).
    from tests.helpers import sign_in

    console = f"/pharmacist/prescriptions/{written.id}/document.pdf"
    sign_in(client, another.account.username)
    assert client.get(console).status_code == 404
    sign_in(client, reviewed.pharmacist.account.username)
    assert client.get(console).status_code == 200


def test_every_box_is_scanned_and_never_dispensed_twice(
    client: FlaskClient, session: Session, counter: dict[str, Any]
) -> None:
    """药品追溯码 (from 2026-01-01): each box's code captured at dispensing, once ever."""
    from pharmacy.models import DispensedBox

    terminal, code, pharmacist = counter["terminal"], counter["code"], counter["pharmacist"]
    check_id = _identity(client, terminal, code).json["identity_check_id"]
    assert _dispense(client, terminal, code, check_id, pharmacist, []).status_code == 422
    invalid = _dispense(client, terminal, code, check_id, pharmacist, ["12345"])
    assert invalid.json["code"] == "trace_code_invalid"
    box = trace_codes(1)[0]
    twice = _dispense(client, terminal, code, check_id, pharmacist, [box, box])
    assert twice.json["code"] == "trace_code_invalid"
    typed = f"{box[:4]} {box[4:12]}-{box[12:]}"  # spaces and dashes as a scanner may add them
    done = _dispense(client, terminal, code, check_id, pharmacist, [typed])
    assert done.status_code == 201, done.json
    assert done.json["trace_codes"] == [box]
    assert session.scalars(select(DispensedBox.trace_code)).all() == [box]
    # Another patient's prescription: the same box cannot leave a second time.
    other_id = "11010519491231002X"
    other = approved_with_face(client, session, id_number=other_id)
    other_code = code_of(session, other.id)
    card = id_card_reader.reading(terminal.kiosk, who=("张三", other_id))
    other_check = _identity(client, terminal, other_code, card=card).json["identity_check_id"]
    reused = _dispense(client, terminal, other_code, other_check, pharmacist, [box])
    assert reused.status_code == 409
    assert reused.json["code"] == "trace_code_reused"
    assert session.scalar(select(Dispensing).where(Dispensing.prescription_id == other.id)) is None
    assert _dispense(client, terminal, other_code, other_check, pharmacist).status_code == 201


def test_the_boxes_codes_go_to_the_supervision_platform(
    make_app: Any, session: Session, counter: dict[str, Any], receiver: Any
) -> None:
    app = make_app(SUPERVISION_URL=receiver.url + "/supervision")
    client = app.test_client()
    terminal, code = counter["terminal"], counter["code"]
    check_id = _identity(client, terminal, code).json["identity_check_id"]
    boxes = trace_codes(2)
    done = _dispense(client, terminal, code, check_id, counter["pharmacist"], boxes)
    assert done.status_code == 201, done.json
    pushed = [r.body for r in receiver.received if r.body.get("type") == "dispensing"]
    assert [(p["prescription_id"], p["trace_codes"]) for p in pushed] == [
        (counter["written"].id, boxes)
    ]
