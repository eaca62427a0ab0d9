"""Family-doctor API: the agreement and teams, signing, renewing and ending contracts, home
readings, follow-up records and the family doctor's worklist."""

from __future__ import annotations

from flask import Blueprint, Response, request

from core import clock
from core.crypto import mask_name
from followup import classification
from followup.catalogue import family_doctor_agreement
from followup.classification import Findings
from followup.models import (
    Contract,
    FamilyDoctorTeam,
    FollowUpPlan,
    FollowUpRecord,
    Reading,
    ReadingKind,
)
from followup.schemas import (
    AgreementOut,
    ContractIn,
    ContractList,
    ContractOut,
    FollowUpIn,
    FollowUpOut,
    PlanOut,
    ReadingIn,
    ReadingList,
    ReadingOut,
    RenewIn,
    TeamList,
    TeamOut,
    TerminateIn,
    WorkItem,
    WorklistOut,
)
from followup.services import contracts, follow_ups, readings
from identity.models import Role
from identity.services import patients, practitioners
from web.auth import api_account, api_roles_required
from web.openapi import body, operation
from web.responses import json_model
from web.session import db_session

bp = Blueprint("api_family", __name__)


def contract_out(c: Contract) -> ContractOut:
    plans = contracts.active_plans(db_session(), c.id)
    return ContractOut(
        id=c.id,
        person_id=c.person_id,
        team_id=c.team_id,
        team_name=c.team.name,
        package=c.package,
        state=c.state.value,
        state_label=c.state.label,
        starts_on=c.starts_on,
        ends_on=c.ends_on,
        agreement_version=c.agreement_version,
        plans=[
            PlanOut(
                id=p.id,
                disease=p.disease.value,
                disease_label=p.disease.label,
                next_due_on=p.next_due_on,
                unsatisfactory_in_a_row=p.unsatisfactory_in_a_row,
            )
            for p in plans
        ],
    )


def reading_out(r: Reading, recorded: readings.Recorded | None = None) -> ReadingOut:
    assessment = recorded.assessment if recorded else None
    return ReadingOut(
        id=r.id,
        kind=r.kind.value,
        systolic=r.systolic,
        diastolic=r.diastolic,
        pulse=r.pulse,
        glucose_mmol=r.glucose_mmol,
        fasting=r.fasting,
        weight_kg=r.weight_kg,
        band=r.band,
        measured_at=r.measured_at,
        in_person_required=bool(assessment and assessment.in_person_required),
        advice=assessment.advice if assessment and assessment.in_person_required else None,
        referral_id=recorded.referral_id if recorded else None,
    )


@bp.get("/family-doctor/agreement")
@operation("The family-doctor service agreement to read before signing", tag="family",
           response=AgreementOut)  # fmt: skip
@api_roles_required(Role.patient)
def agreement() -> tuple[Response, int]:
    text = family_doctor_agreement()
    return json_model(AgreementOut(version=text.version, digest=text.digest, text=text.text))


@bp.get("/family-doctor/teams")
@operation("Family-doctor teams one may sign with", tag="family", response=TeamList)
@api_roles_required(Role.patient)
def teams() -> tuple[Response, int]:
    found = db_session().query(FamilyDoctorTeam).order_by(FamilyDoctorTeam.id).all()
    return json_model(
        TeamList(teams=[TeamOut(id=t.id, name=t.name, centre=t.centre, lead_name=t.lead.name)
                        for t in found])
    )  # fmt: skip


@bp.post("/me/contracts")
@operation(
    "Sign with a family-doctor team (oneself or a dependent), accepting the agreement",
    tag="family",
    body=ContractIn,
    response=ContractOut,
    status=201,
    problems=("agreement_required", "already_contracted", "forbidden", "not_found"),
)
@api_roles_required(Role.patient)
def sign() -> tuple[Response, int]:
    data: ContractIn = body()
    contract = contracts.sign(
        db_session(), api_account(), data.person_id, data.team_id, data.package,
        data.agreement_version, data.agreement_digest, clock.now(),
    )  # fmt: skip
    return json_model(contract_out(contract), 201)


@bp.get("/me/contracts")
@operation("The contracts this account signed, with their follow-up plans", tag="family",
           response=ContractList)  # fmt: skip
@api_roles_required(Role.patient)
def my_contracts() -> tuple[Response, int]:
    found = contracts.for_account(db_session(), api_account())
    return json_model(ContractList(contracts=[contract_out(c) for c in found]))


@bp.post("/me/contracts/<int:contract_id>/renew")
@operation(
    "Renew at term end (from 30 days before), with the same team or another",
    tag="family",
    body=RenewIn,
    response=ContractOut,
    status=201,
    problems=("agreement_required", "invalid_state", "not_found"),
)
@api_roles_required(Role.patient)
def renew(contract_id: int) -> tuple[Response, int]:
    data: RenewIn = body()
    contract = contracts.renew(
        db_session(), api_account(), contract_id, data.team_id, data.agreement_version,
        data.agreement_digest, clock.now(),
    )  # fmt: skip
    return json_model(contract_out(contract), 201)


