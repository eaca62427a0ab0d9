"""The prescription document (处方笺) as a PDF, in the usual Chinese layout: 前记 (institution,
patient, diagnosis, date), 正文 (Rp lines), 后记 (prescriber, reviewing pharmacist, both
signatures' fingerprints, validity) and, once approved, a QR code with the single-use
redemption code, printed in text too for typing at a kiosk.

Chinese is set in a CJK TrueType font embedded in the file (a subset: every viewer shows the
same glyphs), from the system's fonts (Debian's fonts-wqy-microhei or Noto CJK). Without one it
falls back to Adobe's standard CID font STSong-Light, which most readers carry but which is
not embedded, and says so in the log."""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from core import clock
from core.crypto import mask_id_number
from identity import rules as identity_rules
from prescriptions import dosing
from prescriptions.models import Prescription, PrescriptionState

FALLBACK_FONT = "STSong-Light"
EMBEDDED_FONT = "PrescriptionCJK"
FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
PAEDIATRIC_AGE = 14  # 儿科处方: patients under 14 (处方标准)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Header:
    institution: str
    department: str
    doctor_name: str
    pharmacist_name: str | None
    diagnosis_name: str
    allergies: list[str] | None
    # PNG files, where the hospital configures them (settings): drawn, never required.
    seal_image: str | None = None
    doctor_signature_image: str | None = None
    pharmacist_signature_image: str | None = None


@cache
def _font() -> str:
    for path in FONT_FILES:
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, path, subfontIndex=0))
            return EMBEDDED_FONT
    log.warning("no CJK font file found (apt install fonts-wqy-microhei): not embedding")
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def _time(value: dt.datetime | None) -> str:
    return value.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M") if value else "—"


def kind_label(age: int) -> str:
    return "儿科" if age < PAEDIATRIC_AGE else "普通"


def _not_dispensable(prescription: Prescription) -> str:
    """Why this copy must not be dispensed from (it carries no pick-up code)."""
    if prescription.redeemed_at is not None:
        return "已取药，不得重复调配"
    if prescription.state is PrescriptionState.expired or (
        prescription.state is PrescriptionState.approved
        and prescription.valid_until < clock.today()
    ):
        return "处方已过期，不得调配"
    if prescription.state is PrescriptionState.rejected:
        return "药师已退回，不得调配"
    return "未经药师审核，不得调配"


def _image(pdf: Canvas, path: str | None, x: float, y: float, w: float, h: float) -> None:
    """A configured PNG (a seal, a handwritten signature), its transparency kept. A missing or
    unreadable file is logged and left out: the printed copy never fails for it."""
    if not path:
        return
    try:
        pdf.drawImage(path, x, y, w, h, mask="auto", preserveAspectRatio=True, anchor="c")
    except Exception:  # reportlab raises OSError and its own errors for a bad image
        log.warning("prescription image unreadable: %s", path)


