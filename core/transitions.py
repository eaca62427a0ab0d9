"""State machines as tables: each maps a state to the states it may move to. One check for all
of them (consultations, referrals, dependents; the others as they move here — issue 17), so a
refused move reads the same everywhere and carries both states."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeVar

from core.errors import InvalidState


class LabelledState(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def value(self) -> str: ...


S = TypeVar("S", bound=LabelledState)


def check(table: Mapping[S, frozenset[S]], current: S, target: S, what: str) -> None:
    """Refuse a move the table does not allow, naming `what` moves (问诊, 转诊)."""
    if target not in table[current]:
        raise InvalidState(
            f"{what}当前为“{current.label}”，不能变为“{target.label}”",
            current=current.value,
            target=target.value,
        )
