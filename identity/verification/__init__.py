"""Identity verification against the authoritative source (人证比对 / 人脸核身).

The patient proves they are the person behind a name and ID number by a liveness check whose
face the provider compares with the public-security photo of that ID number. The patient never
supplies the reference photo. One interface (interface.py), the adapter for Tencent Cloud
人脸核身 (tencent.py), and a fake of that service for tests and the demo (fake_server.py);
`provider_for(settings)` is the one place that chooses.
"""

from __future__ import annotations

from core.settings import Settings
from identity.verification.interface import (
    IdentityProvider,
    ProviderUnavailable,
    VerificationResult,
    VerificationStarted,
)


def provider_for(settings: Settings) -> IdentityProvider:
    """The configured provider; there is no fallback to photos the patient uploads."""
    if not settings.faceid_api_base:
        raise ProviderUnavailable("人脸核身服务未配置（FACEID_API_BASE）")
    from identity.verification.tencent import TencentFaceId

    return TencentFaceId(settings)


__all__ = [
    "IdentityProvider",
    "ProviderUnavailable",
    "VerificationResult",
    "VerificationStarted",
    "provider_for",
]
