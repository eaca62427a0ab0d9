"""Every message a patient writes during a visit goes through the same triage as the visit
request: a red flag hands the patient off at once, puts what to do now in the conversation
(both sides see it), and alerts the doctor — who decides what becomes of the visit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core import audit, clock
from core.notify import notify
from followup import triage
from followup.models import Consultation, ConsultationMessage, MessageKind
from followup.services import referrals
from identity import rules as identity_rules
from identity.models import Account
from identity.services import actor_of


def screen_patient_message(
    session: Session, account: Account, consultation: Consultation, text: str, now: dt.datetime
) -> triage.Triage:
    age = identity_rules.age_on(consultation.person.birth_date, clock.day_of(now))
    assessment = triage.assess([], triage.Vitals(), text, float(age))
    if not assessment.in_person_required:
        return assessment
    referral = referrals.hand_off_red_flags(
        session, consultation.person, account, assessment, "复诊中患者消息提示危险信号：", now,
        diagnosis_code=consultation.diagnosis.icd10_code,
    )  # fmt: skip
    alert = ConsultationMessage(
        consultation_id=consultation.id,
        seq=consultation.next_message_seq,
        sender_account_id=None,
        sender_role="system",
        kind=MessageKind.system,
        text=(
            f"系统提示：{assessment.advice}已为您申请线下就诊（转诊 #{referral.id}）。"
            f"依据：{assessment.explanation}"
        ),
        created_at=now,
    )
    consultation.next_message_seq += 1
    session.add(alert)
    session.flush()
    audit.record(
        session, actor_of(account), "consultation.red_flag", "consultation", consultation.id,
        {"seq": alert.seq, "referral_id": referral.id,
         "flags": [flag.as_audit() for flag in assessment.red_flags]},
    )  # fmt: skip
    if consultation.doctor is not None:
        notify(
            session, consultation.doctor.account_id, "consultation.red_flag",
            f"患者消息提示危险信号（{assessment.urgency.label}）",
            f"复诊 #{consultation.id}：{assessment.explanation}。"
            "已为患者申请线下就诊并告知其立即就医。",
            {"consultation_id": consultation.id, "referral_id": referral.id},
        )  # fmt: skip
    return assessment
