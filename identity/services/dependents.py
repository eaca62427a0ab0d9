"""Dependents (就诊人) by consent: nobody can be taken on as someone else's dependent.

- An adult is linked only when they confirm from their own verified account, and they are told
  of the request; they may withdraw their consent at any time.
- A minor is linked by a guardian who sends a relationship proof (户口本 pages or 出生医学证明)
  that staff review; if the child already has a guardian here, that guardian must consent first.
- Until a link is active nothing of the person is visible to the requester, and nobody can seek
  care for them through it. Every step is audited and the people concerned are notified.

Age limits: 18 and over is an adult (民法典 第十七条); parents are the guardians of their minor
children (民法典 第二十七条); under 6 a visit also needs the guardian present and an
accompanying physician (互联网诊疗管理办法（试行）第十九条, FACTS.md §1.1) — checked when
prescribing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import transitions
from core.crypto import mask_name
from core.errors import DomainError, Forbidden, InvalidState, NotFound
from core.notify import notify
from identity import rules
from identity.models import Account, Dependent, DependentState, Person, ProofType, Relation
from identity.services.accounts import actor_of
from identity.services.patients import (
    NameMismatch,
    ensure_verified,
    new_person,
    person_by_id_number,
)

ADULT_AGE = 18  # 民法典 第十七条
S = DependentState

# The one table of moves a link may make.
TRANSITIONS: dict[DependentState | None, frozenset[DependentState]] = {
    None: frozenset({S.pending_proof, S.pending_consent}),
    S.pending_proof: frozenset({S.pending_consent, S.pending_review, S.removed}),
    S.pending_consent: frozenset({S.pending_review, S.active, S.declined, S.removed}),
    S.pending_review: frozenset({S.active, S.declined, S.removed}),
    S.active: frozenset({S.withdrawn, S.removed}),
    S.declined: frozenset({S.pending_proof, S.pending_consent, S.removed}),
    S.withdrawn: frozenset({S.pending_proof, S.pending_consent, S.removed}),
    S.removed: frozenset({S.pending_proof, S.pending_consent}),
}
DEPENDENT = transitions.Machine("dependent", "就诊人关系", TRANSITIONS)
OPEN = (S.pending_proof, S.pending_consent, S.pending_review, S.active)
PROOF_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG", "application/pdf": b"%PDF"}
MAX_PROOF_BYTES = 8 * 1024 * 1024


class DependentExists(DomainError):
    code = "dependent_exists"
    status = 409
    title = "该就诊人已添加或正在确认中"


class InvalidDependent(DomainError):
    code = "invalid_dependent"
    status = 422
    title = "就诊人信息有误"


class ConsentNeeded(DomainError):
    code = "dependent_needs_account"
    status = 409
    title = "成年人须本人在本平台完成实名认证后确认，才能添加为就诊人"


class InvalidProof(DomainError):
    code = "invalid_proof"
    status = 422
    title = "关系证明无效"


def _move(session: Session, row: Dependent, to: DependentState, account: Account,
          action: str, now: dt.datetime, **detail: object) -> None:  # fmt: skip
    if to in (S.active, S.declined, S.withdrawn):
        row.decided_at = now
    detail = {"to": to.value, "person_id": row.person_id, **detail}
    transitions.transition(
        session, DEPENDENT, row, to, actor_of(account), details=detail, action=action
    )


def _verified_account_of(session: Session, person: Person) -> Account | None:
    return session.scalar(
        select(Account).where(Account.person_id == person.id, Account.face_verified_at.is_not(None))
    )


def _guardians(session: Session, person_id: int, other_than: int) -> list[Dependent]:
    return list(
        session.scalars(
            select(Dependent).where(
                Dependent.person_id == person_id,
                Dependent.is_guardian.is_(True),
                Dependent.state == S.active,
                Dependent.account_id != other_than,
            )
        )
    )


def request_link(
    session: Session,
    account: Account,
    name: str,
    id_number: str,
    relation: Relation,
    now: dt.datetime,
    today: dt.date,
) -> Dependent:
    """Ask to seek care for someone: an adult is asked to confirm; a minor needs a proof."""
    me = ensure_verified(account)
    name = rules.normalise_name(name)
    parsed = rules.parse_id_number(id_number, today)
    if parsed.value == me.id_number:
        raise InvalidDependent("不能把本人添加为就诊人")
    minor = parsed.age_on(today) < ADULT_AGE
    if minor and relation not in {Relation.child, Relation.other}:
        raise InvalidDependent("未满 18 岁的就诊人只能是子女或其他被监护人")
    person = person_by_id_number(session, parsed.value)
    if person is not None and person.name != name:
        raise NameMismatch()
    target: Account | None = None
    if not minor:
        target = _verified_account_of(session, person) if person is not None else None
        if target is None or person is None:
            raise ConsentNeeded()
    if person is None:
        person = new_person(session, name, parsed, None)
    row = session.scalar(
        select(Dependent)
        .where(Dependent.account_id == account.id, Dependent.person_id == person.id)
        .with_for_update()
    )
    if row is not None and row.state in OPEN:
        raise DependentExists()
    if row is None:
        row = Dependent(account_id=account.id, person_id=person.id, relation=relation,
                        is_guardian=minor)  # fmt: skip
    row.relation, row.is_guardian = relation, minor
    row.consent_by_id = row.reviewed_by_id = row.decided_at = None
    row.proof = row.proof_type = row.proof_media_type = row.decision_note = None
    _move(session, row, S.pending_proof if minor else S.pending_consent, account,
          "dependent.request", now, relation=relation.value, minor=minor)  # fmt: skip
    if target is not None:
        notify(
            session, target.id, "dependent.request", "有人申请将您添加为就诊人",
            f"{mask_name(me.name)}申请将您添加为就诊人（{relation.label}）。您确认后，对方可以为您"
            "发起复诊、查看您的诊断和处方；不是您认识的人请拒绝。",
            {"dependent_id": row.id},
        )  # fmt: skip
    return row


def attach_proof(
    session: Session,
    account: Account,
    dependent_id: int,
    proof_type: ProofType,
    data: bytes,
    now: dt.datetime,
) -> Dependent:
    """The guardian's relationship proof for a minor: to staff, or first to the child's other
    guardian here for consent."""
    row = _own(session, account, dependent_id)
    if row.state is not S.pending_proof:
        raise InvalidState("该就诊人不需要上传关系证明")
    media = next((kind for kind, magic in PROOF_TYPES.items() if data.startswith(magic)), None)
    if media is None or len(data) > MAX_PROOF_BYTES:
        raise InvalidProof("请上传户口本或出生医学证明的照片（JPEG、PNG）或 PDF，8 MB 以内")
    row.proof, row.proof_type, row.proof_media_type = data, proof_type.value, media
    others = _guardians(session, row.person_id, other_than=account.id)
    _move(session, row, S.pending_consent if others else S.pending_review, account,
          "dependent.proof", now, proof_type=proof_type.value)  # fmt: skip
    for other in others:
        notify(
            session, other.account_id, "dependent.guardian_request", "有人申请成为孩子的监护人",
            f"有人申请作为{mask_name(row.person.name)}的监护人为其就诊，需要您确认同意。",
            {"dependent_id": row.id},
        )  # fmt: skip
    return row


def _own(session: Session, account: Account, dependent_id: int) -> Dependent:
    row = session.get(Dependent, dependent_id, with_for_update=True)
    if row is None or row.account_id != account.id:
        raise NotFound("没有这个就诊人")
    return row


def _may_consent(session: Session, account: Account, row: Dependent) -> bool:
    """The adult themself; for a minor, a guardian whose own link is active."""
    if not row.is_guardian:
        return account.person_id == row.person_id and account.face_verified_at is not None
    return any(g.account_id == account.id for g in _guardians(session, row.person_id, -1))


def consent_requests(session: Session, account: Account) -> list[Dependent]:
    """Requests waiting for this account's consent."""
    waiting = session.scalars(
        select(Dependent).where(Dependent.state == S.pending_consent).order_by(Dependent.id)
    )
    return [row for row in waiting if _may_consent(session, account, row)]


