"""Return-visit API: consent, symptoms, starting a visit, the doctor's queue and actions,
messages and the signed record."""

from __future__ import annotations

import json

from flask import Blueprint, Response, request, url_for
from sqlalchemy.orm import Session

from core import clock
from core.crypto import mask_name
from followup import catalogue, triage
from followup.models import Consultation, ConsultationMessage, MessageKind, VisitRecord
from followup.schemas import (
    AmendmentIn,
    ConsentOut,
    ConsultationIn,
    ConsultationList,
    ConsultationOut,
    MessageIn,
    MessageList,
    MessageOut,
    RecordHistory,
    RecordIn,
    RecordOut,
    ReferralIn,
    SymptomList,
    SymptomOut,
)
from followup.services import consultations as visits
from followup.services import visit_lists, visit_messages, visit_records
from identity import rules as identity_rules
from identity.models import Role
from identity.schemas import AllergiesIn, AllergiesOut
from identity.services import allergies, practitioners
from web.api.diagnoses import diagnosis_out
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation, upload
from web.responses import json_model, private_file
from web.session import db_session
from web.settings import settings

bp = Blueprint("api_consultations", __name__)
PARTICIPANTS = (Role.patient, Role.doctor)


def consultation_out(c: Consultation) -> ConsultationOut:
    now = clock.now()
    end = c.accepted_at or c.ended_at or now
    return ConsultationOut(
        id=c.id,
        state=c.state,
        state_label=c.state.label,
        patient_id=c.person_id,
        patient_name=c.person.name if api_account().role is Role.doctor else _masked(c),
        patient_age=identity_rules.age_on(c.person.birth_date, clock.today()),
        guardian_recorded=c.guardian_person_id is not None,
        diagnosis=diagnosis_out(c.diagnosis),
        department=c.department,
        complaint=c.complaint,
        symptoms=c.symptoms,
        vitals=c.vitals,
        doctor_name=c.doctor.name if c.doctor else None,
        requested_at=c.requested_at,
        waiting_seconds=max(0, int((end - c.requested_at).total_seconds())),
        accept_by=c.accept_by,
        accepted_at=c.accepted_at,
        ended_at=c.ended_at,
    )


def _masked(c: Consultation) -> str:
    return mask_name(c.person.name)


@bp.get("/consultations/consent")
@operation(
    "The informed-consent text a patient accepts before a return visit",
    tag="visits",
    response=ConsentOut,
    public=True,
)
def consent() -> tuple[Response, int]:
    text = catalogue.consent()
    return json_model(ConsentOut(version=text.version, digest=text.digest, text=text.text))


@bp.get("/symptoms")
@operation(
    "Symptom codes for a return visit; red flags send the patient to in-person care",
    tag="visits",
    response=SymptomList,
    public=True,
)
def symptoms() -> tuple[Response, int]:
    return json_model(
        SymptomList(
            symptoms=[
                SymptomOut(code=s.code, label=s.label, red_flag=s.urgency is not None)
                for s in triage.SYMPTOMS
            ]
        )
    )


@bp.post("/consultations")
@operation(
    "Start a return visit for a confirmed offline diagnosis (self or a dependent)",
    tag="visits",
    body=ConsultationIn,
    response=ConsultationOut,
    status=201,
    problems=(
        "identity_unverified",
        "consent_required",
        "first_visit_not_allowed",
        "in_person_required",
        "visit_already_open",
        "vital_sign_unclear",
        "forbidden",
    ),
    description="A red flag (symptom, vital sign or words in the complaint) ends the online path "
    "with 409 in_person_required, emergency advice, each sign with the words that fired it and "
    "its source, and an urgent hand-off to the hospital. A vital sign named without a readable "
    'number ("血糖十几") is 422 vital_sign_unclear with the question to answer.',
)
@api_roles_required(Role.patient)
def start() -> tuple[Response, int]:
    data: ConsultationIn = body()
    request_ = visits.VisitRequest(
        person_id=data.patient_id,
        diagnosis_id=data.diagnosis_id,
        complaint=data.complaint,
        symptoms=data.symptoms,
        vitals=triage.Vitals(**data.vitals.model_dump()),
        consent=data.consent,
    )
    # A red flag's hand-off stands although the visit is refused (InPersonRequired).
    consultation = visits.start(db_session(), api_account(), request_, settings(), clock.now())
    return json_model(consultation_out(consultation), 201)


