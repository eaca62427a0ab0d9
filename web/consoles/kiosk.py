"""The kiosk screen: full screen, large touch targets. Scan (camera or a scanner that types, or
the code typed by hand), the collector's identity (ID digits and a selfie), the items, the
pharmacist on duty confirms, and the prescription document prints. The code being served
lives in the kiosk's session only while one patient is at the screen."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response as BaseResponse
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core import clock
from core.errors import DomainError
from identity.models import Role
from pharmacy import id_card
from pharmacy.models import Kiosk
from pharmacy.services import kiosk
from pharmacy.services.dispensing import find_by_code
from prescriptions.services import records
from web.actions import attempt, form_action
from web.api.patients import face_matcher
from web.auth import console_roles_required
from web.responses import private_file
from web.session import db_session
from web.settings import settings

bp = Blueprint("kiosk_console", __name__, url_prefix="/kiosk", template_folder="templates")

CODE, CHECK = "kiosk_code", "kiosk_identity_check"


class ScanForm(FlaskForm):  # type: ignore[misc]
    token = StringField("取药码", validators=[DataRequired("请扫描或输入取药码"), Length(max=64)])


class IdentityForm(FlaskForm):  # type: ignore[misc]
    # Filled by the page from the kiosk's ID card reader (static/id_card.js), never typed.
    id_card = HiddenField(validators=[DataRequired("请先读取取药人的身份证")])
    patient_id_last4 = StringField(
        "患者身份证号后 4 位（代取时填写）", validators=[Optional(), Length(4, 4)]
    )
    selfie = FileField("拍照核验", validators=[FileRequired("请正对镜头拍照")])


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    username = StringField("药师账号", validators=[DataRequired("请药师输入账号")])
    password = PasswordField("药师密码", validators=[DataRequired("请药师输入密码")])
    # A scanner types each box's code and Enter: one code a line.
    trace_codes = TextAreaField(
        "药品追溯码（逐盒扫描，每行一个）", validators=[DataRequired("请逐盒扫描药品追溯码")]
    )


class ResetForm(FlaskForm):  # type: ignore[misc]
    pass


def _reset() -> None:
    session.pop(CODE, None)
    session.pop(CHECK, None)


def _terminal() -> Kiosk:
    try:
        return kiosk.kiosk_for(db_session(), current_user)
    except DomainError:
        abort(403)


@bp.route("/", methods=["GET", "POST"])
@console_roles_required(Role.kiosk)
def index() -> str | BaseResponse:
    terminal = _terminal()
    form = ScanForm()
    if form.validate_on_submit():
        _reset()
        if form_action(
            lambda: kiosk.scan(db_session(), current_user, form.token.data, clock.now())
        ):
            session[CODE] = form.token.data
            return redirect(url_for(".serve"))
    return render_template("kiosk/scan.html", form=form, terminal=terminal)


@bp.route("/serve", methods=["GET", "POST"])
@console_roles_required(Role.kiosk)
def serve() -> str | BaseResponse:
    """The items, then who collects, then the pharmacist's confirmation."""
    terminal = _terminal()
    code = session.get(CODE)
    if not code:
        return redirect(url_for(".index"))
    scan = attempt(lambda: kiosk.scan(db_session(), current_user, code, clock.now()))
    if scan.value is None:
        _reset()
        return redirect(url_for(".index"))
    scanned = scan.value
    identity_form = IdentityForm()
    if identity_form.validate_on_submit():
        # A failed face match is an outcome, committed like a pass: every attempt counts.
        checked = attempt(
            lambda: kiosk.check_identity(
                db_session(),
                current_user,
                code,
                identity_form.id_card.data,
                identity_form.patient_id_last4.data or None,
                identity_form.selfie.data.read(),
                face_matcher("card"),
                clock.now(),
            )
        )
        if (check := checked.value) is not None:
            if check.matched:
                session[CHECK] = check.id
                flash("身份核验通过，请药师确认发药", "ok")
            else:
                flash("人脸比对未通过，请本人正对镜头重拍", "error")
        return redirect(url_for(".serve"))
    items = [
        {
            "name": f"{i.drug.generic_name} {i.drug.strength}",
            "units": i.units_to_dispense,
            "usage": "用法：" + i.usage,
        }
        for i in scanned.prescription.items
    ]
    return render_template(
        "kiosk/serve.html",
        terminal=terminal,
        scanned=scanned,
        items=items,
        identity_form=identity_form,
        confirm_form=ConfirmForm(),
        reset_form=ResetForm(),
        identity_ok=session.get(CHECK) is not None,
        reader_url=url_for(".demo_reader") if settings().demo_mode else settings().kiosk_reader_url,
        demo_mode=settings().demo_mode,
    )


@bp.get("/demo-reader")
@console_roles_required(Role.kiosk)
def demo_reader() -> Response:
    """Demo mode only: the kiosk's ID card reader with 张三's card on it (a signed reading, as
    the reader service beside a real kiosk gives)."""
    if not settings().demo_mode:
        abort(404)
    from web.demo import DEMO_FACE, DEMO_PATIENT

    terminal = kiosk.kiosk_for(db_session(), current_user)
    reading = id_card.sign(DEMO_PATIENT[0], DEMO_PATIENT[1], DEMO_FACE.read_bytes(),
                           f"demo-reader-{terminal.id}", int(clock.now().timestamp()),
                           terminal.reader_key or "")  # fmt: skip
    return jsonify(reading)


@bp.post("/dispense")
@console_roles_required(Role.kiosk)
def dispense() -> str | BaseResponse:
    terminal = _terminal()
    code, check_id = session.get(CODE), session.get(CHECK)
    form = ConfirmForm()
    if not code or not form.validate_on_submit():
        flash("请药师输入账号和密码确认", "error")
        return redirect(url_for(".serve"))
    cfg = settings()
    # A wrong password counts towards the pharmacist's lock-out (AuthenticationFailed keeps
    # its effects); any other refusal changes nothing.
    dispensed = attempt(
        lambda: kiosk.dispense_at_kiosk(
            db_session(),
            current_user,
            code,
            int(check_id or 0),
            form.username.data,
            form.password.data,
            clock.now(),
            trace_codes=(form.trace_codes.data or "").splitlines(),
            max_failures=cfg.login_max_failures,
            lockout_seconds=cfg.login_lockout_seconds,
        )
    )
    if (record := dispensed.value) is None:
        return redirect(url_for(".serve"))
    session.pop(CHECK, None)
    return render_template(
        "kiosk/done.html", terminal=terminal, record=record, reset_form=ResetForm()
    )


@bp.get("/document.pdf")
@console_roles_required(Role.kiosk)
def document() -> Response:
    """The prescription document for the patient at the screen, to print."""
    _terminal()
    code = session.get(CODE)
    if not code:
        abort(404)
    try:
        prescription = find_by_code(db_session(), code)
    except DomainError:
        abort(404)
    return private_file(records.document_pdf(prescription), "application/pdf")


@bp.post("/reset")
@console_roles_required(Role.kiosk)
def reset() -> BaseResponse:
    if ResetForm().validate_on_submit():
        _reset()
    return redirect(url_for(".index"))
