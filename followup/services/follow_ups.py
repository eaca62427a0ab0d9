"""Follow-up visits written by the family-doctor team, the worklist (due, overdue, alerts) and
the reminders beat sends: each once per due event, however often beat runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, clock, transitions
from core.audit import Actor
from core.errors import Forbidden, NotFound, ValidationFailed
from core.notify import notify
from followup import classification, rules
from followup.classification import Control, Findings
from followup.models import (
    ChronicDisease,
    Contract,
    ContractState,
    FollowUpPlan,
    FollowUpRecord,
    Reading,
    ReferralSource,
    Reminder,
    TeamMember,
)
from followup.services import referrals
from followup.triage import Urgency
from identity import rules as identity_rules
from identity.models import Account
from identity.services import actor_of, practitioners

WAYS = {"clinic": "门诊", "home": "入户", "phone": "电话", "online": "线上"}
ADHERENCE = {"regular": "规律", "intermittent": "间断", "none": "不服药"}
DUE_SOON_DAYS = 3  # the patient is reminded this many days before a follow-up
CONTRACT_ENDING_DAYS = 30
POOR_RUN = 3  # this many readings above target in a row put the patient on the worklist


def plan_for_member(session: Session, account: Account, plan_id: int) -> FollowUpPlan:
    plan = session.get(FollowUpPlan, plan_id, with_for_update=True)
    if plan is None:
        raise NotFound("没有这个随访计划")
    practitioner = practitioners.practitioner_for(session, account)
    member = session.scalar(
        select(TeamMember.id).where(
            TeamMember.team_id == plan.contract.team_id,
            TeamMember.practitioner_id == practitioner.id,
        )
    )
    if member is None:
        raise Forbidden("只有签约团队成员可以随访")
    return plan


@dataclass(frozen=True)
class Visit:
    held_on: dt.date
    way: str
    findings: Findings
    adherence: str
    notes: str = ""


def record(
    session: Session, account: Account, plan_id: int, visit: Visit, now: dt.datetime
) -> FollowUpRecord:
    plan = plan_for_member(session, account, plan_id)
    practitioner = practitioners.practitioner_for(session, account)
    if visit.way not in WAYS or visit.adherence not in ADHERENCE:
        raise ValidationFailed("随访方式或服药依从性无效")
    if visit.held_on > clock.day_of(now):
        raise ValidationFailed("随访日期不能晚于今天")
    age = identity_rules.age_on(plan.person.birth_date, visit.held_on)
    try:
        outcome = classification.classify(
            plan.disease, visit.findings, age, plan.unsatisfactory_in_a_row, visit.held_on
        )
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    referral_id = None
    if outcome.control in (Control.emergency, Control.refer):
        urgent = outcome.control is Control.emergency
        referral = referrals.create(
            session,
            person=plan.person,
            account_id=plan.contract.account_id,
            reason=("随访发现危险信号：" + "、".join(outcome.danger_signs))
            if urgent
            else f"{plan.disease.label}连续控制不满意或出现新并发症，转上级医院",
            urgency=Urgency.emergency if urgent else Urgency.routine,
            source=ReferralSource.followup,
            actor=actor_of(account),
            now=now,
            red_flags=list(outcome.danger_signs),
        )
        referral_id = referral.id
    row = FollowUpRecord(
        plan_id=plan.id,
        practitioner_id=practitioner.id,
        held_on=visit.held_on,
        way=visit.way,
        systolic=visit.findings.systolic,
        diastolic=visit.findings.diastolic,
        glucose_mmol=visit.findings.fasting_glucose,
        danger_signs=list(outcome.danger_signs),
        adverse_reaction=visit.findings.adverse_reaction,
        new_complication=visit.findings.new_complication,
        adherence=visit.adherence,
        classification=outcome.control.value,
        next_due_on=outcome.next_due_on,
        notes=visit.notes.strip()[:2000],
        referral_id=referral_id,
    )
    session.add(row)
    plan.next_due_on = outcome.next_due_on
    plan.unsatisfactory_in_a_row = outcome.unsatisfactory_in_a_row
    session.flush()
    detail = {"plan_id": plan.id, "record_id": row.id, "class": outcome.control.value}
    audit.record(session, actor_of(account), "follow_up.record", "person", plan.person_id, detail)
    notify(
        session,
        plan.contract.account_id,
        "follow_up.recorded",
        f"{plan.disease.label}随访结果",
        f"本次随访：{outcome.control.label}。下次随访日期：{outcome.next_due_on.isoformat()}。",
        {"plan_id": plan.id},
    )
    return row


def history(session: Session, plan_id: int) -> list[FollowUpRecord]:
    return list(
        session.scalars(
            select(FollowUpRecord)
            .where(FollowUpRecord.plan_id == plan_id)
            .order_by(FollowUpRecord.held_on, FollowUpRecord.id)
        )
    )


def readings_of(session: Session, person_id: int, since: dt.datetime) -> list[Reading]:
    return list(
        session.scalars(
            select(Reading)
            .where(Reading.person_id == person_id, Reading.measured_at >= since)
            .order_by(Reading.measured_at)
        )
    )


@dataclass(frozen=True)
class Worklist:
    overdue: list[FollowUpPlan]
    due: list[FollowUpPlan]
    alerts: list[tuple[FollowUpPlan, str]]
    plans: list[FollowUpPlan]  # every active plan of the teams


def worklist(session: Session, team_ids: list[int], today: dt.date) -> Worklist:
    plans = list(
        session.scalars(
            select(FollowUpPlan)
            .join(Contract, Contract.id == FollowUpPlan.contract_id)
            .where(
                Contract.team_id.in_(team_ids),
                Contract.state == ContractState.active,
                FollowUpPlan.active.is_(True),
            )
            .order_by(FollowUpPlan.next_due_on, FollowUpPlan.id)
        )
    )
    overdue = [p for p in plans if p.next_due_on < today]
    due = [p for p in plans if today <= p.next_due_on <= today + dt.timedelta(days=7)]
    alerts = []
    for plan in plans:
        recent = session.scalars(
            select(Reading.band)
            .where(Reading.person_id == plan.person_id, Reading.band.is_not(None))
            .order_by(Reading.measured_at.desc())
            .limit(POOR_RUN)
        ).all()
        if recent and recent[0] == "danger":
            alerts.append((plan, "最近一次自测读数达到紧急转诊标准"))
        elif len(recent) == POOR_RUN and all(b in ("above", "danger") for b in recent):
            alerts.append((plan, f"连续 {POOR_RUN} 次自测读数高于目标"))
    return Worklist(overdue, due, alerts, plans)


def _once(session: Session, kind: str, subject_id: int, due_on: dt.date) -> bool:
    """Claim the reminder for this due event; False if it was sent before."""
    try:
        with session.begin_nested():
            session.add(Reminder(kind=kind, subject_id=subject_id, due_on=due_on))
    except IntegrityError:
        return False
    return True


def send_reminders(session: Session, now: dt.datetime) -> int:
    """Follow-ups coming due → the patient; overdue → the team lead (worklist); contracts
    ending → the patient, to renew. Each once per due event."""
    today = clock.day_of(now)
    sent = 0
    plans = session.scalars(
        select(FollowUpPlan)
        .join(Contract, Contract.id == FollowUpPlan.contract_id)
        .where(FollowUpPlan.active.is_(True), Contract.state == ContractState.active)
    ).all()
    for plan in plans:
        if today <= plan.next_due_on <= today + dt.timedelta(days=DUE_SOON_DAYS):
            if _once(session, "follow_up_due", plan.id, plan.next_due_on):
                notify(session, plan.contract.account_id, "follow_up.due",
                       f"{plan.disease.label}随访提醒",
                       f"您的家庭医生随访日期为 {plan.next_due_on.isoformat()}，请留意团队联系，"
                       "也可在公众号上报近期血压、血糖。", {"plan_id": plan.id})  # fmt: skip
                sent += 1
        elif plan.next_due_on < today and _once(
            session, "follow_up_overdue", plan.id, plan.next_due_on
        ):
            notify(session, plan.contract.team.lead.account_id, "follow_up.overdue",
                   "随访已逾期", f"签约居民的{plan.disease.label}随访已逾期"
                   f"（应于 {plan.next_due_on.isoformat()}），已列入工作清单。",
                   {"plan_id": plan.id})  # fmt: skip
            sent += 1
    ending = session.scalars(
        select(Contract).where(
            Contract.state == ContractState.active,
            Contract.ends_on <= today + dt.timedelta(days=CONTRACT_ENDING_DAYS),
        )
    ).all()
    for contract in ending:
        if _once(session, "contract_ending", contract.id, contract.ends_on):
            notify(session, contract.account_id, "contract.ending", "家庭医生签约即将到期",
                   f"您的家庭医生签约将于 {contract.ends_on.isoformat()} 到期，可在小程序续约或"
                   "更换团队。", {"contract_id": contract.id})  # fmt: skip
            sent += 1
    expired = session.scalars(
        select(Contract).where(Contract.state == ContractState.active, Contract.ends_on < today)
    ).all()
    for contract in expired:
        contract.ended_at = now
        contract.end_reason = "期满"
        transitions.transition(
            session,
            rules.CONTRACT,
            contract,
            ContractState.ended,
            Actor.system(),
            details={"contract_id": contract.id},
            subject=("person", contract.person_id),
        )
    return sent


def alert_family_doctor(session: Session, person_id: int, text: str, today: dt.date) -> None:
    """A dangerous home reading: the lead of the patient's team hears of it (once a day)."""
    contract = session.scalar(
        select(Contract).where(
            Contract.person_id == person_id, Contract.state == ContractState.active
        )
    )
    if contract is not None and _once(session, "reading_alert", contract.id, today):
        notify(session, contract.team.lead.account_id, "reading.alert", "签约居民读数危急",
               text, {"contract_id": contract.id})  # fmt: skip


