"""Logging that never writes an ID number or a mobile number in clear."""

from __future__ import annotations

import logging
import re

from core.crypto import mask_id_number, mask_phone
from core.redact import redact

# 18-character resident ID numbers (last may be X) and mainland mobile numbers.
_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}\d{4}\d{3}[0-9Xx](?![0-9A-Za-z])"
)
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_personal_data(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _MOBILE.sub(lambda m: mask_phone(m.group(0)), text)
    return redact(text)  # and no secret either


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install() -> None:
    root = logging.getLogger()
    if not any(isinstance(f, PersonalDataFilter) for f in root.filters):
        root.addFilter(PersonalDataFilter())
    for handler in root.handlers:
        if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
            handler.addFilter(PersonalDataFilter())
