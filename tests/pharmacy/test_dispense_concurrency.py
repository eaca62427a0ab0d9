"""Dispensing under real concurrency (threads, each its own transaction, real commits on a
scratch PostgreSQL database): one prescription dispensed by 50 attempts at once from several
kiosks is dispensed once; many prescriptions at once never drive a lot below zero."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from core.db import Database
from core.errors import DomainError
from identity.face import DlibMatcher, FaceConfig
from identity.models import Account
from identity.rules import PractitionerKind, Title
from migrations import alembic_config
from pharmacy.models import Dispensing, StockLot
from pharmacy.services import kiosk
from prescriptions.rules import ItemDraft
from prescriptions.services import prescribing, review
from prescriptions.services.drugs import load_catalogue
from tests import faces, factories
from tests.fakes import id_card_reader
from tests.helpers import trace_codes
from tests.people import id_number
from tests.pharmacy.helpers import kiosk_at, pharmacist_at, pharmacy, stock_up

AMLODIPINE = "苯磺酸氨氯地平片"
SELFIE = faces.encode(faces.selfie_640x480())


@pytest.fixture
def scratch(app: Flask, scratch_postgres: str) -> Iterator[Database]:
    """A migrated scratch database (the app fixture has configured the data key)."""
    command.upgrade(alembic_config(scratch_postgres), "head")
    database = Database(scratch_postgres)
    yield database
    database.dispose()


@dataclass
class Setup:
    codes: list[str]
    kiosks: list[int]  # kiosk account ids
    checks: dict[tuple[int, str], int]  # (kiosk account, code) -> identity check id
    # One pharmacist per kiosk: a shared one's account row (sign-in bookkeeping) would
    # serialise the attempts and hide a missing lock on the prescription or the lots.
    pharmacists: dict[int, str]  # kiosk account -> the pharmacist confirming there
    lot_ids: list[int]


def _approved_codes(session: Session, count: int) -> list[tuple[str, tuple[str, str]]]:
    """`count` approved prescriptions of 28 amlodipine tablets, through the real services, each
    for another patient (one patient may not hold more than 28 days of a drug)."""
    doctor = factories.practitioner()
    checker = factories.practitioner(
        kind=PractitionerKind.pharmacist, department="药剂科", title=Title.pharmacist
    )
    now = clock.now()
    codes = []
    for n in range(count):
        number = id_number(dt.date(1985, 3, 14), region="110105", sequence=f"{n:03d}")
        card = ("患者" + "甲乙丙丁戊己庚辛壬癸子丑寅卯"[n], number)
        patient = factories.verified_patient(card[1], card[0])
        assert patient.person is not None
        patient.person.face_encoding = factories._enrolled_face()
        diagnosis = factories.diagnosis(patient.person)
        visit = factories.consultation(patient, diagnosis, doctor)
        draft = prescribing.Draft(items=[ItemDraft("氨氯地平", 5, 1, 28)], routes=[""])
        written = prescribing.prescribe(session, doctor.account, visit.id, draft, now)
        prescribing.sign(session, doctor.account, written.id, now)
        claimed = review.claim_next(session, checker.account, now)
        assert claimed is not None
        approved = review.approve(session, checker.account, claimed.id, now)
        assert approved.redemption_code is not None
        codes.append((approved.redemption_code, card))
    return codes


def _counter(database: Database, prescriptions: int, kiosks: int, units: list[int]) -> Setup:
    with database.transaction() as session:
        factories.bind(session)
        try:
            load_catalogue(session, Actor.system())
            approved = _approved_codes(session, prescriptions)
            codes = [code for code, _ in approved]
            where = pharmacy(session)
            lots = [
                stock_up(session, where, AMLODIPINE, n, days_left=100 + i, batch=f"LOT{i}")
                for i, n in enumerate(units)
            ]
            terminals = [kiosk_at(session, where, f"{i} 号终端") for i in range(kiosks)]
            on_duty = {
                t.kiosk.account_id: pharmacist_at(session, where).account.username
                for t in terminals
            }
            checks = {}
            for terminal in terminals:
                for code, holder in approved:
                    card = id_card_reader.reading(terminal.kiosk, who=holder)
                    check = kiosk.check_identity(
                        session, terminal.kiosk.account, code, card, None, SELFIE,
                        DlibMatcher(FaceConfig(threshold=0.55)), clock.now(),
                    )  # fmt: skip
                    assert check.matched
                    checks[(terminal.kiosk.account_id, code)] = check.id
            return Setup(
                codes,
                [t.kiosk.account_id for t in terminals],
                checks,
                on_duty,
                [lot.id for lot in lots],
            )
        finally:
            factories.bind(None)


def _run(database: Database, setup: Setup, attempts: list[tuple[int, str]]) -> Counter[str]:
    """Each attempt (kiosk account, code) in its own thread and transaction, all at once."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    # Released together; more threads than pooled connections queue for one, as requests do.
    start = threading.Barrier(len(attempts), timeout=60)

    def attempt(kiosk_account_id: int, code: str) -> None:
        outcome = "ok"
        try:
            start.wait()
            with database.transaction() as session:
                account = session.get(Account, kiosk_account_id)
                assert account is not None
                kiosk.dispense_at_kiosk(
                    session, account, code, setup.checks[(kiosk_account_id, code)],
                    setup.pharmacists[kiosk_account_id], factories.PASSWORD, clock.now(),
                    trace_codes=trace_codes(), max_failures=1000, lockout_seconds=1,
                )  # fmt: skip
        except DomainError as exc:
            outcome = exc.code
        except BaseException as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=attempt, args=a) for a in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgresql
def test_fifty_simultaneous_dispenses_of_one_prescription_dispense_once(
    scratch: Database,
) -> None:
    setup = _counter(scratch, prescriptions=1, kiosks=5, units=[500])
    code = setup.codes[0]
    attempts = [(setup.kiosks[i % len(setup.kiosks)], code) for i in range(50)]
    outcomes = _run(scratch, setup, attempts)
    assert outcomes == Counter({"ok": 1, "already_dispensed": 49})
    with scratch.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Dispensing)) == 1
        assert session.get(StockLot, setup.lot_ids[0]).quantity == 500 - 28  # type: ignore[union-attr]


@pytest.mark.postgresql
def test_simultaneous_dispenses_never_drive_a_lot_below_zero(scratch: Database) -> None:
    # 12 prescriptions of 28 tablets against 100 tablets in two lots: 3 can be served.
    setup = _counter(scratch, prescriptions=12, kiosks=2, units=[60, 40])
    attempts = [(setup.kiosks[i % 2], code) for i, code in enumerate(setup.codes)]
    outcomes = _run(scratch, setup, attempts)
    assert outcomes == Counter({"ok": 3, "out_of_stock": 9})
    with scratch.transaction() as session:
        quantities = [session.get(StockLot, i).quantity for i in setup.lot_ids]  # type: ignore[union-attr]
        assert all(q >= 0 for q in quantities)
        assert sum(quantities) == 100 - 3 * 28
        assert session.scalar(select(func.count()).select_from(Dispensing)) == 3
