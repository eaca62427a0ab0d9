"""Pharmacist review (处方审核规范): the pharmacist is the first person responsible; nothing is
charged or dispensed before approval. Claims use row locks that skip what another pharmacist
holds, so two pharmacists never review the same prescription at once."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, object_session, selectinload

from core import audit, clock, transitions
from core.audit import Actor
from core.errors import DomainError, Forbidden, InvalidState, NotFound
from core.notify import notify
from followup.services import follow_ups
from identity.models import Account, Practitioner
from identity.rules import PractitionerKind
from identity.services import actor_of, practitioners
from prescriptions import medication, redemption, rules
from prescriptions.medication import Finding, Severity
from prescriptions.models import Prescription, PrescriptionItem, PrescriptionState
from prescriptions.services import long_term, prescribing
from prescriptions.services.drugs import formulary_index
from prescriptions.services.in_force import medicine_of, medicines_in_force

CLAIM_SECONDS = 15 * 60  # a claim not acted on in this time returns to the queue


class RejectReason(enum.StrEnum):
    inappropriate_drug = "inappropriate_drug"  # 适宜性: drug does not match the diagnosis
    dose = "dose"
    interaction = "interaction"
    duplicate = "duplicate"
    contraindication = "contraindication"
    allergy = "allergy"
    incomplete = "incomplete"  # 规范性
    other = "other"

    @property
    def label(self) -> str:
        return {
            "inappropriate_drug": "用药与诊断不符",
            "dose": "剂量或用法不适宜",
            "interaction": "存在相互作用或配伍禁忌",
            "duplicate": "重复用药",
            "contraindication": "存在禁忌证",
            "allergy": "与过敏史冲突",
            "incomplete": "处方不规范或不完整",
            "other": "其他",
        }[self.value]


class CheckUnavailable(DomainError):
    code = "check_unavailable"
    status = 409
    title = "自动审核未能完成，不能通过"


def _pharmacist(session: Session, account: Account, now: dt.datetime) -> Practitioner:
    pharmacist = practitioners.practitioner_for(session, account)
    if pharmacist.kind is not PractitionerKind.pharmacist:
        raise Forbidden("只有药师可以审核处方")
    practitioners.ensure_may_act(pharmacist, now)
    return pharmacist


def claim_next(session: Session, account: Account, now: dt.datetime) -> Prescription | None:
    """The oldest signed prescription nobody holds (or whose claim went stale)."""
    pharmacist = practitioners.practitioner_for(session, account)
    if pharmacist.kind is not PractitionerKind.pharmacist:
        raise Forbidden("只有药师可以审核处方")
    practitioners.ensure_eligible(pharmacist, clock.day_of(now))
    stale = now - dt.timedelta(seconds=CLAIM_SECONDS)
    prescription = session.scalar(
        select(Prescription)
        .where(
            Prescription.state == PrescriptionState.signed,
            Prescription.doctor_id != pharmacist.id,
            or_(
                Prescription.pharmacist_id.is_(None),
                Prescription.claimed_at < stale,
                Prescription.pharmacist_id == pharmacist.id,
            ),
            Prescription.valid_until >= clock.day_of(now),
        )
        .order_by(
            Prescription.escalated_at.is_(None), Prescription.doctor_signed_at, Prescription.id
        )
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if prescription is None:
        return None
    prescription.pharmacist_id = pharmacist.id
    prescription.claimed_at = now
    session.flush()
    audit.record(session, actor_of(account), "prescription.claim", "prescription", prescription.id)
    return prescription


def _held(
    session: Session, account: Account, prescription_id: int, now: dt.datetime
) -> tuple[Prescription, Practitioner]:
    pharmacist = _pharmacist(session, account, now)
    prescription = session.get(Prescription, prescription_id, with_for_update=True)
    if prescription is None:
        raise NotFound("没有这张处方")
    if prescription.state is not PrescriptionState.signed:
        raise InvalidState(f"处方{prescription.state.label}")
    if prescription.pharmacist_id != pharmacist.id:
        raise Forbidden("请先领取这张处方")
    return prescription, pharmacist


def assess(prescription: Prescription, day: dt.date) -> list[Finding]:
    """Every automated finding on a prescription under review: every rule of the prescribing
    door (rules.findings: controlled, dose, allergy, duplicate …) on the lines as written, a
    drug withdrawn since, and, through the same medication engine, the patient's other
    medicines in force. Raises CheckUnavailable if it cannot run:
    "check unavailable" is never "no problems"."""
    findings: list[Finding] = []
    try:
        session = object_session(prescription)
        if session is None:
            raise RuntimeError("the prescription is not attached to a session")
        formulary_index(session)  # screen again against the formulary in force
        context = prescribing.context_of(
            prescription.consultation,
            day,
            prescription.accompanying_physician,
            prescription.stable_chronic_reason,
        )
        written = [prescribing.as_written(item, day) for item in prescription.items]
        findings.extend(rules.findings(written, context))
        findings.extend(
            Finding("drug_withdrawn", Severity.refuse, f"{i.drug.generic_name}：已从药品目录停用")
            for i in prescription.items
            if not i.drug.active
        )
        new = [medicine_of(i.drug, i.days) for i in prescription.items]
        in_force = medicines_in_force(
            session, prescription.person_id, day, excluding=prescription.id
        )
        limit = rules.supply_limit(prescription.stable_chronic_reason)
        findings.extend(medication.findings(new, in_force, limit))
        if long_term.needs_consent(prescription) and prescription.long_term_consented_at is None:
            findings.append(
                Finding(
                    "long_term_consent_missing",
                    Severity.refuse,
                    "长期处方（超过 4 周）须患者确认知情后方可审核通过（已通知患者）",
                    "长期处方管理规范（试行）2021",
                )
            )
    except Exception as exc:  # any failure of the checks themselves blocks approval
        raise CheckUnavailable(str(exc)) from exc
    return findings


def pre_review(prescription: Prescription, day: dt.date) -> list[str]:
    """The findings as the pharmacist reads them, most severe first."""
    return [finding.text() for finding in assess(prescription, day)]


class OverrideReasonRequired(DomainError):
    code = "override_reason_required"
    status = 422
    title = "存在严重用药风险，须记录通过理由"


def approve(
    session: Session,
    account: Account,
    prescription_id: int,
    now: dt.datetime,
    override_reason: str | None = None,
) -> Prescription:
    """Sign as pharmacist. A refusing finding cannot be passed; a major one (an interaction,
    a therapeutic duplication) passes only with the pharmacist's reason, which is recorded."""
    prescription, pharmacist = _held(session, account, prescription_id, now)
    if not prescribing.doctor_signature_valid(session, prescription):
        raise InvalidState("医生签名校验失败，不能通过")
    findings = assess(prescription, clock.day_of(now))
    refusing = [f.text() for f in findings if f.severity is Severity.refuse]
    if refusing:
        raise InvalidState("自动审核发现问题：" + "；".join(refusing), findings=refusing)
    major = [f for f in findings if f.severity is Severity.major]
    reason = (override_reason or "").strip()
    if major and not reason:
        raise OverrideReasonRequired(
            "；".join(f.text() for f in major), findings=[f.text() for f in major]
        )
    if major:
        prescription.review_note = reason[:300]
    if long_term.needs_consent(prescription):
        today = clock.day_of(now)
        supply = max(item.days for item in prescription.items)
        follow_ups.fit_to_supply(
            session, prescription.person_id, prescription.diagnosis_code,
            today + dt.timedelta(days=supply), today,
        )  # fmt: skip
    content = {
        "prescription": prescribing.signed_content(prescription),
        "doctor_signature": prescription.doctor_signature,
    }
    if prescription.valid_until < clock.day_of(now):
        raise InvalidState("处方已过有效期，不能通过")
    signature = practitioners.sign(session, pharmacist, content, now)
    prescription.pharmacist_signature_key = signature.key_fingerprint
    prescription.pharmacist_signature = signature.value
    prescription.reviewed_at = now
    code = redemption.new_code()
    prescription.redemption_code = code
    prescription.redemption_code_index = redemption.index_of(code)
    transitions.transition(
        session,
        rules.PRESCRIPTION,
        prescription,
        PrescriptionState.approved,
        actor_of(account),
        details={
            "key": signature.key_fingerprint,
            "revision": prescription.revision,
            "overridden": [f.code for f in major],
        },
        notice=transitions.Notice(
            prescription.consultation.account_id,
            "prescription.approved",
            "处方已审核通过",
            f"您的处方已由药师审核通过，有效期至 {prescription.valid_until.isoformat()}，"
            "请选择到药店取药或配送到家。",
            {"prescription_id": prescription.id},
        ),
    )
    return prescription


