"""The single-use code a pharmacy redeems an approved prescription with: printed as a QR code
and as text on the document (a kiosk scans it or the patient types it). 80 random bits in
Crockford's base32, without the letters people misread, grouped in fours."""

from __future__ import annotations

import secrets
import unicodedata

from core.crypto import blind_index

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
LENGTH = 16
CONTEXT = "prescriptions.redemption_code"
# What people type for what they see: O for 0, I and L for 1.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(text: str) -> str | None:
    """The code as stored, from what was scanned or typed (case, spaces, dashes, O/0, I/1),
    or None if it cannot be one."""
    plain = unicodedata.normalize("NFKC", text).upper().translate(_READ_AS)
    plain = "".join(ch for ch in plain if ch not in " -")
    if len(plain) != LENGTH or any(ch not in ALPHABET for ch in plain):
        return None
    return "-".join(plain[i : i + 4] for i in range(0, LENGTH, 4))


def index_of(code: str) -> str:
    return blind_index(code, CONTEXT)
