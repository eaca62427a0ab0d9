"""Request and response shapes of identity's API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from identity.models import DependentState, ProofType, Relation, Role
from identity.rules import PractitionerKind, Sex, Title


class DemoSignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, examples=["patient"])


class PasswordSignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_at: dt.datetime
    role: Role


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    display_name: str


class WeChatSignIn(BaseModel):
    code: str = Field(min_length=1, max_length=128, description="the code from wx.login()")


class RealNameIn(BaseModel):
    name: str = Field(min_length=1, max_length=60, examples=["张三"])
    id_number: str = Field(min_length=1, max_length=32, examples=["110105198503141235"])
    phone: str = Field(min_length=1, max_length=20, examples=["13812345678"])


class PersonOut(BaseModel):
    """A person as shown to them: name, ID number and phone masked."""

    id: int
    name: str
    id_number: str
    phone: str | None
    sex: Sex
    age: int
    allergies: list[str] | None = Field(
        None, description="declared drug allergies; null until recorded, [] for none known"
    )


class DependentIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(min_length=1, max_length=32)
    relation: Relation


class DependentOut(BaseModel):
    id: int
    name: str = Field(description="masked")
    person: PersonOut | None = Field(description="only once the link is active")
    relation: Relation
    relation_label: str
    is_guardian: bool
    state: DependentState
    state_label: str


class ProofForm(BaseModel):
    proof_type: ProofType


class ConsentRequestOut(BaseModel):
    """A request waiting for this account's consent (to be someone's dependent, or for a second
    guardian of one's child)."""

    id: int
    requester_name: str = Field(description="masked")
    person_name: str = Field(description="masked: oneself, or the child")
    relation: Relation
    relation_label: str
    as_guardian: bool
    requested_at: dt.datetime


class ConsentRequestList(BaseModel):
    requests: list[ConsentRequestOut]


class LinkOut(BaseModel):
    """An account that may seek care for me (or asks to)."""

    id: int
    holder_name: str = Field(description="masked")
    relation_label: str
    state: DependentState
    state_label: str


class LinkList(BaseModel):
    links: list[LinkOut]


class ReviewItem(BaseModel):
    id: int
    requester_name: str
    child_name: str
    child_age: int
    proof_type: str | None
    proof_url: str
    requested_at: dt.datetime


class ReviewList(BaseModel):
    reviews: list[ReviewItem]


class ReviewIn(BaseModel):
    approve: bool
    note: str = Field("", max_length=200)


class VerificationOut(BaseModel):
    real_name: bool
    face: bool
    verified: bool


class MeOut(BaseModel):
    account: AccountOut
    verification: VerificationOut
    person: PersonOut | None
    dependents: list[DependentOut]


class IdentityCheckStartOut(BaseModel):
    token: str = Field(description="the provider's id of this check (Tencent: BizToken)")
    url: str = Field(description="the provider's liveness page: open it on the patient's phone")
    expires_at: dt.datetime


class IdentityCheckOut(BaseModel):
    passed: bool
    code: str | None = Field(description="the provider's result code, or identity_mismatch")
    verification: VerificationOut


class PractitionerForm(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    name: str = Field(min_length=2, max_length=64)
    kind: PractitionerKind
    licence_number: str = Field(min_length=6, max_length=32)
    title: Title = Field(description="职称, e.g. 主治医师, 主管药师")
    department: str = Field(min_length=1, max_length=64)
    institution_id: int
    practice_started_on: dt.date = Field(description="date independent practice began")


class EligibilityOut(BaseModel):
    eligible: bool
    reasons: list[str]


class SigningKeyOut(BaseModel):
    fingerprint: str
    algorithm: str
    public_key: str = Field(description="raw public key, base64")
    practitioner_id: int
    practitioner_name: str
    created_at: dt.datetime
    retired_at: dt.datetime | None


class PractitionerOut(BaseModel):
    id: int
    account_id: int
    username: str
    name: str
    kind: PractitionerKind
    title: Title
    department: str
    institution: str
    licence_number: str
    practice_started_on: dt.date
    eligibility: EligibilityOut
    face_check_valid_until: dt.datetime | None
    active_key_fingerprint: str | None


class PractitionerList(BaseModel):
    practitioners: list[PractitionerOut]


class FaceCheckOut(BaseModel):
    matched: bool
    valid_until: dt.datetime | None


class AllergiesIn(BaseModel):
    person_id: int | None = Field(None, description="a dependent's person id; omit for oneself")
    allergies: list[str] = Field(
        max_length=20, description="drug or ingredient names; [] for no known drug allergies"
    )


class AllergiesOut(BaseModel):
    person_id: int
    allergies: list[str]
    recorded_at: dt.datetime


class BindingCodeOut(BaseModel):
    code: str = Field(description="send “绑定 <code>” to the Official Account within 10 minutes")
    expires_at: dt.datetime


class SubscriptionsIn(BaseModel):
    accepted: list[str] = Field(
        max_length=10, description="template ids the patient accepted in wx.requestSubscribeMessage"
    )
