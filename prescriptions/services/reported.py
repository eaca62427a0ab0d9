"""Medicines the patient reports taking (prescribed elsewhere, bought over the counter): kept
with the person, resolved to ingredients through the catalogue where the name is known, and
held against every new prescription by the medication checks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.errors import Forbidden, NotFound, ValidationFailed
from identity.models import Account
from identity.services import actor_of, patients
from prescriptions.models import ReportedMedicine
from prescriptions.screening import normalise, screen


def report(
    session: Session, account: Account, person_id: int | None, name: str, now: dt.datetime
) -> ReportedMedicine:
    context = patients.care_context(session, account, person_id)
    written = name.strip()
    if not written or len(written) > 100:
        raise ValidationFailed("请填写药品名称（100 字以内）")
    result = screen(written, clock.day_of(now))
    products = result.products
    if products:
        ingredients = sorted({i for p in products for i in p.ingredients})
        atc = products[0].atc if len({p.atc for p in products}) == 1 else ""
    else:
        ingredients, atc = [normalise(written)], ""
    row = ReportedMedicine(
        person_id=context.patient.id,
        name=written,
        ingredients=ingredients,
        atc=atc,
        reported_by_account_id=account.id,
        reported_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor_of(account), "medicine.report", "person", context.patient.id,
        {"reported_medicine_id": row.id, "known": bool(products)},
    )  # fmt: skip
    return row


def stop(
    session: Session, account: Account, medicine_id: int, now: dt.datetime
) -> ReportedMedicine:
    row = session.get(ReportedMedicine, medicine_id, with_for_update=True)
    try:
        if row is None:
            raise NotFound()
        patients.care_context(session, account, row.person_id)  # theirs, or a dependent's
    except (NotFound, Forbidden):
        # Another family's record reads as missing: its id cannot be probed.
        raise NotFound("没有这条用药记录") from None
    if row.stopped_at is None:
        row.stopped_at = now
        session.flush()
        audit.record(
            session, actor_of(account), "medicine.stop", "person", row.person_id,
            {"reported_medicine_id": row.id},
        )  # fmt: skip
    return row


def current(session: Session, person_id: int) -> list[ReportedMedicine]:
    return list(
        session.scalars(
            select(ReportedMedicine)
            .where(ReportedMedicine.person_id == person_id)
            .where(ReportedMedicine.stopped_at.is_(None))
            .order_by(ReportedMedicine.id)
        )
    )
