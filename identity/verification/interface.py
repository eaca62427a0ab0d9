"""What the hospital needs of an identity-verification provider, whoever it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.errors import DomainError


class ProviderUnavailable(DomainError):
    code = "identity_provider_unavailable"
    status = 503
    title = "实名核验服务暂时不可用，请稍后再试"


@dataclass(frozen=True)
class VerificationStarted:
    token: str  # the provider's id for this check (Tencent: BizToken)
    url: str  # where the patient does the liveness step


@dataclass(frozen=True)
class VerificationResult:
    """The provider's answer, fetched server to server (never taken from the client)."""

    finished: bool  # the patient has done the liveness step
    passed: bool  # the live face is the public-security photo of this ID number
    code: str
    message: str
    name: str
    id_number: str
    similarity: float | None
    live_photo: bytes | None  # the provider's best frame of the live face


class IdentityProvider(Protocol):
    name: str

    def start(self, name: str, id_number: str, redirect_url: str) -> VerificationStarted: ...

    def result(self, token: str) -> VerificationResult: ...
