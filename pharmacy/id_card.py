"""The collector's resident ID card, read at the kiosk (二代身份证 reader): name, number and the
photo from the card's chip. The photo comes from the card, never from the collector's phone.

The reader is a device beside the kiosk screen, run by a small local service that reads the
chip through its certified security module and signs each reading with the key the hospital
issued to that kiosk (HMAC-SHA256 over the reading, the photo's SHA-256, the reader's id and
the time). The kiosk page passes the signed reading on; the server checks the signature with
the kiosk's key and that the reading is fresh. `sign()` is what the reader service (and the
fake reader of the tests and the demo) does.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from core.errors import DomainError

MAX_AGE = dt.timedelta(minutes=2)  # a reading is used right after the card is read
MAX_AHEAD = dt.timedelta(seconds=30)  # clock skew between the kiosk and the server
MAX_PHOTO_BYTES = 256 * 1024


class CardRefused(DomainError):
    code = "id_card_refused"
    status = 422
    title = "身份证读取结果无效，请重新读卡"


@dataclass(frozen=True)
class Reading:
    name: str
    id_number: str
    photo: bytes
    reader_id: str
    read_at: dt.datetime


def _message(name: str, id_number: str, photo: bytes, reader_id: str, read_at: int) -> bytes:
    fields = {
        "name": name,
        "id_number": id_number,
        "photo_sha256": hashlib.sha256(photo).hexdigest(),
        "reader_id": reader_id,
        "read_at": read_at,
    }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sign(
    name: str, id_number: str, photo: bytes, reader_id: str, read_at: int, key: str
) -> dict[str, Any]:
    """The reader's signed reading, as the kiosk page receives it."""
    mac = hmac.new(key.encode(), _message(name, id_number, photo, reader_id, read_at),
                   hashlib.sha256).hexdigest()  # fmt: skip
    return {"name": name, "id_number": id_number, "photo": base64.b64encode(photo).decode(),
            "reader_id": reader_id, "read_at": read_at, "signature": mac}  # fmt: skip


def verify(signed: str, key: str, now: dt.datetime) -> Reading:
    """The reading (the JSON the reader service answered), if this kiosk's reader signed it a
    moment ago; else refused."""
    try:
        payload = json.loads(signed)
    except ValueError:
        raise CardRefused("身份证读取结果无效，请重新读卡") from None
    if not isinstance(payload, dict):
        raise CardRefused("请先读取身份证")
    try:
        name, id_number = str(payload["name"]), str(payload["id_number"]).upper()
        reader_id, read_at = str(payload["reader_id"]), int(payload["read_at"])
        signature = str(payload["signature"])
        photo = base64.b64decode(str(payload["photo"]), validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise CardRefused("身份证读取结果格式错误") from None
    if not photo or len(photo) > MAX_PHOTO_BYTES:
        raise CardRefused("身份证照片无效")
    expected = hmac.new(key.encode(), _message(name, id_number, photo, reader_id, read_at),
                        hashlib.sha256).hexdigest()  # fmt: skip
    if not hmac.compare_digest(expected, signature):
        raise CardRefused("身份证读取结果未通过读卡器签名校验")
    at = dt.datetime.fromtimestamp(read_at, dt.UTC)
    if at < now - MAX_AGE or at > now + MAX_AHEAD:
        raise CardRefused("身份证读取已过期，请重新读卡")
    return Reading(name, id_number, photo, reader_id, at)