def decide(
    session: Session, account: Account, dependent_id: int, confirm: bool, now: dt.datetime
) -> Dependent:
    row = session.get(Dependent, dependent_id, with_for_update=True)
    if row is None or row.state is not S.pending_consent or not _may_consent(session, account, row):
        raise NotFound("没有需要您确认的申请")
    row.consent_by_id = account.id
    if not confirm:
        _move(session, row, S.declined, account, "dependent.decline", now)
    else:
        to = S.pending_review if row.is_guardian else S.active
        _move(session, row, to, account, "dependent.consent", now)
    notify(
        session, row.account_id, "dependent.decided",
        "就诊人申请已确认" if confirm else "就诊人申请被拒绝",
        f"{mask_name(row.person.name)}：{row.state.label}", {"dependent_id": row.id},
    )  # fmt: skip
    return row


def linked_by(session: Session, account: Account) -> list[Dependent]:
    """Who may seek care for this account's own person (or is asking to)."""
    if account.person_id is None:
        return []
    return list(
        session.scalars(
            select(Dependent)
            .where(Dependent.person_id == account.person_id, Dependent.state.in_(OPEN))
            .order_by(Dependent.id)
        )
    )


def withdraw(session: Session, account: Account, dependent_id: int, now: dt.datetime) -> None:
    """An adult takes back their consent: the other account loses access at once."""
    row = session.get(Dependent, dependent_id, with_for_update=True)
    if row is None or row.person_id != account.person_id or row.is_guardian:
        raise NotFound("没有这条关联")
    _move(session, row, S.withdrawn, account, "dependent.withdraw", now)
    notify(session, row.account_id, "dependent.withdrawn", "就诊人已撤回同意",
           f"{mask_name(row.person.name)}已撤回同意，您不能再为其办理就诊。")  # fmt: skip


