"""Settings read from the environment by the app factory, never at import time."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import ConfigError

# Used only in demo mode, so that the demo SQLite file stays readable across restarts.
# Outside demo mode the service refuses to start with these values.
DEMO_SECRET_KEY = "demo-secret-key-not-for-production"  # noqa: S105 - refused outside demo
# Demo mode answers on /wechat/callback with these (`hospital wechat say` signs with them).
DEMO_OA = {
    "wechat_oa_token": "demo-oa-token",
    "wechat_oa_app_id": "wx-demo-oa",
    "wechat_oa_plaintext_allowed": True,
    # The demo's fake 人脸核身, started by `hospital serve` in demo mode (identity.verification).
    "faceid_api_base": "http://127.0.0.1:8790",
    "faceid_secret_id": "demo-faceid-id",
    "faceid_secret_key": "demo-faceid-key",
    "faceid_rule_id": "1",
}
DEMO_DATA_KEY = base64.urlsafe_b64encode(b"demo-data-key-not-for-production").decode()

TRUE_VALUES = {"1", "true", "yes", "on"}
MIN_SECRET_KEY_LENGTH = 32


def _default_database_url(instance_path: Path) -> str:
    return f"sqlite:///{instance_path / 'hospital.sqlite3'}"


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    secret_key: str
    data_key: bytes
    demo_mode: bool
    # Tasks run in process when there is no broker; tests may force it with a broker present.
    celery_eager: bool
    api_token_ttl_seconds: int = 12 * 3600
    login_max_failures: int = 5
    login_lockout_seconds: int = 15 * 60
    # Password attempts per client address (web.rate_limits), all usernames together.
    sign_in_rate_limit: str = "10 per minute;60 per hour"
    # How many proxies in front add X-Forwarded-For (0: none; the client's address is the peer).
    trusted_proxies: int = 0
    outbox_max_attempts: int = 12
    outbox_backoff_base_seconds: float = 5.0
    outbox_backoff_max_seconds: float = 3600.0
    outbox_http_timeout_seconds: float = 10.0
    # Which backend serves each outside service (core.providers): a name a package registered.
    face_backend: str = "dlib"
    identity_backend: str = "tencent"
    courier_backend: str = "http"
    platform_backend: str = "fhir"
    wechat_backend: str = "wechatpy"
    # Face matching (identity.face): distance threshold, smallest face, attempts per day.
    face_match_threshold: float = 0.5
    face_min_size_px: int = 80
    face_attempts_per_day: int = 5
    # The kiosk compares its camera with the small photo on an ID card's chip (102×126 px):
    # measured on the test faces, the same person at 0.50–0.53, another at 0.68; the library's
    # own default is 0.6. To calibrate on real card photos before go-live.
    face_card_match_threshold: float = 0.55
    # 人脸核身 (Tencent Cloud FaceId): a patient's live face against the public-security photo.
    # FACEID_API_BASE is "faceid.tencentcloudapi.com", or the fake's http://127.0.0.1:port.
    faceid_api_base: str = ""
    faceid_secret_id: str = ""
    faceid_secret_key: str = ""
    faceid_rule_id: str = ""
    faceid_region: str = "ap-guangzhou"
    faceid_timeout_seconds: float = 10.0
    # How long a practitioner's face check unlocks clinical actions.
    face_check_ttl_seconds: int = 30 * 60
    # WeChat mini-program; WECHAT_API_BASE points every WeChat host elsewhere (tests, proxies).
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_timeout_seconds: float = 5.0
    # The Official Account (公众号): its AppID/secret, the callback token and, for the
    # encrypted (safe) mode, its EncodingAESKey.
    wechat_oa_app_id: str = ""
    wechat_oa_app_secret: str = ""
    wechat_oa_token: str = ""
    wechat_oa_aes_key: str = ""
    # Plaintext (明文) callbacks carry no signature over the body; only the demo accepts them.
    wechat_oa_plaintext_allowed: bool = False
    # The Official Account's template for notifications (first/keyword1/keyword2/remark).
    wechat_oa_template_id: str = ""
    # The mini-program's subscribe-message template (thing1 title, thing2 detail, time3 when),
    # for patients who do not follow the Official Account.
    wechat_mp_template_id: str = ""
    # Return visits: how old an offline diagnosis may be, how long a request waits for a doctor.
    return_visit_window_days: int = 365
    consultation_accept_timeout_seconds: int = 30 * 60
    # Prescriptions: a signed prescription waiting longer than this for review is escalated.
    review_escalation_seconds: int = 30 * 60
    # The hospital platform (referrals, FHIR R4) and the provincial supervision platform.
    hospital_platform_url: str = ""
    platform_callback_secret: str = ""
    supervision_url: str = ""
    # The courier for deliveries: orders are POSTed to {url}/orders; its updates are signed.
    courier_url: str = ""
    courier_callback_secret: str = ""
    # The ID card reader service beside each kiosk screen (pharmacy/id_card.py): the kiosk page
    # asks it for a signed reading of the card on the reader.
    kiosk_reader_url: str = "http://127.0.0.1:18889/read"
    # The audit trail (core.audit_chain): AUDIT_KEY keys the chain's links and signs its
    # checkpoints (without it, a key derived from DATA_KEY); the checkpoint file belongs on
    # another volume; the supervision platform receives a checkpoint every few minutes.
    audit_key: bytes = b""
    audit_checkpoint_file: str = ""
    audit_seal_bound_seconds: int = 30
    audit_push_every_seconds: int = 300
    supervision_audit_url: str = ""
    # The role the service connects as; `hospital db upgrade` (run as the owner) grants it.
    app_db_role: str = ""
    # Seal right after each commit (in process, the demo) rather than on beat's schedule.
    audit_seal_after_commit: bool = False
    # The printed prescription (处方管理办法 附件): the hospital's 处方专用章 as a PNG, and a
    # directory of handwritten-signature PNGs named by practitioner licence number. Optional:
    # the electronic signatures are what make a prescription valid; these are for the paper.
    prescription_seal_image: str = ""
    signature_images_dir: str = ""

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        instance_path: Path,
        override: Mapping[str, Any] | None = None,
    ) -> Settings:
        override = dict(override or {})
        demo_mode = _flag(override.pop("DEMO_MODE", environ.get("DEMO_MODE", "")))
        redis_url = override.pop("REDIS_URL", environ.get("REDIS_URL") or None)
        secret_key = override.pop("SECRET_KEY", environ.get("SECRET_KEY") or None)
        data_key_text = override.pop("DATA_KEY", environ.get("DATA_KEY") or None)
        if not demo_mode:
            if not secret_key or DEMO_SECRET_KEY in secret_key:
                raise ConfigError("SECRET_KEY must be set to a private value outside demo mode")
            if len(secret_key) < MIN_SECRET_KEY_LENGTH or len(set(secret_key)) < 8:
                raise ConfigError(
                    f"SECRET_KEY is too weak: use at least {MIN_SECRET_KEY_LENGTH} random "
                    "characters (python -c 'import secrets; print(secrets.token_hex(32))')"
                )
            # Compared as keys, not as text: the demo key written another way is the demo key.
            if not data_key_text or decode_data_key(data_key_text) == decode_data_key(
                DEMO_DATA_KEY
            ):
                raise ConfigError("DATA_KEY must be set to a private key outside demo mode")
        data_key = decode_data_key(data_key_text or DEMO_DATA_KEY)
        audit_key_text = override.pop("AUDIT_KEY", environ.get("AUDIT_KEY") or None)
        audit_key = (
            decode_data_key(audit_key_text, "AUDIT_KEY")
            if audit_key_text
            else _derive(data_key, b"hospital audit key")
        )
        if not demo_mode and audit_key == _derive(
            decode_data_key(DEMO_DATA_KEY), b"hospital audit key"
        ):
            raise ConfigError("AUDIT_KEY must be set to a private key outside demo mode")
        eager_default = redis_url is None
        celery_eager = _flag(override.pop("CELERY_EAGER", environ.get("CELERY_EAGER", "")))
        values: dict[str, Any] = {
            "database_url": override.pop(
                "DATABASE_URL",
                environ.get("DATABASE_URL") or _default_database_url(instance_path),
            ),
            "redis_url": redis_url,
            "secret_key": secret_key or DEMO_SECRET_KEY,
            "data_key": data_key,
            "demo_mode": demo_mode,
            "celery_eager": celery_eager or eager_default,
            "audit_key": audit_key,
            "audit_checkpoint_file": override.pop(
                "AUDIT_CHECKPOINT_FILE",
                environ.get("AUDIT_CHECKPOINT_FILE")
                or str(instance_path / "audit-checkpoints.jsonl"),
            ),
        }
        if "AUDIT_SEAL_AFTER_COMMIT" not in override and not environ.get("AUDIT_SEAL_AFTER_COMMIT"):
            values["audit_seal_after_commit"] = values["celery_eager"]
        if demo_mode:
            for name, value in DEMO_OA.items():
                if not override.get(name.upper()) and not environ.get(name.upper()):
                    values[name] = value
        for field in dataclasses.fields(cls):
            if field.name in values:
                continue
            name = field.name.upper()
            if name in override:
                values[field.name] = override[name]
            elif environ.get(name):
                values[field.name] = _convert(environ[name], field.default)
        return cls(**values)


def decode_data_key(text: str, name: str = "DATA_KEY") -> bytes:
    """DATA_KEY (and AUDIT_KEY) is 32 random bytes in URL-safe base64 (`hospital gen-key`)."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except ValueError as exc:
        raise ConfigError(f"{name} is not valid base64") from exc
    if len(key) != 32:
        raise ConfigError(f"{name} must decode to 32 bytes")
    return key


def _derive(key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, purpose, hashlib.sha256).digest()


def _convert(text: str, default: object) -> object:
    """Environment text as the type of the setting's default."""
    try:
        if isinstance(default, bool):
            return _flag(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError as exc:
        raise ConfigError(f"cannot read {text!r} as {type(default).__name__}") from exc
    return text


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE_VALUES


def environ() -> Mapping[str, str]:
    return os.environ
