"""The hospital's drug dictionary (药品字典) as a file: CSV or XLSX, headers in Chinese or
English, read line by line into products. Every line is checked and every error named with
its line and column; a file with any error imports nothing (a half-loaded formulary would let
one ward prescribe what another cannot).

The package's own formulary (prescriptions/data/drugs.csv) is read by the same code."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import DomainError
from prescriptions import dosing
from prescriptions.catalogue import ControlClass, Product, product_code

# Each field and the headers it is found under (the first is what the export writes).
HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("药品编码", "编码", "code"),
    "generic_name": ("通用名", "通用名称", "药品名称", "generic_name"),
    "english_name": ("英文名", "英文名称", "english_name"),
    "brands": ("商品名", "brands"),
    "ingredients": ("成分", "活性成分", "ingredients"),
    "approval_no": ("国药准字", "批准文号", "approval_no"),
    "insurance_code": ("医保编码", "医保代码", "国家医保编码", "insurance_code"),
    "strength": ("规格", "strength"),
    "dosage_form": ("剂型", "dosage_form"),
    "unit": ("最小单位", "制剂单位", "unit"),
    "dose_unit": ("剂量单位", "dose_unit"),
    "dose_per_unit": ("单位剂量", "每单位剂量", "dose_per_unit"),
    "pack_size": ("包装数量", "pack_size"),
    "pack_unit": ("包装单位", "pack_unit"),
    "route": ("给药途径", "route"),
    "atc": ("ATC", "ATC编码", "atc"),
    "price": ("单价（元）", "单价", "零售价", "价格", "price"),
    "rx": ("处方类别", "处方药", "rx"),
    "max_daily_dose": ("最大日剂量", "日最大剂量", "max_daily_dose"),
    "product_class": ("管制类别", "product_class"),
    "source": ("来源", "备注", "source"),
}
REQUIRED = (
    "generic_name",
    "ingredients",
    "dosage_form",
    "unit",
    "dose_unit",
    "dose_per_unit",
    "pack_size",
    "pack_unit",
    "route",
    "rx",
)
LABELS = {field: names[0] for field, names in HEADERS.items()}
LIST_SEPARATORS = re.compile(r"[|、；;]")
ATC = re.compile(r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$")
# 国药准字 + H (化学药) Z (中药) S (生物制品) J (进口分包装) B (保健药品) T (体外化学诊断)
# F (药用辅料), then J/C for imported or from Hong Kong, Macao and Taiwan since 2020; or the
# older import licence numbers (H/S/Z, optional C/J, 8 digits).
APPROVAL = re.compile(r"^(国药准字[HZSJBTF][JC]?\d{8}|[HSZ][CJ]?\d{8})$")
INSURANCE = re.compile(r"^[XZ][A-Z0-9]{10,26}$")  # 国家医保药品编码: X 西药, Z 中成药
RX = {"rx": True, "处方药": True, "处方": True, "otc": False, "非处方药": False}
RX |= {"甲类otc": False, "乙类otc": False, "otc甲类": False, "otc乙类": False}
MAX_ERRORS = 200
MAX_XLSX_INFLATED = 100 * 1024 * 1024
MAX_CELL = 2000
# The longest each field may be (the columns they are kept in).
FIELD_LIMITS = {
    "generic_name": 100,
    "english_name": 200,
    "strength": 64,
    "dosage_form": 32,
    "route": 16,
    "unit": 8,
    "pack_unit": 8,
    "source": 300,
}
UNIT_IN_BRACKETS = re.compile(r"\([^)]*\)$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A cell a spreadsheet would run as a formula; written out behind an apostrophe (OWASP CSV
# injection), which reading takes off again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Bad = Callable[[str, str], None]  # reports a field's error on the current line
MAX_ROWS = 50_000


@dataclass(frozen=True)
class LineError:
    line: int
    column: str
    message: str

    def text(self) -> str:
        return f"第 {self.line} 行 {self.column}：{self.message}"


class FormularyInvalid(DomainError):
    code = "formulary_invalid"
    status = 422
    title = "药品字典有错误，未导入"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        # Always the list of what is wrong, a whole-file problem as its one entry.
        extra.setdefault("errors", [detail or self.title])
        super().__init__(detail, **extra)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export(products: list[Product] | tuple[Product, ...]) -> str:
    """The formulary as a CSV with the Chinese headers: what `read` takes back unchanged.
    A cell a spreadsheet would run as a formula goes out behind an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([LABELS[f] for f in HEADERS])
    for p in products:
        writer.writerow(
            _safe_cell(cell)
            for cell in [
                p.code,
                p.generic_name,
                p.english_name,
                "|".join(p.brands),
                "|".join(p.ingredients),
                p.approval_no,
                p.insurance_code,
                p.strength,
                p.dosage_form,
                p.unit,
                p.dose_unit,
                f"{p.dose_per_unit:g}",
                p.pack_size,
                p.pack_unit,
                p.route,
                p.atc,
                "" if p.price_fen is None else f"{p.price_fen / 100:.2f}",
                "Rx" if p.rx else "OTC",
                "" if p.max_daily_dose is None else f"{p.max_daily_dose:g}",
                p.product_class.value if p.product_class else "",
                p.source,
            ]
        )
    return out.getvalue()


