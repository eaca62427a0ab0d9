"""The family-doctor console: the worklist (overdue, due, reading alerts), a patient page with
the contract, follow-up history, charts of blood pressure and glucose against the target band
(SVG drawn here on the server: no script, no CDN) and the follow-up form."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, NumberRange, Optional

from core import clock
from core.crypto import mask_name
from followup import classification
from followup.classification import Findings
from followup.models import ChronicDisease, FollowUpPlan
from followup.services import contracts, follow_ups
from identity import rules as identity_rules
from identity.models import Role
from identity.services import practitioners
from web.actions import attempt
from web.auth import console_roles_required
from web.charts import home_charts
from web.session import db_session

bp = Blueprint("family_console", __name__, url_prefix="/family-doctor", template_folder="templates")


class FollowUpForm(FlaskForm):  # type: ignore[misc]
    held_on = DateField("随访日期", validators=[DataRequired("请填写随访日期")])
    way = SelectField("随访方式", choices=[SelectChoice(k, v) for k, v in follow_ups.WAYS.items()])
    systolic = IntegerField("收缩压 mmHg", validators=[Optional(), NumberRange(40, 300)])
    diastolic = IntegerField("舒张压 mmHg", validators=[Optional(), NumberRange(20, 200)])
    fasting_glucose = FloatField("空腹血糖 mmol/L", validators=[Optional(), NumberRange(1, 40)])
    heart_rate = IntegerField("心率 次/分", validators=[Optional(), NumberRange(20, 250)])
    danger = BooleanField("有危险症状（胸痛、呼吸困难、意识改变等）")
    adverse_reaction = BooleanField("药物不良反应")
    new_complication = BooleanField("新发或加重的并发症")
    adherence = SelectField(
        "服药依从性", choices=[SelectChoice(k, v) for k, v in follow_ups.ADHERENCE.items()]
    )
    notes = TextAreaField("随访记录与指导")


def _teams() -> list[int]:
    session = db_session()
    return contracts.teams_of(session, practitioners.practitioner_for(session, current_user))


@bp.get("/")
@console_roles_required(Role.family_doctor)
def index() -> str:
    session = db_session()
    doctor = practitioners.practitioner_for(session, current_user)
    today = clock.today()
    work = follow_ups.worklist(session, _teams(), today)
    return render_template(
        "family/index.html", doctor=doctor, work=work, today=today, mask=mask_name
    )


def _plan(plan_id: int) -> FollowUpPlan:
    session = db_session()
    plan = session.get(FollowUpPlan, plan_id)
    if plan is None or plan.contract.team_id not in _teams():
        abort(404)
    return plan


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
@console_roles_required(Role.family_doctor)
def plan_page(plan_id: int) -> str | Response:
    session = db_session()
    plan = _plan(plan_id)
    form = FollowUpForm(data={"held_on": clock.today()})
    if form.validate_on_submit():
        visit = follow_ups.Visit(
            held_on=form.held_on.data,
            way=form.way.data,
            findings=Findings(
                systolic=form.systolic.data, diastolic=form.diastolic.data,
                fasting_glucose=form.fasting_glucose.data, heart_rate=form.heart_rate.data,
                symptom_codes=("chest_pain",) if form.danger.data else (),
                adverse_reaction=form.adverse_reaction.data,
                new_complication=form.new_complication.data,
            ),
            adherence=form.adherence.data,
            notes=form.notes.data or "",
        )  # fmt: skip
        recorded = attempt(
            lambda: follow_ups.record(session, current_user, plan.id, visit, clock.now()),
            lambda row: (
                f"随访已记录：{classification.Control(row.classification).label}，"
                f"下次随访 {row.next_due_on}"
            ),
        )
        if recorded.done:
            return redirect(url_for(".plan_page", plan_id=plan.id))
    person = plan.person
    age = identity_rules.age_on(person.birth_date, clock.today())
    bp_svg, glucose_svg = home_charts(session, person)
    return render_template(
        "family/plan.html",
        plan=plan,
        person=person,
        age=age,
        target=classification.target_for(age),
        history=follow_ups.history(session, plan.id),
        form=form,
        labels={c.value: c.label for c in classification.Control},
        ways=follow_ups.WAYS,
        bp_chart=bp_svg if plan.disease is ChronicDisease.hypertension else None,
        glucose_chart=glucose_svg,
        mask=mask_name,
    )
