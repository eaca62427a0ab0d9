"""长期处方 (长期处方管理规范（试行）2021, FACTS.md §2.2): a stable chronic patient may hold up
to 12 weeks; over 4 weeks the doctor records the assessment (the stable-chronic reason the
prescribing door requires) and the patient confirms what they were told, which the pharmacist
sees before approving."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core import audit
from core.canonical import digest
from core.errors import InvalidState, NotFound
from identity.models import Account
from identity.services import actor_of
from prescriptions.models import Prescription, PrescriptionState
from prescriptions.rules import NORMAL_MAX_DAYS

# What the patient reads and confirms (its digest is kept with the confirmation).
NOTICE = (
    "您的处方用药超过 4 周（长期处方）。请按时按量服药，不要自行停药或加量；定期自测血压、"
    "血糖等并按随访计划复诊；出现不适或病情变化请及时就医。药品须本人凭身份证领取，代领须"
    "同时出示双方身份证。药品请妥善保存，放在儿童够不到的地方。"
)


def needs_consent(prescription: Prescription) -> bool:
    return any(item.days > NORMAL_MAX_DAYS for item in prescription.items)


def awaiting_consent(prescription: Prescription) -> bool:
    return needs_consent(prescription) and prescription.long_term_consented_at is None


def consent(
    session: Session, account: Account, prescription_id: int, now: dt.datetime
) -> Prescription:
    """The patient (or their guardian's account) confirms the long-term notice."""
    prescription = session.get(Prescription, prescription_id, with_for_update=True)
    if prescription is None or prescription.consultation.account_id != account.id:
        raise NotFound("没有这张处方")
    if not needs_consent(prescription):
        raise InvalidState("这张处方不是长期处方，无需确认")
    if prescription.state not in (PrescriptionState.written, PrescriptionState.signed):
        raise InvalidState(f"处方{prescription.state.label}，不能再确认")
    if prescription.long_term_consented_at is None:
        prescription.long_term_consented_at = now
        prescription.long_term_consent_digest = digest(NOTICE)
        session.flush()
        audit.record(
            session, actor_of(account), "prescription.long_term_consent", "prescription",
            prescription.id, {"notice": prescription.long_term_consent_digest},
        )  # fmt: skip
    return prescription
