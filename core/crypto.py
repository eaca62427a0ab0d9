"""Personal data at rest: authenticated encryption, keyed look-up hashes, masking.

Fields are sealed with AES-256-GCM under a key derived from DATA_KEY. Each column has its own
context string, bound into the ciphertext as associated data, so a value copied from one column
into another fails to open. Values that must be found (an ID number, a phone) are also stored as
an HMAC-SHA256 "blind index" under a separate derived key: equal values give equal digests, and
the digest reveals nothing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Dialect, LargeBinary
from sqlalchemy.types import TypeDecorator

FORMAT_VERSION = 1
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A sealed value could not be opened: wrong key, wrong column, or tampered bytes."""


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


@dataclass(frozen=True)
class DataKeys:
    encryption: bytes
    lookup: bytes

    @classmethod
    def from_master(cls, master: bytes) -> DataKeys:
        return cls(
            encryption=_derive(master, b"hospital field encryption v1"),
            lookup=_derive(master, b"hospital blind index v1"),
        )


_keys: DataKeys | None = None


def configure(master_key: bytes) -> None:
    """Set the process's data key; called by the app factory from DATA_KEY."""
    global _keys  # one key per process, set once at start-up
    _keys = DataKeys.from_master(master_key)


def _current() -> DataKeys:
    if _keys is None:
        raise RuntimeError("data key not configured: create the app first")
    return _keys


def seal(plaintext: str, context: str) -> bytes:
    return seal_bytes(plaintext.encode(), context)


def open_sealed(sealed: bytes, context: str) -> str:
    return open_sealed_bytes(sealed, context).decode()


def blind_index(value: str, context: str) -> str:
    """Keyed digest for equality look-ups; the context keeps columns apart."""
    message = context.encode() + b"\x00" + value.encode()
    return hmac.new(_current().lookup, message, hashlib.sha256).hexdigest()


class EncryptedText(TypeDecorator[str]):
    """A text column stored sealed; the Python side only ever sees clear text."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else seal(value, self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else open_sealed(bytes(value), self.context)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value (a list of red flags) stored sealed as its JSON text."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else seal(json.dumps(value, ensure_ascii=False), self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(open_sealed(bytes(value), self.context))


def mask_id_number(value: str) -> str:
    """110105198503141235 -> 110105********1235: region kept, birth date hidden."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the family name stays recognisable to the person."""
    if not value:
        return value
    return value[0] + "*" * max(len(value) - 1, 1)


def seal_bytes(plain: bytes, context: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    body = AESGCM(_current().encryption).encrypt(nonce, plain, context.encode())
    return bytes([FORMAT_VERSION]) + nonce + body


def open_sealed_bytes(sealed: bytes, context: str) -> bytes:
    if not sealed or sealed[0] != FORMAT_VERSION:
        raise DecryptionError("unknown sealed-value format")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(_current().encryption).decrypt(nonce, body, context.encode())
    except InvalidTag as exc:
        raise DecryptionError(f"cannot open value for {context}") from exc


class EncryptedBytes(TypeDecorator[bytes]):
    """A binary column (an uploaded document or photo) stored sealed."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> Any:
        return None if value is None else seal_bytes(value, self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else open_sealed_bytes(bytes(value), self.context)
