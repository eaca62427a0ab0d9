from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from identity.models import Account, Practitioner
from tests import factories
from tests.helpers import bearer


def start_visit(client: FlaskClient, headers: dict, diagnosis_id: int, **overrides: Any) -> Any:
    data: dict[str, Any] = {
        "diagnosis_id": diagnosis_id,
        "complaint": "血压控制尚可，药快吃完了，想续开降压药",
        "symptoms": ["none"],
        "vitals": {"systolic": 135, "diastolic": 85},
        "consent": True,
    }
    data.update(overrides)
    return client.post("/api/v1/consultations", json=data, headers=headers)


def patient_with_diagnosis(
    session: Any, id_number: str = "110105198503141235", **diagnosis: Any
) -> tuple[Account, dict, int]:
    account = factories.verified_patient(id_number)
    assert account.person is not None
    found = factories.diagnosis(account.person, **diagnosis)
    return account, bearer(session, account=account), found.id


def doctor_headers(session: Any, practitioner: Practitioner) -> dict:
    return bearer(session, account=practitioner.account)
