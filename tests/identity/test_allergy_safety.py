"""Allergies are safety data: a relative who may seek care for an adult can add one but not
take one away (that would switch allergy screening off); the person, their guardian and the
visit's doctor can. Every change is kept and shown to the pharmacist."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from identity.models import AllergyChange, Dependent, DependentState, Relation
from prescriptions.services.drugs import LoadReport
from tests import factories
from tests.followup.helpers import doctor_headers, patient_with_diagnosis, start_visit
from tests.helpers import bearer, csrf_token, sign_in

ADULT = "110105198503141235"
SPOUSE = "310104199007084564"


def _allergies(
    client: FlaskClient, headers: dict, items: list[str], person_id: int | None = None
) -> object:
    body = {"allergies": items, "person_id": person_id}
    return client.put("/api/v1/me/allergies", headers=headers, json=body)


def test_a_relative_can_add_but_not_remove(client: FlaskClient, session: Session) -> None:
    holder = factories.verified_patient(ADULT, "张三")
    spouse = factories.verified_patient(SPOUSE, "李四")
    assert spouse.person is not None
    session.add(Dependent(account_id=holder.id, person_id=spouse.person.id,
                          relation=Relation.spouse, state=DependentState.active))  # fmt: skip
    session.flush()
    own = bearer(session, account=spouse)
    relative = bearer(session, account=holder)
    assert _allergies(client, own, ["青霉素"]).status_code == 200
    pid = spouse.person.id
    wiped = _allergies(client, relative, [], pid)
    assert wiped.status_code == 403
    assert wiped.json["code"] == "allergy_removal_forbidden"
    session.expire_all()
    assert spouse.person.allergy_list == ["青霉素"]
    added = _allergies(client, relative, ["青霉素", "磺胺"], pid)
    assert added.status_code == 200
    assert added.json["allergies"] == ["青霉素", "磺胺"]
    assert _allergies(client, own, ["磺胺"]).status_code == 200  # the person may remove
    changes = session.scalars(select(AllergyChange).order_by(AllergyChange.id)).all()
    assert [c.changed_as for c in changes] == ["self", "relative", "self"]
    assert changes[-1].removed == ["青霉素"]


def test_a_guardian_can_correct_a_childs_list(client: FlaskClient, session: Session) -> None:
    parent = factories.verified_patient(ADULT, "张三")
    child = factories.child_of(parent)
    headers = bearer(session, account=parent)
    assert _allergies(client, headers, ["头孢"], child.id).status_code == 200
    assert _allergies(client, headers, [], child.id).status_code == 200


def test_the_visits_doctor_corrects_and_the_pharmacist_sees_the_change(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    _, patient, diagnosis_id = patient_with_diagnosis(session)
    assert _allergies(client, patient, ["青霉素", "磺胺"]).status_code == 200
    visit_id = start_visit(client, patient, diagnosis_id).json["id"]
    doctor = factories.practitioner()
    dr = doctor_headers(session, doctor)
    client.post(f"/api/v1/consultations/{visit_id}/accept", headers=dr)
    other_doctor = doctor_headers(session, factories.practitioner())
    path = f"/api/v1/consultations/{visit_id}/allergies"
    assert client.put(path, headers=other_doctor, json={"allergies": []}).status_code == 403
    corrected = client.put(path, headers=dr, json={"allergies": ["磺胺"]})
    assert corrected.status_code == 200, corrected.json
    written = client.post(
        f"/api/v1/consultations/{visit_id}/prescriptions", headers=dr,
        json={"items": [{"drug": "苯磺酸氨氯地平片", "dose_mg": 5, "times_per_day": 1,
                         "days": 28}]},
    ).json  # fmt: skip
    client.post(f"/api/v1/prescriptions/{written['id']}/sign", headers=dr)
    pharmacist = factories.practitioner(kind=factories.PractitionerKind.pharmacist,
                                        department="药剂科")  # fmt: skip
    sign_in(client, pharmacist.account.username)
    client.post("/pharmacist/claim", data={"csrf_token": csrf_token(client, "/pharmacist/")})
    page = client.get(f"/pharmacist/prescriptions/{written['id']}").get_data(as_text=True)
    assert "删除了 青霉素" in page
    assert "医生" in page
    assert session.scalar(select(func.count()).select_from(AllergyChange)) == 2
