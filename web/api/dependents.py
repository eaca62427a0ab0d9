"""Dependents (就诊人) API: asking, the proof for a minor, consent by the adult or the first
guardian, withdrawal, and staff review of proofs."""

from __future__ import annotations

from flask import Blueprint, Response, url_for

from core import clock
from core.crypto import mask_name
from identity import rules
from identity.models import Dependent, ProofType, Role
from identity.schemas import (
    ConsentRequestList,
    ConsentRequestOut,
    DependentIn,
    DependentOut,
    LinkList,
    LinkOut,
    ProofForm,
    ReviewIn,
    ReviewItem,
    ReviewList,
)
from identity.services import dependents
from web.api.patients import dependent_out
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation, upload
from web.responses import json_model, private_file
from web.session import db_session

bp = Blueprint("api_dependents", __name__)


@bp.post("/me/dependents")
@operation(
    "Ask to seek care for a family member (就诊人): an adult must confirm from their own "
    "verified account; a minor needs a relationship proof that staff review",
    tag="dependents",
    body=DependentIn,
    response=DependentOut,
    status=201,
    problems=(
        "identity_unverified",
        "invalid_id_number",
        "invalid_dependent",
        "dependent_exists",
        "name_mismatch",
        "dependent_needs_account",
    ),
    description="The link starts pending (pending_consent for an adult, who is notified; "
    "pending_proof for a minor). Nothing of the person is shown, and no care can be sought for "
    "them, until it is active. Adults are 18 and over (民法典 第十七条).",
)
@api_roles_required(Role.patient)
def ask() -> tuple[Response, int]:
    data: DependentIn = body()
    row = dependents.request_link(db_session(), api_account(), data.name, data.id_number,
                                  data.relation, clock.now(), clock.today())  # fmt: skip
    return json_model(dependent_out(row), 201)


@bp.post("/me/dependents/<int:dependent_id>/proof")
@operation(
    "The guardian's relationship proof for a minor (户口本 pages or 出生医学证明; JPEG, PNG or "
    "PDF)",
    tag="dependents",
    form=ProofForm,
    files=("proof",),
    response=DependentOut,
    problems=("not_found", "invalid_state", "invalid_proof", "missing_file"),
    description="Then staff review it; if the child already has a guardian here, that guardian "
    "is asked to consent first.",
)
@api_roles_required(Role.patient)
def proof(dependent_id: int) -> tuple[Response, int]:
    data: ProofForm = body()
    file = upload("proof", max_bytes=dependents.MAX_PROOF_BYTES)
    row = dependents.attach_proof(db_session(), api_account(), dependent_id,
                                  ProofType(data.proof_type), file, clock.now())  # fmt: skip
    return json_model(dependent_out(row))


@bp.delete("/me/dependents/<int:dependent_id>")
@operation("Remove a family member from the list", tag="dependents", status=204,
           problems=("not_found",))  # fmt: skip
@api_roles_required(Role.patient)
def remove(dependent_id: int) -> Response:
    dependents.remove(db_session(), api_account(), dependent_id, clock.now())
    return Response(status=204)


def _request_out(row: Dependent) -> ConsentRequestOut:
    holder = row.account.person
    return ConsentRequestOut(
        id=row.id,
        requester_name=mask_name(holder.name) if holder else row.account.display_name,
        person_name=mask_name(row.person.name),
        relation=row.relation,
        relation_label=row.relation.label,
        as_guardian=row.is_guardian,
        requested_at=row.created_at,
    )


@bp.get("/me/consent-requests")
@operation("Requests waiting for my consent: to be someone's dependent, or a second guardian "
           "for my child", tag="dependents", response=ConsentRequestList)  # fmt: skip
@api_roles_required(Role.patient)
def consent_requests() -> tuple[Response, int]:
    rows = dependents.consent_requests(db_session(), api_account())
    return json_model(ConsentRequestList(requests=[_request_out(r) for r in rows]))


def _decide(dependent_id: int, confirm: bool) -> tuple[Response, int]:
    row = dependents.decide(db_session(), api_account(), dependent_id, confirm, clock.now())
    return json_model(_request_out(row))


@bp.post("/me/consent-requests/<int:dependent_id>/confirm")
@operation("Consent", tag="dependents", response=ConsentRequestOut, problems=("not_found",))
@api_roles_required(Role.patient)
def confirm(dependent_id: int) -> tuple[Response, int]:
    return _decide(dependent_id, True)


@bp.post("/me/consent-requests/<int:dependent_id>/decline")
@operation("Decline", tag="dependents", response=ConsentRequestOut, problems=("not_found",))
@api_roles_required(Role.patient)
def decline(dependent_id: int) -> tuple[Response, int]:
    return _decide(dependent_id, False)


@bp.get("/me/linked-by")
@operation("Accounts that may seek care for me, or are asking to", tag="dependents",
           response=LinkList)  # fmt: skip
@api_roles_required(Role.patient)
def linked_by() -> tuple[Response, int]:
    rows = dependents.linked_by(db_session(), api_account())
    links = [
        LinkOut(
            id=r.id,
            holder_name=mask_name(r.account.person.name) if r.account.person else "",
            relation_label=r.relation.label, state=r.state, state_label=r.state.label,
        )
        for r in rows
    ]  # fmt: skip
    return json_model(LinkList(links=links))


@bp.post("/me/linked-by/<int:dependent_id>/withdraw")
@operation("Withdraw my consent: that account can no longer seek care for me", tag="dependents",
           status=204, problems=("not_found", "invalid_state"))  # fmt: skip
@api_roles_required(Role.patient)
def withdraw(dependent_id: int) -> Response:
    dependents.withdraw(db_session(), api_account(), dependent_id, clock.now())
    return Response(status=204)


@bp.get("/admin/dependent-reviews")
@operation("Guardians' relationship proofs waiting for review", tag="dependents",
           response=ReviewList)  # fmt: skip
@api_roles_required(Role.admin)
def reviews() -> tuple[Response, int]:
    today = clock.today()
    items = [
        ReviewItem(
            id=r.id,
            requester_name=mask_name(r.account.person.name) if r.account.person else "",
            child_name=mask_name(r.person.name),
            child_age=rules.age_on(r.person.birth_date, today),
            proof_type=r.proof_type,
            proof_url=url_for(".review_proof", dependent_id=r.id),
            requested_at=r.created_at,
        )
        for r in dependents.review_queue(db_session())
    ]
    return json_model(ReviewList(reviews=items))


@bp.get("/admin/dependent-reviews/<int:dependent_id>/proof")
@operation("The proof under review", tag="dependents", problems=("not_found",))
@api_roles_required(Role.admin)
def review_proof(dependent_id: int) -> Response:
    row = db_session().get(Dependent, dependent_id)
    if row is None or row.proof is None:
        raise ApiProblem(404, "not_found", "没有这份证明")
    return private_file(row.proof, row.proof_media_type or "application/octet-stream")


@bp.post("/admin/dependent-reviews/<int:dependent_id>/decision")
@operation("Accept or refuse a guardian's proof", tag="dependents", body=ReviewIn,
           response=DependentOut, problems=("not_found", "forbidden"))  # fmt: skip
@api_roles_required(Role.admin)
def decide_review(dependent_id: int) -> tuple[Response, int]:
    data: ReviewIn = body()
    row = dependents.review(db_session(), api_account(), dependent_id, data.approve, data.note,
                            clock.now())  # fmt: skip
    return json_model(dependent_out(row))
