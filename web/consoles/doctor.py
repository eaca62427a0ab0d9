"""The doctor console: the department's queue, the visit page, and uploaded diagnoses."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from core import clock
from core.errors import DomainError, NotFound
from followup import triage
from followup.models import Consultation, ConsultationState
from followup.services import consultations as visits
from followup.services import diagnoses, visit_lists, visit_messages, visit_records
from identity import rules as identity_rules
from identity.models import Account, Practitioner, Role
from identity.services import practitioners
from identity.services.allergies import history as allergy_history
from prescriptions.dosing import DOSE_UNITS, FREQUENCIES
from prescriptions.services import drugs, records
from prescriptions.services.in_force import medicines_in_force
from prescriptions.services.review import RejectReason
from web.actions import form_action
from web.auth import console_roles_required
from web.consoles.prescribing import PrescriptionForm
from web.responses import private_file
from web.session import db_session

bp = Blueprint("doctor_console", __name__, url_prefix="/doctor", template_folder="templates")


class ActionForm(FlaskForm):  # type: ignore[misc]
    pass


class MessageForm(FlaskForm):  # type: ignore[misc]
    text = TextAreaField("回复患者", validators=[DataRequired("请输入内容"), Length(max=2000)])


class RecordForm(FlaskForm):  # type: ignore[misc]
    chief_complaint = TextAreaField("主诉", validators=[DataRequired("请填写主诉")])
    history = TextAreaField("现病史")
    findings = TextAreaField("检查所见")
    diagnosis_code = StringField("诊断（ICD-10）", validators=[DataRequired("请填写诊断编码")])
    diagnosis_name = StringField("诊断名称")
    plan = TextAreaField("处理意见", validators=[DataRequired("请填写处理意见")])


class ReferForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField("转诊原因", validators=[DataRequired("请填写转诊原因"), Length(max=500)])
    urgency = SelectField(
        "紧急程度",
        choices=[
            SelectChoice(u.value, u.label)
            for u in (triage.Urgency.urgent, triage.Urgency.emergency, triage.Urgency.routine)
        ],
    )


class ReviewForm(FlaskForm):  # type: ignore[misc]
    decision = SelectField(
        "审核结果",
        choices=[SelectChoice("confirm", "确认诊断"), SelectChoice("reject", "不予确认")],
    )
    note = StringField("说明", validators=[Length(max=200)])


def _doctor() -> tuple[Session, Account, Practitioner]:
    session = db_session()
    account: Account = current_user
    return session, account, practitioners.practitioner_for(session, account)


def _act(consultation_id: int, action: Callable[[], object], done: str) -> BaseResponse:
    """Run one action; a refusal is shown in Chinese and changes nothing."""
    form_action(action, done)
    return redirect(url_for(".visit", consultation_id=consultation_id))


@bp.get("/")
@console_roles_required(Role.doctor)
def index() -> str:
    session, _, doctor = _doctor()
    now = clock.now()
    return render_template(
        "doctor/index.html",
        doctor=doctor,
        waiting=visit_lists.queue(session, doctor.department),
        active=visit_lists.active_for_doctor(session, doctor),
        pending_count=len(diagnoses.pending(session, doctor.department)),
        face_valid=doctor.face_checked_until is not None and doctor.face_checked_until > now,
        eligibility=practitioners.eligibility_of(doctor, clock.day_of(now)),
        now=now,
    )


def _visit_or_404(session: Session, account: Account, consultation_id: int) -> Consultation:
    try:
        consultation = visits.get(session, consultation_id)
        visits.visible_to(session, account, consultation)
    except DomainError:
        abort(404)
    return consultation


@bp.get("/consultations/<int:consultation_id>")
@console_roles_required(Role.doctor)
def visit(consultation_id: int) -> str:
    session, account, doctor = _doctor()
    consultation = _visit_or_404(session, account, consultation_id)
    record = visit_records.latest_record(session, consultation.id)
    disease = consultation.diagnosis
    form = RecordForm(
        data={
            "chief_complaint": consultation.complaint,
            "diagnosis_code": disease.icd10_code,
            "diagnosis_name": disease.disease_name,
        }
    )
    history = [
        (c, visit_records.latest_record(session, c.id))
        for c in visit_lists.history_for_person(session, consultation.person_id)
        if c.id != consultation.id
    ]
    return render_template(
        "doctor/visit.html",
        c=consultation,
        mine=consultation.doctor_id == doctor.id,
        age=identity_rules.age_on(consultation.person.birth_date, clock.today()),
        diagnoses=diagnoses.for_person(session, consultation.person_id),
        allergy_changes=allergy_history(session, consultation.person_id),
        history=history,
        messages=visit_messages.messages(session, consultation),
        record=json.loads(record.content) if record else None,
        record_row=record,
        prescriptions=records.for_consultation(session, consultation.id),
        in_force=medicines_in_force(session, consultation.person_id, clock.today()),
        drug_names=drugs.prescribable_names(session),
        dose_units=DOSE_UNITS,
        frequencies=list(FREQUENCIES.values()),
        rx_form=PrescriptionForm(),
        rx_action=ActionForm(),
        reasons={r.value: r.label for r in RejectReason},
        action=ActionForm(),
        message_form=MessageForm(),
        record_form=form,
        refer_form=ReferForm(),
        States=ConsultationState,
        symptom_labels={s.code: s.label for s in triage.SYMPTOMS},
    )


@bp.get("/consultations/<int:consultation_id>/messages.json")
@console_roles_required(Role.doctor)
def messages_json(consultation_id: int) -> Response:
    """For the page's polling: new messages appear without a reload."""
    session, account, _ = _doctor()
    consultation = _visit_or_404(session, account, consultation_id)
    after = request.args.get("after", default=0, type=int)
    return jsonify(
        [
            {
                "seq": m.seq,
                "sender_role": m.sender_role,
                "text": m.text,
                "image": m.image is not None,
                "at": m.created_at.isoformat(),
            }
            for m in visit_messages.messages(session, consultation, after)
        ]
    )


