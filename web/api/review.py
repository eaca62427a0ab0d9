"""Pharmacist review API: the queue, claiming (row-locked), approval and rejection."""

from __future__ import annotations

from flask import Blueprint, Response

from core import clock
from identity.models import Role
from prescriptions.schemas import (
    ApproveIn,
    PrescriptionOut,
    QueueEntry,
    QueueOut,
    RejectIn,
    ReviewQueueOut,
)
from prescriptions.services import review
from web.api.prescriptions import prescription_out
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation
from web.responses import json_model
from web.session import db_session

bp = Blueprint("api_review", __name__)


@bp.get("/pharmacist/queue")
@operation(
    "Prescriptions waiting for review: escalated first, then oldest first, with waiting times",
    tag="prescriptions",
    response=QueueOut,
    problems=("forbidden",),
)
@api_roles_required(Role.pharmacist)
def queue() -> tuple[Response, int]:
    now = clock.now()
    entries = [
        QueueEntry(
            prescription_id=p.id,
            doctor_name=p.doctor.name,
            department=p.consultation.department,
            signed_at=p.doctor_signed_at,
            waiting_seconds=review.waiting_seconds(p, now),
            escalated=p.escalated_at is not None,
            claimed_by=p.pharmacist.name if p.pharmacist else None,
        )
        for p in review.queue(db_session())
    ]
    return json_model(QueueOut(waiting=entries))


@bp.post("/pharmacist/claim")
@operation(
    "Claim the oldest prescription waiting for review (row-locked: never two pharmacists)",
    tag="prescriptions",
    response=ReviewQueueOut,
    problems=("practitioner_not_eligible", "forbidden", "check_unavailable"),
)
@api_roles_required(Role.pharmacist)
def claim() -> tuple[Response, int]:
    now = clock.now()
    prescription = review.claim_next(db_session(), api_account(), now)
    if prescription is None:
        return json_model(ReviewQueueOut(prescription=None))
    findings = review.pre_review(prescription, clock.day_of(now))
    return json_model(
        ReviewQueueOut(prescription=prescription_out(prescription), findings=findings)
    )


@bp.post("/prescriptions/<int:prescription_id>/approve")
@operation(
    "Approve and sign as pharmacist (fresh face check; never one's own prescription)",
    tag="prescriptions",
    body=ApproveIn,
    body_optional=True,
    response=PrescriptionOut,
    problems=(
        "invalid_state",
        "face_check_required",
        "check_unavailable",
        "forbidden",
        "override_reason_required",
    ),
    description="A major finding (an interaction, a therapeutic duplication) passes only with "
    "`override_reason`, which is recorded; a refusing finding never passes.",
)
@api_roles_required(Role.pharmacist)
def approve(prescription_id: int) -> tuple[Response, int]:
    data: ApproveIn = body()
    prescription = review.approve(
        db_session(), api_account(), prescription_id, clock.now(), data.override_reason
    )
    return json_model(prescription_out(prescription))


@bp.post("/prescriptions/<int:prescription_id>/reject")
@operation(
    "Return the prescription to the doctor with a reason code and a note",
    tag="prescriptions",
    body=RejectIn,
    response=PrescriptionOut,
    problems=("invalid_state", "forbidden", "validation_error"),
)
@api_roles_required(Role.pharmacist)
def reject(prescription_id: int) -> tuple[Response, int]:
    data: RejectIn = body()
    try:
        reason = review.RejectReason(data.reason)
    except ValueError:
        raise ApiProblem(422, "validation_error", "退回理由代码无效") from None
    prescription = review.reject(
        db_session(), api_account(), prescription_id, reason, data.note, clock.now()
    )
    return json_model(prescription_out(prescription))
