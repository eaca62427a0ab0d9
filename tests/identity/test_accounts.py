"""Accounts: password hashing, sign-in with lock-out, bearer tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import AccountLocked, AuthenticationFailed
from identity import services
from identity.models import Role, SignInFailure
from tests import factories


def _auth(session: Session, username: str, password: str, source: str = "10.0.0.1") -> object:
    return services.authenticate(
        session, username, password, max_failures=5, lockout_seconds=900, source=source
    )


def test_password_is_stored_as_a_modern_hash(session: Session) -> None:
    account = services.create_account(
        session, username="dr.wang", password="s3cret-pass", role=Role.doctor, display_name="王"
    )
    assert account.password_hash is not None
    assert "s3cret-pass" not in account.password_hash
    assert account.password_hash.startswith("$argon2id$")
    assert _auth(session, "dr.wang", "s3cret-pass") is account


def test_wrong_password_and_unknown_user_get_the_same_answer(session: Session) -> None:
    factories.account(username="alice")
    with pytest.raises(AuthenticationFailed) as wrong:
        _auth(session, "alice", "nope")
    with pytest.raises(AuthenticationFailed) as unknown:
        _auth(session, "nobody", "nope")
    assert wrong.value.code == unknown.value.code == "authentication_failed"


def test_five_failures_lock_the_account_even_for_the_right_password(session: Session) -> None:
    account = factories.account(username="bob")
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            _auth(session, "bob", "wrong")
    with pytest.raises(AccountLocked):
        _auth(session, "bob", "wrong")
    with pytest.raises(AccountLocked):
        _auth(session, "bob", factories.PASSWORD)
    # Once the lock has run out, the right password works again.
    for row in session.scalars(select(SignInFailure)):
        row.locked_until = utcnow() - dt.timedelta(seconds=1)
    assert _auth(session, "bob", factories.PASSWORD) is account
    assert account.failed_logins == 0


def test_a_stranger_cannot_lock_a_doctor_out(session: Session) -> None:
    """The probe locked staff accounts for 15 minutes from anywhere: the lock is now for the
    address that guessed, and the doctor at their own desk signs in."""
    doctor = factories.account(username="dr-wang")
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            _auth(session, "dr-wang", "guess", source="203.0.113.66")
    with pytest.raises(AccountLocked):
        _auth(session, "dr-wang", "guess", source="203.0.113.66")
    with pytest.raises(AccountLocked):  # the guesser stays locked, even with the password
        _auth(session, "dr-wang", factories.PASSWORD, source="203.0.113.66")
    assert _auth(session, "dr-wang", factories.PASSWORD, source="10.1.2.3") is doctor
    raw = session.execute(text("SELECT source_index FROM sign_in_failures")).scalars().all()
    assert raw
    assert all("203.0.113.66" not in value for value in raw)  # no address in clear


def test_success_resets_the_failure_count(session: Session) -> None:
    account = factories.account(username="carol")
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            _auth(session, "carol", "wrong")
    _auth(session, "carol", factories.PASSWORD)
    with pytest.raises(AuthenticationFailed):
        _auth(session, "carol", "wrong")
    assert account.failed_logins == 1
    assert session.scalars(select(SignInFailure)).one().failures == 1


def test_disabled_account_cannot_sign_in_or_use_tokens(session: Session) -> None:
    account = factories.account(username="dave")
    token = services.issue_token(session, account, 3600).token
    account.is_active = False
    with pytest.raises(AuthenticationFailed):
        _auth(session, "dave", factories.PASSWORD)
    assert services.account_for_token(session, token) is None


def test_an_account_made_disabled_never_signs_in(session: Session) -> None:
    factories.account(username="erin", disabled=True)
    with pytest.raises(AuthenticationFailed):
        _auth(session, "erin", factories.PASSWORD)


def test_tokens_expire_and_can_be_revoked(session: Session) -> None:
    account = factories.account()
    issued = services.issue_token(session, account, 3600)
    assert services.account_for_token(session, issued.token) is account
    assert services.account_for_token(session, issued.token + "x") is None
    assert services.revoke_token(session, issued.token)
    assert services.account_for_token(session, issued.token) is None

    short = services.issue_token(session, account, -1)
    assert services.account_for_token(session, short.token) is None
    assert services.purge_expired_tokens(session) >= 1
