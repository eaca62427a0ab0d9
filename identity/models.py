"""Accounts, roles, institutions and API tokens."""

from __future__ import annotations

import datetime as dt
import enum
import json

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import EncryptedBytes, EncryptedText
from core.db import Base, UTCDateTime, utcnow
from core.models import BigId
from identity.rules import PractitionerKind, Sex, Title


class Role(enum.StrEnum):
    patient = "patient"
    doctor = "doctor"
    pharmacist = "pharmacist"
    kiosk = "kiosk"
    family_doctor = "family_doctor"
    admin = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.patient: "患者",
    Role.doctor: "医生",
    Role.pharmacist: "药师",
    Role.kiosk: "药房自助终端",
    Role.family_doctor: "家庭医生",
    Role.admin: "管理员",
}


class Institution(Base):
    """A medical institution (the hospital, a community health centre) or a pharmacy chain."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    display_name: Mapped[str] = mapped_column(String(64))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # The verified person behind a patient account (real name); one person, one account.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), unique=True)
    face_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Part of every console session's id: signing out (or a password change) moves it on, and
    # every session cookie issued before stops working, even one copied before sign-out.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    institution: Mapped[Institution | None] = relationship()
    person: Mapped[Person | None] = relationship()

    # Flask-Login reads these; identity stays free of Flask itself.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch or 0}"


class SignInFailure(Base):
    """Wrong passwords for one account from one source (a client address, a kiosk): the
    lock-out is per pair, so nobody can lock a staff member out from elsewhere."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (UniqueConstraint("account_id", "source_index"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    source_index: Mapped[str] = mapped_column(String(64))  # keyed hash: no address in clear
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiToken(Base):
    """A bearer token for the JSON API. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship()


class Person(Base):
    """A real person identified by their resident ID number: a patient, or a dependent
    (就诊人) whom an account manages. Name, ID number and phone are sealed at rest; the ID number
    and phone are found by keyed hash."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(EncryptedText("identity.person.name"))
    id_number: Mapped[str] = mapped_column(EncryptedText("identity.person.id_number"))
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(Enum(Sex, native_enum=False, length=8))
    phone: Mapped[str | None] = mapped_column(EncryptedText("identity.person.phone"))
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    # Drug allergies as the patient or guardian declared them (a JSON list of names, sealed:
    # health data); None until asked, [] for "no known allergies".
    allergies: Mapped[str | None] = mapped_column(EncryptedText("identity.person.allergies"))
    allergies_recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The face of the verified ID photo (sealed), to recognise the person at a pharmacy kiosk.
    face_encoding: Mapped[str | None] = mapped_column(EncryptedText("identity.person.face"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def allergy_list(self) -> list[str] | None:
        return None if self.allergies is None else list(json.loads(self.allergies))


class AllergyChange(Base):
    """Every change to a person's declared allergies: who (and as what), before and after
    (sealed). Shown to the next doctor and pharmacist; removals stand out."""

    __tablename__ = "allergy_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    changed_as: Mapped[str] = mapped_column(String(16))  # self, guardian, relative, doctor
    before: Mapped[str | None] = mapped_column(EncryptedText("identity.allergy_change.before"))
    after: Mapped[str] = mapped_column(EncryptedText("identity.allergy_change.after"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def before_list(self) -> list[str]:
        return list(json.loads(self.before)) if self.before else []

    @property
    def after_list(self) -> list[str]:
        return list(json.loads(self.after))

    @property
    def removed(self) -> list[str]:
        return [a for a in self.before_list if a not in self.after_list]

    @property
    def added(self) -> list[str]:
        return [a for a in self.after_list if a not in self.before_list]

    @property
    def changed_as_label(self) -> str:
        return {"self": "本人", "guardian": "监护人", "relative": "家属", "doctor": "医生"}.get(
            self.changed_as, self.changed_as
        )


class Relation(enum.StrEnum):
    child = "child"
    parent = "parent"
    spouse = "spouse"
    other = "other"

    @property
    def label(self) -> str:
        return {"child": "子女", "parent": "父母", "spouse": "配偶", "other": "其他"}[self.value]


class DependentState(enum.StrEnum):
    pending_proof = "pending_proof"  # a minor: waiting for the relationship proof
    pending_consent = "pending_consent"  # waiting for the adult themself, or the first guardian
    pending_review = "pending_review"  # a minor's proof waits for staff
    active = "active"  # the account may seek care for the person
    declined = "declined"
    withdrawn = "withdrawn"  # the adult took their consent back
    removed = "removed"  # the account removed the person from its list

    @property
    def label(self) -> str:
        return {
            "pending_proof": "待上传关系证明", "pending_consent": "待对方确认",
            "pending_review": "待工作人员审核", "active": "已生效", "declined": "未通过",
            "withdrawn": "对方已撤回同意", "removed": "已移除",
        }[self.value]  # fmt: skip


class ProofType(enum.StrEnum):
    hukou = "hukou"  # 户口本 pages of the child and the guardian
    birth_certificate = "birth_certificate"  # 出生医学证明

    @property
    def label(self) -> str:
        return {"hukou": "户口本", "birth_certificate": "出生医学证明"}[self.value]


class Dependent(Base):
    """A person an account may seek care for, once the link is active: an adult who consented
    from their own verified account, or a minor whose guardian's proof staff accepted (a
    second guardian also needs the first one's consent). For a minor the account holder is the
    guardian. Nothing of the person is shown to the account until then."""

    __tablename__ = "dependents"
    __table_args__ = (UniqueConstraint("account_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    relation: Mapped[Relation] = mapped_column(Enum(Relation, native_enum=False, length=16))
    is_guardian: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[DependentState] = mapped_column(
        Enum(DependentState, native_enum=False, length=16),
        default=DependentState.pending_consent,
        index=True,
    )
    consent_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    proof: Mapped[bytes | None] = mapped_column(EncryptedBytes("identity.dependent.proof"))
    proof_type: Mapped[str | None] = mapped_column(String(24))
    proof_media_type: Mapped[str | None] = mapped_column(String(32))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    decision_note: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship(foreign_keys=[account_id])
    person: Mapped[Person] = relationship()


class FacePurpose(enum.StrEnum):
    real_name = "real_name"
    practitioner_check = "practitioner_check"


class FaceVerification(Base):
    """One face comparison: its result, distance, threshold and model. Never the images."""

    __tablename__ = "face_verifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    purpose: Mapped[FacePurpose] = mapped_column(Enum(FacePurpose, native_enum=False, length=24))
    outcome: Mapped[str] = mapped_column(String(32))
    matched: Mapped[bool] = mapped_column(Boolean, default=False)
    distance: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class IdentityCheckState(enum.StrEnum):
    pending = "pending"  # opened with the provider; the patient has not finished it
    passed = "passed"
    failed = "failed"


class IdentityCheck(Base):
    """One check of a person against the authoritative source (人脸核身): opened for the name
    and ID number on record, answered by the provider server to server, used once."""

    __tablename__ = "identity_checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(24))
    provider: Mapped[str] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(EncryptedText("identity.check.token"))
    token_index: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[IdentityCheckState] = mapped_column(
        Enum(IdentityCheckState, native_enum=False, length=16)
    )
    result_code: Mapped[str | None] = mapped_column(String(32))
    similarity: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship()
    person: Mapped[Person] = relationship()


class WeChatIdentity(Base):
    """A WeChat user of one of our apps, keyed by unionid when WeChat gives one."""

    __tablename__ = "wechat_identities"
    __table_args__ = (UniqueConstraint("app_id", "openid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(String(64))
    openid: Mapped[str] = mapped_column(String(128))
    unionid: Mapped[str | None] = mapped_column(String(128), index=True)
    session_key: Mapped[str | None] = mapped_column(EncryptedText("identity.wechat.session_key"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship()


class Practitioner(Base):
    """A doctor, pharmacist or family doctor: licence, title, department, institution, when
    independent practice began, and the enrolled face (an encoding, sealed; not the photo)."""

    __tablename__ = "practitioners"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    kind: Mapped[PractitionerKind] = mapped_column(
        Enum(PractitionerKind, native_enum=False, length=16)
    )
    name: Mapped[str] = mapped_column(String(64))
    licence_number: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[Title] = mapped_column(Enum(Title, native_enum=False, length=32))
    department: Mapped[str] = mapped_column(String(64))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    practice_started_on: Mapped[dt.date] = mapped_column(Date)
    face_encoding: Mapped[str] = mapped_column(EncryptedText("identity.practitioner.face"))
    face_model_version: Mapped[str] = mapped_column(String(128))
    face_checked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship()
    institution: Mapped[Institution] = relationship()


class SigningKey(Base):
    """A practitioner's Ed25519 key pair. The private half is sealed; retired keys stay, so
    that signatures made with them still verify."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    private_key: Mapped[str] = mapped_column(EncryptedText("identity.signing_key.private"))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    practitioner: Mapped[Practitioner] = relationship()


class WeChatFollower(Base):
    """Someone who follows the Official Account (公众号), by their OA openid; linked to a patient
    account by unionid or a one-time binding code. Unsubscribing keeps the row (and the link)
    but nothing is sent to them until they follow again."""

    __tablename__ = "wechat_followers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(String(64))
    openid: Mapped[str] = mapped_column(String(128))
    unionid: Mapped[str | None] = mapped_column(String(128), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    scene: Mapped[str | None] = mapped_column(String(64))
    subscribed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When the follower last wrote to us: customer-service messages only reach them for 48 h.
    last_message_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Mini-program subscribe-message templates the user accepted (subscribe_msg_popup_event).
    accepted_templates: Mapped[list[str]] = mapped_column(JSON, default=list)

    account: Mapped[Account | None] = relationship()

    __table_args__ = (UniqueConstraint("app_id", "openid"),)


class BindingCode(Base):
    """A one-time code a patient gets in the mini-program and sends to the Official Account to
    link the two (when WeChat gives no unionid)."""

    __tablename__ = "wechat_binding_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    code_index: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WeChatSubscription(Base):
    """Mini-program subscribe messages the patient allowed (wx.requestSubscribeMessage): each
    acceptance allows one message of that template."""

    __tablename__ = "wechat_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    template_id: Mapped[str] = mapped_column(String(64))
    remaining: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("account_id", "template_id"),)