def remove(session: Session, account: Account, dependent_id: int, now: dt.datetime) -> None:
    row = _own(session, account, dependent_id)
    _move(session, row, S.removed, account, "dependent.remove", now)


def review_queue(session: Session) -> list[Dependent]:
    return list(
        session.scalars(
            select(Dependent).where(Dependent.state == S.pending_review).order_by(Dependent.id)
        )
    )


def review(
    session: Session, staff: Account, dependent_id: int, approve: bool, note: str,
    now: dt.datetime,
) -> Dependent:  # fmt: skip
    """Staff accept or refuse a guardian's proof."""
    row = session.get(Dependent, dependent_id, with_for_update=True)
    if row is None or row.state is not S.pending_review:
        raise NotFound("没有待审核的监护关系")
    if row.account_id == staff.id:
        raise Forbidden("不能审核自己的申请")
    row.reviewed_by_id, row.decision_note = staff.id, note.strip()[:200] or None
    _move(session, row, S.active if approve else S.declined, staff, "dependent.review", now,
          approved=approve)  # fmt: skip
    notify(
        session, row.account_id, "dependent.reviewed",
        "监护关系已审核通过" if approve else "监护关系未通过审核",
        f"{mask_name(row.person.name)}：{row.state.label}" + (f"（{note}）" if note else ""),
        {"dependent_id": row.id},
    )  # fmt: skip
    return row


def listed(session: Session, account: Account) -> list[Dependent]:
    """The account's dependents in every open or refused state (removed ones are gone)."""
    return list(
        session.scalars(
            select(Dependent)
            .where(Dependent.account_id == account.id, Dependent.state != S.removed)
            .order_by(Dependent.id)
        )
    )


def active(session: Session, account: Account) -> list[Dependent]:
    return [row for row in listed(session, account) if row.state is S.active]
