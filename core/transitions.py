"""State machines as tables: each maps a state to the states it may move to (None: a record
being created). One check and one move for all of them — consultations, referrals,
dependents, prescriptions, fulfilments, contracts — so a refused move reads the same
everywhere and carries both states, and no state is set around its table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from core.errors import InvalidState


class LabelledState(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def value(self) -> str: ...


S = TypeVar("S", bound=LabelledState)


def check(table: Mapping[Any, frozenset[Any]], current: S, target: S, what: str) -> None:
    """Refuse a move the table does not allow, naming `what` moves (问诊, 转诊)."""
    if target not in table[current]:
        raise InvalidState(
            f"{what}当前为“{current.label}”，不能变为“{target.label}”",
            current=current.value,
            target=target.value,
        )


def move(entity: Any, table: Mapping[Any, frozenset[Any]], target: S, what: str) -> S | None:
    """Move `entity.state` to `target` if its table allows it; the state it left (None for a
    record being created)."""
    current = entity.state
    if current is None:
        if target not in table.get(None, frozenset()):
            raise InvalidState(f"{what}不能以“{target.label}”开始", target=target.value)
    else:
        check(table, current, target, what)
    entity.state = target
    return current  # type: ignore[no-any-return]
