"""The patient's H5 pages: home, diagnoses, starting a return visit (consent, red flags), the
visit's conversation, prescriptions (pick-up pharmacy, the pick-up QR code) and referrals.
Every page shows only the signed-in account's own and its dependents' records."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from reportlab.graphics import renderSVG
from werkzeug.wrappers import Response as BaseResponse
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from core import clock
from core.errors import DomainError
from core.notify import inbox
from followup import triage
from followup.catalogue import consent
from followup.models import Consultation, DiagnosisStatus
from followup.services import consultations as visits
from followup.services import diagnoses, referrals, visit_lists, visit_records
from followup.services import visit_messages as conversation
from identity.models import Account, Person, Role
from identity.services import dependents, patients
from pharmacy.services import fulfilment
from prescriptions.document import qr_drawing
from prescriptions.models import Prescription
from prescriptions.services import long_term, prescribing, records, reported
from prescriptions.services.in_force import prescribed_in_force
from web.actions import form_action
from web.auth import console_roles_required
from web.responses import private_file
from web.session import commit_now, db_session
from web.settings import settings

bp = Blueprint("h5", __name__, url_prefix="/h5", template_folder="templates")
COMMON = [s for s in triage.SYMPTOMS if s.code != "none"]


class VisitForm(FlaskForm):  # type: ignore[misc]
    person_id = SelectField("为谁复诊", coerce=int)
    diagnosis_id = SelectField("复诊病种", coerce=int)
    complaint = TextAreaField(
        "本次想咨询的问题", validators=[DataRequired("请描述本次复诊的主要问题"), Length(max=500)]
    )
    consent = BooleanField("我已阅读并同意《互联网复诊知情同意书》")


class MessageForm(FlaskForm):  # type: ignore[misc]
    text = StringField("发消息给医生", validators=[Length(max=2000)])
    photo = FileField("或发一张照片（化验单、药盒等）")


class PickupForm(FlaskForm):  # type: ignore[misc]
    pharmacy_id = SelectField("取药药房", coerce=int)


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    pass


class MedicineForm(FlaskForm):  # type: ignore[misc]
    person_id = SelectField("为谁登记", coerce=int)
    name = StringField(
        "正在服用的其他药品（外院开具或自行购买）",
        validators=[DataRequired("请填写药品名称"), Length(max=100)],
    )


class DeliveryForm(FlaskForm):  # type: ignore[misc]
    recipient = StringField("收件人", validators=[DataRequired("请填写收件人"), Length(max=32)])
    phone = StringField("手机号", validators=[DataRequired("请填写手机号"), Length(max=11)])
    region = StringField("省市区", validators=[DataRequired("请填写省市区"), Length(max=64)])
    detail = StringField("详细地址", validators=[DataRequired("请填写详细地址"), Length(max=128)])


def _me() -> Account:
    account: Account = current_user
    return account


@bp.before_request
def _text_size() -> None:
    if request.args.get("large") in ("0", "1"):
        session["h5_large"] = request.args["large"] == "1"


@bp.get("/")
@console_roles_required(Role.patient)
def home() -> str:
    db = db_session()
    account = _me()
    state = patients.verification_state(account)
    return render_template(
        "h5/home.html",
        verified=state.verified,
        visits=visit_lists.for_account(db, account)[:3],
        prescriptions=records.for_patient(db, account)[:3],
        notes=inbox(db, account.id, 5),
    )


@bp.get("/diagnoses")
@console_roles_required(Role.patient)
def my_diagnoses() -> str:
    db = db_session()
    account = _me()
    people = [account.person] + [d.person for d in dependents.active(db, account)]
    rows = [(p, diagnoses.for_person(db, p.id)) for p in people if p is not None]
    return render_template("h5/diagnoses.html", rows=rows, Status=DiagnosisStatus)


def _people(account: Account) -> tuple[Person, list[Person]]:
    """The verified patient and everyone they may seek care for (themselves first)."""
    me = patients.ensure_verified(account)
    return me, [me] + [d.person for d in dependents.active(db_session(), account)]


@bp.route("/visits/new", methods=["GET", "POST"])
@console_roles_required(Role.patient)
def new_visit() -> str | BaseResponse:
    db = db_session()
    account = _me()
    try:
        me, people = _people(account)
    except DomainError as exc:
        flash(exc.title, "error")
        return redirect(url_for(".home"))
    choices = [
        (d.id, f"{p.name[0]}*：{d.disease_name}（{d.institution_name} {d.diagnosed_on}）")
        for p in people
        for d in diagnoses.for_person(db, p.id)
        if d.status is DiagnosisStatus.confirmed
    ]
    form = VisitForm()
    form.person_id.choices = [(p.id, f"{p.name[0]}*" + ("（本人）" if p.id == me.id else ""))
                              for p in people]  # fmt: skip
    form.diagnosis_id.choices = choices
    red_flag = None
    if form.validate_on_submit():
        symptoms = [s for s in request.form.getlist("symptoms") if s in triage.SYMPTOM_BY_CODE]
        try:
            visit = visits.start(
                db,
                account,
                visits.VisitRequest(
                    person_id=form.person_id.data if form.person_id.data != me.id else None,
                    diagnosis_id=form.diagnosis_id.data,
                    complaint=form.complaint.data,
                    symptoms=symptoms or ["none"],
                    vitals=triage.Vitals(),
                    consent=bool(form.consent.data),
                ),
                settings(),
                clock.now(),
            )
        except DomainError as exc:
            if exc.code == "in_person_required":
                commit_now()  # the hand-off stands
                red_flag = exc
            else:
                db.rollback()
                message = {"consent_required": "请先阅读并同意知情同意书",
                           "vital_sign_unclear": exc.detail}.get(exc.code, exc.title)  # fmt: skip
                flash(message, "error")
        else:
            commit_now()
            return redirect(url_for(".visit", consultation_id=visit.id))
    return render_template(
        "h5/new_visit.html",
        form=form,
        symptoms=COMMON,
        consent_text=consent().text,
        red_flag=red_flag,
        has_diagnosis=bool(choices),
    )


def _visit(consultation_id: int) -> Consultation:
    db = db_session()
    try:
        consultation = visits.get(db, consultation_id)
        visits.visible_to(db, _me(), consultation)
    except DomainError:
        abort(404)
    if consultation.account_id != _me().id:
        abort(404)
    return consultation


@bp.route("/visits/<int:consultation_id>", methods=["GET", "POST"])
@console_roles_required(Role.patient)
def visit(consultation_id: int) -> str | BaseResponse:
    db = db_session()
    consultation = _visit(consultation_id)
    form = MessageForm()
    if form.validate_on_submit():
        photo = form.photo.data.read() if form.photo.data else None
        text = (form.text.data or "").strip() or None
        try:
            if photo:
                conversation.post_message(db, _me(), consultation.id, clock.now(), image=photo)
            elif text:
                conversation.post_message(db, _me(), consultation.id, clock.now(), text=text)
            else:
                flash("请输入内容或选择照片", "error")
        except DomainError as exc:
            db.rollback()
            flash(exc.detail, "error")
        else:
            commit_now()
        return redirect(url_for(".visit", consultation_id=consultation.id))
    waited = int((clock.now() - consultation.requested_at).total_seconds() // 60)
    record = visit_records.latest_record(db, consultation.id)
    return render_template(
        "h5/visit.html",
        c=consultation,
        messages=conversation.messages(db, consultation),
        form=form,
        waited=waited,
        record=json.loads(record.content) if record else None,
        record_row=record,
    )


@bp.get("/visits/<int:consultation_id>/messages/<int:seq>/image")
@console_roles_required(Role.patient)
def visit_image(consultation_id: int, seq: int) -> Response:
    consultation = _visit(consultation_id)
    try:
        message = conversation.image_message(db_session(), consultation, seq)
    except DomainError:
        abort(404)
    return private_file(message.image or b"", message.image_type)


@bp.get("/visits/<int:consultation_id>/messages.json")
@console_roles_required(Role.patient)
def visit_messages(consultation_id: int) -> Response:
    consultation = _visit(consultation_id)
    after = request.args.get("after", default=0, type=int)
    return jsonify(
        [
            {
                "seq": m.seq,
                "sender_role": m.sender_role,
                "text": m.text,
                "image": m.image is not None,
            }
            for m in conversation.messages(db_session(), consultation, after)
        ]
    )


def _prescription(prescription_id: int) -> Prescription:
    db = db_session()
    try:
        found = prescribing.get(db, prescription_id)
        records.visible_to(db, _me(), found)
    except DomainError:
        abort(404)
    return found


@bp.get("/prescriptions")
@console_roles_required(Role.patient)
def prescriptions() -> str:
    return render_template("h5/prescriptions.html", rows=records.for_patient(db_session(), _me()))


@bp.route("/prescriptions/<int:prescription_id>", methods=["GET", "POST"])
@console_roles_required(Role.patient)
def prescription(prescription_id: int) -> str | BaseResponse:
    db = db_session()
    found = _prescription(prescription_id)
    arranged = fulfilment.for_prescription(db, found.id)
    form = PickupForm()
    options = []
    if arranged is None or arranged.state.value == "released":
        try:
            lat = request.args.get("lat", default=39.9087, type=float)
            lng = request.args.get("lng", default=116.3975, type=float)
            options = fulfilment.pharmacies_for(db, found, lat, lng, clock.now())
        except DomainError:
            options = []
    form.pharmacy_id.choices = [
        (c.pharmacy.id, f"{c.pharmacy.name}（{c.distance_km:.1f} km）") for c in options
    ]
    if form.validate_on_submit():
        form_action(
            lambda: fulfilment.choose_pickup(
                db, _me(), found.id, form.pharmacy_id.data, clock.now()
            ),
            "已为您预留药品，请凭取药码到店取药",
        )
        return redirect(url_for(".prescription", prescription_id=found.id))
    show_code = found.code_usable(clock.today())
    long = long_term.needs_consent(found)
    return render_template(
        "h5/prescription.html",
        p=found,
        long_term_notice=long_term.NOTICE if long else None,
        consent_form=ConfirmForm(prefix="lt"),
        arranged=arranged,
        form=form,
        delivery=DeliveryForm(prefix="dl"),
        options=options,
        code=found.redemption_code if show_code else None,
    )


@bp.post("/prescriptions/<int:prescription_id>/long-term-consent")
@console_roles_required(Role.patient)
def long_term_consent(prescription_id: int) -> BaseResponse:
    """The patient confirms the 长期处方 notice they read: the pharmacist may then approve."""
    db = db_session()
    found = _prescription(prescription_id)
    if ConfirmForm(prefix="lt").validate_on_submit():
        form_action(
            lambda: long_term.consent(db, _me(), found.id, clock.now()),
            "已确认长期处方用药须知，药师将继续审核",
        )
    return redirect(url_for(".prescription", prescription_id=found.id))


@bp.route("/medicines", methods=["GET", "POST"])
@console_roles_required(Role.patient)
def medicines() -> str | BaseResponse:
    """What the patient (and each dependent) takes: our prescriptions in force, and what they
    report taking besides, which every new prescription is checked against."""
    db = db_session()
    account = _me()
    try:
        me, people = _people(account)
    except DomainError as exc:
        flash(exc.title, "error")
        return redirect(url_for(".home"))
    form = MedicineForm()
    form.person_id.choices = [
        (p.id, p.name + ("（本人）" if p.id == me.id else "")) for p in people
    ]
    if form.validate_on_submit():
        form_action(
            lambda: reported.report(db, account, form.person_id.data, form.name.data, clock.now()),
            f"已登记：{form.name.data}，医生和药师开方审方时会看到",
        )
        return redirect(url_for(".medicines"))
    today = clock.today()
    listing = [
        (person, prescribed_in_force(db, person.id, today), reported.current(db, person.id))
        for person in people
    ]
    return render_template(
        "h5/medicines.html", form=form, listing=listing, stop_form=ConfirmForm(prefix="stop")
    )


@bp.post("/medicines/<int:medicine_id>/stop")
@console_roles_required(Role.patient)
def stop_medicine(medicine_id: int) -> BaseResponse:
    db = db_session()
    if ConfirmForm(prefix="stop").validate_on_submit():
        try:
            row = reported.stop(db, _me(), medicine_id, clock.now())
        except DomainError:
            db.rollback()
            abort(404)
        commit_now()
        flash(f"已记录停用：{row.name}", "ok")
    return redirect(url_for(".medicines"))


@bp.post("/prescriptions/<int:prescription_id>/delivery")
@console_roles_required(Role.patient)
def deliver(prescription_id: int) -> BaseResponse:
    db = db_session()
    found = _prescription(prescription_id)
    form = DeliveryForm(prefix="dl")
    if not form.validate_on_submit():
        flash("请完整填写收货信息", "error")
        return redirect(url_for(".prescription", prescription_id=found.id))
    address = fulfilment.Address(form.recipient.data, form.phone.data, form.region.data,
                                 form.detail.data)  # fmt: skip
    form_action(
        lambda: fulfilment.choose_delivery(db, _me(), found.id, address, None, clock.now()),
        "已提交配送，药房发药后由快递送达",
    )
    return redirect(url_for(".prescription", prescription_id=found.id))


@bp.get("/prescriptions/<int:prescription_id>/qr.svg")
@console_roles_required(Role.patient)
def qr(prescription_id: int) -> Response:
    found = _prescription(prescription_id)
    if not found.code_usable(clock.today()):
        abort(404)
    svg = renderSVG.drawToString(qr_drawing(found.redemption_code or "", 240))
    return private_file(svg.encode(), "image/svg+xml")


@bp.get("/prescriptions/<int:prescription_id>/document.pdf")
@console_roles_required(Role.patient)
def document(prescription_id: int) -> Response:
    return private_file(records.document_pdf(_prescription(prescription_id)), "application/pdf")


@bp.get("/referrals")
@console_roles_required(Role.patient)
def my_referrals() -> str:
    return render_template("h5/referrals.html", rows=referrals.for_account(db_session(), _me().id))
