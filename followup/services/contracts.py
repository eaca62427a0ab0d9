"""Family-doctor contracts (家庭医生签约): a verified patient, or a guardian for a dependent,
signs with one team at a time for a term, after reading and accepting the agreement; renewal
or a change of team at term end; termination with a reason. The chronic diseases confirmed
offline (hypertension, type 2 diabetes) get follow-up plans."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock, transitions
from core.errors import DomainError, Forbidden, InvalidState, NotFound
from followup import rules
from followup.catalogue import family_doctor_agreement
from followup.models import (
    ChronicDisease,
    Contract,
    ContractState,
    DiagnosisStatus,
    FamilyDoctorTeam,
    FollowUpPlan,
    OfflineDiagnosis,
    TeamMember,
)
from identity.models import Account, Person, Practitioner
from identity.services import actor_of, patients

TERM = dt.timedelta(days=365)
RENEWAL_WINDOW = dt.timedelta(days=30)  # renew or change team from 30 days before the end
FIRST_FOLLOW_UP = dt.timedelta(days=14)
PACKAGES = {"basic": "基础包", "chronic": "慢病管理包"}


class AgreementRequired(DomainError):
    code = "agreement_required"
    status = 422
    title = "请先阅读并同意家庭医生签约服务协议"


class AlreadyContracted(DomainError):
    code = "already_contracted"
    status = 409
    title = "同一时间只能与一个家庭医生团队签约"


def disease_of(icd10: str) -> ChronicDisease | None:
    code = icd10.upper()
    if code[:3] in {"I10", "I11", "I12", "I13", "I15"}:
        return ChronicDisease.hypertension
    if code.startswith("E11"):
        return ChronicDisease.diabetes
    return None


def _check_agreement(version: str, digest: str) -> None:
    agreement = family_doctor_agreement()
    if version != agreement.version or digest != agreement.digest:
        raise AgreementRequired(
            agreement_version=agreement.version,
            agreement_digest=agreement.digest,
            agreement_text=agreement.text,
        )


def _active(session: Session, person_id: int) -> Contract | None:
    return session.scalar(
        select(Contract).where(
            Contract.person_id == person_id, Contract.state == ContractState.active
        )
    )


def team(session: Session, team_id: int) -> FamilyDoctorTeam:
    found = session.get(FamilyDoctorTeam, team_id)
    if found is None:
        raise NotFound("没有这个家庭医生团队")
    return found


def sign(
    session: Session,
    account: Account,
    person_id: int | None,
    team_id: int,
    package: str,
    agreement_version: str,
    agreement_digest: str,
    now: dt.datetime,
) -> Contract:
    context = patients.care_context(session, account, person_id)
    _check_agreement(agreement_version, agreement_digest)
    if package not in PACKAGES:
        raise InvalidState("没有这个服务包")
    chosen = team(session, team_id)
    session.get(Person, context.patient.id, with_for_update=True)  # one signing at a time
    if _active(session, context.patient.id) is not None:
        raise AlreadyContracted()
    today = clock.day_of(now)
    contract = _new_contract(session, account, context.patient, chosen, package, today, now)
    contract.guardian_person_id = context.guardian.id if context.guardian else None
    _begin(session, account, contract, "contract.sign", {"team_id": chosen.id, "package": package})
    _plans(session, contract, today)
    return contract


def _new_contract(
    session: Session,
    account: Account,
    person: Person,
    chosen: FamilyDoctorTeam,
    package: str,
    starts: dt.date,
    now: dt.datetime,
) -> Contract:
    agreement = family_doctor_agreement()
    return Contract(
        person_id=person.id,
        account_id=account.id,
        team_id=chosen.id,
        package=package,
        starts_on=starts,
        ends_on=starts + TERM - dt.timedelta(days=1),
        agreement_version=agreement.version,
        agreement_digest=agreement.digest,
        agreed_at=now,
    )


def _begin(
    session: Session, account: Account, contract: Contract, action: str, details: dict[str, Any]
) -> None:
    transitions.transition(
        session,
        rules.CONTRACT,
        contract,
        ContractState.active,
        actor_of(account),
        details=details,
        action=action,
        subject=("person", contract.person_id),
    )


def _plans(session: Session, contract: Contract, today: dt.date) -> None:
    """A plan for each chronic disease confirmed offline; the first visit within two weeks."""
    confirmed = session.scalars(
        select(OfflineDiagnosis).where(
            OfflineDiagnosis.person_id == contract.person_id,
            OfflineDiagnosis.status == DiagnosisStatus.confirmed,
        )
    )
    diseases = {d for d in (disease_of(x.icd10_code) for x in confirmed) if d is not None}
    for disease in sorted(diseases):
        existing = session.scalar(
            select(FollowUpPlan).where(
                FollowUpPlan.person_id == contract.person_id,
                FollowUpPlan.disease == disease,
                FollowUpPlan.active.is_(True),
            )
        )
        if existing is not None:  # a renewal keeps the schedule and its history
            existing.contract_id = contract.id
            continue
        session.add(
            FollowUpPlan(
                contract_id=contract.id,
                person_id=contract.person_id,
                disease=disease,
                next_due_on=today + FIRST_FOLLOW_UP,
                unsatisfactory_in_a_row=0,
                active=True,
            )
        )
    session.flush()


def _own(session: Session, account: Account, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id, with_for_update=True)
    if contract is None or contract.account_id != account.id:
        raise NotFound("没有这份签约")
    return contract


def renew(
    session: Session,
    account: Account,
    contract_id: int,
    team_id: int | None,
    agreement_version: str,
    agreement_digest: str,
    now: dt.datetime,
) -> Contract:
    """At term end (from 30 days before): the same team again, or another one."""
    old = _own(session, account, contract_id)
    _check_agreement(agreement_version, agreement_digest)
    today = clock.day_of(now)
    if old.state is ContractState.terminated:
        raise InvalidState("已解约的签约不能续约，请重新签约")
    if today < old.ends_on - RENEWAL_WINDOW:
        raise InvalidState(f"签约到期前 30 天起可续约或更换团队（到期日 {old.ends_on}）")
    chosen = team(session, team_id or old.team_id)
    if old.state is ContractState.active:
        old.ended_at = now
        old.end_reason = "续约" if chosen.id == old.team_id else "期满更换团队"
        transitions.transition(
            session,
            rules.CONTRACT,
            old,
            ContractState.ended,
            actor_of(account),
            details={"contract_id": old.id, "reason": old.end_reason},
            subject=("person", old.person_id),
        )
    starts = max(today, old.ends_on + dt.timedelta(days=1))
    contract = _new_contract(session, account, old.person, chosen, old.package, starts, now)
    contract.renewed_from_id = old.id
    contract.guardian_person_id = old.guardian_person_id
    _begin(
        session, account, contract, "contract.renew", {"renewed_from": old.id, "team_id": chosen.id}
    )
    _plans(session, contract, today)
    return contract


def terminate(
    session: Session, account: Account, contract_id: int, reason: str, now: dt.datetime
) -> Contract:
    """Either side ends it early, with a reason: the patient (their own), or a team member."""
    contract = session.get(Contract, contract_id, with_for_update=True)
    if contract is None:
        raise NotFound("没有这份签约")
    if contract.account_id != account.id and not _is_member(session, account, contract.team_id):
        raise Forbidden("只有签约本人（监护人）或签约团队可以解约")
    if contract.state is not ContractState.active:
        raise InvalidState(f"签约{contract.state.label}")
    if not reason.strip():
        raise InvalidState("请写明解约原因")
    contract.ended_at = now
    contract.end_reason = reason.strip()[:200]
    for plan in session.scalars(
        select(FollowUpPlan).where(FollowUpPlan.contract_id == contract.id)
    ):
        plan.active = False
    transitions.transition(
        session,
        rules.CONTRACT,
        contract,
        ContractState.terminated,
        actor_of(account),
        details={"contract_id": contract.id},
        subject=("person", contract.person_id),
    )
    return contract


def _is_member(session: Session, account: Account, team_id: int) -> bool:
    return (
        session.scalar(
            select(TeamMember.id)
            .join(Practitioner, Practitioner.id == TeamMember.practitioner_id)
            .where(TeamMember.team_id == team_id, Practitioner.account_id == account.id)
        )
        is not None
    )


def teams_of(session: Session, practitioner: Practitioner) -> list[int]:
    return list(
        session.scalars(
            select(TeamMember.team_id).where(TeamMember.practitioner_id == practitioner.id)
        )
    )


def active_plans(session: Session, contract_id: int) -> list[FollowUpPlan]:
    return list(
        session.scalars(
            select(FollowUpPlan)
            .where(FollowUpPlan.contract_id == contract_id, FollowUpPlan.active.is_(True))
            .order_by(FollowUpPlan.id)
        )
    )


def active_for(session: Session, account: Account) -> list[Contract]:
    """The contracts this account signed that are in force (its own, its dependents')."""
    return [c for c in for_account(session, account) if c.state is ContractState.active]


def for_account(session: Session, account: Account) -> list[Contract]:
    return list(
        session.scalars(
            select(Contract).where(Contract.account_id == account.id).order_by(Contract.id.desc())
        )
    )


def create_team(
    session: Session, actor: audit.Actor, name: str, centre: str, lead: Practitioner,
    members: list[Practitioner],
) -> FamilyDoctorTeam:  # fmt: skip
    created = FamilyDoctorTeam(name=name, centre=centre, lead_id=lead.id)
    session.add(created)
    session.flush()
    for member in {lead.id: lead, **{m.id: m for m in members}}.values():
        session.add(TeamMember(team_id=created.id, practitioner_id=member.id))
    session.flush()
    audit.record(session, actor, "team.create", "family_doctor_team", created.id)
    return created
