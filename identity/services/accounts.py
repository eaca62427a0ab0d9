"""Account services: creation, password sign-in with lock-out, API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, joinedload

from core import audit
from core.audit import Actor
from core.crypto import blind_index
from core.db import utcnow
from core.errors import AccountLocked, AuthenticationFailed, ValidationFailed
from identity.models import Account, ApiToken, Institution, Role, SignInFailure

_hasher = PasswordHasher()
# Verifying against this when the username is unknown keeps the timing of both answers alike.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def actor_of(account: Account) -> Actor:
    return Actor(account.id, account.role.value)


def create_institution(session: Session, code: str, name: str) -> Institution:
    institution = Institution(code=code, name=name)
    session.add(institution)
    session.flush()
    audit.record(session, Actor.system(), "institution.create", "institution", institution.id)
    return institution


def create_account(
    session: Session,
    *,
    username: str,
    password: str | None,
    role: Role,
    display_name: str,
    institution: Institution | None = None,
    actor: Actor | None = None,
) -> Account:
    username = username.strip()
    if not username or len(username) > 64:
        raise ValidationFailed("用户名不能为空，且不超过64个字符")
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise ValidationFailed("用户名已被使用")
    account = Account(
        username=username,
        password_hash=hash_password(password) if password else None,
        role=role,
        display_name=display_name,
        institution_id=institution.id if institution else None,
        is_active=True,
        failed_logins=0,
    )
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor or Actor.system(),
        "account.create",
        "account",
        account.id,
        {"role": role.value},
    )
    return account


SOURCE_INDEX = "identity.sign_in.source"


def _failures(session: Session, account: Account, source: str) -> SignInFailure | None:
    return session.scalar(
        select(SignInFailure).where(
            SignInFailure.account_id == account.id,
            SignInFailure.source_index == blind_index(source or "-", SOURCE_INDEX),
        )
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    max_failures: int,
    lockout_seconds: int,
    source: str = "",
) -> Account:
    """Check a password. After `max_failures` wrong passwords in a row from one `source` (the
    client's address, or the kiosk) the account is locked *for that source* for
    `lockout_seconds`, even for the right password; other sources are not affected, so a
    stranger cannot lock a doctor out (guessing from many addresses meets the per-address
    rate limit at the door).

    The failure count is a state change the caller must commit even though sign-in failed."""
    account = session.scalar(
        select(Account).where(Account.username == username.strip()).with_for_update()
    )
    if account is None or account.password_hash is None or not account.is_active:
        _verify_quietly(_DUMMY_HASH, password)
        raise AuthenticationFailed()
    now = utcnow()
    row = _failures(session, account, source)
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise AccountLocked(retry_after=int((row.locked_until - now).total_seconds()) + 1)
    if not _verify_quietly(account.password_hash, password):
        if row is None:
            row = SignInFailure(
                account_id=account.id,
                source_index=blind_index(source or "-", SOURCE_INDEX),
                failures=0,
            )
            session.add(row)
        row.failures, row.updated_at = row.failures + 1, now
        account.failed_logins += 1
        if row.failures >= max_failures:
            row.locked_until = now + dt.timedelta(seconds=lockout_seconds)
            row.failures = 0
            session.flush()
            audit.record(session, actor_of(account), "account.lock", "account", account.id,
                         {"source": row.source_index[:12]})  # fmt: skip
            raise AccountLocked(retry_after=lockout_seconds)
        session.flush()
        raise AuthenticationFailed()
    if row is not None:
        session.delete(row)
    account.failed_logins = 0
    account.locked_until = None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    session.flush()
    audit.record(session, actor_of(account), "account.sign_in", "account", account.id)
    return account


def _verify_quietly(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: dt.datetime


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, account: Account, ttl_seconds: int) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + dt.timedelta(seconds=ttl_seconds)
    session.add(
        ApiToken(account_id=account.id, token_hash=_token_digest(token), expires_at=expires_at)
    )
    session.flush()
    return IssuedToken(token, expires_at)


# Built once: every API request runs it, and building the statement cost more than a tenth of
# a simple read's time in Python (cProfile).
_ACCOUNT_FOR_TOKEN = (
    select(Account)
    .join(ApiToken, ApiToken.account_id == Account.id)
    .options(joinedload(Account.person))
    .where(
        ApiToken.token_hash == bindparam("digest"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
        Account.is_active.is_(True),
    )
)


def account_for_token(session: Session, token: str) -> Account | None:
    """The active account a bearer token belongs to, or None if unknown, expired or revoked:
    one query on every API request — the token, its account, and the account's person, whom
    most patient requests need next (one round trip to PostgreSQL fewer)."""
    found: Account | None = session.scalar(
        _ACCOUNT_FOR_TOKEN, {"digest": _token_digest(token), "now": utcnow()}
    )
    return found


def revoke_token(session: Session, token: str) -> bool:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.flush()
    return True


def purge_expired_tokens(session: Session) -> int:
    result = session.execute(delete(ApiToken).where(ApiToken.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def account_by_id(session: Session, account_id: int) -> Account | None:
    return session.get(Account, account_id)


def account_by_username(session: Session, username: str) -> Account | None:
    return session.scalar(select(Account).where(Account.username == username))


def end_sessions(session: Session, account: Account) -> None:
    """Sign-out or a password change: every console session of the account ends, copies of the
    cookie included (API tokens are revoked on their own: POST /auth/revoke)."""
    session.get(Account, account.id, with_for_update=True)
    account.session_epoch = (account.session_epoch or 0) + 1
    session.flush()
    audit.record(session, actor_of(account), "account.sessions_ended", "account", account.id)
