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
