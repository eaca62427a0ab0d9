"""H5 我的家庭医生: sign with a team after reading the agreement, the follow-up schedule,
reporting blood pressure and glucose, and charts of the readings against the target band."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, FloatField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from core import clock
from followup.catalogue import family_doctor_agreement
from followup.models import FamilyDoctorTeam, ReadingKind
from followup.services import contracts, readings
from identity.models import Account, Role
from identity.services import patients
from web.actions import attempt, form_action
from web.auth import console_roles_required
from web.charts import home_charts
from web.session import db_session

bp = Blueprint("h5_family", __name__, url_prefix="/h5/family-doctor", template_folder="templates")


class SignForm(FlaskForm):  # type: ignore[misc]
    team_id = SelectField("家庭医生团队", coerce=int)
    agree = BooleanField("我已阅读并同意《家庭医生签约服务协议》")


class ReadingForm(FlaskForm):  # type: ignore[misc]
    systolic = IntegerField("收缩压（高压）", validators=[Optional(), NumberRange(0, 1000)])
    diastolic = IntegerField("舒张压（低压）", validators=[Optional(), NumberRange(0, 1000)])
    pulse = IntegerField("脉搏", validators=[Optional(), NumberRange(0, 1000)])
    glucose = FloatField("血糖 mmol/L", validators=[Optional(), NumberRange(0, 1000)])
    fasting = BooleanField("空腹", default=True)


def _me() -> Account:
    account: Account = current_user
    return account


@bp.get("/")
@console_roles_required(Role.patient)
def home() -> str:
    db = db_session()
    sign = SignForm(prefix="sg")
    sign.team_id.choices = [
        (t.id, f"{t.name}（{t.centre}）")
        for t in db.query(FamilyDoctorTeam).order_by(FamilyDoctorTeam.id)
    ]
    return _render(_me(), sign, ReadingForm(prefix="rd"), family_doctor_agreement().text)


def _render(account: Account, sign: SignForm, reading: ReadingForm, agreement: str) -> str:
    db = db_session()
    active = contracts.active_for(db, account)
    plans = [plan for contract in active for plan in contracts.active_plans(db, contract.id)]
    person = account.person
    bp_svg, glucose_svg = home_charts(db, person) if person is not None else (None, None)
    return render_template(
        "h5/family.html",
        active=active,
        plans=plans,
        sign=sign,
        reading=reading,
        agreement=agreement,
        bp_chart=bp_svg,
        glucose_chart=glucose_svg,
    )


@bp.post("/sign")
@console_roles_required(Role.patient)
def sign_contract() -> Response:
    db = db_session()
    form = SignForm(prefix="sg")
    form.team_id.choices = [(t.id, t.name) for t in db.query(FamilyDoctorTeam)]
    if not form.validate_on_submit():
        flash("请选择团队", "error")
        return redirect(url_for(".home"))
    agreement = family_doctor_agreement()
    # Consent is the box ticked: without it the agreement's digest is not sent, and the
    # domain refuses (agreement_required), recording nothing.
    digest = agreement.digest if form.agree.data else ""
    form_action(
        lambda: contracts.sign(
            db, _me(), None, form.team_id.data, "chronic", agreement.version, digest, clock.now()
        ),
        "签约成功",
    )
    return redirect(url_for(".home"))


@bp.post("/readings")
@console_roles_required(Role.patient)
def report() -> Response:
    db = db_session()
    form = ReadingForm(prefix="rd")
    if not form.validate_on_submit():
        flash("读数无效", "error")
        return redirect(url_for(".home"))
    if form.systolic.data or form.diastolic.data:
        parsed = readings.Parsed(ReadingKind.blood_pressure, form.systolic.data,
                                 form.diastolic.data, pulse=form.pulse.data)  # fmt: skip
    else:
        parsed = readings.Parsed(ReadingKind.glucose, glucose_mmol=form.glucose.data,
                                 fasting=bool(form.fasting.data))  # fmt: skip
    done = attempt(
        lambda: readings.record(
            db, _me(), patients.ensure_verified(_me()), parsed, "h5", clock.now()
        )
    )
    if (recorded := done.value) is None:
        return redirect(url_for(".home"))
    if recorded.assessment.in_person_required:
        flash(f"已记录。{recorded.assessment.advice}已通知医院和您的家庭医生。", "error")
    else:
        flash(f"已记录{parsed.describe()}", "ok")
    return redirect(url_for(".home"))
