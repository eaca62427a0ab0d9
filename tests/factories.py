"""Factories for test data, bound to the current test's session."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import factory
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from core import clock
from followup.models import DiagnosisSource, DiagnosisStatus, OfflineDiagnosis
from identity.models import Account, Institution, Person, Practitioner, Role
from identity.rules import PractitionerKind, Title
from tests.people import CHILD_ID_NUMBER, years_before

PASSWORD = "correct horse battery staple"
# Hashed once: Argon2 is deliberately slow, and tests create many accounts.
PASSWORD_HASH = PasswordHasher().hash(PASSWORD)

_session: Session | None = None


def bind(session: Session | None) -> None:
    global _session  # the test's session, set by the `session` fixture
    _session = session


def current_session() -> Session:
    if _session is None:
        raise RuntimeError("factories need the `session` fixture")
    return _session


class Base(factory.alchemy.SQLAlchemyModelFactory):  # type: ignore[misc]
    class Meta:
        abstract = True
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"


class InstitutionFactory(Base):
    class Meta:
        model = Institution

    code = factory.Sequence(lambda n: f"INST-{n:04d}")
    name = factory.Sequence(lambda n: f"第{n}人民医院")


class AccountFactory(Base):
    class Meta:
        model = Account

    username = factory.Sequence(lambda n: f"user{n}")
    password_hash = PASSWORD_HASH
    role = Role.patient
    display_name = factory.Sequence(lambda n: f"用户{n}")
    is_active = True
    failed_logins = 0

    class Params:
        # Common states by name: account(face_verified=True), account(disabled=True).
        face_verified = factory.Trait(face_verified_at=factory.LazyFunction(clock.now))
        disabled = factory.Trait(is_active=False)


def account(role: Role = Role.patient, **kwargs: Any) -> Account:
    result: Account = AccountFactory(role=role, **kwargs)
    return result


# --- people, practitioners, diagnoses -------------------------------------------------------


def person(id_number: str = "110105198503141235", name: str = "张三", **kwargs: Any) -> Person:
    from identity import rules
    from identity.services.patients import id_index

    parsed = rules.parse_id_number(id_number, clock.today())
    row = Person(
        name=name,
        id_number=parsed.value,
        id_number_index=id_index(parsed.value),
        birth_date=parsed.birth_date,
        sex=parsed.sex,
        phone=kwargs.pop("phone", "13800138000"),
        **kwargs,
    )
    current_session().add(row)
    current_session().flush()
    return row


def verified_patient(id_number: str = "110105198503141235", name: str = "张三") -> Account:
    """A patient account whose real name and face are verified."""
    return account(Role.patient, person=person(id_number, name), face_verified=True)


@cache
def _enrolled_face() -> str:
    from identity import face
    from tests import faces

    return face.serialise(face.encode_photo(faces.id_photo(), face.FaceConfig()))


def practitioner(
    kind: PractitionerKind = PractitionerKind.doctor,
    department: str = "心血管内科",
    years: int = 8,
    title: Title = Title.attending_physician,
    face_checked: bool = True,
) -> Practitioner:
    from core.audit import Actor
    from identity.services import practitioners as service

    role = {
        PractitionerKind.doctor: Role.doctor,
        PractitionerKind.pharmacist: Role.pharmacist,
        PractitionerKind.family_doctor: Role.family_doctor,
    }[kind]
    institution = InstitutionFactory()
    acc = account(role, institution_id=institution.id)
    today = clock.today()
    row = Practitioner(
        account_id=acc.id,
        kind=kind,
        name=acc.display_name,
        licence_number=f"L{acc.id:09d}",
        title=title,
        department=department,
        institution_id=institution.id,
        practice_started_on=years_before(today, years),
        face_encoding=_enrolled_face(),
        face_model_version="test",
        face_checked_until=clock.now() + dt.timedelta(minutes=30) if face_checked else None,
    )
    current_session().add(row)
    current_session().flush()
    service._new_key(current_session(), row, Actor.system())
    return row


def diagnosis(
    patient: Person,
    code: str = "I10.x00x002",
    days_ago: int = 60,
    status: DiagnosisStatus = DiagnosisStatus.confirmed,
    name: str = "原发性高血压",
) -> OfflineDiagnosis:
    row = OfflineDiagnosis(
        person_id=patient.id,
        icd10_code=code,
        disease_name=name,
        diagnosed_on=clock.today() - dt.timedelta(days=days_ago),
        institution_name="第一人民医院",
        doctor_name="周医生",
        source=DiagnosisSource.platform
        if status is DiagnosisStatus.confirmed
        else DiagnosisSource.patient_upload,
        status=status,
    )
    current_session().add(row)
    current_session().flush()
    return row


def consultation(
    patient: Account,
    diagnosis_row: OfflineDiagnosis,
    doctor: Practitioner,
    state: Any = None,
    minutes_ago: int = 0,
) -> Any:
    """A visit the doctor has taken (accepted unless `state` says otherwise), for tests that
    need many at once without going through the API."""
    from followup.models import Consultation, ConsultationState

    at = clock.now() - dt.timedelta(minutes=minutes_ago)
    assert patient.person is not None
    row = Consultation(
        person_id=patient.person.id,
        account_id=patient.id,
        diagnosis_id=diagnosis_row.id,
        department=doctor.department,
        complaint="续药",
        symptoms=["none"],
        vitals={},
        consent_version="v1",
        consent_digest="0" * 64,
        consented_at=at,
        state=state or ConsultationState.accepted,
        requested_at=at,
        accept_by=at,
        accepted_at=at,
        doctor_id=doctor.id,
        next_message_seq=1,
    )
    current_session().add(row)
    current_session().flush()
    return row


def child_of(parent: Account, id_number: str = CHILD_ID_NUMBER, name: str = "张小宝") -> Person:
    """A child added as the parent's dependent, with the parent as guardian."""
    from identity.models import Dependent, DependentState, Relation

    child = person(id_number, name)
    current_session().add(
        Dependent(
            account_id=parent.id,
            person_id=child.id,
            relation=Relation.child,
            is_guardian=True,
            state=DependentState.active,  # as if the proof had been reviewed
        )
    )
    current_session().flush()
    return child
