"""Admin console: register practitioners, see their eligibility, rotate signing keys, and
review guardians' relationship proofs."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import DateField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from core import clock
from identity.models import Account, Dependent, Institution, Practitioner, Role
from identity.rules import PractitionerKind, Title
from identity.services import actor_of, dependents
from identity.services import practitioners as service
from prescriptions import formulary
from prescriptions.services import drugs
from web.actions import attempt, form_action
from web.api.patients import face_matcher
from web.auth import console_roles_required
from web.consoles.forms import SignOutForm
from web.responses import private_file
from web.session import db_session

bp = Blueprint("admin_console", __name__, url_prefix="/admin", template_folder="templates")

KIND_LABELS = {
    PractitionerKind.doctor: "医生（在线复诊）",
    PractitionerKind.pharmacist: "药师（处方审核）",
    PractitionerKind.family_doctor: "家庭医生",
}


class PractitionerForm(FlaskForm):  # type: ignore[misc]
    name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(2, 64)])
    kind = SelectField(
        "类别", choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()]
    )
    title = SelectField("职称", choices=[SelectChoice(t.value, t.value) for t in Title])
    licence_number = StringField("执业证书编码", validators=[DataRequired(), Length(6, 32)])
    department = StringField("科室", validators=[DataRequired(), Length(1, 64)])
    institution_id = SelectField("执业机构", coerce=int)
    practice_started_on = DateField("独立执业起始日期", validators=[DataRequired("请选择日期")])
    username = StringField("登录用户名", validators=[DataRequired(), Length(3, 64)])
    password = PasswordField("初始密码", validators=[DataRequired(), Length(8, 256)])
    face_photo = FileField(
        "人像照片（用于人脸核验）",
        validators=[FileRequired("请上传人像照片"), FileAllowed(["jpg", "jpeg", "png", "webp"])],
    )


class RotateForm(FlaskForm):  # type: ignore[misc]
    pass


def _institutions() -> list[SelectChoice]:
    institutions = db_session().scalars(select(Institution).order_by(Institution.id))
    return [SelectChoice(i.id, i.name) for i in institutions]


@bp.route("/", methods=["GET", "POST"])
@console_roles_required(Role.admin)
def index() -> str | Response:
    session = db_session()
    form = PractitionerForm()
    form.institution_id.choices = _institutions()
    if form.validate_on_submit():
        data = service.Registration(
            username=form.username.data,
            password=form.password.data,
            name=form.name.data,
            kind=PractitionerKind(form.kind.data),
            licence_number=form.licence_number.data,
            title=Title(form.title.data),
            department=form.department.data,
            institution_id=form.institution_id.data,
            practice_started_on=form.practice_started_on.data,
        )
        registered = attempt(
            lambda: service.register(
                session,
                actor_of(current_user),
                data,
                form.face_photo.data.read(),
                face_matcher(),
                clock.today(),
            ),
            lambda practitioner: f"已登记 {practitioner.name}（{practitioner.title.value}）。",
            refused="登记未成功",
        )
        if registered.done:
            return redirect(url_for(".index"))
    today = clock.today()
    rows = [
        (p, service.eligibility_of(p, today), service.active_key(session, p))
        for p in service.all_practitioners(session)
    ]
    return render_template(
        "admin.html",
        form=form,
        rows=rows,
        rotate=RotateForm(),
        kinds=KIND_LABELS,
        sign_out=SignOutForm(),
        reviews=dependents.review_queue(session),
        today=today,
    )


@bp.get("/dependent-reviews/<int:dependent_id>/proof")
@console_roles_required(Role.admin)
def review_proof(dependent_id: int) -> Response:
    row = db_session().get(Dependent, dependent_id)
    if row is None or row.proof is None:
        abort(404)
    return private_file(row.proof, row.proof_media_type or "application/octet-stream")


@bp.post("/dependent-reviews/<int:dependent_id>/<any(approve, decline):decision>")
@console_roles_required(Role.admin)
def review(dependent_id: int, decision: str) -> Response:
    session = db_session()
    if RotateForm().validate_on_submit():
        approve = decision == "approve"
        note = (request.form.get("note") or "").strip()
        form_action(
            lambda: dependents.review(
                session, current_user, dependent_id, approve, note, clock.now()
            ),
            "已通过监护关系审核" if approve else "已驳回监护关系申请",
        )
    return redirect(url_for(".index"))


@bp.post("/practitioners/<int:practitioner_id>/rotate-key")
@console_roles_required(Role.admin)
def rotate_key(practitioner_id: int) -> Response:
    session = db_session()
    practitioner = session.get(Practitioner, practitioner_id)
    if RotateForm().validate_on_submit() and practitioner is not None:
        admin: Account = current_user
        key = service.rotate_key(session, practitioner, actor_of(admin), clock.now())
        flash(f"已为 {practitioner.name} 更换签名密钥，新指纹 {key.fingerprint[:16]}…", "ok")
    return redirect(url_for(".index"))


class FormularyForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        "药品字典文件（CSV 或 XLSX）",
        validators=[FileRequired("请选择文件"), FileAllowed(["csv", "xlsx"], "仅支持 CSV 或 XLSX")],
    )


CHANGE_LABELS = {
    **formulary.LABELS,
    "price_fen": "单价（分）",
    "product_class": "管制类别（产品）",
    "control_class": "管制类别",
    "blocked": "禁止在线开具",
    "active": "在用",
}


@bp.route("/formulary", methods=["GET", "POST"])
@console_roles_required(Role.admin)
def formulary_page() -> str | Response:
    """Preview a dictionary's diff, then import it: the same file, a second button."""
    session = db_session()
    form = FormularyForm()
    preview = None
    if form.validate_on_submit():
        content = form.file.data.read()
        filename = form.file.data.filename or "formulary.csv"
        dry_run = request.form.get("action") != "import"
        try:
            count, report = drugs.import_file(
                session,
                actor_of(current_user),
                content,
                filename,
                account_id=current_user.id,
                dry_run=dry_run,
            )
        except formulary.FormularyInvalid as exc:
            session.rollback()
            flash(f"{exc.title}：{exc.detail}", "error")
        else:
            if not dry_run:
                made = f"第 {report.version} 版" if report.version else "无变化，未生成新版本"
                flash(f"已导入 {count} 种药品：{made}", "ok")
                return redirect(url_for(".formulary_page"))
            preview = (count, report)
    number = request.args.get("version", type=int)
    shown = drugs.formulary_version(session, number) if number else None
    return render_template(
        "admin_formulary.html",
        form=form,
        preview=preview,
        versions=drugs.versions_of_formulary(session),
        shown=shown,
        labels=CHANGE_LABELS,
        sign_out=SignOutForm(),
    )
