"""H5 identity pages: real-name registration (ID number and phone), 人脸核身 on the provider's
page (the live face against the public-security photo; the patient uploads no reference
photo), dependents, and diagnosis uploads."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from core import clock
from core.errors import DomainError
from followup.services import diagnoses
from identity.models import Account, DependentState, IdentityCheckState, ProofType, Relation, Role
from identity.services import dependents, patients, verification
from identity.verification import provider_for
from web.auth import console_roles_required
from web.session import commit_now, db_session
from web.settings import settings

bp = Blueprint("h5_identity", __name__, url_prefix="/h5/me", template_folder="templates")


class RealNameForm(FlaskForm):  # type: ignore[misc]
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=60)])
    id_number = StringField("居民身份证号", validators=[DataRequired("请填写身份证号")])
    phone = StringField("手机号", validators=[DataRequired("请填写手机号")])


class FaceForm(FlaskForm):  # type: ignore[misc]
    """Starts 人脸核身: nothing to fill in, the provider's page takes the live photo."""


class DependentForm(FlaskForm):  # type: ignore[misc]
    name = StringField("就诊人姓名", validators=[DataRequired("请填写姓名")])
    id_number = StringField("就诊人身份证号", validators=[DataRequired("请填写身份证号")])
    relation = SelectField("关系", choices=[SelectChoice(r.value, r.label) for r in Relation])


class UploadForm(FlaskForm):  # type: ignore[misc]
    code = StringField("诊断编码（ICD-10，如 I10）", validators=[DataRequired("请填写诊断编码")])
    diagnosed_on = DateField("确诊日期", validators=[DataRequired("请填写确诊日期")])
    institution = StringField("确诊医院", validators=[DataRequired("请填写医院")])
    doctor = StringField("医生", validators=[DataRequired("请填写医生")])
    evidence = FileField("病历或诊断证明（图片或 PDF）", validators=[FileRequired("请上传资料")])


def _me() -> Account:
    account: Account = current_user
    return account


@bp.route("/", methods=["GET", "POST"])
@console_roles_required(Role.patient)
def profile() -> str | Response:
    db = db_session()
    account = _me()
    real_name, face_form = RealNameForm(prefix="rn"), FaceForm(prefix="fc")
    dependent = DependentForm(prefix="dp")
    which = request.form.get("which")  # three forms on one page
    try:
        if which == "rn" and real_name.validate_on_submit():
            patients.register_real_name(db, account, real_name.name.data,
                                        real_name.id_number.data, real_name.phone.data,
                                        clock.today())  # fmt: skip
            commit_now()
            flash("实名信息已登记，请完成人脸核验", "ok")
            return redirect(url_for(".profile"))
        if which == "fc" and face_form.validate_on_submit():
            cfg = settings()
            _, url = verification.start(
                db, account, provider_for(cfg), url_for(".verified", _external=True),
                cfg.face_attempts_per_day, clock.now(),
            )  # fmt: skip
            commit_now()  # the check counts towards the day's limit
            return redirect(url)
        if which == "dp" and dependent.validate_on_submit():
            row = dependents.request_link(
                db, account, dependent.name.data, dependent.id_number.data,
                Relation(dependent.relation.data), clock.now(), clock.today(),
            )  # fmt: skip
            commit_now()
            flash("已提交，请上传关系证明" if row.is_guardian else "已向对方发送确认申请", "ok")
            return redirect(url_for(".profile"))
    except DomainError as exc:
        db.rollback()
        flash(f"{exc.title}：{exc.detail}" if exc.detail != exc.title else exc.title, "error")
    state = patients.verification_state(account)
    return render_template(
        "h5/profile.html",
        state=state,
        real_name=real_name,
        face_form=face_form,
        dependent=dependent,
        dependents=dependents.listed(db, account) if state.verified else [],
        requests=dependents.consent_requests(db, account) if state.verified else [],
        linked_by=dependents.linked_by(db, account),
        proof_form=ProofForm(prefix="pf"),
        action_form=ActionForm(),
        States=DependentState,
    )


class ProofForm(FlaskForm):  # type: ignore[misc]
    proof_type = SelectField(
        "证明类型", choices=[SelectChoice(p.value, p.label) for p in ProofType]
    )
    proof = FileField("关系证明（户口本或出生医学证明）", validators=[FileRequired("请上传证明")])


class ActionForm(FlaskForm):  # type: ignore[misc]
    """Buttons that change a link: only the CSRF token."""


def _act(action: Callable[[], object], done: str) -> Response:
    db = db_session()
    try:
        action()
    except DomainError as exc:
        db.rollback()
        flash(exc.detail if exc.detail != exc.title else exc.title, "error")
    else:
        commit_now()
        flash(done, "ok")
    return redirect(url_for(".profile"))


@bp.post("/dependents/<int:dependent_id>/proof")
@console_roles_required(Role.patient)
def upload_proof(dependent_id: int) -> Response:
    form = ProofForm(prefix="pf")
    if not form.validate_on_submit():
        flash("请选择证明类型并上传文件", "error")
        return redirect(url_for(".profile"))
    data = form.proof.data.read()
    kind = ProofType(form.proof_type.data)
    return _act(lambda: dependents.attach_proof(db_session(), _me(), dependent_id, kind, data,
                                                clock.now()), "证明已提交，等待审核")  # fmt: skip


@bp.post("/consent/<int:dependent_id>/<any(confirm, decline):decision>")
@console_roles_required(Role.patient)
def consent(dependent_id: int, decision: str) -> Response:
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".profile"))
    yes = decision == "confirm"
    return _act(lambda: dependents.decide(db_session(), _me(), dependent_id, yes, clock.now()),
                "已同意" if yes else "已拒绝")  # fmt: skip


@bp.post("/linked-by/<int:dependent_id>/withdraw")
@console_roles_required(Role.patient)
def withdraw(dependent_id: int) -> Response:
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".profile"))
    return _act(lambda: dependents.withdraw(db_session(), _me(), dependent_id, clock.now()),
                "已撤回同意，对方不能再为您办理就诊")  # fmt: skip


@bp.get("/verified")
@console_roles_required(Role.patient)
def verified() -> Response:
    """Where the provider's page sends the patient back; the outcome is asked of the provider."""
    db = db_session()
    token = request.args.get("BizToken") or request.args.get("token") or ""
    try:
        row = verification.finish(db, _me(), provider_for(settings()), token, clock.now())
    except DomainError as exc:
        db.rollback()
        flash(exc.detail if exc.detail != exc.title else exc.title, "error")
        return redirect(url_for(".profile"))
    commit_now()
    if row.state is IdentityCheckState.passed:
        flash("实名认证完成：人脸与公安身份证照片比对一致", "ok")
    else:
        flash(f"人脸核身未通过（{row.result_code}），请本人重新核验", "error")
    return redirect(url_for(".profile"))


@bp.route("/diagnoses/upload", methods=["GET", "POST"])
@console_roles_required(Role.patient)
def upload() -> str | Response:
    db = db_session()
    form = UploadForm()
    if form.validate_on_submit():
        try:
            person = patients.ensure_verified(_me())
            diagnoses.upload(db, _me(), person, form.code.data, form.diagnosed_on.data,
                             form.institution.data, form.doctor.data, form.evidence.data.read(),
                             clock.today())  # fmt: skip
        except DomainError as exc:
            db.rollback()
            flash(f"{exc.title}：{exc.detail}" if exc.detail != exc.title else exc.title, "error")
        else:
            commit_now()
            flash("已上传，医生确认后即可复诊", "ok")
            return redirect(url_for("h5.my_diagnoses"))
    return render_template("h5/upload.html", form=form)
