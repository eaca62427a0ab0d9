"""Prescribing in the doctor console: write a prescription in the visit, sign it, and revise
one the pharmacist returned. The rules are the domain's; a refusal is shown in Chinese on the
visit page and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, StringField
from wtforms.validators import NumberRange, Optional

from core import clock
from core.errors import DomainError
from identity.models import Role
from prescriptions import rules
from prescriptions.models import Prescription
from prescriptions.services import prescribing
from web.actions import form_action
from web.auth import console_roles_required
from web.session import db_session

bp = Blueprint("doctor_prescriptions", __name__, url_prefix="/doctor")

ROWS = rules.MAX_ITEMS


class PrescriptionForm(FlaskForm):  # type: ignore[misc]
    """The items come as rows drug_N, dose_N, times_N, days_N (N = 1…5); blank rows are
    skipped."""

    stable_chronic_reason = StringField("长期处方理由（超过 4 周时必填，最长 12 周）")
    accompanying_physician = StringField("陪同的相关专业医师（6 岁以下儿童必填）")
    valid_days = IntegerField("有效天数", default=1, validators=[Optional(), NumberRange(1, 3)])


class ActionForm(FlaskForm):  # type: ignore[misc]
    pass


def _number(name: str, row: int, cast: Callable[[str], float]) -> float:
    text = request.form.get(f"{name}_{row}", "").strip()
    try:
        return cast(text)
    except ValueError:
        raise rules.PrescriptionRefused(f"第 {row} 行的数字无效") from None


def draft_from_form(form: PrescriptionForm) -> prescribing.Draft:
    items: list[rules.ItemDraft] = []
    for row in range(1, ROWS + 1):
        drug = request.form.get(f"drug_{row}", "").strip()
        if not drug:
            continue
        times = request.form.get(f"times_{row}", "").strip()
        items.append(
            rules.ItemDraft(
                drug[:100],
                _number("dose", row, float),
                int(_number("times", row, int)) if times else None,
                int(_number("days", row, int)),
                dose_unit=request.form.get(f"unit_{row}", "").strip()[:8] or None,
                frequency=request.form.get(f"freq_{row}", "").strip()[:16] or None,
                drug_id=request.form.get(f"drug_id_{row}", "").strip()[:16] or None,
            )
        )
    if any(i.dose <= 0 or (i.times_per_day or 1) < 1 or i.days < 1 for i in items):
        raise rules.PrescriptionRefused("剂量、次数和天数须为正数")
    return prescribing.Draft(
        items=items,
        routes=[""] * len(items),
        stable_chronic_reason=form.stable_chronic_reason.data,
        accompanying_physician=form.accompanying_physician.data,
        extra_valid_days=(form.valid_days.data or 1) - 1,
    )


def _back(consultation_id: int) -> Response:
    return redirect(url_for("doctor_console.visit", consultation_id=consultation_id) + "#rx")


def _run(consultation_id: int, action: Callable[[], object], done: str) -> Response:
    form_action(action, done)  # a controlled drug's refusal keeps its audit
    return _back(consultation_id)


def _own(prescription_id: int) -> Prescription:
    try:
        prescription = prescribing.get(db_session(), prescription_id)
    except DomainError:
        abort(404)
    if prescription.doctor.account_id != current_user.id:
        abort(404)
    return prescription


@bp.post("/consultations/<int:consultation_id>/prescriptions")
@console_roles_required(Role.doctor)
def write(consultation_id: int) -> Response:
    form = PrescriptionForm()
    if not form.validate_on_submit():
        flash("有效天数须为 1 至 3 天", "error")
        return _back(consultation_id)
    return _run(
        consultation_id,
        lambda: prescribing.prescribe(
            db_session(), current_user, consultation_id, draft_from_form(form), clock.now()
        ),
        "处方已开具，请核对后签名",
    )


@bp.post("/prescriptions/<int:prescription_id>/revise")
@console_roles_required(Role.doctor)
def revise(prescription_id: int) -> Response:
    prescription = _own(prescription_id)
    form = PrescriptionForm()
    if not form.validate_on_submit():
        flash("有效天数须为 1 至 3 天", "error")
        return _back(prescription.consultation_id)
    return _run(
        prescription.consultation_id,
        lambda: prescribing.revise(
            db_session(), current_user, prescription_id, draft_from_form(form), clock.now()
        ),
        "处方已修改，请核对后重新签名",
    )


@bp.post("/prescriptions/<int:prescription_id>/sign")
@console_roles_required(Role.doctor)
def sign(prescription_id: int) -> Response:
    prescription = _own(prescription_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _run(
        prescription.consultation_id,
        lambda: prescribing.sign(db_session(), current_user, prescription_id, clock.now()),
        "处方已签名，等待药师审核",
    )
