"""Request and response shapes of followup's API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from followup.models import ConsultationState, DiagnosisSource, DiagnosisStatus, ReferralState
from followup.triage import Urgency


class ConsentOut(BaseModel):
    version: str
    digest: str
    text: str


class VitalsIn(BaseModel):
    systolic: int | None = Field(None, ge=40, le=300, description="mmHg")
    diastolic: int | None = Field(None, ge=20, le=200, description="mmHg")
    glucose_mmol: float | None = Field(None, gt=0, le=50, description="mmol/L")
    heart_rate: int | None = Field(None, ge=20, le=250)
    temperature_c: float | None = Field(None, ge=30, le=45)


class ConsultationIn(BaseModel):
    patient_id: int | None = Field(None, description="a dependent's person id; omit for self")
    diagnosis_id: int
    complaint: str = Field(max_length=2000)
    symptoms: list[str] = Field(default_factory=list, description="codes from GET /symptoms")
    vitals: VitalsIn = Field(default_factory=VitalsIn)
    consent: bool = False


class SymptomOut(BaseModel):
    code: str
    label: str
    red_flag: bool


class SymptomList(BaseModel):
    symptoms: list[SymptomOut]


class DiagnosisOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    icd10_code: str
    disease_name: str
    diagnosed_on: dt.date
    institution_name: str
    doctor_name: str
    source: DiagnosisSource
    status: DiagnosisStatus
    has_evidence: bool = False
    review_note: str | None = None


class DiagnosisList(BaseModel):
    diagnoses: list[DiagnosisOut]


class DiagnosisUploadForm(BaseModel):
    patient_id: int | None = None
    icd10_code: str = Field(min_length=3, max_length=16, examples=["E11.900"])
    diagnosed_on: dt.date
    institution_name: str = Field(min_length=2, max_length=128)
    doctor_name: str = Field(min_length=1, max_length=64)


class DiagnosisReviewIn(BaseModel):
    confirm: bool
    note: str = Field("", max_length=200)


class PlatformDiagnosisIn(BaseModel):
    id_number: str
    icd10_code: str
    diagnosed_on: dt.date
    institution_name: str
    doctor_name: str
    reference: str = Field(min_length=1, max_length=64)


class ConsultationOut(BaseModel):
    id: int
    state: ConsultationState
    state_label: str
    patient_id: int
    patient_name: str
    patient_age: int
    guardian_recorded: bool
    diagnosis: DiagnosisOut
    department: str
    complaint: str
    symptoms: list[str]
    vitals: dict[str, float]
    doctor_name: str | None
    requested_at: dt.datetime
    waiting_seconds: int
    accept_by: dt.datetime
    accepted_at: dt.datetime | None
    ended_at: dt.datetime | None


class ConsultationList(BaseModel):
    consultations: list[ConsultationOut]


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class MessageOut(BaseModel):
    seq: int
    kind: str
    sender_role: str = Field(description="patient, doctor, or system (a triage alert)")
    text: str | None
    image_url: str | None
    created_at: dt.datetime
    alert: str | None = Field(
        None,
        description="On sending: what to do now when the message showed a red flag (the same "
        "text is added to the conversation as a system message and the doctor is alerted)",
    )


class MessageList(BaseModel):
    messages: list[MessageOut]


class RecordIn(BaseModel):
    chief_complaint: str = Field(min_length=1, max_length=2000)
    history: str = Field("", max_length=4000)
    findings: str = Field("", max_length=4000)
    diagnosis_code: str = Field(min_length=3, max_length=16)
    diagnosis_name: str = Field("", max_length=64)
    plan: str = Field(min_length=1, max_length=4000)


class AmendmentIn(RecordIn):
    reason: str = Field(min_length=1, max_length=200)


class RecordOut(BaseModel):
    version: int
    content: dict[str, object]
    amendment_reason: str | None
    doctor_name: str
    signed_at: dt.datetime
    signature_key: str
    signature_valid: bool


class RecordHistory(BaseModel):
    latest: RecordOut
    versions: list[RecordOut]


class ReferralIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    urgency: Urgency = Urgency.urgent
    department: str | None = Field(None, max_length=64)


class PatientReferralIn(BaseModel):
    patient_id: int | None = None
    diagnosis_id: int | None = None
    reason: str = Field(min_length=1, max_length=500)


class ReferralOut(BaseModel):
    id: int
    state: ReferralState
    state_label: str
    urgency: Urgency
    department: str
    reason: str
    red_flags: list[str]
    appointment_at: dt.datetime | None
    location: str | None
    created_at: dt.datetime


class ReferralList(BaseModel):
    referrals: list[ReferralOut]


class PlatformCallbackIn(BaseModel):
    # The platform's own id for this event (a replay carries the same one) and when it
    # happened on the platform's clock (an older event arriving late changes nothing).
    event_id: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime
    status: ReferralState
    appointment_at: AwareDatetime | None = None
    location: str | None = Field(None, max_length=200)
    reference: str | None = Field(None, max_length=64)


class PlatformCallbackOut(BaseModel):
    # applied; duplicate (seen before, nothing changed); stale (older than what was applied)
    outcome: Literal["applied", "duplicate", "stale"]
    referral: ReferralOut


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str
    data: dict[str, object]
    created_at: dt.datetime


class NotificationList(BaseModel):
    notifications: list[NotificationOut]


# --- family doctors ----------------------------------------------------------------------


class AgreementOut(BaseModel):
    version: str
    digest: str
    text: str


class TeamOut(BaseModel):
    id: int
    name: str
    centre: str
    lead_name: str


class TeamList(BaseModel):
    teams: list[TeamOut]


class ContractIn(BaseModel):
    person_id: int | None = Field(None, description="a dependent's person id; omit for oneself")
    team_id: int
    package: str = Field("chronic", description="basic or chronic")
    agreement_version: str = Field(description="of the agreement the patient read and accepted")
    agreement_digest: str


class RenewIn(BaseModel):
    team_id: int | None = Field(None, description="another team at term end; omit to stay")
    agreement_version: str
    agreement_digest: str


class TerminateIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class PlanOut(BaseModel):
    id: int
    disease: str
    disease_label: str
    next_due_on: dt.date
    unsatisfactory_in_a_row: int


class ContractOut(BaseModel):
    id: int
    person_id: int
    team_id: int
    team_name: str
    package: str
    state: str
    state_label: str
    starts_on: dt.date
    ends_on: dt.date
    agreement_version: str
    plans: list[PlanOut] = Field(default_factory=list)


class ContractList(BaseModel):
    contracts: list[ContractOut]


class ReadingIn(BaseModel):
    person_id: int | None = None
    kind: Literal["blood_pressure", "glucose", "weight"]
    systolic: int | None = Field(None, ge=0, le=1000)
    diastolic: int | None = Field(None, ge=0, le=1000)
    pulse: int | None = Field(None, ge=0, le=1000)
    glucose_mmol: float | None = Field(None, ge=0, le=1000)
    fasting: bool | None = None
    weight_kg: float | None = Field(None, ge=0, le=1000)


class ReadingOut(BaseModel):
    id: int
    kind: str
    systolic: int | None
    diastolic: int | None
    pulse: int | None
    glucose_mmol: float | None
    fasting: bool | None
    weight_kg: float | None
    band: str | None = Field(description="in_band, above, danger (against the patient's target)")
    measured_at: dt.datetime
    in_person_required: bool = False
    advice: str | None = None
    referral_id: int | None = None


class ReadingList(BaseModel):
    readings: list[ReadingOut]


class FollowUpIn(BaseModel):
    held_on: dt.date
    way: Literal["clinic", "home", "phone", "online"]
    systolic: int | None = Field(None, ge=40, le=300)
    diastolic: int | None = Field(None, ge=20, le=200)
    fasting_glucose: float | None = Field(None, ge=1, le=40)
    heart_rate: int | None = Field(None, ge=20, le=250)
    symptoms: list[str] = Field(default_factory=list, description="triage symptom codes")
    adverse_reaction: bool = False
    new_complication: bool = False
    adherence: Literal["regular", "intermittent", "none"]
    notes: str = Field("", max_length=2000)


class FollowUpOut(BaseModel):
    id: int
    plan_id: int
    held_on: dt.date
    way: str
    classification: str
    classification_label: str
    danger_signs: list[str]
    next_due_on: dt.date
    referral_id: int | None


class WorkItem(BaseModel):
    plan_id: int
    person_name: str = Field(description="masked")
    disease_label: str
    next_due_on: dt.date
    note: str = ""


class WorklistOut(BaseModel):
    overdue: list[WorkItem]
    due: list[WorkItem]
    alerts: list[WorkItem]