def _safe_cell(cell: object) -> str:
    text = str(cell)
    return "'" + text if text.startswith(FORMULA_START) else text


def read(data: bytes, filename: str) -> list[Product]:
    """The products of a CSV or XLSX file, or FormularyInvalid naming every bad line."""
    rows = _xlsx_rows(data) if filename.lower().endswith(".xlsx") else _csv_rows(data)
    return parse(rows)


def _csv_rows(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FormularyInvalid("文件不是 UTF-8 或 GB18030 编码的 CSV")
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # old Mac line ends too
    reader = csv.reader(io.StringIO(text))
    rows: list[list[str]] = []
    try:
        rows.extend(reader)
    except csv.Error as exc:  # a cell over csv's limit, a stray quote
        error = LineError(reader.line_num, "整行", "CSV 格式错误：单元格过长或引号不配对")
        raise FormularyInvalid(error.text()) from exc
    return rows


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # only when a workbook is imported

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(entry.file_size for entry in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise FormularyInvalid("文件已损坏或不是 XLSX 格式") from exc
    if inflated > MAX_XLSX_INFLATED:  # a zip bomb is refused before it is opened
        raise FormularyInvalid(f"XLSX 解压后超过 {MAX_XLSX_INFLATED // 1048576} MB，请分批导入")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        sheet = book.worksheets[0]
        rows: list[list[str]] = []
        formulas: list[str] = []
        for number, row in enumerate(sheet.iter_rows(), start=1):
            if number > MAX_ROWS + 1:
                raise FormularyInvalid(f"超过 {MAX_ROWS} 行，请分批导入")
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    formulas.append(LineError(number, "公式", "请将公式单元格粘贴为数值").text())
            rows.append(["" if cell.value is None else _cell(cell.value) for cell in row])
        book.close()
    except FormularyInvalid:
        raise
    except Exception as exc:  # a corrupt or foreign workbook: said plainly, never a 500
        raise FormularyInvalid("文件已损坏或不是 XLSX 格式") from exc
    if formulas:
        raise FormularyInvalid(formulas[0], errors=formulas[:MAX_ERRORS])
    return rows


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse(rows: list[list[str]]) -> list[Product]:
    """Products from a header row and data rows; every error found, or none imported."""
    if not rows:
        raise FormularyInvalid("文件为空")
    if len(rows) > MAX_ROWS + 1:
        raise FormularyInvalid(f"超过 {MAX_ROWS} 行，请分批导入")
    columns, width = _columns(rows[0])
    errors: list[LineError] = []
    products: list[Product] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        extra = [cell for cell in row[width:] if cell.strip()]
        if extra:
            errors.append(LineError(number, "整行", f"比表头多出 {len(extra)} 个单元格"))
            continue
        values = {f: _text(row[i]) if i < len(row) else "" for f, i in columns.items()}
        unreadable = [f for f, v in values.items() if CONTROL_CHARACTERS.search(v)]
        long = [f for f, v in values.items() if len(v) > MAX_CELL]
        for field in unreadable:
            errors.append(LineError(number, LABELS[field], "含有不可见的控制字符"))
        for field in long:
            errors.append(LineError(number, LABELS[field], f"超过 {MAX_CELL} 字"))
        if unreadable or long:
            continue
        product = _product(number, values, errors)
        if product is None:
            continue
        if product.code in seen:
            errors.append(
                LineError(number, LABELS["code"], f"与第 {seen[product.code]} 行重复（同一药品）")
            )
            continue
        seen[product.code] = number
        products.append(product)
        if len(errors) >= MAX_ERRORS:
            break
    if not products and not errors:
        errors.append(LineError(2, LABELS["generic_name"], "没有药品"))
    if errors:
        raise FormularyInvalid(
            "；".join(e.text() for e in errors[:5]) + ("……" if len(errors) > 5 else ""),
            errors=[e.text() for e in errors[:MAX_ERRORS]],
        )
    return products


def _text(cell: str) -> str:
    """A cell's text: trimmed, and without the apostrophe that kept a formula from running."""
    text = cell.strip()
    return text[1:] if text.startswith("'") and text[1:2] in FORMULA_START else text


def _header_key(name: str) -> str:
    """A header as matched: half-width, lower case, no spaces, no unit in brackets
    (ＡＴＣ → atc, 单价(元) and 单价（元） → 单价, 最大日剂量（mg） → 最大日剂量)."""
    text = unicodedata.normalize("NFKC", name).strip().lstrip("\ufeff").lower()
    return UNIT_IN_BRACKETS.sub("", text).replace(" ", "")


def _columns(header: list[str]) -> tuple[dict[str, int], int]:
    """Where each field is. A field under two headers is refused: which one to believe?"""
    fields = {_header_key(a): f for f, accepted in HEADERS.items() for a in accepted}
    found: dict[str, int] = {}
    twice: list[str] = []
    for index, name in enumerate(header):
        if CONTROL_CHARACTERS.search(name):
            twice.append(LineError(1, f"第 {index + 1} 列", "表头含有不可见的控制字符").text())
            continue
        field = fields.get(_header_key(name))
        if field is None:
            continue  # a column the formulary does not keep (厂家, 库存 …)
        if field in found:
            twice.append(LineError(1, name.strip(), f"与第 {found[field] + 1} 列重复").text())
        found[field] = found.get(field, index)
    missing = [LABELS[f] for f in REQUIRED if f not in found]
    problems = twice + [LineError(1, m, "缺少此列").text() for m in missing]
    if problems:
        title = f"缺少列：{'、'.join(missing)}" if missing else problems[0]
        raise FormularyInvalid(title, errors=problems)
    return found, len(header)


def _product(line: int, v: dict[str, str], errors: list[LineError]) -> Product | None:
    before = len(errors)

    def bad(field: str, message: str) -> None:
        errors.append(LineError(line, LABELS[field], message))

    for field in REQUIRED:
        if not v.get(field):
            bad(field, "不能为空")
    if len(errors) > before:
        return None
    dose_unit = ""
    try:
        dose_unit = dosing.dose_unit(v["dose_unit"])
    except dosing.DoseUnitMismatch as exc:
        bad("dose_unit", exc.detail)
    dose_per_unit = _positive(v["dose_per_unit"], "dose_per_unit", bad)
    pack_size = _positive(v["pack_size"], "pack_size", bad)
    if pack_size is not None and pack_size != int(pack_size):
        bad("pack_size", "须为整数")
    rx = RX.get(v["rx"].lower().replace(" ", ""))
    if rx is None:
        bad("rx", f"“{v['rx']}”应为 Rx/处方药 或 OTC/甲类OTC/乙类OTC")
    atc = v.get("atc", "").upper()
    if atc and not ATC.match(atc):
        bad("atc", f"“{atc}”不是 ATC 编码（如 C08CA01）")
    approval = v.get("approval_no", "").replace(" ", "")
    if approval and not APPROVAL.match(approval):
        bad("approval_no", f"“{approval}”不是批准文号（如 国药准字H20103361）")
    insurance = v.get("insurance_code", "").upper()
    if insurance and not INSURANCE.match(insurance):
        bad("insurance_code", f"“{insurance}”不是国家医保药品编码（X/Z 开头）")
    price = _price(v.get("price", ""), bad)
    maximum = (
        _positive(v["max_daily_dose"], "max_daily_dose", bad) if v.get("max_daily_dose") else None
    )
    product_class = _control(v.get("product_class", ""), bad)
    for field, limit in FIELD_LIMITS.items():
        if len(v.get(field, "")) > limit:
            bad(field, f"超过 {limit} 字")
    for field in ("brands", "ingredients"):
        if any(len(name) > 64 for name in _list(v.get(field, ""))):
            bad(field, "每个名称不超过 64 字")
    code = v.get("code", "") or product_code(v["generic_name"], v.get("strength", ""))
    if len(code) > 16:
        bad("code", "超过 16 位")
    if len(errors) > before:
        return None
    if dose_per_unit is None or pack_size is None:
        return None
    return Product(
        code=code,
        generic_name=v["generic_name"],
        english_name=v.get("english_name", ""),
        brands=_list(v.get("brands", "")),
        ingredients=_list(v["ingredients"]),
        dosage_form=v["dosage_form"],
        strength=v.get("strength", ""),
        route=v["route"],
        atc=atc,
        rx=bool(rx),
        max_daily_dose=maximum,
        product_class=product_class,
        source=v.get("source", ""),
        dose_unit=dose_unit,
        dose_per_unit=dose_per_unit,
        unit=v["unit"],
        pack_size=int(pack_size),
        pack_unit=v["pack_unit"],
        price_fen=price,
        approval_no=approval,
        insurance_code=insurance,
    )


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in LIST_SEPARATORS.split(text) if part.strip())


def _positive(text: str, field: str, bad: Bad) -> float | None:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value > 1e9:
        bad(field, f"“{text}”应为正数")
        return None
    return value


def _price(text: str, bad: Bad) -> int | None:
    """Yuan with at most 2 decimals, kept as integer fen."""
    if not text:
        return None
    try:
        value = Decimal(text.replace("¥", "").replace("元", "").replace(",", ""))
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0 or value > 1_000_000:
        value = Decimal(-1)
    if value < 0 or value != value.quantize(Decimal("0.01")):
        bad("price", f"“{text}”应为不超过两位小数的金额（元）")
        return None
    return int(value * 100)


def _control(text: str, bad: Bad) -> ControlClass | None:
    if not text:
        return None
    for control in ControlClass:
        if text in (control.value, control.label):
            return control
    bad("product_class", f"“{text}”不是管制类别")
    return None
