"""Black-box attacks on the drug-dictionary import (药品字典导入): what a careless or hostile CSV
or XLSX does to `POST /api/v1/formulary/imports` and its preview.

The rule these tests hold the service to: a file is either imported exactly as written, or
refused whole with a 4xx RFC 9457 problem (a `code`, a Chinese `detail`; for bad lines 422
`formulary_invalid` with an `errors` list naming each line) and nothing changes. Never a 5xx,
never a value the file did not say, never a controlled drug that becomes prescribable.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import time
import zipfile
from collections.abc import Iterable
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from identity.models import Role
from prescriptions.models import Drug, FormularyVersion
from tests import factories
from tests.followup.helpers import doctor_headers, patient_with_diagnosis, start_visit
from tests.helpers import bearer, sign_in
from tests.prescriptions.test_formulary import AMLODIPINE, HEADER

IMPORT = "/api/v1/formulary/imports"
PREVIEW = "/api/v1/formulary/imports/preview"
CJK = re.compile(r"[\u3400-\u9fff]")
COL = {label: i for i, label in enumerate(HEADER)}

METFORMIN = ["盐酸二甲双胍片", "格华止", "二甲双胍", "国药准字J20180027", ""]
METFORMIN += ["0.5g", "片", "片", "mg", "500", "20", "盒", "口服", "A10BA02", "8.80", "Rx", ""]


# --- building files ------------------------------------------------------------------------


def _row(base: list[str] = AMLODIPINE, **changes: str) -> list[str]:
    """A copy of `base` with columns replaced by label, e.g. _row(**{"单价（元）": "-1"})."""
    row = list(base)
    for label, value in changes.items():
        row[COL[label]] = value
    return row


def _csv_text(rows: Iterable[list[Any]], header: list[str] = HEADER, newline: str = "\r\n") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows([header, *rows])
    return out.getvalue()


def _csv(rows: Iterable[list[Any]], header: list[str] = HEADER, encoding: str = "utf-8") -> bytes:
    return _csv_text(rows, header).encode(encoding)


def _xlsx(rows: Iterable[list[Any]], header: list[str] | None = HEADER, before: int = 0) -> bytes:
    """A workbook; `before` empty sheets come first."""
    book = Workbook()
    first = book.active
    assert first is not None
    sheets = [first, *(book.create_sheet(f"Sheet{i + 2}") for i in range(before))]
    data = sheets[-1]
    if header is not None:
        data.append(header)
    for row in rows:
        data.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_numbers(row: list[str]) -> list[Any]:
    """A row as Excel keeps it: numbers as numbers."""
    return [float(c) if c.replace(".", "", 1).isdigit() else c for c in row]


# --- posting and checking ------------------------------------------------------------------


def _admin(session: Session) -> dict[str, str]:
    return bearer(session, Role.admin)


def _post(
    client: FlaskClient, headers: dict[str, str], data: bytes, name: str, url: str = IMPORT
) -> Any:
    return client.post(
        url,
        headers=headers,
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _counts(session: Session) -> tuple[int, int]:
    session.expire_all()
    drugs = session.scalar(select(func.count()).select_from(Drug))
    versions = session.scalar(select(func.count()).select_from(FormularyVersion))
    return int(drugs or 0), int(versions or 0)


def _describe(response: Any) -> str:
    body = response.get_data(as_text=True)
    return f"{response.status_code} {response.mimetype} {body[:600]}"


def _assert_problem(response: Any, session: Session, before: tuple[int, int]) -> dict:
    """A refusal: 4xx, an RFC 9457 problem with a code and a Chinese detail, nothing changed."""
    assert 400 <= response.status_code < 500, _describe(response)
    assert response.mimetype == "application/problem+json", _describe(response)
    body = response.get_json(silent=True)
    assert isinstance(body, dict), _describe(response)
    assert body.get("code"), _describe(response)
    assert isinstance(body.get("detail"), str), _describe(response)
    assert CJK.search(body["detail"]), _describe(response)
    assert _counts(session) == before, "a refused file changed the formulary"
    return body


def _assert_invalid(
    response: Any, session: Session, before: tuple[int, int], line: int | None = None
) -> dict:
    """Refused as a bad dictionary: 422 formulary_invalid. With `line`, the `errors` list must
    name that line; without (a file that cannot be read at all), a Chinese detail is enough."""
    body = _assert_problem(response, session, before)
    assert response.status_code == 422, _describe(response)
    assert body["code"] == "formulary_invalid", _describe(response)
    errors = body.get("errors")
    if line is None and errors is None:
        return body
    assert isinstance(errors, list), _describe(response)
    assert errors, _describe(response)
    assert all(isinstance(e, str) and CJK.search(e) for e in errors), errors
    if line is not None:
        assert any(f"第 {line} 行" in e for e in errors), errors
    return body


def _assert_unreadable(response: Any, session: Session, before: tuple[int, int]) -> dict:
    """A file refused as a whole (unreadable, empty, wrong kind): a 4xx problem, no change."""
    body = _assert_problem(response, session, before)
    assert response.status_code in (400, 413, 415, 422), _describe(response)
    return body


def _refused_both(
    client: FlaskClient,
    session: Session,
    data: bytes,
    name: str,
    line: int | None = None,
) -> None:
    """The preview and the import both refuse the file, and nothing changes. With `line`, as a
    bad line (422 formulary_invalid naming it); without, as a file that cannot be read."""
    admin = _admin(session)
    before = _counts(session)
    failures = []
    for url in (PREVIEW, IMPORT):
        response = _post(client, admin, data, name, url)
        try:
            if line is None:
                _assert_unreadable(response, session, before)
            else:
                _assert_invalid(response, session, before, line)
        except AssertionError as failed:
            failures.append(f"{url}: {str(failed).splitlines()[0]}")
    assert not failures, "\n".join(failures)


def _accepted_or_refused(
    client: FlaskClient, session: Session, data: bytes, name: str, line: int | None = 2
) -> Drug | None:
    """Either refused cleanly (None), or imported: then the one drug it made is returned."""
    admin = _admin(session)
    before = _counts(session)
    response = _post(client, admin, data, name)
    assert response.status_code < 500, _describe(response)
    if response.status_code != 201:
        if line is None:
            _assert_unreadable(response, session, before)
        else:
            _assert_invalid(response, session, before, line)
        return None
    return _only_drug(session)


def _only_drug(session: Session) -> Drug:
    session.expire_all()
    return session.scalars(select(Drug)).one()


# --- CSV / formula injection ----------------------------------------------------------------

FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1)", '@HYPERLINK("http://evil.example/?x","点击")', "-2+3"]


@pytest.mark.parametrize("payload", FORMULAS)
@pytest.mark.parametrize("field", ["通用名", "商品名"])
def test_formula_injection_is_refused_or_kept_as_plain_text(
    client: FlaskClient, session: Session, field: str, payload: str
) -> None:
    drug = _accepted_or_refused(client, session, _csv([_row(**{field: payload})]), "f.csv")
    if drug is None:
        return
    if field == "通用名":
        assert drug.generic_name == payload
    else:
        # 商品名 may list several brands split by "|"; joined back they must be the text.
        assert "|".join(drug.brands) == payload, drug.brands


def test_a_formula_in_an_xlsx_name_cell_is_refused_or_kept_as_text(
    client: FlaskClient, session: Session
) -> None:
    # openpyxl writes a string that starts with "=" as a formula cell (no cached value).
    payload = '=HYPERLINK("http://evil.example","安全药")'
    row = _xlsx_numbers(_row(**{"通用名": payload}))
    drug = _accepted_or_refused(client, session, _xlsx([row]), "f.xlsx")
    if drug is not None:
        assert drug.generic_name == payload


def test_an_accepted_formula_name_is_not_exported_as_a_live_formula(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    """If `=cmd|…` is stored as a name, `drugs export` must not hand it back to Excel as a cell
    that starts with = + - @ (OWASP CSV injection)."""
    payload = "=cmd|' /C calc'!A0"
    drug = _accepted_or_refused(client, session, _csv([_row(**{"通用名": payload})]), "f.csv")
    if drug is None:
        return
    exported = CliRunner().invoke(
        cli_group(), ["drugs", "export"], obj=ScriptInfo(create_app=lambda: app)
    )
    assert exported.exit_code == 0, exported.output
    cells = [c for line in csv.reader(io.StringIO(exported.output)) for c in line]
    live = [c for c in cells if c[:1] in ("=", "+", "@") or c.startswith("=cmd")]
    assert not live, f"exported CSV has live formula cells: {live}"


def cli_group() -> Any:
    from web.cli import cli

    return cli


# --- XLSX that is not what it says ----------------------------------------------------------

_BOMB: bytes | None = None


def _zip_bomb() -> bytes:
    """A real workbook whose first sheet inflates to 512 MB (one gigantic inline string)."""
    global _BOMB
    if _BOMB is not None:
        return _BOMB
    valid = _xlsx([_xlsx_numbers(AMLODIPINE)])
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(valid)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb,
    ):
        for item in source.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(item, source.read(item))
                continue
            with bomb.open(item.filename, "w", force_zip64=True) as sheet:
                ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
                head = "".join(
                    f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>'
                    for i, h in enumerate(HEADER)
                )
                sheet.write(
                    f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}"><sheetData>'
                    f'<row r="1">{head}</row><row r="2"><c r="A2" t="inlineStr"><is><t>'.encode()
                )
                chunk = b"A" * (1 << 20)
                for _ in range(512):
                    sheet.write(chunk)
                sheet.write(b"</t></is></c></row></sheetData></worksheet>")
    _BOMB = out.getvalue()
    return _BOMB


def test_an_xlsx_zip_bomb_is_refused_quickly(client: FlaskClient, session: Session) -> None:
    data = _zip_bomb()
    assert len(data) < 2 * 1024 * 1024
    before = _counts(session)
    started = time.monotonic()
    response = _post(client, _admin(session), data, "bomb.xlsx")
    took = time.monotonic() - started
    _assert_problem(response, session, before)
    assert response.status_code in (413, 422), _describe(response)
    # Refusing on the declared size takes milliseconds; inflating 512 MB takes seconds (and
    # about a gigabyte of memory per request).
    assert took < 5, f"the bomb took {took:.1f} s to refuse: {_describe(response)}"


def test_an_xlsx_with_an_xml_entity_bomb_is_refused(client: FlaskClient, session: Session) -> None:
    """Billion laughs inside the sheet XML."""
    valid = _xlsx([_xlsx_numbers(AMLODIPINE)])
    lol = '<!ENTITY a0 "哈哈哈哈哈哈哈哈哈哈">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE worksheet [{lol}]>'
        f'<worksheet xmlns="{ns}"><sheetData><row r="1">'
        f'<c r="A1" t="inlineStr"><is><t>&a9;</t></is></c></row></sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(valid)) as source, zipfile.ZipFile(out, "w") as evil:
        for item in source.infolist():
            body = sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" else None
            evil.writestr(item, body if body is not None else source.read(item))
    started = time.monotonic()
    _refused_both(client, session, out.getvalue(), "lol.xlsx")
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("not-a-zip.xlsx", "这不是一个压缩包，只是一段文字".encode()),
        ("truncated.xlsx", b"PK\x03\x04\x14\x00\x00\x00\x08\x00"),
        ("empty.xlsx", b""),
    ],
)
def test_an_xlsx_that_is_not_a_zip_is_refused(
    client: FlaskClient, session: Session, name: str, data: bytes
) -> None:
    _refused_both(client, session, data, name)


def test_a_zip_without_a_workbook_is_refused(client: FlaskClient, session: Session) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "药品字典在另一个文件里")
        archive.writestr("药品字典.csv", _csv_text([AMLODIPINE]))
    _refused_both(client, session, out.getvalue(), "药品字典.xlsx")


def test_a_workbook_whose_first_sheet_is_empty_is_refused(
    client: FlaskClient, session: Session
) -> None:
    """Only the first sheet is the dictionary; the data hiding in the second is not read."""
    data = _xlsx([_xlsx_numbers(AMLODIPINE)], before=1)
    _refused_both(client, session, data, "two-sheets.xlsx")


def test_a_workbook_with_nothing_at_all_is_refused(client: FlaskClient, session: Session) -> None:
    _refused_both(client, session, _xlsx([], header=None), "blank.xlsx")


def test_a_formula_in_the_price_cell_is_refused(client: FlaskClient, session: Session) -> None:
    row = _xlsx_numbers(AMLODIPINE)
    row[COL["单价（元）"]] = "=1+1"
    _refused_both(client, session, _xlsx([row]), "formula.xlsx", line=2)


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("单价（元）", dt.datetime.fromisoformat("2024-01-12T00:00:00")),
        ("包装数量", dt.date(1900, 1, 28)),
        ("单位剂量", dt.time(0, 5)),
    ],
)
def test_a_date_in_a_numeric_xlsx_cell_is_refused(
    client: FlaskClient, session: Session, label: str, value: Any
) -> None:
    row = _xlsx_numbers(AMLODIPINE)
    row[COL[label]] = value
    _refused_both(client, session, _xlsx([row]), "dates.xlsx", line=2)


@pytest.mark.parametrize(("price", "fen"), [(1.15, 115), (19.99, 1999), (0.29, 29), (12.5, 1250)])
def test_an_xlsx_price_kept_as_a_float_reads_to_the_exact_fen(
    client: FlaskClient, session: Session, price: float, fen: int
) -> None:
    """Excel keeps 1.15 as a binary float (1.149999…); that is still ¥1.15, not a bad line."""
    row = _xlsx_numbers(AMLODIPINE)
    row[COL["单价（元）"]] = price
    response = _post(client, _admin(session), _xlsx([row]), "floats.xlsx")
    assert response.status_code == 201, _describe(response)
    assert _only_drug(session).price_fen == fen


# --- numbers ---------------------------------------------------------------------------------

BAD_NUMBERS = ["NaN", "inf", "-Infinity", "1e309", "-5", "99999999999999999999"]


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("label", ["单价（元）", "单位剂量", "包装数量", "最大日剂量"])
def test_impossible_numbers_are_refused(
    client: FlaskClient, session: Session, label: str, value: str
) -> None:
    _refused_both(client, session, _csv([_row(**{label: value})]), "numbers.csv", line=2)


@pytest.mark.parametrize("value", ["10mg", "十", "10\x00", "1O", "10 10"])
def test_an_unreadable_maximum_daily_dose_is_not_silently_dropped(
    client: FlaskClient, session: Session, value: str
) -> None:
    """最大日剂量 is a safety limit: a value that cannot be read is a bad line, not 'no limit'."""
    data = _csv([_row(**{"最大日剂量": value})])
    drug = _accepted_or_refused(client, session, data, "max.csv")
    if drug is not None:
        assert drug.max_daily_dose == 10, f"{value!r} stored as {drug.max_daily_dose!r}"


@pytest.mark.parametrize("price", ["-12.50", "12.345", "100000000", "0x10", "12.50.1", "12.50-"])
def test_bad_prices_are_refused(client: FlaskClient, session: Session, price: str) -> None:
    data = _csv([AMLODIPINE, _row(METFORMIN, **{"单价（元）": price})])
    _refused_both(client, session, data, "prices.csv", line=3)


@pytest.mark.parametrize(
    ("price", "fen"),
    [
        ("¥12.50", 1250),
        ("￥12.50", 1250),
        ("12.50元", 1250),
        ("¥12.50元", 1250),
        (" 12.50 ", 1250),
        ("１２.５０", 1250),
        ("1,234.50", 123450),
        ("1.234,50", 123450),
        ("1，234.50", 123450),
        ("1e2", 10000),
        ("1_250", 125000),
    ],
)
def test_decorated_prices_are_read_exactly_or_refused(
    client: FlaskClient, session: Session, price: str, fen: int
) -> None:
    drug = _accepted_or_refused(client, session, _csv([_row(**{"单价（元）": price})]), "p.csv")
    if drug is not None:
        assert drug.price_fen == fen, f"{price!r} was stored as {drug.price_fen} fen"


# --- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "gbk"])
def test_ordinary_encodings_are_read(client: FlaskClient, session: Session, encoding: str) -> None:
    response = _post(client, _admin(session), _csv([AMLODIPINE], encoding=encoding), "f.csv")
    assert response.status_code == 201, _describe(response)
    drug = _only_drug(session)
    assert drug.generic_name == "苯磺酸氨氯地平片"
    assert drug.brands == ["络活喜"]
    assert drug.price_fen == 1250


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_read_exactly_or_refused(
    client: FlaskClient, session: Session, encoding: str
) -> None:
    data = _csv([AMLODIPINE], encoding=encoding)
    drug = _accepted_or_refused(client, session, data, "f.csv", line=None)
    if drug is not None:
        assert drug.generic_name == "苯磺酸氨氯地平片"
        assert drug.price_fen == 1250


def test_latin1_garbage_is_refused(client: FlaskClient, session: Session) -> None:
    data = "Nom générique,Marque,Prix (EUR)\nAmlodipine,Norvasc,12,50 £\n".encode("latin-1")
    _refused_both(client, session, data, "français.csv")


def test_a_file_mixing_utf8_and_latin1_is_refused_or_read_without_mojibake(
    client: FlaskClient, session: Session
) -> None:
    data = _csv([AMLODIPINE]) + _csv([_row(METFORMIN, **{"商品名": "Glucophage®"})])[
        len(_csv([])) :
    ].replace("®".encode(), "®".encode("latin-1"))
    admin = _admin(session)
    before = _counts(session)
    response = _post(client, admin, data, "mixed.csv")
    assert response.status_code < 500, _describe(response)
    if response.status_code != 201:
        _assert_invalid(response, session, before)
        return
    names = sorted(d.generic_name for d in session.scalars(select(Drug)))
    assert names == sorted(["苯磺酸氨氯地平片", "盐酸二甲双胍片"]), names
    brands = [b for d in session.scalars(select(Drug)) for b in d.brands]
    assert all("\ufffd" not in b for b in brands), brands


@pytest.mark.parametrize(
    "where", ["in-name", "in-brand", "in-price", "file-start", "header", "line-end"]
)
def test_nul_bytes_are_refused(client: FlaskClient, session: Session, where: str) -> None:
    """PostgreSQL cannot store NUL in text: a NUL must be a bad line, not a server error."""
    if where == "in-name":
        data = _csv([_row(**{"通用名": "苯磺酸\x00氨氯地平片"})])
    elif where == "in-brand":
        data = _csv([_row(**{"商品名": "络活喜\x00"})])
    elif where == "in-price":
        data = _csv([_row(**{"单价（元）": "12.5\x000"})])
    elif where == "file-start":
        data = b"\x00" + _csv([AMLODIPINE])
    elif where == "header":
        data = _csv([AMLODIPINE], header=[HEADER[0] + "\x00", *HEADER[1:]])
    else:
        data = _csv([AMLODIPINE]).replace(b"\r\n", b"\x00\r\n")
    _refused_both(client, session, data, "nul.csv")


@pytest.mark.parametrize("name", ["binary.csv", "binary.xlsx"])
def test_a_mostly_binary_file_is_refused(client: FlaskClient, session: Session, name: str) -> None:
    noise = random.Random(9457).randbytes(256 * 1024)
    _refused_both(client, session, _csv([AMLODIPINE])[:40] + noise, name)


def test_a_workbook_named_csv_and_a_csv_named_xlsx(client: FlaskClient, session: Session) -> None:
    _refused_both(client, session, _csv([AMLODIPINE]), "药品字典.xlsx")
    before = _counts(session)
    workbook = _xlsx([_xlsx_numbers(AMLODIPINE)])
    response = _post(client, _admin(session), workbook, "药品字典.csv")
    assert response.status_code < 500, _describe(response)
    if response.status_code != 201:
        _assert_invalid(response, session, before)
    else:
        assert _only_drug(session).generic_name == "苯磺酸氨氯地平片"


# --- structure -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "extra"), [("通用名", "维生素C片"), ("单价（元）", "0.01"), ("成分", "三唑仑")]
)
def test_duplicate_header_columns_are_refused(
    client: FlaskClient, session: Session, label: str, extra: str
) -> None:
    """Two 单价（元） columns (or two 成分): which is meant? Refuse rather than guess — a
    second 成分 column may be where the controlled ingredient is."""
    data = _csv([[*AMLODIPINE, extra]], header=[*HEADER, label])
    before = _counts(session)
    response = _post(client, _admin(session), data, "dup-header.csv")
    assert response.status_code < 500, _describe(response)
    if response.status_code == 201:
        drug = _only_drug(session)
        stored = (drug.generic_name, drug.price_fen, drug.ingredients, drug.blocked)
        pytest.fail(f"accepted with a duplicate {label} column; stored {stored}")
    _assert_invalid(response, session, before)


def test_headers_with_spaces_around_them_are_read(client: FlaskClient, session: Session) -> None:
    header = [f" {h}\u3000" if i % 2 else f"\t{h} " for i, h in enumerate(HEADER)]
    response = _post(client, _admin(session), _csv([AMLODIPINE], header=header), "spaces.csv")
    assert response.status_code == 201, _describe(response)
    drug = _only_drug(session)
    assert (drug.generic_name, drug.price_fen, drug.atc) == ("苯磺酸氨氯地平片", 1250, "C08CA01")


@pytest.mark.parametrize(
    ("original", "variant"),
    [
        ("ATC", "ＡＴＣ"),
        ("ATC", "atc"),
        ("单价（元）", "单价(元)"),
        ("单价（元）", "单价"),
        ("最大日剂量", "最大日剂量（mg）"),
        ("最大日剂量", "日最大剂量"),
    ],
)
def test_header_variants_are_read_right_or_refused(
    client: FlaskClient, session: Session, original: str, variant: str
) -> None:
    """Never a silently dropped column: either the variant is that column, or the file is
    refused for missing it."""
    header = [variant if h == original else h for h in HEADER]
    drug = _accepted_or_refused(client, session, _csv([AMLODIPINE], header=header), "h.csv", None)
    if drug is not None:
        stored = (drug.atc, drug.price_fen, drug.max_daily_dose)
        assert stored == ("C08CA01", 1250, 10), f"{variant!r} header: stored {stored}"


def test_a_header_only_file_is_refused_and_retires_nothing(
    client: FlaskClient, session: Session
) -> None:
    admin = _admin(session)
    first = _post(client, admin, _csv([AMLODIPINE, METFORMIN]), "v1.csv")
    assert first.status_code == 201, _describe(first)
    _refused_both(client, session, _csv([]), "empty.csv")
    _refused_both(client, session, _xlsx([]), "empty.xlsx")
    session.expire_all()
    assert all(d.active for d in session.scalars(select(Drug)))


def test_fifty_thousand_and_one_rows_are_refused_cleanly(
    client: FlaskClient, session: Session
) -> None:
    rows = (
        _row(**{"通用名": f"测试药品{i:05d}片", "商品名": "", "国药准字": ""})
        for i in range(50_001)
    )
    data = _csv(rows)
    assert len(data) < 16 * 1024 * 1024
    before = _counts(session)
    started = time.monotonic()
    response = _post(client, _admin(session), data, "huge.csv")
    took = time.monotonic() - started
    _assert_problem(response, session, before)
    assert response.status_code in (413, 422), _describe(response)
    assert took < 20, f"took {took:.1f} s to refuse"


def test_a_row_with_more_cells_than_headers_is_refused(
    client: FlaskClient, session: Session
) -> None:
    data = _csv([AMLODIPINE, [*METFORMIN, "多出来的一格", "0.01"]])
    _refused_both(client, session, data, "wide.csv", line=3)


def test_a_row_with_fewer_cells_than_headers_is_refused(
    client: FlaskClient, session: Session
) -> None:
    data = _csv([AMLODIPINE, METFORMIN[:-5]])
    _refused_both(client, session, data, "narrow.csv", line=3)


def test_an_unbalanced_quote_is_refused_not_swallowed(
    client: FlaskClient, session: Session
) -> None:
    """An opening quote never closed eats the rest of the file into one cell."""
    good = _csv_text([AMLODIPINE])
    broken = '"' + ",".join(METFORMIN) + "\r\n"
    tail = _csv_text([_row(**{"通用名": "氨氯地平片"})])
    data = (good + broken + tail.split("\r\n", 1)[1]).encode()
    _refused_both(client, session, data, "quote.csv")


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_crlf_and_lf_read_the_same(client: FlaskClient, session: Session, newline: str) -> None:
    data = _csv_text([AMLODIPINE, METFORMIN], newline=newline).encode()
    response = _post(client, _admin(session), data, "nl.csv")
    assert response.status_code == 201, _describe(response)
    session.expire_all()
    got = {d.generic_name: d.price_fen for d in session.scalars(select(Drug))}
    assert got == {"苯磺酸氨氯地平片": 1250, "盐酸二甲双胍片": 880}


def test_old_mac_cr_line_ends_are_read_or_refused(client: FlaskClient, session: Session) -> None:
    data = _csv_text([AMLODIPINE, METFORMIN], newline="\r").encode()
    before = _counts(session)
    response = _post(client, _admin(session), data, "cr.csv")
    assert response.status_code < 500, _describe(response)
    if response.status_code == 201:
        got = {d.generic_name: d.price_fen for d in session.scalars(select(Drug))}
        assert got == {"苯磺酸氨氯地平片": 1250, "盐酸二甲双胍片": 880}
    else:
        _assert_invalid(response, session, before)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_five_megabyte_cell_is_refused(client: FlaskClient, session: Session, kind: str) -> None:
    fat = _row(**{"通用名": "氨" * (5 * 1024 * 1024 // 3)})
    data = _csv([fat]) if kind == "csv" else _xlsx([_xlsx_numbers(fat)])
    _refused_both(client, session, data, f"fat-cell.{kind}", line=2)


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("通用名", "苯磺酸氨氯地平片" + "长" * 100),
        ("规格", "5mg" * 30),
        ("剂型", "片" * 40),
        ("最小单位", "片" * 9),
        ("剂量单位", "m" * 9),
        ("包装单位", "盒" * 9),
        ("给药途径", "口服" * 9),
        ("ATC", "C08CA01" * 3),
        ("国药准字", "国药准字H" + "1" * 40),
        ("医保编码", "X" * 40),
    ],
)
def test_over_long_text_is_a_bad_line_not_a_server_error(
    client: FlaskClient, session: Session, label: str, value: str
) -> None:
    _refused_both(client, session, _csv([_row(**{label: value})]), "long.csv", line=2)


@pytest.mark.parametrize(("label", "value"), [("商品名", "络" * 300), ("成分", "氨氯地平" * 80)])
def test_over_long_list_cells_are_refused_or_kept_whole(
    client: FlaskClient, session: Session, label: str, value: str
) -> None:
    drug = _accepted_or_refused(client, session, _csv([_row(**{label: value})]), "long.csv")
    if drug is not None:
        assert (drug.brands if label == "商品名" else drug.ingredients) == [value]


def test_a_twenty_five_megabyte_file_is_refused(client: FlaskClient, session: Session) -> None:
    row = _csv_text([AMLODIPINE]).split("\r\n", 1)[1]
    data = (_csv_text([]) + row * (25 * 1024 * 1024 // len(row.encode()))).encode()
    assert len(data) > 24 * 1024 * 1024
    before = _counts(session)
    response = _post(client, _admin(session), data, "25mb.csv")
    _assert_problem(response, session, before)
    assert response.status_code in (413, 422), _describe(response)


def test_no_file_an_empty_file_or_json_is_refused(client: FlaskClient, session: Session) -> None:
    admin = _admin(session)
    before = _counts(session)
    for url in (IMPORT, PREVIEW):
        missing = client.post(url, headers=admin, data={}, content_type="multipart/form-data")
        _assert_problem(missing, session, before)
        wrong_field = client.post(
            url,
            headers=admin,
            data={"upload": (io.BytesIO(_csv([AMLODIPINE])), "f.csv")},
            content_type="multipart/form-data",
        )
        _assert_problem(wrong_field, session, before)
        as_json = client.post(url, headers=admin, json={"file": _csv_text([AMLODIPINE])})
        _assert_problem(as_json, session, before)
        _assert_problem(_post(client, admin, b"", "empty.csv", url), session, before)


@pytest.mark.parametrize(
    "filename",
    ["药" * 250 + ".csv", "../../../etc/passwd.csv", "..\\..\\药品字典.csv", ".csv"],
)
def test_hostile_filenames_are_handled(
    client: FlaskClient, session: Session, filename: str
) -> None:
    before = _counts(session)
    response = _post(client, _admin(session), _csv([AMLODIPINE]), filename)
    assert response.status_code < 500, _describe(response)
    if response.status_code != 201:
        _assert_problem(response, session, before)
        return
    session.expire_all()
    version = session.scalars(select(FormularyVersion)).one()
    assert 0 < len(version.filename) <= 200


# --- semantics -------------------------------------------------------------------------------


def _disguised(ingredient: str, **changes: str) -> list[str]:
    row = ["安神助眠片", "", ingredient, "", "", "0.25mg", "片", "片", "mg", "0.25", "20", "盒"]
    row += ["口服", "A11GA01", "5.00", "Rx", ""]
    for label, value in changes.items():
        row[COL[label]] = value
    return row


def _doctor_cannot_prescribe(client: FlaskClient, session: Session, name: str) -> None:
    """Screening calls the product blocked, and writing a prescription for it is refused."""
    doctor = factories.practitioner()
    headers = doctor_headers(session, doctor)
    screened = client.post("/api/v1/drugs/screen", json={"names": [name]}, headers=headers)
    assert screened.status_code == 200, _describe(screened)
    result = screened.json["results"][0]
    _account, patient, diagnosis_id = patient_with_diagnosis(session)
    visit_id = start_visit(client, patient, diagnosis_id).json["id"]
    client.post(f"/api/v1/consultations/{visit_id}/accept", headers=headers)
    item = {"drug": name, "dose_mg": 0.25, "times_per_day": 1, "days": 7}
    written = client.post(
        f"/api/v1/consultations/{visit_id}/prescriptions", json={"items": [item]}, headers=headers
    )
    wrong = []
    if result["blocked"] is not True:
        wrong.append(f"screen: {result}")
    if not 400 <= written.status_code < 500:
        wrong.append(f"prescription: {_describe(written)}")
    assert not wrong, "; ".join(wrong)


@pytest.mark.parametrize(
    "ingredient",
    ["吗啡", "三唑仑", "盐酸吗啡", "硫酸吗啡", " 三唑仑 ", "对乙酰氨基酚、三唑仑", "吗啡;维生素C"],
)
def test_a_controlled_drug_under_an_ordinary_name_is_blocked(
    client: FlaskClient, session: Session, ingredient: str
) -> None:
    before = _counts(session)
    response = _post(client, _admin(session), _csv([_disguised(ingredient)]), "d.csv")
    if response.status_code != 201:
        _assert_invalid(response, session, before, 2)
        return
    # What matters most first: no doctor can prescribe it online.
    _doctor_cannot_prescribe(client, session, "安神助眠片")
    assert response.json["blocked"] == 1, response.json
    drug = _only_drug(session)
    assert drug.blocked is True
    assert drug.control_class is not None


@pytest.mark.parametrize("label", ["OTC", "甲类OTC", "乙类OTC", "非处方药"])
def test_otc_does_not_unblock_a_controlled_ingredient(
    client: FlaskClient, session: Session, label: str
) -> None:
    before = _counts(session)
    row = _disguised("吗啡", **{"处方类别": label})
    response = _post(client, _admin(session), _csv([row]), "otc.csv")
    if response.status_code != 201:
        _assert_invalid(response, session, before, 2)
        return
    _doctor_cannot_prescribe(client, session, "安神助眠片")
    drug = _only_drug(session)
    assert drug.blocked is True
    assert drug.control_class is not None


@pytest.mark.parametrize("claimed", ["", "无", "普通", "none", "非管制"])
def test_a_control_column_saying_none_does_not_unblock(
    client: FlaskClient, session: Session, claimed: str
) -> None:
    before = _counts(session)
    data = _csv([[*_disguised("三唑仑"), claimed]], header=[*HEADER, "管制类别"])
    response = _post(client, _admin(session), data, "ctl.csv")
    assert response.status_code < 500, _describe(response)
    if response.status_code != 201:
        _assert_invalid(response, session, before)
        return
    drug = _only_drug(session)
    assert drug.blocked is True
    assert drug.control_class is not None


def test_a_blocked_drug_stays_blocked_when_reimported_as_otc(
    client: FlaskClient, session: Session
) -> None:
    admin = _admin(session)
    first = _post(client, admin, _csv([_disguised("三唑仑")]), "v1.csv")
    assert first.status_code == 201, _describe(first)
    second = _post(client, admin, _csv([_disguised("三唑仑", **{"处方类别": "OTC"})]), "v2.csv")
    assert second.status_code < 500, _describe(second)
    drug = _only_drug(session)
    assert drug.blocked is True


def test_the_same_product_twice_is_refused(client: FlaskClient, session: Session) -> None:
    _refused_both(client, session, _csv([AMLODIPINE, METFORMIN, AMLODIPINE]), "d.csv", line=4)


def test_two_products_under_one_drug_code_are_refused(
    client: FlaskClient, session: Session
) -> None:
    header = ["药品编码", *HEADER]
    data = _csv([["D0000001", *AMLODIPINE], ["D0000001", *METFORMIN]], header=header)
    _refused_both(client, session, data, "codes.csv", line=3)


@pytest.mark.parametrize("code", ["D" + "1" * 16, "D" * 17, "药" * 17, "D00000001\x00"])
def test_a_drug_code_that_does_not_fit_is_refused(
    client: FlaskClient, session: Session, code: str
) -> None:
    data = _csv([[code, *AMLODIPINE]], header=["药品编码", *HEADER])
    _refused_both(client, session, data, "code.csv", line=2)


@pytest.mark.parametrize(
    ("label", "value"),
    [("英文名", "A" * 201), ("来源", "来" * 301)],
)
def test_over_long_optional_columns_are_refused(
    client: FlaskClient, session: Session, label: str, value: str
) -> None:
    data = _csv([[value, *AMLODIPINE]], header=[label, *HEADER])
    _refused_both(client, session, data, "optional.csv", line=2)


SCRIPT = "<script>alert(1)</script>"


@pytest.mark.parametrize(
    ("label", "payload"),
    [
        ("通用名", SCRIPT),
        ("通用名", '"><img src=x onerror=alert(1)>氨氯地平片'),
        ("商品名", SCRIPT),
    ],
)
def test_an_html_payload_is_refused_or_escaped_on_the_admin_page(
    client: FlaskClient, session: Session, label: str, payload: str
) -> None:
    before = _counts(session)
    response = _post(client, _admin(session), _csv([_row(**{label: payload})]), "xss.csv")
    assert response.status_code < 500, _describe(response)
    if response.status_code != 201:
        _assert_invalid(response, session, before, 2)
        return
    drug = _only_drug(session)
    assert payload in ([drug.generic_name] if label == "通用名" else drug.brands)
    version = response.json["version"]
    admin = factories.account(Role.admin)
    sign_in(client, admin.username)
    for path in (f"/admin/formulary?version={version}", "/admin/formulary"):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        assert "<script>alert(1)" not in html, path
        assert "<img src=x" not in html, path
    if label == "通用名":  # the name is on the page: it must be there, escaped
        shown = client.get(f"/admin/formulary?version={version}").get_data(as_text=True)
        assert "&lt;script&gt;" in shown or "&lt;img src=x" in shown, "name not shown escaped"


# --- authorisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["pharmacist", "doctor", "patient", "kiosk", "family_doctor", "nobody", "forged"]
)
@pytest.mark.parametrize("url", [IMPORT, PREVIEW])
def test_only_an_administrator_may_import_or_preview(
    client: FlaskClient, session: Session, who: str, url: str
) -> None:
    if who == "nobody":
        headers: dict[str, str] = {}
    elif who == "forged":
        headers = {"Authorization": "Bearer " + "A" * 43}
    else:
        headers = bearer(session, Role(who))
    before = _counts(session)
    response = _post(client, headers, _csv([AMLODIPINE]), "f.csv", url)
    assert response.status_code in (401, 403), _describe(response)
    _assert_problem(response, session, before)
    if who in ("nobody", "forged"):
        assert response.status_code == 401, _describe(response)


def test_an_administrator_cookie_without_csrf_cannot_import(
    client: FlaskClient, session: Session
) -> None:
    """Signed in to the console but no bearer token: the JSON API is not a CSRF door."""
    admin = factories.account(Role.admin)
    sign_in(client, admin.username)
    before = _counts(session)
    response = _post(client, {}, _csv([AMLODIPINE]), "f.csv")
    assert response.status_code in (401, 403), _describe(response)
    assert _counts(session) == before