def qr_drawing(code: str, size: float) -> Drawing:
    """The pick-up code as a QR code of `size` points, for the PDF and for the phone page."""
    widget = QrCodeWidget(code, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def render(prescription: Prescription, header: Header) -> bytes:
    """The document for the prescription as it stands now (a draft says so on its face)."""
    font = _font()
    buffer = io.BytesIO()
    width, height = A5
    pdf = Canvas(buffer, pagesize=A5, pageCompression=1)
    pdf.setTitle(f"处方笺 {prescription.id}")
    pdf.setAuthor(header.institution)
    left, right = 12 * mm, width - 12 * mm
    person = prescription.person
    age = identity_rules.age_on(person.birth_date, prescription.issued_on)

    pdf.setFont(font, 9)
    pdf.drawRightString(right, height - 10 * mm, kind_label(age))
    pdf.setFont(font, 15)
    pdf.drawCentredString(width / 2, height - 16 * mm, header.institution)
    pdf.setFont(font, 13)
    pdf.drawCentredString(width / 2, height - 23 * mm, "互联网医院电子处方笺")

    pdf.setFont(font, 9)
    y = height - 31 * mm
    rows = [
        (
            f"处方编号：{prescription.id}-{prescription.revision}",
            "费别：自费",
            f"开具日期：{prescription.issued_on.isoformat()}",
        ),
        (f"姓名：{person.name}", f"性别：{person.sex.label}", f"年龄：{age} 岁"),
        (
            f"身份证号：{mask_id_number(person.id_number)}",
            f"科别：{header.department}",
            f"门诊号：{prescription.consultation_id}",
        ),
    ]
    for row in rows:
        for offset, text in zip((0, 55 * mm, 90 * mm), row, strict=True):
            pdf.drawString(left + offset, y, text)
        y -= 5.5 * mm
    pdf.drawString(left, y, f"临床诊断：{header.diagnosis_name}（{prescription.diagnosis_code}）")
    y -= 5.5 * mm
    allergies = header.allergies
    allergy_text = "未记录" if allergies is None else ("、".join(allergies) or "无")
    pdf.drawString(left, y, f"过敏史：{allergy_text}")
    y -= 3 * mm
    pdf.line(left, y, right, y)

    y -= 8 * mm
    pdf.setFont(font, 16)
    pdf.drawString(left, y, "Rp.")
    y -= 7 * mm
    for item in prescription.items:
        drug = item.drug
        pdf.setFont(font, 10.5)
        pdf.drawString(
            left + 4 * mm,
            y,
            f"{item.line}. {drug.generic_name}  {drug.strength}×{drug.pack_size}{drug.unit}/"
            f"{drug.pack_unit}  ×{item.quantity_text}",
        )
        if item.amount_fen is not None:
            pdf.drawRightString(right, y, f"¥{dosing.yuan(item.amount_fen)}")
        y -= 5 * mm
        pdf.setFont(font, 9)
        pdf.drawString(left + 9 * mm, y, "用法：" + item.usage)
        y -= 7 * mm
    # 处方管理办法: the blank after the last line is struck through.
    pdf.setFont(font, 9)
    pdf.drawString(left + 4 * mm, y, "（以下空白）")
    pdf.line(left + 30 * mm, y + 1 * mm, right, y + 1 * mm)
    amounts = [i.amount_fen for i in prescription.items]
    if amounts and all(a is not None for a in amounts):
        y -= 6 * mm
        pdf.drawRightString(right, y, f"金额：¥{dosing.yuan(sum(a or 0 for a in amounts))}")
    if prescription.stable_chronic_reason:
        y -= 6 * mm
        pdf.drawString(left, y, f"长期处方理由：{prescription.stable_chronic_reason[:40]}")
    if prescription.accompanying_physician:
        y -= 6 * mm
        pdf.drawString(left, y, f"陪同医师：{prescription.accompanying_physician}")

    _footer(pdf, prescription, header, left, right, font)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _footer(
    pdf: Canvas, prescription: Prescription, header: Header, left: float, right: float, font: str
) -> None:
    y = 62 * mm
    pdf.line(left, y, right, y)
    y -= 6 * mm
    pdf.setFont(font, 9)
    pdf.drawString(
        left, y, f"医师：{header.doctor_name}  签名时间：{_time(prescription.doctor_signed_at)}"
    )
    if prescription.doctor_signature:
        _image(pdf, header.doctor_signature_image, right - 62 * mm, y - 2 * mm, 24 * mm, 9 * mm)
    y -= 4.5 * mm
    pdf.setFont(font, 7)
    pdf.drawString(left, y, f"医师签名密钥指纹：{prescription.doctor_signature_key or '未签名'}")
    y -= 6 * mm
    pdf.setFont(font, 9)
    pharmacist = header.pharmacist_name if prescription.pharmacist_signature else None
    pdf.drawString(
        left,
        y,
        f"审核药师：{pharmacist or '—'}  审核时间："
        f"{_time(prescription.reviewed_at) if pharmacist else '—'}",
    )
    if pharmacist:
        _image(pdf, header.pharmacist_signature_image, right - 62 * mm, y - 2 * mm, 24 * mm, 9 * mm)
    y -= 4.5 * mm
    pdf.setFont(font, 7)
    pdf.drawString(
        left, y, f"药师签名密钥指纹：{prescription.pharmacist_signature_key or '未审核'}"
    )
    y -= 6 * mm
    pdf.setFont(font, 9)
    pdf.drawString(left, y, f"有效期至：{prescription.valid_until.isoformat()}（逾期作废）")
    y -= 5 * mm
    pdf.drawString(left, y, "调配：________  核对：________  发药：________")
    y -= 5 * mm
    pdf.drawString(left, y, "处方药须凭处方在药师指导下购买和使用。")

    if prescription.state is PrescriptionState.approved:
        # 处方专用章 over the review lines, on a prescription that may be dispensed only.
        _image(pdf, header.seal_image, right - 36 * mm, 36 * mm, 30 * mm, 30 * mm)
    if prescription.code_usable(clock.today()) and prescription.redemption_code:
        size = 30 * mm
        renderPDF.draw(qr_drawing(prescription.redemption_code, size), pdf, right - size, 8 * mm)
        pdf.setFont(font, 8)
        pdf.drawString(left, 12 * mm, "取药码（仅可使用一次）：")
        pdf.setFont("Courier-Bold", 11)
        pdf.drawString(left, 7 * mm, prescription.redemption_code)
    else:
        pdf.setFont(font, 12)
        pdf.setFillColorRGB(0.75, 0.1, 0.1)
        pdf.drawString(left, 10 * mm, _not_dispensable(prescription))
        pdf.setFillColorRGB(0, 0, 0)
