"""Real-name verification against the authoritative source: the patient's name and ID number
on record are sent to the provider, the patient does the provider's liveness step, and the
outcome is fetched from the provider by the server — once, for that account and that person.
Nothing the patient's phone sends back is taken as the result."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.crypto import blind_index
from core.errors import DomainError, NotFound
from identity.models import Account, IdentityCheck, IdentityCheckState
from identity.services.accounts import actor_of
from identity.services.patients import RealNameRequired, TooManyAttempts, start_of_day_utc
from identity.verification import IdentityProvider

CHECK_TTL = dt.timedelta(minutes=30)
TOKEN_INDEX = "identity.check.token"  # noqa: S105 - a key label, not a secret
REAL_NAME = "real_name"


class CheckNotFinished(DomainError):
    code = "verification_pending"
    status = 409
    title = "人脸核身尚未完成，请在核身页面完成后再试"


class CheckUsed(DomainError):
    code = "verification_used"
    status = 409
    title = "该核验结果已使用，请重新发起人脸核身"


class CheckExpired(DomainError):
    code = "verification_expired"
    status = 409
    title = "人脸核身已超时，请重新发起"


class CheckFailed(DomainError):
    code = "identity_check_failed"
    status = 422
    title = "人脸核身未通过"


def checks_today(session: Session, account: Account, now: dt.datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(IdentityCheck)
            .where(
                IdentityCheck.account_id == account.id,
                IdentityCheck.created_at >= start_of_day_utc(now),
            )
        )
        or 0
    )


def start(
    session: Session,
    account: Account,
    provider: IdentityProvider,
    redirect_url: str,
    attempts_per_day: int,
    now: dt.datetime,
) -> tuple[IdentityCheck, str]:
    """Open a check for the person on record; the URL of the provider's liveness step."""
    person = account.person
    if person is None:
        raise RealNameRequired()
    session.get(Account, account.id, with_for_update=True)  # one count at a time per account
    if checks_today(session, account, now) >= attempts_per_day:
        raise TooManyAttempts(limit=attempts_per_day)
    started = provider.start(person.name, person.id_number, redirect_url)
    row = IdentityCheck(
        account_id=account.id,
        person_id=person.id,
        purpose=REAL_NAME,
        provider=provider.name,
        token=started.token,
        token_index=blind_index(started.token, TOKEN_INDEX),
        state=IdentityCheckState.pending,
        created_at=now,
        expires_at=now + CHECK_TTL,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor_of(account), "identity.check.start", "person", person.id,
                 {"check_id": row.id, "provider": provider.name})  # fmt: skip
    return row, started.url


def finish(
    session: Session,
    account: Account,
    provider: IdentityProvider,
    token: str,
    now: dt.datetime,
) -> IdentityCheck:
    """Ask the provider how the check ended. Only a check this account opened, for the person
    it is registered as, still open and not expired; a passed check verifies the account."""
    row = session.scalar(
        select(IdentityCheck)
        .where(IdentityCheck.token_index == blind_index(token, TOKEN_INDEX))
        .with_for_update()
    )
    if row is None or row.account_id != account.id:
        raise NotFound("没有这次人脸核身")
    if row.state is not IdentityCheckState.pending:
        raise CheckUsed()
    if account.person_id != row.person_id:
        raise CheckUsed("实名信息已变更，请重新发起人脸核身")
    if now > row.expires_at:
        row.state, row.completed_at = IdentityCheckState.failed, now
        row.result_code = "expired"
        session.flush()
        raise CheckExpired()
    result = provider.result(token)
    if not result.finished:
        raise CheckNotFinished()
    person = row.person
    # The provider's answer must be about the person on record, not whoever finished a check.
    same_person = (
        result.id_number.upper() == person.id_number.upper() and result.name == person.name
    )
    passed = result.passed and same_person
    row.state = IdentityCheckState.passed if passed else IdentityCheckState.failed
    row.result_code = result.code if same_person else "identity_mismatch"
    row.similarity = result.similarity
    row.completed_at = now
    if passed:
        account.face_verified_at = now
    session.flush()
    audit.record(
        session, actor_of(account), "identity.check.finish", "person", person.id,
        {"check_id": row.id, "passed": passed, "code": row.result_code,
         "similarity": result.similarity},
    )  # fmt: skip
    return row
