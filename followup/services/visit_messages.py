"""The visit's conversation: text and pictures between the patient and the doctor, in the order
the row lock gives them; the doctor's first message starts the visit, and a patient's message
is screened for red flags."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.errors import InvalidState, NotFound, ValidationFailed
from core.notify import notify
from followup.models import Consultation, ConsultationMessage, ConsultationState, MessageKind
from followup.services import consultations, visit_triage
from identity.models import Account, Role
from identity.services import actor_of

MAX_IMAGE_BYTES = 5 * 1024 * 1024
IMAGE_SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def post_message(
    session: Session,
    account: Account,
    consultation_id: int,
    now: dt.datetime,
    text: str | None = None,
    image: bytes | None = None,
) -> ConsultationMessage:
    consultation = consultations.get(
        session, consultation_id, lock=True
    )  # the lock orders the sequence
    consultations.visible_to(session, account, consultation)
    is_doctor = account.role is Role.doctor
    if is_doctor:
        consultations.doctor_of(session, account, consultation)
    if not consultation.state.is_open:
        raise InvalidState(f"问诊已{consultation.state.label}，不能再发送消息")
    if is_doctor and consultation.state is ConsultationState.accepted:
        consultations.move(
            session, consultation, ConsultationState.in_progress, actor_of(account), now
        )
    if (text is None) == (image is None):
        raise ValidationFailed("一条消息是一段文字或一张图片")
    message = ConsultationMessage(
        consultation_id=consultation.id,
        seq=consultation.next_message_seq,
        sender_account_id=account.id,
        sender_role=account.role.value,
        created_at=now,
    )
    if text is not None:
        text = text.strip()
        if not text or len(text) > consultations.MAX_TEXT:
            raise ValidationFailed(f"文字消息须为 1–{consultations.MAX_TEXT} 字")
        message.kind, message.text = MessageKind.text, text
    elif image is not None:
        message.kind, message.image, message.image_type = (
            MessageKind.image,
            image,
            image_type(image),
        )
    consultation.next_message_seq += 1
    session.add(message)
    session.flush()
    audit.record(
        session,
        actor_of(account),
        "consultation.message",
        "consultation",
        consultation.id,
        {"seq": message.seq, "kind": message.kind.value},
    )
    if not is_doctor and message.text:
        visit_triage.screen_patient_message(session, account, consultation, message.text, now)
    if is_doctor:
        notify(
            session,
            consultation.account_id,
            "consultation.reply",
            "医生回复了您",
            "您的复诊有新的医生回复。",
            {"consultation_id": consultation.id},
        )
    return message


def image_type(data: bytes) -> str:
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationFailed("图片超过 5 MB")
    for magic, kind in IMAGE_SIGNATURES.items():
        if data.startswith(magic):
            return kind
    raise ValidationFailed("只能发送 JPEG 或 PNG 图片")


def messages(
    session: Session, consultation: Consultation, after: int = 0
) -> list[ConsultationMessage]:
    return list(
        session.scalars(
            select(ConsultationMessage)
            .where(
                ConsultationMessage.consultation_id == consultation.id,
                ConsultationMessage.seq > after,
            )
            .order_by(ConsultationMessage.seq)
        )
    )


def image_message(session: Session, consultation: Consultation, seq: int) -> ConsultationMessage:
    message = session.scalar(
        select(ConsultationMessage).where(
            ConsultationMessage.consultation_id == consultation.id, ConsultationMessage.seq == seq
        )
    )
    if message is None or message.image is None:
        raise NotFound("没有这张图片")
    return message
