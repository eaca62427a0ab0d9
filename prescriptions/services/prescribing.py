"""Writing a prescription in a return visit: the consulting doctor only, in an accepted visit,
every drug screened, every rule checked before anything is saved."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, canonical, clock, transitions
from core.errors import Forbidden, InvalidState, NotFound
from core.notify import notify
from followup.models import Consultation, ConsultationState
from followup.services import consultations as visits
from identity import rules as identity_rules
from identity.models import Account
from identity.services import actor_of, practitioners
from prescriptions import dosing, medication, rules
from prescriptions.catalogue import Product
from prescriptions.models import (
    Drug,
    Prescription,
    PrescriptionItem,
    PrescriptionState,
    PrescriptionVersion,
)
from prescriptions.screening import Screened, screen
from prescriptions.services import long_term
from prescriptions.services.drugs import product_of, screen_names
from prescriptions.services.in_force import medicine_of, medicines_in_force

OPEN_FOR_PRESCRIBING = {ConsultationState.accepted, ConsultationState.in_progress}


@dataclass(frozen=True)
class Draft:
    items: list[rules.ItemDraft]
    routes: list[str]
    stable_chronic_reason: str | None = None
    accompanying_physician: str | None = None
    extra_valid_days: int = 0


def _checked_items(
    session: Session,
    account: Account,
    consultation: Consultation,
    draft: Draft,
    day: dt.date,
    revising: int | None = None,
) -> list[PrescriptionItem]:
    """Screen and check the draft against every rule; nothing is saved on a refusal."""
    screened = screen_names(
        session, actor_of(account), [i.drug_name for i in draft.items], "prescribe"
    )
    context = context_of(
        consultation, day, draft.accompanying_physician, draft.stable_chronic_reason
    )
    screened = [
        rules.picked(result, item) for item, result in zip(draft.items, screened, strict=True)
    ]
    rules.check(list(zip(draft.items, screened, strict=True)), context)
    codes = [result.products[0].code for result in screened]
    drugs = {d.code: d for d in session.scalars(select(Drug).where(Drug.code.in_(codes)))}
    missing = [c for c in codes if c not in drugs or not drugs[c].active]
    if missing:
        raise rules.UnknownDrug("药品目录尚未加载或该药品已停用（hospital drugs load）")
    barred = [drugs[c] for c in codes if drugs[c].blocked]
    if barred:  # the formulary barred it on import, whatever screening said of the name
        control = barred[0].control_class.value if barred[0].control_class else None
        audit.record(
            session,
            actor_of(account),
            "drug.blocked",
            "drug_name",
            barred[0].generic_name[:64],
            {"door": "prescribe", "class": control, "known": True},
        )
        raise rules.ControlledDrug(
            f"“{barred[0].generic_name}”为特殊管理药品，互联网医院不得开具",
            drug=barred[0].generic_name,
            control_class=control,
        )
    new = [
        medicine_of(drugs[code], item.days) for item, code in zip(draft.items, codes, strict=True)
    ]
    in_force = medicines_in_force(session, consultation.person_id, day, excluding=revising)
    rules.refuse_first(
        medication.findings(new, in_force, rules.supply_limit(draft.stable_chronic_reason))
    )
    return [
        _item(line, item, result.products[0], drugs[code], route)
        for line, (item, result, code, route) in enumerate(
            zip(draft.items, screened, codes, draft.routes, strict=True), start=1
        )
    ]


def context_of(
    consultation: Consultation,
    day: dt.date,
    accompanying_physician: str | None,
    stable_chronic_reason: str | None,
) -> rules.Context:
    """Who the prescription is for, as the rules see them on `day`."""
    return rules.Context(
        patient_age=identity_rules.age_on(consultation.person.birth_date, day),
        guardian_recorded=consultation.guardian_person_id is not None,
        accompanying_physician=accompanying_physician,
        stable_chronic_reason=stable_chronic_reason,
        allergens=rules.allergens_of(consultation.person.allergy_list or [], day),
    )


def as_written(item: PrescriptionItem, day: dt.date) -> tuple[rules.ItemDraft, Screened]:
    """A saved line as the rules see a draft: its drug screened again on `day` (a control
    that took effect since is found), narrowed to the product written; a drug blocked since
    stays blocked, a drug retired since is still checked as what it is."""
    drug = item.drug
    draft = rules.ItemDraft(
        drug.generic_name,
        item.dose,
        item.times_per_day,
        item.days,
        dose_unit=item.dose_unit,
        frequency=item.frequency,
        drug_id=drug.code,
    )
    result = screen(drug.generic_name, day)
    written = tuple(p for p in result.products if p.code == drug.code) or (product_of(drug),)
    result = replace(result, known=True, products=written)
    if drug.blocked and not result.blocked:
        result = replace(result, blocked=True, control_class=drug.control_class)
    return draft, result


def _item(
    line: int, item: rules.ItemDraft, product: Product, drug: Drug, route: str
) -> PrescriptionItem:
    """A checked line with its 用法, its whole packs and their price as of today."""
    dose, freq = item.dosing(product)
    supply = dosing.supply(dose, freq, item.days, drug.pack)
    return PrescriptionItem(
        line=line,
        drug_id=drug.id,
        drug=drug,
        name_as_written=item.drug_name[:100],
        dose=dose,
        dose_unit=drug.dose_unit,
        frequency=freq.code,
        times_per_day=freq.most_in_a_day,
        route=route or drug.route,
        days=item.days,
        quantity=supply.packs,
        pack_unit=drug.pack_unit,
        unit_price_fen=drug.price_fen,
        amount_fen=supply.amount_fen,
    )


def prescribe(
    session: Session, account: Account, consultation_id: int, draft: Draft, now: dt.datetime
) -> Prescription:
    """No drug before the prescription, and no prescription without an accepted visit."""
    consultation = visits.get(session, consultation_id, lock=True)
    visits.visible_to(session, account, consultation)
    practitioner = visits.doctor_of(session, account, consultation)
    if consultation.state not in OPEN_FOR_PRESCRIBING:
        raise InvalidState(f"问诊{consultation.state.label}，不能开具处方")
    day = clock.day_of(now)
    items = _checked_items(session, account, consultation, draft, day)
    prescription = Prescription(
        consultation_id=consultation.id,
        person_id=consultation.person_id,
        doctor_id=practitioner.id,
        diagnosis_code=consultation.diagnosis.icd10_code,
        revision=1,
        stable_chronic_reason=(draft.stable_chronic_reason or "").strip() or None,
        accompanying_physician=(draft.accompanying_physician or "").strip() or None,
        issued_on=day,
        valid_until=rules.valid_until(day, draft.extra_valid_days),
    )
    prescription.items.extend(items)
    transitions.transition(
        session,
        rules.PRESCRIPTION,
        prescription,
        PrescriptionState.written,
        actor_of(account),
        details={"consultation_id": consultation.id, "drugs": [i.drug.code for i in items]},
    )
    return prescription


def revise(
    session: Session, account: Account, prescription_id: int, draft: Draft, now: dt.datetime
) -> Prescription:
    """The prescriber revises a prescription the pharmacist returned (or one not yet signed):
    every rule is checked again, the returned version is kept, and it must be signed anew."""
    prescription = session.get(Prescription, prescription_id, with_for_update=True)
    if prescription is None:
        raise NotFound("没有这张处方")
    doctor = practitioners.practitioner_for(session, account)
    if prescription.doctor_id != doctor.id:
        raise Forbidden("只有开具处方的医生可以修改")
    if prescription.state not in (PrescriptionState.rejected, PrescriptionState.written):
        raise InvalidState(f"处方{prescription.state.label}，不能修改")
    consultation = prescription.consultation
    day = clock.day_of(now)
    items = _checked_items(session, account, consultation, draft, day, prescription.id)
    previous = signed_content(prescription)
    if prescription.state is PrescriptionState.rejected:
        session.add(
            PrescriptionVersion(
                prescription_id=prescription.id,
                revision=prescription.revision,
                content=previous,
                doctor_signature_key=prescription.doctor_signature_key,
                doctor_signature=prescription.doctor_signature,
                review_reason=prescription.review_reason,
                review_note=prescription.review_note,
                reviewed_by=prescription.pharmacist_id,
                reviewed_at=prescription.reviewed_at,
            )
        )
        prescription.revision += 1
    prescription.items.clear()
    session.flush()  # the old lines go before the new ones take their numbers
    prescription.items.extend(items)
    prescription.stable_chronic_reason = (draft.stable_chronic_reason or "").strip() or None
    prescription.accompanying_physician = (draft.accompanying_physician or "").strip() or None
    prescription.issued_on = day
    prescription.valid_until = rules.valid_until(day, draft.extra_valid_days)
    rules.PRESCRIPTION.check(prescription.state, PrescriptionState.written)
    for field in (
        "doctor_signature_key",
        "doctor_signature",
        "doctor_signed_at",
        "pharmacist_id",
        "claimed_at",
        "reviewed_at",
        "review_reason",
        "review_note",
        "escalated_at",
    ):
        setattr(prescription, field, None)
    transitions.transition(
        session,
        rules.PRESCRIPTION,
        prescription,
        PrescriptionState.written,
        actor_of(account),
        action="prescription.revise",
        details={
            "revision": prescription.revision,
            "previous": canonical.digest(previous),
            "drugs": [i.drug.code for i in items],
        },
    )
    return prescription


def signed_content(prescription: Prescription) -> dict[str, object]:
    """What the doctor signs: every field a pharmacist or a pharmacy relies on."""
    return {
        "prescription_id": prescription.id,
        "revision": prescription.revision,
        "consultation_id": prescription.consultation_id,
        "patient_person_id": prescription.person_id,
        "doctor_id": prescription.doctor_id,
        "diagnosis_code": prescription.diagnosis_code,
        "issued_on": prescription.issued_on.isoformat(),
        "valid_until": prescription.valid_until.isoformat(),
        "stable_chronic_reason": prescription.stable_chronic_reason,
        "accompanying_physician": prescription.accompanying_physician,
        "items": [
            {
                "line": i.line,
                "drug": i.drug.code,
                "generic_name": i.drug.generic_name,
                "strength": i.drug.strength,
                **_signed_dosing(i),
                "route": i.route,
                "days": i.days,
            }
            for i in prescription.items
        ],
    }


def _signed_dosing(item: PrescriptionItem) -> dict[str, object]:
    """用法用量 and 数量 as signed. Lines written before units and packs keep the shape their
    signature was made over, so it still verifies."""
    if item.frequency is None and item.quantity is None and item.dose_unit == "mg":
        return {"dose_mg": float(item.dose), "times_per_day": item.times_per_day}
    return {
        "dose": float(item.dose),
        "dose_unit": item.dose_unit,
        "frequency": item.frequency,
        "times_per_day": item.times_per_day,
        "quantity": item.quantity,
        "pack_unit": item.pack_unit,
        "amount_fen": item.amount_fen,
    }


def get(session: Session, prescription_id: int) -> Prescription:
    prescription = session.get(Prescription, prescription_id)
    if prescription is None:
        raise NotFound("没有这张处方")
    return prescription


def sign(
    session: Session, account: Account, prescription_id: int, now: dt.datetime
) -> Prescription:
    """The prescriber signs (eligible, face-checked) with the active key."""
    prescription = session.get(Prescription, prescription_id, with_for_update=True)
    if prescription is None:
        raise NotFound("没有这张处方")
    doctor = practitioners.practitioner_for(session, account)
    if prescription.doctor_id != doctor.id:
        raise Forbidden("只有开具处方的医生可以签名")
    if prescription.state is not PrescriptionState.written:
        raise InvalidState(f"处方{prescription.state.label}")
    signature = practitioners.sign(session, doctor, signed_content(prescription), now)
    prescription.doctor_signature_key = signature.key_fingerprint
    prescription.doctor_signature = signature.value
    prescription.doctor_signed_at = now
    transitions.transition(
        session,
        rules.PRESCRIPTION,
        prescription,
        PrescriptionState.signed,
        actor_of(account),
        details={"key": signature.key_fingerprint},
    )
    if long_term.needs_consent(prescription) and prescription.long_term_consented_at is None:
        notify(
            session,
            prescription.consultation.account_id,
            "prescription.long_term_consent",
            "请确认长期处方",
            f"处方 #{prescription.id} 用药超过 4 周，请阅读用药须知并确认后，药师方可审核。",
            {"prescription_id": prescription.id},
        )
    return prescription


def doctor_signature_valid(session: Session, prescription: Prescription) -> bool:
    """Recomputed from the rows as they are now: any change after signing voids it."""
    if not prescription.doctor_signature or not prescription.doctor_signature_key:
        return False
    return practitioners.verify(
        session,
        prescription.doctor_signature_key,
        signed_content(prescription),
        prescription.doctor_signature,
    )