@bp.get("/consultations/<int:consultation_id>/messages/<int:seq>/image")
@console_roles_required(Role.doctor)
def message_image(consultation_id: int, seq: int) -> Response:
    session, account, _ = _doctor()
    consultation = _visit_or_404(session, account, consultation_id)
    try:
        message = visit_messages.image_message(session, consultation, seq)
    except DomainError:
        abort(404)
    return private_file(message.image or b"", message.image_type)


@bp.post("/consultations/<int:consultation_id>/accept")
@console_roles_required(Role.doctor)
def accept(consultation_id: int) -> BaseResponse:
    session, account, _ = _doctor()
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(
        consultation_id,
        lambda: visits.accept(session, account, consultation_id, clock.now()),
        "已接诊",
    )


@bp.post("/consultations/<int:consultation_id>/message")
@console_roles_required(Role.doctor)
def message(consultation_id: int) -> BaseResponse:
    session, account, _ = _doctor()
    form = MessageForm()
    if not form.validate_on_submit():
        flash("请输入回复内容", "error")
        return redirect(url_for(".visit", consultation_id=consultation_id))
    return _act(
        consultation_id,
        lambda: visit_messages.post_message(
            session, account, consultation_id, clock.now(), text=form.text.data
        ),
        "已发送",
    )


@bp.post("/consultations/<int:consultation_id>/complete")
@console_roles_required(Role.doctor)
def complete(consultation_id: int) -> BaseResponse:
    session, account, _ = _doctor()
    form = RecordForm()
    if not form.validate_on_submit():
        flash("病历须填写主诉、诊断和处理意见", "error")
        return redirect(url_for(".visit", consultation_id=consultation_id))
    fields = {name: form[name].data or "" for name in visit_records.RECORD_FIELDS}
    return _act(
        consultation_id,
        lambda: visit_records.complete(session, account, consultation_id, fields, clock.now()),
        "病历已签名，复诊完成",
    )


@bp.post("/consultations/<int:consultation_id>/refer")
@console_roles_required(Role.doctor)
def refer(consultation_id: int) -> BaseResponse:
    session, account, _ = _doctor()
    form = ReferForm()
    if not form.validate_on_submit():
        flash("请填写转诊原因", "error")
        return redirect(url_for(".visit", consultation_id=consultation_id))
    return _act(
        consultation_id,
        lambda: visits.refer(
            session,
            account,
            consultation_id,
            form.reason.data,
            triage.Urgency(form.urgency.data),
            None,
            clock.now(),
        ),
        "已转线下就诊，并通知医院",
    )


@bp.get("/diagnoses")
@console_roles_required(Role.doctor)
def pending_diagnoses() -> str:
    session, _, doctor = _doctor()
    return render_template(
        "doctor/diagnoses.html",
        doctor=doctor,
        form=ReviewForm(),
        items=diagnoses.pending(session, doctor.department),
    )


@bp.get("/diagnoses/<int:diagnosis_id>/evidence")
@console_roles_required(Role.doctor)
def evidence(diagnosis_id: int) -> Response:
    try:
        data, kind = diagnoses.readable_evidence(db_session(), current_user, diagnosis_id)
    except NotFound:
        abort(404)
    return private_file(data, kind)


@bp.post("/diagnoses/<int:diagnosis_id>/review")
@console_roles_required(Role.doctor)
def review(diagnosis_id: int) -> BaseResponse:
    session, _, doctor = _doctor()
    form = ReviewForm()
    if form.validate_on_submit():
        form_action(
            lambda: diagnoses.review(
                session,
                doctor,
                diagnosis_id,
                form.decision.data == "confirm",
                form.note.data or "",
                clock.now(),
            ),
            "已审核",
        )
    return redirect(url_for(".pending_diagnoses"))
