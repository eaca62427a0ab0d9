"""Resident ID numbers (GB 11643-1999) and mobile numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.rules import (
    PROVINCE_CODES,
    InvalidIdNumber,
    InvalidPhone,
    Sex,
    id_check_char,
    normalise_phone,
    parse_id_number,
)
from tests.people import id_number

TODAY = dt.date(2026, 11, 25)


@pytest.mark.parametrize(
    ("number", "birth", "sex"),
    [
        ("110105198503141235", dt.date(1985, 3, 14), Sex.male),
        ("310104199007084564", dt.date(1990, 7, 8), Sex.female),
        ("440305197811220878", dt.date(1978, 11, 22), Sex.male),
        ("33010619650201235X", dt.date(1965, 2, 1), Sex.male),
        ("11010519491231002X", dt.date(1949, 12, 31), Sex.female),
        ("440524188001010014", dt.date(1880, 1, 1), Sex.male),
        ("320102202301150116", dt.date(2023, 1, 15), Sex.male),
    ],
)
def test_valid_numbers_give_birth_date_and_sex(number: str, birth: dt.date, sex: Sex) -> None:
    parsed = parse_id_number(number, TODAY)
    assert (parsed.birth_date, parsed.sex) == (birth, sex)


def test_lower_case_x_full_width_and_spaces_are_normalised() -> None:
    assert parse_id_number("11010519920311001x", TODAY).value == "11010519920311001X"
    assert parse_id_number(" 1101 0519 9203 1100 1x ", TODAY).value == "11010519920311001X"
    assert (
        parse_id_number("１１０１０５１９８５０３１４１２３５", TODAY).value == "110105198503141235"
    )


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105198503141234", "校验位"),
        ("110105198502301230", "出生日期不存在"),
        ("110105202712011234", "晚于今天"),
        ("110105850314123", "15 位"),
        ("1101051985031412", "18 位"),
        ("11010519850314123A", "只能由数字"),
        ("010105198503141235", "只能由数字"),
        ("990105198503141235", "地址码"),
    ],
)
def test_invalid_numbers_say_why(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as refused:
        parse_id_number(number, TODAY)
    assert refused.value.code == "invalid_id_number"
    assert reason in refused.value.detail


def test_age_on_birthday_boundary() -> None:
    child = parse_id_number("320102202301150116", TODAY)
    assert child.age_on(dt.date(2029, 1, 14)) == 5
    assert child.age_on(dt.date(2029, 1, 15)) == 6


_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
_bodies = st.tuples(
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.integers(0, 9999),
    _dates,
    st.integers(0, 999),
).map(lambda t: f"{t[0]}{t[1]:04d}{t[2]:%Y%m%d}{t[3]:03d}")


def _check(body: str) -> str:
    """The check character by GB 11643's own table, not the app's function."""
    born = dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    return id_number(born, body[:6], body[14:])[-1]


@given(_bodies)
def test_every_number_with_the_right_check_character_passes(body: str) -> None:
    number = body + _check(body)
    assert id_check_char(body) == _check(body)
    assert parse_id_number(number, TODAY).value == number


@given(_bodies, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_character_change_fails(body: str, position: int, replacement: str) -> None:
    number = body + _check(body)
    if number[position] == replacement:
        replacement = "X" if replacement != "X" else "0"
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(InvalidIdNumber):
        parse_id_number(changed, TODAY)


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "0086-13812345678"])
def test_mobile_numbers(phone: str) -> None:
    assert normalise_phone(phone) == "13812345678"


@pytest.mark.parametrize("phone", ["", "1381234567", "23812345678", "12812345678", "010-12345678"])
def test_bad_mobile_numbers(phone: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise_phone(phone)