def reject(
    session: Session,
    account: Account,
    prescription_id: int,
    reason: RejectReason,
    note: str,
    now: dt.datetime,
) -> Prescription:
    prescription, _ = _held(session, account, prescription_id, now)
    if not note.strip():
        raise InvalidState("请写明退回理由")
    prescription.review_reason = reason.value
    prescription.review_note = note.strip()[:300]
    prescription.reviewed_at = now
    transitions.transition(
        session,
        rules.PRESCRIPTION,
        prescription,
        PrescriptionState.rejected,
        actor_of(account),
        details={"reason": reason.value, "revision": prescription.revision},
        notice=transitions.Notice(
            prescription.doctor.account_id,
            "prescription.rejected",
            "处方被药师退回",
            f"处方 #{prescription.id}：{reason.label}。{prescription.review_note}",
            {"prescription_id": prescription.id},
        ),
    )
    return prescription


def queue(session: Session) -> list[Prescription]:
    """Waiting for review: escalated first, then oldest first."""
    return list(
        session.scalars(
            select(Prescription)
            .where(Prescription.state == PrescriptionState.signed)
            .options(  # what the queue shows of each, loaded with the list
                selectinload(Prescription.doctor),
                selectinload(Prescription.pharmacist),
                selectinload(Prescription.consultation),
                selectinload(Prescription.items).selectinload(PrescriptionItem.drug),
            )
            .order_by(
                Prescription.escalated_at.is_(None),
                Prescription.doctor_signed_at,
                Prescription.id,
            )
        )
    )


