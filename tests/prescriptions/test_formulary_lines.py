"""The drug dictionary file, line by line, as the administrator reads the answer: what a line
with only the required columns becomes, the exact words for each bad cell (with its line and
column), the limits at their edges, and the CSV the export writes."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from prescriptions import formulary
from prescriptions.catalogue import ControlClass, Product, product_code
from prescriptions.formulary import FormularyInvalid

REQUIRED = ["通用名", "成分", "剂型", "最小单位", "剂量单位", "单位剂量", "包装数量", "包装单位"]
REQUIRED += ["给药途径", "处方类别"]
RX_WORDS = "应为 Rx/处方药 或 OTC/甲类OTC/乙类OTC"
MONEY = "应为不超过两位小数的金额（元）"
UNITS = "可用：mg、μg、g、U、IU、ml、吸、揿、喷、滴、片、粒、袋、支、贴"
PLAIN = ["氨氯地平片", "氨氯地平", "片", "片", "mg", "5", "28", "盒", "口服", "Rx"]


def csv_bytes(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in rows).encode()


def one(extra: dict[str, str] | None = None, **changes: str) -> list[list[str]]:
    """A header and one line: the required columns (changed by header), and extra columns."""
    header, line = list(REQUIRED), list(PLAIN)
    for name, value in changes.items():
        line[header.index(name)] = value
    for name, value in (extra or {}).items():
        header.append(name)
        line.append(value)
    return [header, line]


def errors_of(rows: list[list[str]]) -> list[str]:
    with pytest.raises(FormularyInvalid) as raised:
        formulary.parse(rows)
    errors = raised.value.extra["errors"]
    assert isinstance(errors, list)
    return errors


def test_a_line_with_only_the_required_columns() -> None:
    (product,) = formulary.parse(one())
    assert product == Product(
        code=product_code("氨氯地平片", ""),
        generic_name="氨氯地平片",
        english_name="",
        brands=(),
        ingredients=("氨氯地平",),
        dosage_form="片",
        strength="",
        route="口服",
        atc="",
        rx=True,
        max_daily_dose=None,
        product_class=None,
        source="",
        dose_unit="mg",
        dose_per_unit=5.0,
        unit="片",
        pack_size=28,
        pack_unit="盒",
        price_fen=None,
        approval_no="",
        insurance_code="",
    )


def test_the_code_comes_from_the_name_and_strength_unless_given() -> None:
    (derived,) = formulary.parse(one({"规格": "5mg"}))
    assert derived.code == product_code("氨氯地平片", "5mg")
    assert derived.code != product_code("氨氯地平片", "")
    (given,) = formulary.parse(one({"规格": "5mg", "药品编码": "H-001"}))
    assert given.code == "H-001"


def test_every_optional_column_is_read() -> None:
    extra = {
        "英文名": "Amlodipine",
        "商品名": "络活喜、安内真",
        "国药准字": "国药准字 H10950224",
        "医保编码": "xa01baa001e001010104444",
        "规格": "5mg",
        "ATC": "c08ca01",
        "单价（元）": "¥1,234.50",
        "最大日剂量": "10",
        "管制类别": "",
        "来源": "院内",
    }
    (p,) = formulary.parse(one(extra, 成分="氨氯地平；苯磺酸"))
    assert p.english_name == "Amlodipine"
    assert p.brands == ("络活喜", "安内真")
    assert p.ingredients == ("氨氯地平", "苯磺酸")
    assert p.approval_no == "国药准字H10950224"
    assert p.insurance_code == "XA01BAA001E001010104444"
    assert p.atc == "C08CA01"
    assert p.price_fen == 123450
    assert p.max_daily_dose == 10.0
    assert p.product_class is None
    assert p.source == "院内"


@pytest.mark.parametrize(
    ("written", "rx"),
    [("Rx", True), ("R x", True), ("处方药", True), ("OTC", False), ("甲类 OTC", False)],
)
def test_the_prescription_class(written: str, rx: bool) -> None:
    (p,) = formulary.parse(one(处方类别=written))
    assert p.rx is rx


@pytest.mark.parametrize(
    ("written", "control"),
    [("narcotic", ControlClass.narcotic), (ControlClass.toxic.label, ControlClass.toxic)],
)
def test_the_control_class_by_code_or_label(written: str, control: ControlClass) -> None:
    (p,) = formulary.parse(one({"管制类别": written}))
    assert p.product_class is control


@pytest.mark.parametrize(
    ("changes", "extra", "error"),
    [
        ({"处方类别": "maybe"}, {}, f"第 2 行 处方类别：“maybe”{RX_WORDS}"),
        ({}, {"ATC": "c8"}, "第 2 行 ATC：“C8”不是 ATC 编码（如 C08CA01）"),
        ({}, {"国药准字": "H123"}, "第 2 行 国药准字：“H123”不是批准文号（如 国药准字H20103361）"),
        ({}, {"医保编码": "abc"}, "第 2 行 医保编码：“ABC”不是国家医保药品编码（X/Z 开头）"),
        ({"包装数量": "2.5"}, {}, "第 2 行 包装数量：须为整数"),
        ({"包装数量": "0"}, {}, "第 2 行 包装数量：“0”应为正数"),
        ({"单位剂量": "-5"}, {}, "第 2 行 单位剂量：“-5”应为正数"),
        ({"单位剂量": "abc"}, {}, "第 2 行 单位剂量：“abc”应为正数"),
        ({"单位剂量": "1000000001"}, {}, "第 2 行 单位剂量：“1000000001”应为正数"),
        ({}, {"最大日剂量": "0"}, "第 2 行 最大日剂量：“0”应为正数"),
        ({}, {"单价（元）": "1.234"}, f"第 2 行 单价（元）：“1.234”{MONEY}"),
        ({}, {"单价（元）": "-1"}, f"第 2 行 单价（元）：“-1”{MONEY}"),
        ({}, {"单价（元）": "abc"}, f"第 2 行 单价（元）：“abc”{MONEY}"),
        ({}, {"单价（元）": "1000000.01"}, f"第 2 行 单价（元）：“1000000.01”{MONEY}"),
        ({}, {"单价（元）": "Infinity"}, f"第 2 行 单价（元）：“Infinity”{MONEY}"),
        ({}, {"管制类别": "坏药"}, "第 2 行 管制类别：“坏药”不是管制类别"),
        ({"剂量单位": "furlong"}, {}, f"第 2 行 剂量单位：无法识别的剂量单位“furlong”，{UNITS}"),
        ({"通用名": ""}, {}, "第 2 行 通用名：不能为空"),
        ({"处方类别": ""}, {}, "第 2 行 处方类别：不能为空"),
        ({}, {"药品编码": "D" * 17}, "第 2 行 药品编码：超过 16 位"),
        ({"通用名": "药" * 101}, {}, "第 2 行 通用名：超过 100 字"),
        ({"给药途径": "口" * 17}, {}, "第 2 行 给药途径：超过 16 字"),
        ({}, {"商品名": "名" * 65}, "第 2 行 商品名：每个名称不超过 64 字"),
        ({"成分": "成" * 65}, {}, "第 2 行 成分：每个名称不超过 64 字"),
        ({"成分": "成\x07分"}, {}, "第 2 行 成分：含有不可见的控制字符"),
        ({"成分": "成" * 2001}, {}, "第 2 行 成分：超过 2000 字"),
    ],
)  # fmt: skip
def test_each_bad_cell_is_named(changes: dict[str, str], extra: dict[str, str], error: str) -> None:
    assert errors_of(one(extra, **changes)) == [error]


@pytest.mark.parametrize(
    ("changes", "extra"),
    [
        ({"单位剂量": "1000000000"}, {}),
        ({}, {"单价（元）": "1000000"}),
        ({}, {"单价（元）": "0"}),
        ({}, {"药品编码": "D" * 16}),
        ({"通用名": "药" * 100}, {}),
        ({"给药途径": "口" * 16}, {}),
        ({}, {"商品名": "名" * 64}),
        ({"成分": "成" * 64}, {}),
    ],
)
def test_values_at_the_limits_are_read(changes: dict[str, str], extra: dict[str, str]) -> None:
    assert len(formulary.parse(one(extra, **changes))) == 1


def test_a_price_is_kept_in_fen() -> None:
    (p,) = formulary.parse(one({"单价（元）": "12.5元"}))
    assert p.price_fen == 1250
    (free,) = formulary.parse(one({"单价（元）": "0"}))
    assert free.price_fen == 0


def test_every_bad_line_is_listed_and_the_first_five_said() -> None:
    rows = one(处方类别="maybe")
    rows += [list(rows[1]) for _ in range(6)]
    with pytest.raises(FormularyInvalid) as raised:
        formulary.parse(rows)
    each = [f"第 {n} 行 处方类别：“maybe”{RX_WORDS}" for n in range(2, 9)]
    assert raised.value.extra["errors"] == each
    assert raised.value.detail == "；".join(each[:5]) + "……"
    with pytest.raises(FormularyInvalid) as five:
        formulary.parse(rows[:6])
    assert five.value.detail == "；".join(each[:5])


def test_two_hundred_errors_at_most() -> None:
    rows = one(处方类别="maybe")
    rows += [list(rows[1]) for _ in range(250)]
    assert len(errors_of(rows)) == 200


def test_a_line_longer_than_the_header_and_a_duplicate() -> None:
    rows = one()
    rows.append([*PLAIN, "多的", "又多的"])
    rows.append(list(PLAIN))
    assert errors_of(rows) == [
        "第 3 行 整行：比表头多出 2 个单元格",
        "第 4 行 药品编码：与第 2 行重复（同一药品）",
    ]


def test_blank_lines_and_empty_extra_cells_are_skipped() -> None:
    rows = one()
    rows.insert(1, ["", " ", ""])
    rows.append([*PLAIN[:-1], "OTC", "", " "])
    rows[-1][0] = "另一种药"
    assert [p.generic_name for p in formulary.parse(rows)] == ["氨氯地平片", "另一种药"]


def test_a_short_line_reads_its_missing_cells_as_empty() -> None:
    assert errors_of([REQUIRED, PLAIN[:-1]]) == ["第 2 行 处方类别：不能为空"]


@pytest.mark.parametrize(
    ("rows", "detail"),
    [
        ([], "文件为空"),
        ([REQUIRED], "第 2 行 通用名：没有药品"),
        ([REQUIRED, ["", ""]], "第 2 行 通用名：没有药品"),
    ],
)
def test_a_file_without_drugs_is_refused(rows: list[list[str]], detail: str) -> None:
    with pytest.raises(FormularyInvalid) as raised:
        formulary.parse(rows)
    assert raised.value.detail == detail


def test_missing_and_doubled_columns() -> None:
    with pytest.raises(FormularyInvalid) as missing:
        formulary.parse([REQUIRED[2:], PLAIN[2:]])
    assert missing.value.detail == "缺少列：通用名、成分"
    assert missing.value.extra["errors"] == ["第 1 行 通用名：缺少此列", "第 1 行 成分：缺少此列"]
    with pytest.raises(FormularyInvalid) as doubled:
        formulary.parse([[*REQUIRED, " 通用名称 "], [*PLAIN, "x"]])
    assert doubled.value.detail == "第 1 行 通用名称：与第 1 列重复"
    with pytest.raises(FormularyInvalid) as hidden:
        formulary.parse([[*REQUIRED, "备\x01注"], [*PLAIN, "x"]])
    assert hidden.value.detail == "第 1 行 第 11 列：表头含有不可见的控制字符"


def test_the_first_of_two_headers_is_kept_when_refusing() -> None:
    header = [*REQUIRED, "通用名称"]
    with pytest.raises(FormularyInvalid) as raised:
        formulary.parse([header, [*PLAIN, "别的名字"]])
    assert raised.value.extra["errors"] == ["第 1 行 通用名称：与第 1 列重复"]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("ＡＴＣ", "atc"),
        ("单价(元)", "price"),
        ("单价（元）", "price"),
        ("最大日剂量（mg）", "max_daily_dose"),
        ("\ufeff通用名", "generic_name"),
        ("Generic_Name", "generic_name"),
        (" 英文 名称 ", "english_name"),
    ],
)
def test_header_variants(header: str, field: str) -> None:
    key = formulary._header_key(header)
    names = {formulary._header_key(n) for n in formulary.HEADERS[field]}
    assert key in names


def test_unknown_columns_are_ignored() -> None:
    (p,) = formulary.parse(one({"厂家": "某药厂", "库存": "100"}))
    assert p.generic_name == "氨氯地平片"


def test_a_formula_kept_behind_an_apostrophe_reads_back_as_text() -> None:
    (p,) = formulary.parse(one({"来源": "'=1+1", "英文名": "'plain"}))
    assert p.source == "=1+1"
    assert p.english_name == "'plain"


# --- the files ---------------------------------------------------------------------------------


def test_a_gbk_csv_and_old_mac_line_ends_are_read() -> None:
    text = "\r".join(",".join(row) for row in one())
    (p,) = formulary.read(text.encode("gb18030"), "药品字典.csv")
    assert p.generic_name == "氨氯地平片"
    (q,) = formulary.read(b"\xef\xbb\xbf" + text.encode(), "x.CSV")
    assert q.generic_name == "氨氯地平片"


def test_bytes_that_are_no_text_are_refused() -> None:
    with pytest.raises(FormularyInvalid) as raised:
        formulary.read(b"\x80\x81\xff\xfe\x00", "x.csv")
    assert raised.value.detail == "文件不是 UTF-8 或 GB18030 编码的 CSV"
    assert raised.value.extra["errors"] == ["文件不是 UTF-8 或 GB18030 编码的 CSV"]


def test_a_broken_csv_names_its_line() -> None:
    text = "\n".join(",".join(row) for row in one()) + '\n"' + "x" * 200_000 + '"'
    with pytest.raises(FormularyInvalid) as raised:
        formulary.read(text.encode(), "x.csv")
    assert raised.value.detail == "第 3 行 整行：CSV 格式错误：单元格过长或引号不配对"


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_workbook_is_read_with_whole_numbers_as_text() -> None:
    line: list[object] = list(PLAIN)
    line[5], line[6] = 5.0, 28
    (p,) = formulary.read(workbook([REQUIRED, line]), "药品字典.XLSX")
    assert (p.dose_per_unit, p.pack_size) == (5.0, 28)
    assert p.code == product_code("氨氯地平片", "")


def test_a_workbook_cell_with_a_formula_is_refused() -> None:
    line: list[object] = list(PLAIN)
    line[6] = "=20+8"
    with pytest.raises(FormularyInvalid) as raised:
        formulary.read(workbook([REQUIRED, line]), "x.xlsx")
    assert raised.value.detail == "第 2 行 公式：请将公式单元格粘贴为数值"
    assert raised.value.extra["errors"] == ["第 2 行 公式：请将公式单元格粘贴为数值"]


@pytest.mark.parametrize("data", [b"not a zip", b""])
def test_a_file_that_is_not_a_workbook_is_refused(data: bytes) -> None:
    with pytest.raises(FormularyInvalid) as raised:
        formulary.read(data, "x.xlsx")
    assert raised.value.detail == "文件已损坏或不是 XLSX 格式"


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hello")
    with pytest.raises(FormularyInvalid) as raised:
        formulary.read(out.getvalue(), "x.xlsx")
    assert raised.value.detail == "文件已损坏或不是 XLSX 格式"


def test_a_zip_bomb_is_refused_by_its_inflated_size() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.xml", b"\0" * (100 * 1024 * 1024 + 1))
    with pytest.raises(FormularyInvalid) as raised:
        formulary.read(out.getvalue(), "x.xlsx")
    assert raised.value.detail == "XLSX 解压后超过 100 MB，请分批导入"


# --- the export ---------------------------------------------------------------------------------


def test_the_export_writes_the_chinese_headers_and_each_field() -> None:
    (p,) = formulary.parse(
        one(
            {
                "药品编码": "H-001",
                "商品名": "络活喜|安内真",
                "规格": "5mg",
                "ATC": "C08CA01",
                "单价（元）": "12.5",
                "最大日剂量": "10",
                "管制类别": "narcotic",
                "来源": "=cmd",
            }
        )
    )
    otc = formulary.parse(one(处方类别="OTC", 通用名="另一种药"))[0]
    header = (
        "药品编码,通用名,英文名,商品名,成分,国药准字,医保编码,规格,剂型,最小单位,剂量单位,"
        "单位剂量,包装数量,包装单位,给药途径,ATC,单价（元）,处方类别,最大日剂量,管制类别,来源\n"
    )
    first = "H-001,氨氯地平片,,络活喜|安内真,氨氯地平,,,5mg,片,片,mg,5,28,盒,口服,C08CA01,"
    first += "12.50,Rx,10,narcotic,'=cmd\n"
    second = f"{otc.code},另一种药,,,氨氯地平,,,,片,片,mg,5,28,盒,口服,,,OTC,,,\n"
    assert formulary.export([p, otc]) == header + first + second
