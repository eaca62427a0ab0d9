"""Offline diagnoses, return-visit consultations, their messages and signed records, and
referrals to in-person care."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import EncryptedBytes, EncryptedJSON, EncryptedText
from core.db import Base, UTCDateTime, utcnow
from core.models import BigId
from followup.triage import Urgency
from identity.models import Account, Person, Practitioner


def _enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    return Enum(cls, native_enum=False, length=length)


class DiagnosisSource(enum.StrEnum):
    platform = "platform"  # imported from the hospital platform: confirmed
    patient_upload = "patient_upload"  # uploaded by the patient: pending a doctor's review


class DiagnosisStatus(enum.StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    rejected = "rejected"

    @property
    def label(self) -> str:
        return {"pending": "待医生确认", "confirmed": "已确认", "rejected": "未通过"}[self.value]


class OfflineDiagnosis(Base):
    """A diagnosis made in person at a physical institution: what makes a return visit possible."""

    __tablename__ = "offline_diagnoses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    # Health data: sealed like the other personal fields (no query filters on them).
    icd10_code: Mapped[str] = mapped_column(EncryptedText("followup.diagnosis.icd10_code"))
    disease_name: Mapped[str] = mapped_column(EncryptedText("followup.diagnosis.disease_name"))
    diagnosed_on: Mapped[dt.date] = mapped_column(Date)
    institution_name: Mapped[str] = mapped_column(String(128))
    doctor_name: Mapped[str] = mapped_column(String(64))
    source: Mapped[DiagnosisSource] = mapped_column(_enum(DiagnosisSource))
    status: Mapped[DiagnosisStatus] = mapped_column(_enum(DiagnosisStatus))
    evidence: Mapped[bytes | None] = mapped_column(EncryptedBytes("followup.diagnosis.evidence"))
    evidence_type: Mapped[str | None] = mapped_column(String(32))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    platform_reference: Mapped[str | None] = mapped_column(String(64))
    uploaded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str | None] = mapped_column(EncryptedText("followup.diagnosis.review_note"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    person: Mapped[Person] = relationship()


class ConsultationState(enum.StrEnum):
    requested = "requested"
    accepted = "accepted"
    in_progress = "in_progress"
    completed = "completed"
    referred = "referred"
    cancelled = "cancelled"
    expired = "expired"

    @property
    def label(self) -> str:
        return {
            "requested": "等待接诊",
            "accepted": "已接诊",
            "in_progress": "问诊中",
            "completed": "已完成",
            "referred": "已转线下",
            "cancelled": "已取消",
            "expired": "已过期",
        }[self.value]

    @property
    def is_open(self) -> bool:
        return self in {
            ConsultationState.requested,
            ConsultationState.accepted,
            ConsultationState.in_progress,
        }


class Consultation(Base):
    """A return visit (复诊) for one confirmed offline diagnosis."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    guardian_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    diagnosis_id: Mapped[int] = mapped_column(ForeignKey("offline_diagnoses.id"))
    department: Mapped[str] = mapped_column(String(64), index=True)
    complaint: Mapped[str] = mapped_column(EncryptedText("followup.consultation.complaint"))
    symptoms: Mapped[list[str]] = mapped_column(JSON)
    vitals: Mapped[dict[str, Any]] = mapped_column(JSON)
    consent_version: Mapped[str] = mapped_column(String(16))
    consent_digest: Mapped[str] = mapped_column(String(64))
    consented_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    state: Mapped[ConsultationState] = mapped_column(_enum(ConsultationState), index=True)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accept_by: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(200))
    next_message_seq: Mapped[int] = mapped_column(Integer, default=1)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    account: Mapped[Account] = relationship()
    guardian: Mapped[Person | None] = relationship(foreign_keys=[guardian_person_id])
    diagnosis: Mapped[OfflineDiagnosis] = relationship()
    doctor: Mapped[Practitioner | None] = relationship()


class MessageKind(enum.StrEnum):
    text = "text"
    image = "image"
    system = "system"