def escalate_overdue(session: Session, now: dt.datetime, waited_seconds: int) -> list[int]:
    """Signed prescriptions left unreviewed too long: flagged (first in the queue) and the
    prescribing doctor told, so the patient is not left waiting in silence."""
    due = session.scalars(
        select(Prescription)
        .where(
            Prescription.state == PrescriptionState.signed,
            Prescription.escalated_at.is_(None),
            Prescription.doctor_signed_at <= now - dt.timedelta(seconds=waited_seconds),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for prescription in due:
        prescription.escalated_at = now
        audit.record(
            session,
            Actor.system(),
            "prescription.escalate",
            "prescription",
            prescription.id,
            {"waited_seconds": waited_seconds},
        )
        notify(
            session,
            prescription.doctor.account_id,
            "prescription.review_overdue",
            "处方审核超时",
            f"处方 #{prescription.id} 等待药师审核已超过 {waited_seconds // 60} 分钟，已提醒药房。",
            {"prescription_id": prescription.id},
        )
    session.flush()
    return [p.id for p in due]


EXPIRABLE = (
    PrescriptionState.written,
    PrescriptionState.signed,
    PrescriptionState.approved,
    PrescriptionState.rejected,
)


def expire_due(session: Session, now: dt.datetime) -> list[int]:
    """Past its last valid day and not dispensed: expired. The patient of an approved one is
    told; nothing can be dispensed on it any more."""
    today = clock.day_of(now)
    due = session.scalars(
        select(Prescription)
        .where(
            Prescription.state.in_(EXPIRABLE),
            Prescription.valid_until < today,
            Prescription.redeemed_at.is_(None),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for prescription in due:
        # Only a patient holding an approved one had anything to collect.
        told = prescription.state is PrescriptionState.approved
        prescription.expired_at = now
        transitions.transition(
            session,
            rules.PRESCRIPTION,
            prescription,
            PrescriptionState.expired,
            Actor.system(),
            notice=transitions.Notice(
                prescription.consultation.account_id,
                "prescription.expired",
                "处方已过期",
                f"处方 #{prescription.id} 已超过有效期（{prescription.valid_until.isoformat()}），"
                "未取的药品不能再凭此处方领取；如需继续用药，请重新发起复诊。",
                {"prescription_id": prescription.id},
            )
            if told
            else None,
        )
    return [p.id for p in due]


def pharmacist_signature_valid(session: Session, prescription: Prescription) -> bool | None:
    if prescription.pharmacist_signature is None or prescription.pharmacist_signature_key is None:
        return None
    content = {
        "prescription": prescribing.signed_content(prescription),
        "doctor_signature": prescription.doctor_signature,
    }
    return practitioners.verify(
        session, prescription.pharmacist_signature_key, content, prescription.pharmacist_signature
    )


def waiting_seconds(prescription: Prescription, now: dt.datetime) -> int:
    """How long the prescription has waited for review since the doctor signed it."""
    signed = prescription.doctor_signed_at or now
    return max(0, int((now - signed).total_seconds()))


def remind_expiring(session: Session, now: dt.datetime) -> list[int]:
    """On its last valid day, an approved prescription not yet collected: the patient is told
    once, so the drugs are not lost to expiry."""
    today = clock.day_of(now)
    due = session.scalars(
        select(Prescription)
        .where(
            Prescription.state == PrescriptionState.approved,
            Prescription.valid_until == today,
            Prescription.redeemed_at.is_(None),
            Prescription.expiry_reminded_at.is_(None),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for prescription in due:
        prescription.expiry_reminded_at = now
        notify(
            session,
            prescription.consultation.account_id,
            "prescription.expiring",
            "处方今天到期",
            f"处方 #{prescription.id} 今天（{today.isoformat()}）是最后有效日，请尽快取药；"
            "过期后需重新复诊。",
            {"prescription_id": prescription.id},
        )
    session.flush()
    return [p.id for p in due]