@bp.post("/contracts/<int:contract_id>/terminate")
@operation(
    "End a contract early with a reason (the patient, or a member of the team)",
    tag="family",
    body=TerminateIn,
    response=ContractOut,
    problems=("invalid_state", "forbidden", "not_found"),
)
@api_roles_required(Role.patient, Role.family_doctor)
def terminate(contract_id: int) -> tuple[Response, int]:
    data: TerminateIn = body()
    contract = contracts.terminate(
        db_session(), api_account(), contract_id, data.reason, clock.now()
    )
    return json_model(contract_out(contract))


@bp.post("/readings")
@operation(
    "Report a home reading: blood pressure (with pulse), glucose (fasting or not), weight",
    tag="family",
    body=ReadingIn,
    response=ReadingOut,
    status=201,
    problems=("implausible_reading", "forbidden", "identity_unverified", "validation_error"),
    description="Classified against the patient's target band; a danger sign (≥180/110 mmHg, "
    "glucose ≥16.7 or ≤3.9 mmol/L) creates an urgent hand-off, alerts the family doctor and "
    "answers with what to do now.",
)
@api_roles_required(Role.patient)
def report_reading() -> tuple[Response, int]:
    data: ReadingIn = body()
    session, account = db_session(), api_account()
    person = patients.care_context(session, account, data.person_id).patient
    parsed = readings.Parsed(
        ReadingKind(data.kind), data.systolic, data.diastolic, data.glucose_mmol, data.pulse,
        data.fasting, data.weight_kg,
    )  # fmt: skip
    recorded = readings.record(session, account, person, parsed, "api", clock.now())
    return json_model(reading_out(recorded.reading, recorded), 201)


@bp.get("/me/readings")
@operation("Home readings of oneself or a dependent (?person_id=), newest first",
           tag="family", response=ReadingList, problems=("forbidden",))  # fmt: skip
@api_roles_required(Role.patient)
def my_readings() -> tuple[Response, int]:
    session = db_session()
    person_id = request.args.get("person_id", type=int)
    person = patients.care_context(session, api_account(), person_id).patient
    rows = (
        session.query(Reading).filter_by(person_id=person.id)
        .order_by(Reading.measured_at.desc()).limit(200).all()
    )  # fmt: skip
    return json_model(ReadingList(readings=[reading_out(r) for r in rows]))


@bp.post("/follow-up-plans/<int:plan_id>/records")
@operation(
    "Record a follow-up (a member of the patient's team): danger signs first, then control "
    "is classified and the next date set",
    tag="family",
    body=FollowUpIn,
    response=FollowUpOut,
    status=201,
    problems=("forbidden", "not_found", "validation_error"),
)
@api_roles_required(Role.family_doctor)
def record_follow_up(plan_id: int) -> tuple[Response, int]:
    data: FollowUpIn = body()
    visit = follow_ups.Visit(
        held_on=data.held_on,
        way=data.way,
        findings=Findings(
            systolic=data.systolic, diastolic=data.diastolic,
            fasting_glucose=data.fasting_glucose, heart_rate=data.heart_rate,
            symptom_codes=tuple(data.symptoms), adverse_reaction=data.adverse_reaction,
            new_complication=data.new_complication,
        ),
        adherence=data.adherence,
        notes=data.notes,
    )  # fmt: skip
    row = follow_ups.record(db_session(), api_account(), plan_id, visit, clock.now())
    return json_model(follow_up_out(row), 201)


def follow_up_out(row: FollowUpRecord) -> FollowUpOut:
    return FollowUpOut(
        id=row.id,
        plan_id=row.plan_id,
        held_on=row.held_on,
        way=row.way,
        classification=row.classification,
        classification_label=classification.Control(row.classification).label,
        danger_signs=row.danger_signs,
        next_due_on=row.next_due_on,
        referral_id=row.referral_id,
    )


@bp.get("/family-doctor/worklist")
@operation("The family doctor's worklist: overdue and due follow-ups, reading alerts",
           tag="family", response=WorklistOut)  # fmt: skip
@api_roles_required(Role.family_doctor)
def worklist() -> tuple[Response, int]:
    session = db_session()
    practitioner = practitioners.practitioner_for(session, api_account())
    found = follow_ups.worklist(session, contracts.teams_of(session, practitioner), clock.today())

    def item(plan: FollowUpPlan, note: str = "") -> WorkItem:
        return WorkItem(plan_id=plan.id, person_name=mask_name(plan.person.name),
                        disease_label=plan.disease.label, next_due_on=plan.next_due_on,
                        note=note)  # fmt: skip

    return json_model(
        WorklistOut(
            overdue=[item(p) for p in found.overdue],
            due=[item(p) for p in found.due],
            alerts=[item(p, note) for p, note in found.alerts],
        )
    )
