"""Factories for test data, bound to the current test's session."""

from __future__ import annotations

from typing import Any

import factory
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from identity.models import Account, Institution, Role

PASSWORD = "correct horse battery staple"
# Hashed once: Argon2 is deliberately slow, and tests create many accounts.
PASSWORD_HASH = PasswordHasher().hash(PASSWORD)

_session: Session | None = None


def bind(session: Session | None) -> None:
    global _session  # the test's session, set by the `session` fixture
    _session = session


def current_session() -> Session:
    if _session is None:
        raise RuntimeError("factories need the `session` fixture")
    return _session


class Base(factory.alchemy.SQLAlchemyModelFactory):  # type: ignore[misc]
    class Meta:
        abstract = True
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"


class InstitutionFactory(Base):
    class Meta:
        model = Institution

    code = factory.Sequence(lambda n: f"INST-{n:04d}")
    name = factory.Sequence(lambda n: f"第{n}人民医院")


class AccountFactory(Base):
    class Meta:
        model = Account

    username = factory.Sequence(lambda n: f"user{n}")
    password_hash = PASSWORD_HASH
    role = Role.patient
    display_name = factory.Sequence(lambda n: f"用户{n}")
    is_active = True
    failed_logins = 0


def account(role: Role = Role.patient, **kwargs: Any) -> Account:
    result: Account = AccountFactory(role=role, **kwargs)
    return result
