"""H5 identity pages: real-name registration (ID number and phone), the face check with two
photos (the phone's camera, or a file on a desktop), dependents, and diagnosis uploads."""

from __future__ import annotations

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
from identity import face
from identity.models import Account, Relation, Role
from identity.services import patients
from web.auth import console_roles_required
from web.session import commit_now, db_session
from web.settings import settings

bp = Blueprint("h5_identity", __name__, url_prefix="/h5/me", template_folder="templates")


class RealNameForm(FlaskForm):  # type: ignore[misc]
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=60)])
    id_number = StringField("居民身份证号", validators=[DataRequired("请填写身份证号")])
    phone = StringField("手机号", validators=[DataRequired("请填写手机号")])


class FaceForm(FlaskForm):  # type: ignore[misc]
    id_photo = FileField("身份证人像面照片", validators=[FileRequired("请拍摄或选择身份证照片")])
    selfie = FileField("本人正面照", validators=[FileRequired("请拍摄本人正面照")])


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
            attempt = patients.verify_face(
                db, account, face_form.id_photo.data.read(), face_form.selfie.data.read(),
                face.FaceConfig(threshold=cfg.face_match_threshold,
                                min_face_px=cfg.face_min_size_px),
                cfg.face_attempts_per_day, clock.now(),
            )  # fmt: skip
            commit_now()  # every attempt counts
            if attempt.error is not None:
                flash(f"{attempt.error.title}：{attempt.error.detail}", "error")
            elif not attempt.row.matched:
                flash("人脸比对未通过，请本人正对镜头重拍", "error")
            else:
                flash("实名认证完成", "ok")
            return redirect(url_for(".profile"))
        if which == "dp" and dependent.validate_on_submit():
            patients.add_dependent(db, account, dependent.name.data, dependent.id_number.data,
                                   Relation(dependent.relation.data), clock.today())  # fmt: skip
            commit_now()
            flash("已添加就诊人", "ok")
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
        dependents=patients.dependents_of(db, account) if state.verified else [],
    )


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