# The chronic diseases family doctors follow up, by the ICD-10 codes of their diagnoses.
DISEASE_OF_ICD = {"I10": ChronicDisease.hypertension, "E11": ChronicDisease.diabetes}
REVIEW_BEFORE_SUPPLY_ENDS = dt.timedelta(days=7)


def fit_to_supply(
    session: Session, person_id: int, icd10_code: str, supply_ends: dt.date, today: dt.date
) -> list[FollowUpPlan]:
    """A long prescription (长期处方, up to 12 weeks) moves the follow-up of its disease to a
    week before the drugs run out, so that the patient is seen before a refill, never after."""
    disease = next(
        (d for prefix, d in DISEASE_OF_ICD.items() if icd10_code.upper().startswith(prefix)), None
    )
    if disease is None:
        return []
    latest = max(today, supply_ends - REVIEW_BEFORE_SUPPLY_ENDS)
    plans = session.scalars(
        select(FollowUpPlan).where(
            FollowUpPlan.person_id == person_id,
            FollowUpPlan.disease == disease,
            FollowUpPlan.active.is_(True),
            FollowUpPlan.next_due_on > latest,
        )
    ).all()
    for plan in plans:
        before = plan.next_due_on
        plan.next_due_on = latest
        audit.record(
            session, Actor.system(), "follow_up.fit_to_supply", "follow_up_plan", plan.id,
            {"from": before.isoformat(), "to": latest.isoformat()},
        )  # fmt: skip
    session.flush()
    return list(plans)