class ConsultationMessage(Base):
    __tablename__ = "consultation_messages"
    __table_args__ = (UniqueConstraint("consultation_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"))
    seq: Mapped[int] = mapped_column(Integer)
    sender_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    sender_role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind, 8))
    text: Mapped[str | None] = mapped_column(EncryptedText("followup.message.text"))
    image: Mapped[bytes | None] = mapped_column(EncryptedBytes("followup.message.image"))
    image_type: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VisitRecord(Base):
    """The visit's medical record (电子病历), signed by the doctor. Never changed: an amendment is
    a new, signed version (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "visit_records"
    __table_args__ = (UniqueConstraint("consultation_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(EncryptedText("followup.record.content"))
    content_digest: Mapped[str] = mapped_column(String(64))
    amendment_reason: Mapped[str | None] = mapped_column(String(200))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    signature_algorithm: Mapped[str] = mapped_column(String(16))
    signature_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    doctor: Mapped[Practitioner] = relationship()


class ReferralSource(enum.StrEnum):
    triage = "triage"
    doctor = "doctor"
    patient = "patient"
    followup = "followup"


class ReferralState(enum.StrEnum):
    requested = "requested"  # written; the platform is told through the outbox
    accepted = "accepted"
    booked = "booked"
    declined = "declined"

    @property
    def label(self) -> str:
        return {
            "requested": "已提交医院",
            "accepted": "医院已受理",
            "booked": "已预约",
            "declined": "医院未受理",
        }[self.value]


class Referral(Base):
    """A hand-off to in-person care at the hospital platform."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    diagnosis_code: Mapped[str | None] = mapped_column(
        EncryptedText("followup.referral.diagnosis_code")
    )
    reason: Mapped[str] = mapped_column(EncryptedText("followup.referral.reason"))
    red_flags: Mapped[list[str]] = mapped_column(
        EncryptedJSON("followup.referral.red_flags"), default=list
    )
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency))
    department: Mapped[str] = mapped_column(String(64))
    source: Mapped[ReferralSource] = mapped_column(_enum(ReferralSource))
    state: Mapped[ReferralState] = mapped_column(_enum(ReferralState))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    platform_reference: Mapped[str | None] = mapped_column(String(64))
    appointment_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    location: Mapped[str | None] = mapped_column(String(200))
    follow_up_due: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the platform's latest applied event happened (its clock): an older one arriving
    # late is stale and changes nothing.
    platform_event_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship()


class PlatformEventOutcome(enum.StrEnum):
    applied = "applied"
    stale = "stale"  # older than the event already applied: arrived out of order


class PlatformEvent(Base):
    """A hospital platform callback as received; its id makes a replay change nothing."""

    __tablename__ = "platform_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    status: Mapped[ReferralState] = mapped_column(_enum(ReferralState))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[PlatformEventOutcome] = mapped_column(_enum(PlatformEventOutcome))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReadingKind(enum.StrEnum):
    blood_pressure = "blood_pressure"
    glucose = "glucose"
    weight = "weight"


class Reading(Base):
    """A home measurement a patient reports (the bot, the API): blood pressure or glucose.
    Family-doctor follow-up reads these against the patient's target band."""

    __tablename__ = "readings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[ReadingKind] = mapped_column(Enum(ReadingKind, native_enum=False, length=16))
    # weight readings carry weight_kg only
    systolic: Mapped[int | None] = mapped_column(Integer)
    diastolic: Mapped[int | None] = mapped_column(Integer)
    glucose_mmol: Mapped[float | None] = mapped_column(Float)
    pulse: Mapped[int | None] = mapped_column(Integer)
    fasting: Mapped[bool | None] = mapped_column(Boolean)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    # Against the patient's target band: in_band, above, below, danger.
    band: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # wechat, api
    measured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


# --- family doctors: teams, contracts, follow-up ---------------------------------------------


