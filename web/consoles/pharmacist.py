"""The pharmacist console: the review queue with waiting times, claiming the next prescription,
and the review page (items, patient facts, automated findings, approve or return)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from core import clock
from core.errors import DomainError
from identity import rules as identity_rules
from identity.models import Account, Practitioner, Role
from identity.services import practitioners
from identity.services.allergies import history as allergy_history
from pharmacy import access
from prescriptions.medication import Finding, Severity
from prescriptions.models import PrescriptionState
from prescriptions.services import prescribing, records, review
from prescriptions.services.in_force import medicines_in_force
from web.actions import attempt, form_action
from web.auth import console_roles_required
from web.responses import private_file
from web.session import commit_now, db_session

bp = Blueprint(
    "pharmacist_console", __name__, url_prefix="/pharmacist", template_folder="templates"
)


class ActionForm(FlaskForm):  # type: ignore[misc]
    # Required by the service when a major finding is shown (an interaction, a duplication).
    override_reason = TextAreaField("通过理由", validators=[Length(max=300)])


class RejectForm(FlaskForm):  # type: ignore[misc]
    reason = SelectField(
        "退回理由", choices=[SelectChoice(r.value, r.label) for r in review.RejectReason]
    )
    note = TextAreaField(
        "给医生的说明", validators=[DataRequired("请写明退回理由"), Length(max=300)]
    )


def _pharmacist() -> tuple[Session, Account, Practitioner]:
    session = db_session()
    account: Account = current_user
    return session, account, practitioners.practitioner_for(session, account)


@bp.get("/")
@console_roles_required(Role.pharmacist)
def index() -> str:
    session, _, pharmacist = _pharmacist()
    now = clock.now()
    waiting = review.queue(session)
    return render_template(
        "pharmacist/index.html",
        pharmacist=pharmacist,
        waiting=[(p, review.waiting_seconds(p, now) // 60) for p in waiting],
        action=ActionForm(),
        face_valid=pharmacist.face_checked_until is not None
        and pharmacist.face_checked_until > now,
        eligibility=practitioners.eligibility_of(pharmacist, clock.day_of(now)),
    )


@bp.post("/claim")
@console_roles_required(Role.pharmacist)
def claim() -> BaseResponse:
    session, account, _ = _pharmacist()
    if not ActionForm().validate_on_submit():
        abort(400)
    claimed = attempt(lambda: review.claim_next(session, account, clock.now()))
    if not claimed.done:
        return redirect(url_for(".index"))
    prescription = claimed.value
    if prescription is None:
        flash("暂无待审核处方", "ok")
        return redirect(url_for(".index"))
    commit_now()
    return redirect(url_for(".show", prescription_id=prescription.id))


@bp.get("/prescriptions/<int:prescription_id>")
@console_roles_required(Role.pharmacist)
def show(prescription_id: int) -> str:
    session, _, pharmacist = _pharmacist()
    try:
        prescription = prescribing.get(session, prescription_id)
    except DomainError:
        abort(404)
    now = clock.now()
    findings: list[Finding] = []
    check_error = None
    try:
        findings = review.assess(prescription, clock.day_of(now))
    except review.CheckUnavailable as exc:
        check_error = exc.detail
    person = prescription.person
    in_force = medicines_in_force(session, person.id, clock.day_of(now), excluding=prescription.id)
    return render_template(
        "pharmacist/review.html",
        p=prescription,
        person=person,
        age=identity_rules.age_on(person.birth_date, prescription.issued_on),
        allergies=person.allergy_list,
        allergy_changes=allergy_history(session, person.id),
        findings=findings,
        blocking=any(f.severity is Severity.refuse for f in findings),
        needs_reason=any(f.severity is Severity.major for f in findings),
        in_force=in_force,
        check_error=check_error,
        doctor_signature_ok=prescribing.doctor_signature_valid(session, prescription),
        pharmacist_signature_ok=review.pharmacist_signature_valid(session, prescription),
        versions=records.versions(session, prescription),
        mine=prescription.pharmacist_id == pharmacist.id,
        reviewable=prescription.state is PrescriptionState.signed,
        waited=review.waiting_seconds(prescription, now) // 60,
        action=ActionForm(),
        reject_form=RejectForm(),
        reasons={r.value: r.label for r in review.RejectReason},
    )


def _decide(prescription_id: int, action: Callable[[], object], done: str) -> BaseResponse:
    """Approve or return: a refusal is shown in Chinese on the review page and changes
    nothing; a decision is committed and the pharmacist goes back to the queue."""
    if not form_action(action, done):
        return redirect(url_for(".show", prescription_id=prescription_id))
    return redirect(url_for(".index"))


@bp.post("/prescriptions/<int:prescription_id>/approve")
@console_roles_required(Role.pharmacist)
def approve(prescription_id: int) -> BaseResponse:
    session, account, _ = _pharmacist()
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    reason = form.override_reason.data
    return _decide(
        prescription_id,
        lambda: review.approve(session, account, prescription_id, clock.now(), reason),
        f"处方 #{prescription_id} 已审核通过并签名",
    )


@bp.post("/prescriptions/<int:prescription_id>/reject")
@console_roles_required(Role.pharmacist)
def reject(prescription_id: int) -> BaseResponse:
    session, account, _ = _pharmacist()
    form = RejectForm()
    if not form.validate_on_submit():
        flash("请选择退回理由并写明说明", "error")
        return redirect(url_for(".show", prescription_id=prescription_id))
    reason = review.RejectReason(form.reason.data)
    return _decide(
        prescription_id,
        lambda: review.reject(
            session, account, prescription_id, reason, form.note.data, clock.now()
        ),
        f"处方 #{prescription_id} 已退回医生",
    )


@bp.get("/prescriptions/<int:prescription_id>/document.pdf")
@console_roles_required(Role.pharmacist)
def document(prescription_id: int) -> Response:
    session = db_session()
    try:
        prescription = prescribing.get(session, prescription_id)
        access.ensure_may_read(session, current_user, prescription)
    except DomainError:
        abort(404)
    return private_file(records.document_pdf(prescription), "application/pdf")
