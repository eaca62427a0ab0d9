"""Identity verification against the authoritative source (人证比对 / 人脸核身).

The patient proves they are the person behind a name and ID number by a liveness check whose
face the provider compares with the public-security photo of that ID number. The patient never
supplies the reference photo. One interface (interface.py), the adapter for Tencent Cloud
人脸核身 (tencent.py), and a fake of that service for tests and the demo (fake_server.py);
IDENTITY_BACKEND chooses (identity/providers.py registers the backends).
"""

from __future__ import annotations

from core import providers
from core.settings import Settings
from identity.verification.interface import (
    IdentityProvider,
    ProviderUnavailable,
    VerificationResult,
    VerificationStarted,
)


def provider_for(settings: Settings) -> IdentityProvider:
    """The configured provider (IDENTITY_BACKEND)."""
    return providers.find(IdentityProvider, settings)


__all__ = [
    "IdentityProvider",
    "ProviderUnavailable",
    "VerificationResult",
    "VerificationStarted",
    "provider_for",
]