@bp.get("/consultations")
@operation("The patient's visits, newest first", tag="visits", response=ConsultationList)
@api_roles_required(Role.patient)
def mine() -> tuple[Response, int]:
    items = visit_lists.for_account(db_session(), api_account())
    return json_model(ConsultationList(consultations=[consultation_out(c) for c in items]))


@bp.get("/doctor/queue")
@operation(
    "Waiting visits of the doctor's department (oldest first) and the doctor's own",
    tag="visits",
    response=ConsultationList,
    problems=("not_a_practitioner",),
)
@api_roles_required(Role.doctor)
def queue() -> tuple[Response, int]:
    session = db_session()
    doctor = practitioners.practitioner_for(session, api_account())
    items = visit_lists.active_for_doctor(session, doctor) + visit_lists.queue(
        session, doctor.department
    )
    return json_model(ConsultationList(consultations=[consultation_out(c) for c in items]))


def _visible(session: Session, consultation_id: int) -> Consultation:
    consultation = visits.get(session, consultation_id)
    visits.visible_to(session, api_account(), consultation)
    return consultation


@bp.get("/consultations/<int:consultation_id>")
@operation("One visit", tag="visits", response=ConsultationOut, problems=("not_found",))
@api_roles_required(*PARTICIPANTS)
def detail(consultation_id: int) -> tuple[Response, int]:
    return json_model(consultation_out(_visible(db_session(), consultation_id)))


@bp.post("/consultations/<int:consultation_id>/accept")
@operation(
    "Accept a waiting visit (eligible doctor of the department, fresh face check)",
    tag="visits",
    response=ConsultationOut,
    problems=("invalid_state", "face_check_required", "practitioner_not_eligible", "forbidden"),
)
@api_roles_required(Role.doctor)
def accept(consultation_id: int) -> tuple[Response, int]:
    consultation = visits.accept(db_session(), api_account(), consultation_id, clock.now())
    return json_model(consultation_out(consultation))


@bp.post("/consultations/<int:consultation_id>/cancel")
@operation(
    "Cancel a visit that has not ended",
    tag="visits",
    response=ConsultationOut,
    problems=("invalid_state", "not_found"),
)
@api_roles_required(*PARTICIPANTS)
def cancel(consultation_id: int) -> tuple[Response, int]:
    consultation = visits.cancel(db_session(), api_account(), consultation_id, clock.now())
    return json_model(consultation_out(consultation))


def message_out(consultation_id: int, m: ConsultationMessage) -> MessageOut:
    image_url = (
        url_for(".message_image", consultation_id=consultation_id, seq=m.seq)
        if m.image is not None
        else None
    )
    return MessageOut(
        seq=m.seq,
        kind=m.kind.value,
        sender_role=m.sender_role,
        text=m.text,
        image_url=image_url,
        created_at=m.created_at,
    )


@bp.get("/consultations/<int:consultation_id>/messages")
@operation(
    "Messages in order; `?after=N` for the ones after sequence N (polling)",
    tag="visits",
    response=MessageList,
    problems=("not_found",),
)
@api_roles_required(*PARTICIPANTS)
def list_messages(consultation_id: int) -> tuple[Response, int]:
    session = db_session()
    consultation = _visible(session, consultation_id)
    after = request.args.get("after", default=0, type=int)
    items = visit_messages.messages(session, consultation, after)
    return json_model(MessageList(messages=[message_out(consultation.id, m) for m in items]))


@bp.post("/consultations/<int:consultation_id>/messages")
@operation(
    "Send a text message",
    tag="visits",
    body=MessageIn,
    response=MessageOut,
    status=201,
    problems=("invalid_state", "not_found", "forbidden"),
)
@api_roles_required(*PARTICIPANTS)
def send_message(consultation_id: int) -> tuple[Response, int]:
    data: MessageIn = body()
    session = db_session()
    message = visit_messages.post_message(
        session, api_account(), consultation_id, clock.now(), text=data.text
    )
    out = message_out(consultation_id, message)
    consultation = visits.get(session, consultation_id)
    alerts = [m.text for m in visit_messages.messages(session, consultation, message.seq)
              if m.kind is MessageKind.system]  # fmt: skip
    out.alert = alerts[0] if alerts else None
    return json_model(out, 201)


