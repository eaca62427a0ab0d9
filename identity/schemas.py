"""Request and response shapes of identity's API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from identity.models import Role


class DemoSignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, examples=["patient"])


class PasswordSignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_at: dt.datetime
    role: Role


class AccountOut(BaseModel):
    id: int
    username: str
    role: Role
    display_name: str
