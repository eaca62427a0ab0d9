"""Every state machine is one table, complete, and the one move refuses what it does not
allow — the same words everywhere, both states named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from core import transitions
from core.errors import InvalidState
from followup import rules as followup_rules
from followup.models import ConsultationState, ContractState, ReferralState
from pharmacy import rules as pharmacy_rules
from pharmacy.models import FulfilmentState
from prescriptions import rules as prescription_rules
from prescriptions.models import PrescriptionState

RX = prescription_rules.PRESCRIPTION_MOVES
P = PrescriptionState

MACHINES: list[tuple[type, Any]] = [
    (PrescriptionState, RX),
    (FulfilmentState, pharmacy_rules.FULFILMENT_MOVES),
    (ContractState, followup_rules.CONTRACT_MOVES),
    (ConsultationState, followup_rules.TRANSITIONS),
    (ReferralState, followup_rules.REFERRAL_TRANSITIONS),
]


@pytest.mark.parametrize(("states", "table"), MACHINES)
def test_every_state_has_its_row_and_moves_only_to_states(states: type, table: Any) -> None:
    assert set(states) <= set(table)  # type: ignore[call-overload]
    assert all(target in set(states) for targets in table.values() for target in targets)  # type: ignore[call-overload]


@dataclass
class Row:
    state: Any


@pytest.mark.parametrize(
    ("table", "start", "refused"),
    [
        (
            prescription_rules.PRESCRIPTION_MOVES,
            PrescriptionState.expired,
            PrescriptionState.approved,
        ),
        (
            prescription_rules.PRESCRIPTION_MOVES,
            PrescriptionState.approved,
            PrescriptionState.written,
        ),
        (pharmacy_rules.FULFILMENT_MOVES, FulfilmentState.dispensed, FulfilmentState.reserved),
        (pharmacy_rules.FULFILMENT_MOVES, FulfilmentState.delivered, FulfilmentState.failed),
        (followup_rules.CONTRACT_MOVES, ContractState.terminated, ContractState.active),
    ],
)
def test_a_move_the_table_does_not_allow_is_refused_and_changes_nothing(
    table: Any, start: Any, refused: Any
) -> None:
    row = Row(start)
    with pytest.raises(InvalidState) as caught:
        transitions.move(row, table, refused, "记录")
    assert row.state is start
    assert caught.value.extra == {"current": start.value, "target": refused.value}
    assert f"“{start.label}”" in caught.value.detail


def test_a_record_starts_only_where_its_table_says() -> None:
    row = Row(None)
    with pytest.raises(InvalidState):
        transitions.move(
            row, prescription_rules.PRESCRIPTION_MOVES, PrescriptionState.approved, "处方"
        )
    assert (
        transitions.move(
            row, prescription_rules.PRESCRIPTION_MOVES, PrescriptionState.written, "处方"
        )
        is None
    )
    assert row.state is PrescriptionState.written


def test_a_transition_is_audited_and_told_and_a_refused_one_leaves_no_trace(
    session: Any,
) -> None:
    from sqlalchemy import func, select

    from core.audit import Actor
    from core.models import AuditEvent, Notification
    from tests import factories

    patient = factories.verified_patient()
    assert patient.person is not None
    visit = factories.consultation(
        patient, factories.diagnosis(patient.person), factories.practitioner()
    )
    told = transitions.Notice(patient.id, "consultation.reply", "医生回复了您", "有新回复。")

    def trail() -> tuple[int, int]:
        events = select(func.count()).select_from(AuditEvent)
        notes = select(func.count()).select_from(Notification)
        return session.scalar(events), session.scalar(notes)

    before = trail()
    with pytest.raises(InvalidState), session.begin_nested():
        transitions.transition(
            session, followup_rules.VISIT, visit, ConsultationState.requested, Actor.system(),
            notice=told,
        )  # fmt: skip
    assert visit.state is ConsultationState.accepted
    assert trail() == before

    left = transitions.transition(
        session, followup_rules.VISIT, visit, ConsultationState.in_progress, Actor.system(),
        details={"why": "doctor replied"}, notice=told,
    )  # fmt: skip
    assert left is ConsultationState.accepted
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.subject_type, event.subject_id) == (
        "consultation.in_progress",
        "consultation",
        str(visit.id),
    )
    assert event.detail == {"from": "accepted", "why": "doctor replied"}
    note = session.scalars(select(Notification).order_by(Notification.id.desc())).first()
    assert (note.account_id, note.kind, note.title) == (
        patient.id,
        "consultation.reply",
        "医生回复了您",
    )
