"""identity's providers (core.providers): face matching and identity verification."""

from __future__ import annotations

from core import providers
from core.settings import Settings
from identity import face
from identity.verification.interface import IdentityProvider, ProviderUnavailable


def _tencent(settings: Settings) -> IdentityProvider:
    """Tencent Cloud 人脸核身 (or its fake at FACEID_API_BASE); there is no fallback to photos
    the patient uploads."""
    if not settings.faceid_api_base:
        raise ProviderUnavailable("人脸核身服务未配置（FACEID_API_BASE）")
    from identity.verification.tencent import TencentFaceId

    return TencentFaceId(settings)


def register() -> None:
    providers.register(
        face.FaceEngine, "dlib", face.DlibEngine.from_settings, setting="face_backend"
    )
    providers.register(IdentityProvider, "tencent", _tencent, setting="identity_backend")
