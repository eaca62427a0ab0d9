"""The outbox: written with the change, sent after the commit, retried, never lost."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import outbox, runtime
from core.db import commit, utcnow
from core.models import OutboxMessage, OutboxStatus
from core.tasks import deliver_outbox_message, relay_outbox
from tests.fakes.http_receiver import Receiver


def _send(session: Session, receiver: Receiver, body: dict[str, object]) -> OutboxMessage:
    return outbox.enqueue(session, "http.json", {"url": receiver.url + "/referrals", "body": body})


def _message(session: Session, message_id: int) -> OutboxMessage:
    session.expire_all()
    message = session.get(OutboxMessage, message_id)
    assert message is not None
    return message


def test_sent_once_after_commit_with_idempotency_key(session: Session, receiver: Receiver) -> None:
    message = _send(session, receiver, {"referral": 1})
    assert receiver.received == []  # nothing leaves before the commit
    commit(session)
    assert len(receiver.received) == 1
    arrived = receiver.received[0]
    assert arrived.body == {"referral": 1}
    assert arrived.headers["Idempotency-Key"] == message.idempotency_key
    assert _message(session, message.id).status is OutboxStatus.delivered


def test_what_one_commit_wrote_goes_out_together_and_a_failure_holds_back_only_itself(
    session: Session, receiver: Receiver
) -> None:
    receiver.fail_next = 1  # the first to arrive fails; the second must not wait for it
    first = _send(session, receiver, {"referral": 10})
    second = _send(session, receiver, {"referral": 11})
    commit(session)
    assert [r.body for r in receiver.received] == [{"referral": 10}, {"referral": 11}]
    assert _message(session, first.id).status is OutboxStatus.pending  # retried later
    assert _message(session, second.id).status is OutboxStatus.delivered


def test_rolled_back_change_sends_nothing(session: Session, receiver: Receiver) -> None:
    nested = session.begin_nested()
    message = _send(session, receiver, {"referral": 2})
    message_id = message.id
    nested.rollback()
    commit(session)
    assert receiver.received == []
    assert session.get(OutboxMessage, message_id) is None


def test_failed_delivery_is_retried_with_backoff(session: Session, receiver: Receiver) -> None:
    receiver.fail_next = 3
    message = _send(session, receiver, {"referral": 3})
    commit(session)
    first = _message(session, message.id)
    assert first.status is OutboxStatus.pending
    assert first.attempts == 1
    base = runtime.current().settings.outbox_backoff_base_seconds
    assert first.next_attempt_at >= utcnow() + dt.timedelta(seconds=base * 0.5 - 1)

    delays = []
    for _ in range(2):
        before = utcnow()
        _make_due(session, message.id)
        deliver_outbox_message(message.id)
        again = _message(session, message.id)
        delays.append((again.next_attempt_at - before).total_seconds())
    assert again.attempts == 3
    # Exponential: the third wait's floor (base·4·½) is above the second's ceiling (base·2).
    assert delays[1] > base * 2 * 0.5 - 1
    assert delays[1] >= base * 4 * 0.5 - 1

    _make_due(session, message.id)
    assert relay_outbox() == 1
    done = _message(session, message.id)
    assert done.status is OutboxStatus.delivered
    assert done.attempts == 4
    keys = {r.headers["Idempotency-Key"] for r in receiver.received}
    assert keys == {message.idempotency_key}
    assert len(receiver.applied) == 1  # the receiver applied it once


def test_message_not_yet_due_is_left_for_later(session: Session, receiver: Receiver) -> None:
    receiver.fail_next = 1
    message = _send(session, receiver, {"referral": 4})
    commit(session)
    assert relay_outbox() == 0
    deliver_outbox_message(message.id)  # a stray early retry does not jump the backoff
    assert len(receiver.received) == 1
    assert _message(session, message.id).attempts == 1


def test_crash_between_commit_and_send_loses_nothing(session: Session, receiver: Receiver) -> None:
    message = _send(session, receiver, {"referral": 5})
    session.commit()  # the process dies here: committed, but the delivery was never scheduled
    session.info.clear()
    assert receiver.received == []
    assert _message(session, message.id).status is OutboxStatus.pending
    assert relay_outbox() == 1  # beat's relay finds it
    assert [r.body for r in receiver.received] == [{"referral": 5}]
    assert relay_outbox() == 0


def test_refused_message_is_not_retried_forever(session: Session, receiver: Receiver) -> None:
    receiver.fail_next = 1
    receiver.fail_status = 400
    message = _send(session, receiver, {"referral": 6})
    commit(session)
    dead = _message(session, message.id)
    assert dead.status is OutboxStatus.dead
    assert "HTTP 400" in (dead.last_error or "")
    assert relay_outbox() == 0


def test_gives_up_after_max_attempts(session: Session, receiver: Receiver) -> None:
    receiver.fail_next = 100
    message = _send(session, receiver, {"referral": 7})
    commit(session)
    for _ in range(runtime.current().settings.outbox_max_attempts):
        _make_due(session, message.id)
        relay_outbox()
    assert _message(session, message.id).status is OutboxStatus.dead
    assert len(receiver.received) == runtime.current().settings.outbox_max_attempts


def test_unreachable_receiver_is_retried(session: Session) -> None:
    message = outbox.enqueue(
        session, "http.json", {"url": "http://127.0.0.1:9/nowhere", "body": {}}
    )
    commit(session)
    pending = _message(session, message.id)
    assert pending.status is OutboxStatus.pending
    assert "ConnectionError" in (pending.last_error or "")


def _make_due(session: Session, message_id: int) -> None:
    message = _message(session, message_id)
    message.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
    session.commit()
    assert session.scalar(select(OutboxMessage.id).where(OutboxMessage.id == message_id))
