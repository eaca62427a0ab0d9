"""State machines as tables: each maps a state to the states it may move to (None: a record
being created). One check and one transition for all of them — visits, referrals, dependents,
prescriptions, fulfilments, contracts, and the payments and video sessions to come — so a
refused move reads the same everywhere and carries both states, no state is set around its
table, and no move goes unaudited: `transition` checks the move, writes the audit event and
tells whoever the move concerns, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from core import audit
from core.audit import Actor
from core.errors import InvalidState
from core.notify import notify


class LabelledState(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def value(self) -> str: ...


S = TypeVar("S", bound=LabelledState)


@dataclass(frozen=True)
class Machine(Generic[S]):
    """One state machine: what its records are called in the audit trail (`name`) and to
    people (`what`: 处方, 问诊), its table of moves, and the audit action of a move where it
    is not `name.state` (a prescription moved to approved is "prescription.approve")."""

    name: str
    what: str
    moves: Mapping[S | None, frozenset[S]]
    actions: Mapping[S, str] = field(default_factory=dict)

    def check(self, current: S, target: S) -> None:
        check(self.moves, current, target, self.what)

    def action(self, target: S) -> str:
        return self.actions.get(target) or f"{self.name}.{target.value}"


@dataclass(frozen=True)
class Notice:
    """What the person the move concerns is told (their inbox, and WeChat through the outbox)."""

    account_id: int
    kind: str
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


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
    record being created). Only `transition` and the tests call it: a move is audited."""
    current = entity.state
    if current is None:
        if target not in table.get(None, frozenset()):
            raise InvalidState(f"{what}不能以“{target.label}”开始", target=target.value)
    else:
        check(table, current, target, what)
    entity.state = target
    return current  # type: ignore[no-any-return]


def transition(
    session: Session,
    machine: Machine[S],
    entity: Any,
    target: S,
    actor: Actor,
    *,
    details: Mapping[str, Any] | None = None,
    notice: Notice | None = None,
    action: str | None = None,
    subject: tuple[str, int] | None = None,
) -> S | None:
    """Check and make the move, then write its audit event — on the record itself, or on
    `subject` (a contract's moves are the person's history, and then the record's own id goes
    with the event) — with the state it left, and send the `notice`. Returns the state left
    (None for a record being created)."""
    previous = move(entity, machine.moves, target, machine.what)
    session.add(entity)
    session.flush()  # a record being created gets its id
    entity_type, entity_id = subject or (machine.name, entity.id)
    said: dict[str, Any] = {"from": previous.value if previous else None}
    if subject is not None:
        said[f"{machine.name}_id"] = entity.id
    audit.record(
        session,
        actor,
        action or machine.action(target),
        entity_type,
        entity_id,
        said | dict(details or {}),
    )
    if notice is not None:
        notify(session, notice.account_id, notice.kind, notice.title, notice.body, notice.data)
    return previous
