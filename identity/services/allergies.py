"""Declared drug allergies: safety data. Anyone who may seek care for the person may add one;
only the person, their guardian or a clinician may take one away (an empty list switches
allergy screening off for that drug). Every change is kept, sealed, with who made it and as
what, and shown to the next doctor and pharmacist."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.errors import DomainError, Forbidden
from identity.models import Account, AllergyChange, Person
from identity.services.accounts import actor_of
from identity.services.patients import care_context

MAX_ALLERGIES = 20


class InvalidAllergies(DomainError):
    code = "invalid_allergies"
    status = 422
    title = "过敏史无效"


class AllergyRemovalForbidden(Forbidden):
    code = "allergy_removal_forbidden"
    title = "只有本人、监护人或医生可以删除过敏记录"


def _cleaned(allergies: list[str]) -> list[str]:
    cleaned: list[str] = []
    for allergy in allergies:
        text = " ".join(allergy.split())[:50]
        if text and text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > MAX_ALLERGIES:
        raise InvalidAllergies(f"最多登记 {MAX_ALLERGIES} 项过敏药物")
    return cleaned


def _record(
    session: Session, account: Account, patient: Person, cleaned: list[str], changed_as: str,
    may_remove: bool, now: dt.datetime,
) -> Person:  # fmt: skip
    before = patient.allergy_list
    removed = [a for a in (before or []) if a not in cleaned]
    if removed and not may_remove:
        raise AllergyRemovalForbidden(
            "您可以补充过敏药物，但删除须由本人、监护人或医生操作", removed=len(removed)
        )
    patient.allergies = json.dumps(cleaned, ensure_ascii=False)
    patient.allergies_recorded_at = now
    change = AllergyChange(
        person_id=patient.id, account_id=account.id, changed_as=changed_as,
        before=json.dumps(before, ensure_ascii=False) if before is not None else None,
        after=patient.allergies, created_at=now,
    )  # fmt: skip
    session.add(change)
    session.flush()
    audit.record(
        session, actor_of(account), "person.allergies", "person", patient.id,
        {"count": len(cleaned), "removed": len(removed), "as": changed_as,
         "change_id": change.id},
    )  # fmt: skip
    return patient


def record(
    session: Session, account: Account, person_id: int | None, allergies: list[str],
    now: dt.datetime,
) -> Person:  # fmt: skip
    """The patient, their guardian, or a relative who may seek care for them declares drug
    allergies; [] means "none known". Prescribing and review check every drug against them."""
    context = care_context(session, account, person_id)
    cleaned = _cleaned(allergies)
    if context.patient.id == account.person_id:
        changed_as = "self"
    elif context.guardian is not None:
        changed_as = "guardian"
    else:
        changed_as = "relative"
    return _record(session, account, context.patient, cleaned, changed_as,
                   changed_as != "relative", now)  # fmt: skip


def record_by_clinician(
    session: Session, clinician: Account, patient: Person, allergies: list[str],
    now: dt.datetime,
) -> Person:  # fmt: skip
    """A doctor corrects the list during the patient's visit (the door checks it is theirs)."""
    return _record(session, clinician, patient, _cleaned(allergies), "doctor", True, now)


def history(session: Session, person_id: int, limit: int = 5) -> list[AllergyChange]:
    return list(
        session.scalars(
            select(AllergyChange)
            .where(AllergyChange.person_id == person_id)
            .order_by(AllergyChange.id.desc())
            .limit(limit)
        )
    )
