"""The practitioners' face check page: a selfie unlocks clinical actions for a while."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response

from core import clock
from identity.models import Role
from identity.services import practitioners as service
from web.api.patients import face_matcher
from web.auth import console_roles_required
from web.session import commit_now, db_session
from web.settings import settings

bp = Blueprint("face_check", __name__, url_prefix="/face-check", template_folder="templates")


class SelfieForm(FlaskForm):  # type: ignore[misc]
    selfie = FileField("自拍照", validators=[FileRequired("请拍摄或选择一张自拍照")])


@bp.route("/", methods=["GET", "POST"])
@console_roles_required(Role.doctor, Role.pharmacist, Role.family_doctor)
def index() -> str | Response:
    session = db_session()
    practitioner = service.practitioner_for(session, current_user)
    form = SelfieForm()
    if form.validate_on_submit():
        cfg = settings()
        attempt = service.face_check(
            session,
            practitioner,
            form.selfie.data.read(),
            face_matcher(),
            cfg.face_check_ttl_seconds,
            cfg.face_attempts_per_day * 4,
            clock.now(),
        )
        commit_now()
        if attempt.error is not None:
            flash(attempt.error.detail, "error")
        elif not attempt.row.matched:
            flash("人脸比对未通过，请本人正对镜头重拍。", "error")
        else:
            flash("人脸核验通过。", "ok")
            return redirect(url_for(".index"))
    now = clock.now()
    until = practitioner.face_checked_until
    return render_template(
        "face_check.html",
        form=form,
        practitioner=practitioner,
        valid_until=until if until and until > now else None,
        eligibility=service.eligibility_of(practitioner, clock.day_of(now)),
    )