class FamilyDoctorTeam(Base):
    """A family-doctor team of a community health centre, led by one of its doctors."""

    __tablename__ = "family_doctor_teams"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    centre: Mapped[str] = mapped_column(String(128))
    lead_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lead: Mapped[Practitioner] = relationship()
    members: Mapped[list[TeamMember]] = relationship(back_populates="team")


class TeamMember(Base):
    __tablename__ = "family_doctor_team_members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("family_doctor_teams.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)

    team: Mapped[FamilyDoctorTeam] = relationship(back_populates="members")
    practitioner: Mapped[Practitioner] = relationship()

    __table_args__ = (UniqueConstraint("team_id", "practitioner_id"),)


class ContractState(enum.StrEnum):
    active = "active"
    ended = "ended"  # its term ran out, or it was renewed into a new contract
    terminated = "terminated"  # ended early, with a reason

    @property
    def label(self) -> str:
        return {"active": "履约中", "ended": "已到期", "terminated": "已解约"}[self.value]


class Contract(Base):
    """A person signed with one team for a term and a package, after reading and accepting the
    agreement (its version and digest are kept). One active contract per person: the database
    refuses a second."""

    __tablename__ = "family_doctor_contracts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    guardian_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("family_doctor_teams.id"), index=True)
    package: Mapped[str] = mapped_column(String(32))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date, index=True)
    state: Mapped[ContractState] = mapped_column(_enum(ContractState), index=True)
    agreement_version: Mapped[str] = mapped_column(String(16))
    agreement_digest: Mapped[str] = mapped_column(String(64))
    agreed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(200))
    renewed_from_id: Mapped[int | None] = mapped_column(ForeignKey("family_doctor_contracts.id"))

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    team: Mapped[FamilyDoctorTeam] = relationship()

    __table_args__ = (
        Index(
            "uq_family_doctor_contracts_one_active",
            "person_id",
            unique=True,
            postgresql_where=text("state = 'active'"),
            sqlite_where=text("state = 'active'"),
        ),
    )


class ChronicDisease(enum.StrEnum):
    hypertension = "hypertension"
    diabetes = "diabetes"

    @property
    def label(self) -> str:
        return "高血压" if self is ChronicDisease.hypertension else "2型糖尿病"


class FollowUpPlan(Base):
    """Follow-up of one chronic disease under a contract: when the next visit is due, and how
    many visits in a row found it not under control."""

    __tablename__ = "follow_up_plans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("family_doctor_contracts.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    disease: Mapped[ChronicDisease] = mapped_column(_enum(ChronicDisease))
    next_due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    unsatisfactory_in_a_row: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    contract: Mapped[Contract] = relationship()
    person: Mapped[Person] = relationship()

    __table_args__ = (UniqueConstraint("contract_id", "disease"),)


class FollowUpRecord(Base):
    """One follow-up, written by a team member: how it was held, what was found, how control
    was classified, and when the next one is due."""

    __tablename__ = "follow_up_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("follow_up_plans.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    way: Mapped[str] = mapped_column(String(16))  # clinic, home, phone, online
    systolic: Mapped[int | None] = mapped_column(Integer)
    diastolic: Mapped[int | None] = mapped_column(Integer)
    glucose_mmol: Mapped[float | None] = mapped_column(Float)
    danger_signs: Mapped[list[str]] = mapped_column(JSON)
    adverse_reaction: Mapped[bool] = mapped_column(Boolean, default=False)
    new_complication: Mapped[bool] = mapped_column(Boolean, default=False)
    adherence: Mapped[str] = mapped_column(String(16))  # regular, intermittent, none
    classification: Mapped[str] = mapped_column(String(24))
    next_due_on: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    practitioner: Mapped[Practitioner] = relationship()


class Reminder(Base):
    """A reminder sent (or a worklist entry made) for one due event: the unique key makes a
    second run of beat send nothing."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # follow_up_due, follow_up_overdue, contract_ending
    subject_id: Mapped[int] = mapped_column(BigId)
    due_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "subject_id", "due_on"),)
