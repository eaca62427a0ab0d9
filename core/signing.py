"""Electronic signatures: Ed25519 over the canonical JSON of what is signed.

A signature names the key that made it by the key's fingerprint (SHA-256 of the raw public
key), so an old signature still verifies after its signer's key has been rotated.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from core.canonical import canonical_json

ALGORITHM = "Ed25519"


@dataclass(frozen=True)
class KeyPair:
    private_raw: bytes
    public_raw: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_raw)


def generate() -> KeyPair:
    private = Ed25519PrivateKey.generate()
    return KeyPair(
        private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
        private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )


def fingerprint(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()


def signing_bytes(content: Any) -> bytes:
    return canonical_json(content).encode()


def sign(private_raw: bytes, content: Any) -> str:
    """Base64 signature over the canonical form of `content`."""
    signature = Ed25519PrivateKey.from_private_bytes(private_raw).sign(signing_bytes(content))
    return base64.b64encode(signature).decode()


def verify(public_raw: bytes, content: Any, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, signing_bytes(content))
    except (InvalidSignature, ValueError):
        return False
    return True
