"""The pick-up code is shown and usable by one rule at every door: approved, not dispensed,
in date by China's calendar — also in the hours before the expiry job marks it expired."""

from __future__ import annotations

import datetime as dt
import io

from flask.testing import FlaskClient
from pdfminer.high_level import extract_text
from sqlalchemy.orm import Session

from bot.conversation import _prescriptions_text
from core import clock
from prescriptions.models import Prescription
from prescriptions.services.drugs import LoadReport
from tests.helpers import sign_in
from tests.prescriptions.helpers import approved_prescription


def _pdf_text(client: FlaskClient, pid: int, headers: dict) -> str:
    pdf = client.get(f"/api/v1/prescriptions/{pid}/document", headers=headers).data
    return " ".join(extract_text(io.BytesIO(pdf)).split())


def test_every_door_hides_a_code_that_can_no_longer_be_used(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    written = approved_prescription(client, session)
    row = session.get(Prescription, written.id)
    assert row is not None
    code = row.redemption_code
    assert code
    api = f"/api/v1/prescriptions/{written.id}"
    sign_in(client, written.patient.username)
    today = clock.today()

    assert client.get(api, headers=written.patient_headers).json["redemption_code"] == code
    assert code in client.get(f"/h5/prescriptions/{written.id}").get_data(as_text=True)
    assert client.get(f"/h5/prescriptions/{written.id}/qr.svg").status_code == 200
    assert code in _prescriptions_text(session, written.patient, today)
    assert "取药码" in _pdf_text(client, written.id, written.patient_headers)

    # Its last valid day has passed; the nightly job has not marked it expired yet.
    row.valid_until = today - dt.timedelta(days=1)
    session.flush()
    assert client.get(api, headers=written.patient_headers).json["redemption_code"] is None
    assert code not in client.get(f"/h5/prescriptions/{written.id}").get_data(as_text=True)
    assert client.get(f"/h5/prescriptions/{written.id}/qr.svg").status_code == 404
    assert code not in _prescriptions_text(session, written.patient, today)
    text = _pdf_text(client, written.id, written.patient_headers)
    assert "处方已过期，不得调配" in text
    assert code not in text

    row.valid_until, row.redeemed_at = today, clock.now()
    session.flush()
    assert client.get(api, headers=written.patient_headers).json["redemption_code"] is None
    assert "已取药，不得重复调配" in _pdf_text(client, written.id, written.patient_headers)
