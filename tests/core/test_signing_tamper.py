"""Electronic signatures against a known key (RFC 8032, test 1): the signature is Ed25519 over
the canonical JSON, the fingerprint names the public key, and a signature fails verification
when one byte of it, of the content or of the key changes, or when it is not clean base64."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import signing

RFC_PRIVATE = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_FINGERPRINT = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"

CONTENT = {"prescription": "RX-1", "items": [{"drug": "氨氯地平", "dose": 5}], "days": 28}
# The canonical form, written out: sorted keys, no spaces, Chinese as it is.
CANONICAL = '{"days":28,"items":[{"dose":5,"drug":"氨氯地平"}],"prescription":"RX-1"}'


def expected_signature() -> str:
    raw = Ed25519PrivateKey.from_private_bytes(RFC_PRIVATE).sign(CANONICAL.encode())
    return base64.b64encode(raw).decode()


def test_the_algorithm_is_named() -> None:
    assert signing.ALGORITHM == "Ed25519"


def test_the_signature_is_over_the_canonical_json() -> None:
    assert signing.signing_bytes(CONTENT) == CANONICAL.encode()
    assert signing.sign(RFC_PRIVATE, CONTENT) == expected_signature()
    assert signing.verify(RFC_PUBLIC, CONTENT, expected_signature()) is True


def test_the_fingerprint_is_the_public_keys_sha256() -> None:
    assert signing.fingerprint(RFC_PUBLIC) == RFC_FINGERPRINT
    assert signing.KeyPair(RFC_PRIVATE, RFC_PUBLIC).fingerprint == RFC_FINGERPRINT


def test_a_generated_key_pair_signs_and_verifies() -> None:
    pair = signing.generate()
    assert len(pair.private_raw) == 32
    assert len(pair.public_raw) == 32
    signature = signing.sign(pair.private_raw, CONTENT)
    assert signing.verify(pair.public_raw, CONTENT, signature) is True
    assert len(pair.fingerprint) == 64
    other = signing.generate()
    assert other.private_raw != pair.private_raw
    assert signing.verify(other.public_raw, CONTENT, signature) is False


@pytest.mark.parametrize("at", [0, 1, 31, 32, 63])
def test_one_changed_byte_of_the_signature_fails(at: int) -> None:
    raw = bytearray(base64.b64decode(expected_signature()))
    raw[at] ^= 0x01
    assert signing.verify(RFC_PUBLIC, CONTENT, base64.b64encode(bytes(raw)).decode()) is False


def test_a_changed_content_fails() -> None:
    signature = expected_signature()
    changed = {**CONTENT, "days": 29}
    assert signing.verify(RFC_PUBLIC, changed, signature) is False
    assert signing.verify(RFC_PUBLIC, {**CONTENT, "extra": None}, signature) is False


def test_another_key_fails() -> None:
    key = bytearray(RFC_PUBLIC)
    key[0] ^= 0x01
    assert signing.verify(bytes(key), CONTENT, expected_signature()) is False


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "not base64!",
        "@@@@",
        expected_signature()[:-4],
    ],
)
def test_a_malformed_signature_fails_without_raising(signature: str) -> None:
    assert signing.verify(RFC_PUBLIC, CONTENT, signature) is False


def test_a_signature_with_stray_characters_is_not_accepted() -> None:
    good = expected_signature()
    assert signing.verify(RFC_PUBLIC, CONTENT, good[:10] + "\n" + good[10:]) is False
    assert signing.verify(RFC_PUBLIC, CONTENT, good + "!") is False


def test_a_malformed_public_key_fails_without_raising() -> None:
    assert signing.verify(RFC_PUBLIC[:31], CONTENT, expected_signature()) is False