@bp.put("/consultations/<int:consultation_id>/allergies")
@operation(
    "The visit's doctor corrects the patient's drug allergies (kept with who changed them)",
    tag="visits",
    body=AllergiesIn,
    response=AllergiesOut,
    problems=("not_found", "forbidden", "invalid_allergies"),
)
@api_roles_required(Role.doctor)
def correct_allergies(consultation_id: int) -> tuple[Response, int]:
    data: AllergiesIn = body()
    session, account, now = db_session(), api_account(), clock.now()
    consultation = visits.get(session, consultation_id)
    visits.doctor_of(session, account, consultation)
    person = allergies.record_by_clinician(session, account, consultation.person,
                                           data.allergies, now)  # fmt: skip
    return json_model(
        AllergiesOut(person_id=person.id, allergies=person.allergy_list or [], recorded_at=now)
    )


@bp.post("/consultations/<int:consultation_id>/images")
@operation(
    "Send a photo (JPEG or PNG, at most 5 MB)",
    tag="visits",
    files=("image",),
    response=MessageOut,
    status=201,
    problems=("invalid_state", "validation_error"),
)
@api_roles_required(*PARTICIPANTS)
def send_image(consultation_id: int) -> tuple[Response, int]:
    image = upload("image", max_bytes=visit_messages.MAX_IMAGE_BYTES)
    message = visit_messages.post_message(
        db_session(), api_account(), consultation_id, clock.now(), image=image
    )
    return json_model(message_out(consultation_id, message), 201)


@bp.get("/consultations/<int:consultation_id>/messages/<int:seq>/image")
@operation("A photo sent in the visit", tag="visits", problems=("not_found",))
@api_roles_required(*PARTICIPANTS)
def message_image(consultation_id: int, seq: int) -> Response:
    session = db_session()
    consultation = _visible(session, consultation_id)
    message = visit_messages.image_message(session, consultation, seq)
    return private_file(message.image or b"", message.image_type)


def record_out(session: Session, record: VisitRecord) -> RecordOut:
    return RecordOut(
        version=record.version,
        content=json.loads(record.content),
        amendment_reason=record.amendment_reason,
        doctor_name=record.doctor.name,
        signed_at=record.signed_at,
        signature_key=record.signature_key,
        signature_valid=visit_records.verify_record(session, record),
    )


@bp.post("/consultations/<int:consultation_id>/complete")
@operation(
    "Complete the visit with its record, signed by the doctor (fresh face check)",
    tag="visits",
    body=RecordIn,
    response=RecordOut,
    problems=("invalid_state", "face_check_required", "forbidden"),
)
@api_roles_required(Role.doctor)
def complete(consultation_id: int) -> tuple[Response, int]:
    data: RecordIn = body()
    session = db_session()
    record = visit_records.complete(
        session, api_account(), consultation_id, data.model_dump(), clock.now()
    )
    return json_model(record_out(session, record))


@bp.post("/consultations/<int:consultation_id>/record/amendments")
@operation(
    "Amend the record: a new signed version; earlier versions stay",
    tag="visits",
    body=AmendmentIn,
    response=RecordOut,
    status=201,
    problems=("invalid_state", "face_check_required"),
)
@api_roles_required(Role.doctor)
def amend(consultation_id: int) -> tuple[Response, int]:
    data: AmendmentIn = body()
    fields = data.model_dump(exclude={"reason"})
    session = db_session()
    record = visit_records.amend(
        session, api_account(), consultation_id, fields, data.reason, clock.now()
    )
    return json_model(record_out(session, record), 201)


@bp.get("/consultations/<int:consultation_id>/record")
@operation(
    "The visit record, every signed version, each signature checked",
    tag="visits",
    response=RecordHistory,
    problems=("not_found",),
)
@api_roles_required(*PARTICIPANTS)
def record(consultation_id: int) -> tuple[Response, int]:
    session = db_session()
    consultation = _visible(session, consultation_id)
    versions = [
        record_out(session, r) for r in visit_records.record_history(session, consultation.id)
    ]
    if not versions:
        raise ApiProblem(404, "not_found", "尚无病历")
    return json_model(RecordHistory(latest=versions[-1], versions=versions))


@bp.post("/consultations/<int:consultation_id>/referral")
@operation(
    "End the online visit and hand the patient to in-person care",
    tag="visits",
    body=ReferralIn,
    response=ConsultationOut,
    problems=("invalid_state", "forbidden"),
)
@api_roles_required(Role.doctor)
def refer(consultation_id: int) -> tuple[Response, int]:
    data: ReferralIn = body()
    consultation = visits.refer(
        db_session(),
        api_account(),
        consultation_id,
        data.reason,
        data.urgency,
        data.department,
        clock.now(),
    )
    return json_model(consultation_out(consultation))
