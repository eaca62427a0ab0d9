"""Personal data: sealed at rest, found by keyed hash, masked for display and logs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.orm import Session

from core import crypto
from core.crypto import DecryptionError, EncryptedText, blind_index
from core.logging import PersonalDataFilter, mask_personal_data

ID_NUMBER = "110105198503141235"
PHONE = "13812345678"


def _people_table() -> Table:
    return Table(
        "people_under_test",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("id_number", EncryptedText("test.people.id_number")),
        Column("id_number_index", String(64)),
    )


def test_no_clear_id_number_in_the_database(session: Session) -> None:
    people = _people_table()
    people.create(session.connection())
    session.execute(
        people.insert(),
        {"id": 1, "id_number": ID_NUMBER, "id_number_index": blind_index(ID_NUMBER, "id")},
    )
    raw = session.execute(text("SELECT id_number, id_number_index FROM people_under_test")).one()
    stored = bytes(raw.id_number)
    assert ID_NUMBER.encode() not in stored
    assert b"19850314" not in stored  # not even the birth date
    assert ID_NUMBER not in raw.id_number_index
    # The application still reads it back, and finds the person by the keyed hash.
    found = session.execute(
        select(people.c.id, people.c.id_number).where(
            people.c.id_number_index == blind_index(ID_NUMBER, "id")
        )
    ).one()
    assert found == (1, ID_NUMBER)


def test_same_value_seals_differently_each_time() -> None:
    assert crypto.seal(ID_NUMBER, "c") != crypto.seal(ID_NUMBER, "c")


def test_value_moved_to_another_column_does_not_open() -> None:
    sealed = crypto.seal(ID_NUMBER, "identity.patient.id_number")
    assert crypto.open_sealed(sealed, "identity.patient.id_number") == ID_NUMBER
    with pytest.raises(DecryptionError):
        crypto.open_sealed(sealed, "identity.patient.phone")


def test_tampered_value_does_not_open() -> None:
    sealed = bytearray(crypto.seal(ID_NUMBER, "c"))
    sealed[-1] ^= 0x01
    with pytest.raises(DecryptionError):
        crypto.open_sealed(bytes(sealed), "c")


def test_blind_index_depends_on_key_and_context() -> None:
    assert blind_index(ID_NUMBER, "a") == blind_index(ID_NUMBER, "a")
    assert blind_index(ID_NUMBER, "a") != blind_index(ID_NUMBER, "b")
    assert blind_index(ID_NUMBER, "a") != blind_index("110105198503141236", "a")


@pytest.mark.parametrize(
    ("value", "masked"),
    [("110105198503141235", "110105********1235"), ("11010519920311001X", "110105********001X")],
)
def test_id_number_mask(value: str, masked: str) -> None:
    assert crypto.mask_id_number(value) == masked


def test_phone_and_name_masks() -> None:
    assert crypto.mask_phone(PHONE) == "138****5678"
    assert crypto.mask_name("张三") == "张*"
    assert crypto.mask_name("欧阳娜娜") == "欧***"


def test_logs_never_carry_clear_id_numbers_or_phones(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.personal")
    logger.addFilter(PersonalDataFilter())
    with caplog.at_level(logging.INFO, logger="test.personal"):
        logger.info("patient %s phone %s registered", ID_NUMBER, PHONE)
    assert ID_NUMBER not in caplog.text
    assert PHONE not in caplog.text
    assert "110105********1235" in caplog.text
    assert "138****5678" in caplog.text


def test_masking_leaves_other_numbers_alone() -> None:
    assert mask_personal_data("order 12345, amount 99") == "order 12345, amount 99"
