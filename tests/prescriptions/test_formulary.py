"""The hospital's drug dictionary: CSV and XLSX with Chinese headers, checked line by line,
versioned with a diff, and what prescribing and screening resolve against."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import Actor
from identity.models import Role
from prescriptions import formulary, screening
from prescriptions.catalogue import products
from prescriptions.formulary import FormularyInvalid
from prescriptions.models import Drug, FormularyVersion
from prescriptions.services.drugs import LoadReport, screen_names
from tests import factories
from tests.helpers import bearer, csrf_token, sign_in
from tests.prescriptions.helpers import written_prescription
from web.cli import cli

HEADER = [
    "通用名",
    "商品名",
    "成分",
    "国药准字",
    "医保编码",
    "规格",
    "剂型",
    "最小单位",
    "剂量单位",
    "单位剂量",
    "包装数量",
    "包装单位",
    "给药途径",
    "ATC",
    "单价（元）",
    "处方类别",
    "最大日剂量",
]
AMLODIPINE = ["苯磺酸氨氯地平片", "络活喜", "氨氯地平", "国药准字H10950224", ""]
AMLODIPINE += ["5mg", "片", "片", "mg", "5", "28", "盒", "口服", "C08CA01", "12.50", "Rx", "10"]
METFORMIN = ["盐酸二甲双胍片", "格华止", "二甲双胍", "国药准字J20180027", ""]
METFORMIN += ["0.5g", "片", "片", "mg", "500", "20", "盒", "口服", "A10BA02", "8.80", "处方药", ""]
# In the hospital's file only: a name the package's formulary does not know.
NEW_DRUG = ["琥珀酸美托洛尔缓释片", "倍他乐克", "美托洛尔", "", ""]
NEW_DRUG += [
    "47.5mg",
    "缓释片",
    "片",
    "mg",
    "47.5",
    "7",
    "盒",
    "口服",
    "C07AB02",
    "20.30",
    "Rx",
    "",
]
# An innocuous name over a controlled ingredient: kept in the formulary, barred online.
DISGUISED = ["安眠片", "", "三唑仑", "", "", "0.25mg", "片", "片", "mg", "0.25", "20", "盒"]
DISGUISED += ["口服", "N05CD05", "5.00", "Rx", ""]


def _csv(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode(encoding)


def _xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        # Numbers as Excel keeps them: numbers, not text.
        sheet.append([float(c) if c.replace(".", "", 1).isdigit() else c for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _admin(session: Session) -> dict[str, str]:
    return bearer(session, Role.admin)


def _upload(
    client: FlaskClient, headers: dict[str, str], data: bytes, name: str, preview: bool = False
) -> object:
    return client.post(
        "/api/v1/formulary/imports" + ("/preview" if preview else ""),
        headers=headers,
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_a_hospital_file_in_chinese_reads_the_same_as_csv_gbk_or_xlsx() -> None:
    rows = [AMLODIPINE, METFORMIN]
    utf8 = formulary.read(_csv(rows), "药品字典.csv")
    gbk = formulary.read(_csv(rows, "gb18030"), "药品字典.csv")
    xlsx = formulary.read(_xlsx(rows), "药品字典.xlsx")
    assert utf8 == gbk == xlsx
    amlodipine, metformin = utf8
    assert amlodipine.price_fen == 1250
    assert (amlodipine.pack_size, amlodipine.pack_unit, amlodipine.unit) == (28, "盒", "片")
    assert amlodipine.approval_no == "国药准字H10950224"
    assert amlodipine.max_daily_dose == 10
    assert metformin.rx
    assert metformin.dose_per_unit == 500


def test_every_bad_line_is_named_and_nothing_is_read() -> None:
    bad_price = [*AMLODIPINE[:14], "12.505", *AMLODIPINE[15:]]
    bad_unit = [*METFORMIN[:8], "勺", *METFORMIN[9:]]
    bad_pack = [*NEW_DRUG[:10], "半", *NEW_DRUG[11:]]
    bad_approval = [*DISGUISED[:3], "H123", *DISGUISED[4:]]
    no_name = ["", *AMLODIPINE[1:]]
    bad_rx = [*METFORMIN[:15], "maybe", *METFORMIN[16:]]
    with pytest.raises(FormularyInvalid) as refused:
        formulary.read(
            _csv([bad_price, bad_unit, bad_pack, bad_approval, no_name, bad_rx, AMLODIPINE]),
            "f.csv",
        )
    errors = refused.value.extra["errors"]
    assert any(e.startswith("第 2 行 单价（元）") for e in errors)
    assert any(e.startswith("第 3 行 剂量单位") for e in errors)
    assert any(e.startswith("第 4 行 包装数量") for e in errors)
    assert any(e.startswith("第 5 行 国药准字") for e in errors)
    assert any(e.startswith("第 6 行 通用名") for e in errors)
    assert any(e.startswith("第 7 行 处方类别") for e in errors)
    with pytest.raises(FormularyInvalid, match="缺少列：剂量单位"):
        formulary.parse([[h for h in HEADER if h != "剂量单位"], AMLODIPINE[:8]])
    with pytest.raises(FormularyInvalid, match="第 3 行"):
        formulary.read(_csv([AMLODIPINE, AMLODIPINE]), "dup.csv")  # the same product twice
    with pytest.raises(FormularyInvalid):
        formulary.read(b"PK\x03\x04 not really a workbook", "broken.xlsx")


def test_import_makes_versions_with_their_diff_and_a_preview_changes_nothing(
    client: FlaskClient, session: Session
) -> None:
    admin = _admin(session)
    first = _upload(client, admin, _csv([AMLODIPINE, METFORMIN, DISGUISED]), "v1.csv")
    assert first.status_code == 201, first.json
    assert first.json["version"] == 1
    assert (first.json["added"], first.json["blocked"]) == (3, 1)
    disguised = session.scalars(select(Drug).where(Drug.generic_name == "安眠片")).one()
    assert disguised.blocked
    assert disguised.control_class is not None
    assert disguised.control_class.value == "psychotropic_1"

    again = _upload(client, admin, _csv([AMLODIPINE, METFORMIN, DISGUISED]), "v1.csv")
    assert again.status_code == 201
    assert again.json["version"] is None  # nothing changed, no new version
    assert again.json["diff"] == []

    cheaper = [*AMLODIPINE[:14], "9.90", *AMLODIPINE[15:]]
    v2_rows = [cheaper, NEW_DRUG, DISGUISED]
    preview = _upload(client, admin, _csv(v2_rows), "v2.csv", preview=True)
    assert preview.status_code == 200, preview.json
    assert preview.json["dry_run"] is True
    assert session.scalar(select(func.count()).select_from(FormularyVersion)) == 1
    changes = {c["name"]: c for c in preview.json["diff"]}
    assert changes["苯磺酸氨氯地平片"]["change"] == "changed"
    assert changes["苯磺酸氨氯地平片"]["fields"] == {"price_fen": [1250, 990]}
    assert changes["琥珀酸美托洛尔缓释片"]["change"] == "added"
    assert changes["盐酸二甲双胍片"]["change"] == "retired"

    second = _upload(client, admin, _csv(v2_rows), "v2.csv")
    assert second.json["version"] == 2
    assert second.json["diff"] == preview.json["diff"]
    metformin = session.scalars(select(Drug).where(Drug.generic_name == "盐酸二甲双胍片")).one()
    assert metformin.active is False  # retired, kept for the prescriptions that name it
    listed = client.get("/api/v1/formulary/versions", headers=bearer(session, Role.pharmacist))
    assert [v["number"] for v in listed.json["versions"]] == [2, 1]
    shown = client.get("/api/v1/formulary/versions/2", headers=admin)
    assert shown.json["filename"] == "v2.csv"
    assert shown.json["diff"] == second.json["diff"]
    assert client.get("/api/v1/formulary/versions/9", headers=admin).status_code == 404


def test_a_bad_file_is_refused_whole_with_its_lines(client: FlaskClient, session: Session) -> None:
    admin = _admin(session)
    bad = [*METFORMIN[:10], "0", *METFORMIN[11:]]
    refused = _upload(client, admin, _csv([AMLODIPINE, bad]), "bad.csv")
    assert refused.status_code == 422
    assert refused.json["code"] == "formulary_invalid"
    assert refused.json["errors"] == ["第 3 行 包装数量：“0”应为正数"]
    assert session.scalar(select(func.count()).select_from(Drug)) == 0
    wrong_type = _upload(client, admin, b"hello", "formulary.pdf")
    assert wrong_type.status_code == 422


def test_only_an_administrator_imports(client: FlaskClient, session: Session) -> None:
    for role in (Role.pharmacist, Role.doctor, Role.patient):
        refused = _upload(client, bearer(session, role), _csv([AMLODIPINE]), "f.csv")
        assert refused.status_code == 403, role
    assert session.scalar(select(func.count()).select_from(Drug)) == 0


def test_screening_follows_the_imported_formulary_in_every_process(session: Session) -> None:
    """A drug only the hospital's file lists is known once imported — also to a process that
    did not import it — and a disguised controlled product is refused as controlled."""
    from prescriptions.services.drugs import import_formulary

    listed = formulary.read(_csv([AMLODIPINE, NEW_DRUG, DISGUISED]), "h.csv")
    import_formulary(session, Actor.system(), listed, filename="h.csv", digest="x")
    screening.install(None, None)  # another worker: it still screens the package formulary
    found, disguised = screen_names(session, Actor.system(), ["倍他乐克", "安眠片"], "test")
    assert found.known
    assert found.drug_code == listed[1].code
    assert disguised.blocked
    assert disguised.control_class is not None
    assert disguised.control_class.value == "psychotropic_1"


def test_the_shipped_formulary_covers_chronic_care() -> None:
    shipped = products()
    assert len(shipped) >= 400
    areas = {
        "高血压": ("C02", "C03", "C07", "C08", "C09"),
        "糖尿病": ("A10",),
        "血脂": ("C10",),
        "冠心病/抗栓": ("B01", "C01D"),
        "心力衰竭/心律": ("C01A", "C01B", "C09DX"),
        "慢阻肺/哮喘": ("R03",),
        "甲状腺": ("H03",),
        "痛风": ("M04",),
        "骨质疏松": ("M05", "A11CC", "A12AX"),
        "慢性肾病": ("V03AE", "B03XA", "A12"),
        "精神心理（非管制）": ("N06A", "N05A"),
    }
    counts = Counter(
        area for p in shipped for area, prefixes in areas.items() if p.atc.startswith(prefixes)
    )
    assert all(counts[area] >= 2 for area in areas), counts
    priced = [p for p in shipped if p.product_class is None]
    assert all(p.price_fen is not None and p.pack_size >= 1 for p in priced)


def test_pinyin_search_finds_what_pharmacists_type(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    headers = bearer(session, Role.pharmacist)
    for query, expected in (("aldp", "氨氯地平"), ("ejsg", "二甲双胍"), ("xftt", "辛伐他汀")):
        found = client.get(f"/api/v1/drugs?q={query}", headers=headers).json["drugs"]
        first = next((d for d in found if expected in d["generic_name"]), None)
        assert first is not None, query
        assert first["price_fen"] > 0
        assert first["pack_unit"]


def test_a_prescription_keeps_the_price_of_its_day(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    written = written_prescription(client, session, sign=False)
    shown = client.get(f"/api/v1/prescriptions/{written.id}", headers=written.doctor_headers)
    line = shown.json["items"][0]
    assert line["quantity"] >= 1
    assert line["amount_fen"] > 0
    drug = session.scalars(select(Drug).where(Drug.code == line["drug_id"])).one()
    before = line["amount_fen"]
    drug.price_fen = (drug.price_fen or 0) * 2
    session.flush()
    again = client.get(f"/api/v1/prescriptions/{written.id}", headers=written.doctor_headers)
    assert again.json["items"][0]["amount_fen"] == before


def test_the_administrator_previews_then_imports_in_the_console(
    client: FlaskClient, session: Session
) -> None:
    admin = factories.account(Role.admin)
    sign_in(client, admin.username)

    def post(action: str, rows: list[list[str]]) -> str:
        return client.post(
            "/admin/formulary",
            data={
                "csrf_token": csrf_token(client, "/admin/formulary"),
                "action": action,
                "file": (io.BytesIO(_xlsx(rows)), "药品字典.xlsx"),
            },
            content_type="multipart/form-data",
            follow_redirects=True,
        ).get_data(as_text=True)

    page = post("preview", [AMLODIPINE, DISGUISED])
    assert "预览：2 种药品，新增 2" in page
    assert "禁止在线开具）1" in page
    assert session.scalar(select(func.count()).select_from(Drug)) == 0
    page = post("import", [AMLODIPINE, DISGUISED])
    assert "已导入 2 种药品：第 1 版" in page
    cheaper = [*AMLODIPINE[:14], "9.90", *AMLODIPINE[15:]]
    post("import", [cheaper, DISGUISED])
    page = client.get("/admin/formulary?version=2").get_data(as_text=True)
    assert "单价（分）：1250 → 990" in page
    bad = post("import", [[*AMLODIPINE[:6], "", *AMLODIPINE[7:]]])
    assert "第 2 行 剂型：不能为空" in bad


HEADER_INDEX = {label: i for i, label in enumerate(formulary.LABELS.values())}


def test_the_formulary_exported_reads_back_unchanged() -> None:
    shipped = products()
    assert tuple(formulary.read(formulary.export(shipped).encode(), "export.csv")) == shipped


def test_export_edit_and_dry_run_from_the_command_line(
    app: Flask, session: Session, tmp_path: Path, catalogue: LoadReport
) -> None:
    runner = CliRunner()
    obj = ScriptInfo(create_app=lambda: app)
    exported = runner.invoke(cli, ["drugs", "export"], obj=obj)
    assert exported.exit_code == 0, exported.output
    lines = exported.output.splitlines()
    assert lines[0].startswith("药品编码,通用名,英文名,商品名,成分")
    row = next(i for i, line in enumerate(lines) if ",苯磺酸氨氯地平片," in line)
    fields = next(csv.reader([lines[row]]))
    fields[HEADER_INDEX["单价（元）"]] = "0.01"
    lines[row] = ",".join(fields)
    edited = tmp_path / "formulary.csv"
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["drugs", "import", str(edited), "--dry-run"], obj=obj)
    assert result.exit_code == 0, result.output
    assert re.search(r"changed +D\w+ 苯磺酸氨氯地平片 price_fen: \d+ → 1\n", result.output)
    assert "1 updated, 0 retired" in result.output
    assert "dry run, nothing changed" in result.output
    broken = tmp_path / "broken.csv"
    broken.write_text(lines[0] + "\n" + ",".join(["x"] * len(fields)) + "\n", encoding="utf-8")
    refused = runner.invoke(cli, ["drugs", "import", str(broken)], obj=obj)
    assert refused.exit_code == 1
    assert "第 2 行" in refused.output
