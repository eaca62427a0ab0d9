"""Pharmacist review (处方审核规范): the pharmacist is the first person responsible; nothing is
charged or dispensed before approval. Claims use row locks that skip what another pharmacist
holds, so two pharmacists never review the same prescription at once."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import audit
from core.errors import DomainError, Forbidden, InvalidState, NotFound
from identity.models import Account, Practitioner
from identity.rules import PractitionerKind
from identity.services import actor_of, practitioners
from prescriptions import prescribing
from prescriptions.models import Prescription, PrescriptionState
from prescriptions.screening import screen

CLAIM_SECONDS = 15 * 60  # a claim not acted on in this time returns to the queue


class RejectReason(enum.StrEnum):
    inappropriate_drug = "inappropriate_drug"  # 适宜性: drug does not match the diagnosis
    dose = "dose"
    interaction = "interaction"
    duplicate = "duplicate"
    contraindication = "contraindication"
    incomplete = "incomplete"  # 规范性
    other = "other"


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
    practitioners.ensure_eligible(pharmacist, now.date())
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
        )
        .order_by(Prescription.doctor_signed_at, Prescription.id)
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


def pre_review(prescription: Prescription, day: dt.date) -> list[str]:
    """Automated findings shown to the pharmacist. Raises CheckUnavailable if it cannot run:
    "check unavailable" is never "no problems"."""
    findings = []
    try:
        for item in prescription.items:
            result = screen(item.drug.generic_name, day)
            if result.blocked:
                findings.append(f"{item.drug.generic_name}：{result.reason}")
            maximum = item.drug.max_daily_dose_mg
            if maximum is not None and item.dose_mg * item.times_per_day > maximum:
                findings.append(f"{item.drug.generic_name}：日剂量超过最大剂量")
    except Exception as exc:  # any failure of the checks themselves blocks approval
        raise CheckUnavailable(str(exc)) from exc
    return findings


def approve(
    session: Session, account: Account, prescription_id: int, now: dt.datetime
) -> Prescription:
    prescription, pharmacist = _held(session, account, prescription_id, now)
    if not prescribing.doctor_signature_valid(session, prescription):
        raise InvalidState("医生签名校验失败，不能通过")
    findings = pre_review(prescription, now.date())
    if findings:
        raise InvalidState("自动审核发现问题：" + "；".join(findings), findings=findings)
    content = {
        "prescription": prescribing.signed_content(prescription),
        "doctor_signature": prescription.doctor_signature,
    }
    signature = practitioners.sign(session, pharmacist, content, now)
    prescription.pharmacist_signature_key = signature.key_fingerprint
    prescription.pharmacist_signature = signature.value
    prescription.reviewed_at = now
    prescription.state = PrescriptionState.approved
    session.flush()
    audit.record(
        session,
        actor_of(account),
        "prescription.approve",
        "prescription",
        prescription.id,
        {"key": signature.key_fingerprint},
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
    prescription.state = PrescriptionState.rejected
    prescription.review_reason = reason.value
    prescription.review_note = note.strip()[:300]
    prescription.reviewed_at = now
    session.flush()
    audit.record(
        session,
        actor_of(account),
        "prescription.reject",
        "prescription",
        prescription.id,
        {"reason": reason.value},
    )
    return prescription


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
