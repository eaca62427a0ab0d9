"""The patient's medicines in force: what our prescriptions have them taking, and what they
report taking besides (prescribed elsewhere, over the counter), which every new prescription
is checked against."""

from __future__ import annotations

from flask import Blueprint, Response, request

from core import clock
from identity.models import Role
from identity.services import patients
from prescriptions.schemas import MedicineInForceOut, MedicinesOut, ReportedMedicineIn
from prescriptions.services import reported
from prescriptions.services.in_force import prescribed_in_force
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation
from web.responses import json_model
from web.session import db_session

bp = Blueprint("api_medicines", __name__)


def _listing(person_id: int) -> MedicinesOut:
    session = db_session()
    prescribed = [
        MedicineInForceOut(name=m.name, source=m.source)
        for m in prescribed_in_force(session, person_id, clock.today())
    ]
    own = [
        MedicineInForceOut(name=r.name, source="患者自述在用", reported_medicine_id=r.id)
        for r in reported.current(session, person_id)
    ]
    return MedicinesOut(medicines=prescribed + own)


@bp.get("/me/medicines")
@operation(
    "The medicines in force for the patient (or a dependent: ?patient_id=)",
    tag="prescriptions",
    response=MedicinesOut,
    problems=("forbidden", "validation_error"),
)
@api_roles_required(Role.patient)
def mine() -> tuple[Response, int]:
    raw = request.args.get("patient_id")
    if raw is not None and not raw.isdigit():
        raise ApiProblem(422, "validation_error", "输入有误", "patient_id 必须是整数")
    context = patients.care_context(db_session(), api_account(), int(raw) if raw else None)
    return json_model(_listing(context.patient.id))


@bp.post("/me/medicines")
@operation(
    "Report a medicine the patient takes (prescribed elsewhere, over the counter)",
    tag="prescriptions",
    body=ReportedMedicineIn,
    response=MedicinesOut,
    status=201,
    problems=("forbidden", "validation_error"),
)
@api_roles_required(Role.patient)
def report() -> tuple[Response, int]:
    data: ReportedMedicineIn = body()
    row = reported.report(db_session(), api_account(), data.patient_id, data.name, clock.now())
    return json_model(_listing(row.person_id), 201)


@bp.post("/me/medicines/<int:medicine_id>/stop")
@operation(
    "Say a reported medicine is no longer taken",
    tag="prescriptions",
    response=MedicinesOut,
    problems=("not_found", "forbidden"),
)
@api_roles_required(Role.patient)
def stop(medicine_id: int) -> tuple[Response, int]:
    row = reported.stop(db_session(), api_account(), medicine_id, clock.now())
    return json_model(_listing(row.person_id))
