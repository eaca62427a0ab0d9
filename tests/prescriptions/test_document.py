"""The prescription document: the Chinese text a pharmacist reads, read back from the PDF."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pdfminer.high_level import extract_text
from sqlalchemy.orm import Session

from prescriptions.document import FONT_FILES
from prescriptions.models import Prescription
from prescriptions.services.drugs import LoadReport
from tests.browser import ARTIFACTS
from tests.followup.helpers import patient_with_diagnosis
from tests.helpers import bearer
from tests.plugins.prescriptions import Build
from tests.prescriptions.helpers import approved_prescription, written_prescription


def _text(response: object) -> str:
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.mimetype == "application/pdf"  # type: ignore[attr-defined]
    assert "no-store" in response.headers["Cache-Control"]  # type: ignore[attr-defined]
    return " ".join(extract_text(io.BytesIO(response.data)).split())  # type: ignore[attr-defined]


def test_an_approved_prescription_reads_as_a_chinese_prescription(
    client: FlaskClient, session: Session, prescribed: Build
) -> None:
    made = prescribed("approved")
    row = made.prescription
    response = client.get(
        f"/api/v1/prescriptions/{row.id}/document", headers=bearer(session, account=made.patient)
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "prescription.pdf").write_bytes(response.data)  # for a person to look at
    text = _text(response)
    for expected in (
        "互联网医院电子处方笺",
        "姓名：张三",
        "性别：男",
        "110105********1235",
        "临床诊断：原发性高血压",
        "Rp.",
        "苯磺酸氨氯地平片",
        "用法：每次 5 mg，每日一次，口服，共 28 天",
        "5mg×28片/盒 ×1盒",  # 规格 × 数量 with the pack unit
        "¥4.48",  # 金额 of the line at the formulary's price
        "金额：¥4.48",
        "调配：",
        "核对：",
        "发药：",
        f"医师：{row.doctor.name}",
        f"审核药师：{row.pharmacist.name}",  # type: ignore[union-attr]
        f"有效期至：{row.valid_until.isoformat()}",
        "处方药须凭处方在药师指导下购买和使用",
        row.doctor_signature_key,
        row.pharmacist_signature_key,
        row.redemption_code,
    ):
        assert expected in text, expected
    assert "110105198503141235" not in text  # the ID number only masked
    assert "不得调配" not in text


@pytest.mark.skipif(
    not any(Path(f).exists() for f in FONT_FILES),
    reason="no CJK font installed (apt install fonts-wqy-microhei; .ci/run installs it)",
)
def test_the_chinese_font_travels_with_the_file(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    """Embedded (a subset), so every viewer shows the same text."""
    written = approved_prescription(client, session)
    pdf = client.get(
        f"/api/v1/prescriptions/{written.id}/document", headers=written.patient_headers
    ).data
    assert b"/FontFile2" in pdf
    assert b"STSong-Light" not in pdf


def test_an_unreviewed_prescription_says_it_must_not_be_dispensed(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    written = written_prescription(client, session)
    text = _text(
        client.get(f"/api/v1/prescriptions/{written.id}/document", headers=written.doctor_headers)
    )
    assert "未经药师审核，不得调配" in text
    assert "取药码" not in text
    shown = client.get(f"/api/v1/prescriptions/{written.id}", headers=written.patient_headers)
    assert shown.json["redemption_code"] is None


def test_nobody_else_gets_the_document(
    client: FlaskClient, session: Session, catalogue: LoadReport
) -> None:
    written = approved_prescription(client, session)
    _, other_patient, _ = patient_with_diagnosis(session, "310104199007084564")
    for path in (
        f"/api/v1/prescriptions/{written.id}",
        f"/api/v1/prescriptions/{written.id}/document",
    ):
        assert client.get(path, headers=other_patient).status_code == 404
    mine = client.get("/api/v1/me/prescriptions", headers=other_patient).json
    assert mine["prescriptions"] == []
    own = client.get("/api/v1/me/prescriptions", headers=written.patient_headers).json
    assert [p["id"] for p in own["prescriptions"]] == [written.id]
    assert own["prescriptions"][0]["redemption_code"]


def _png(path: Path, size: tuple[int, int], colour: tuple[int, int, int, int]) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((2, 2, size[0] - 3, size[1] - 3), outline=colour, width=6)
    image.save(path)


def _images(pdf: bytes) -> int:
    """Images drawn on the page (an image's transparency mask is not one)."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTContainer, LTImage

    def count(item: object) -> int:
        if isinstance(item, LTImage):
            return 1
        if isinstance(item, LTContainer):
            return sum(count(child) for child in item)
        return 0

    return sum(count(page) for page in extract_pages(io.BytesIO(pdf)))


def test_the_seal_and_handwritten_signatures_where_the_hospital_keeps_them(
    make_app: Any, session: Session, tmp_path: Path, catalogue: LoadReport
) -> None:
    seal = tmp_path / "seal.png"
    _png(seal, (300, 300), (200, 0, 0, 255))
    signatures = tmp_path / "signatures"
    signatures.mkdir()
    client = make_app(
        PRESCRIPTION_SEAL_IMAGE=str(seal), SIGNATURE_IMAGES_DIR=str(signatures)
    ).test_client()
    written = approved_prescription(client, session)
    row = session.get(Prescription, written.id)
    assert row is not None
    assert row.pharmacist is not None
    for practitioner in (row.doctor, row.pharmacist):
        _png(signatures / f"{practitioner.licence_number}.png", (240, 90), (0, 0, 0, 255))
    url = f"/api/v1/prescriptions/{written.id}/document"
    stamped = client.get(url, headers=written.patient_headers).data
    assert _images(stamped) == 3  # the seal and both signatures
    (ARTIFACTS / "prescription-stamped.pdf").write_bytes(stamped)
    # Not reviewed yet: signed by the doctor, no seal on what may not be dispensed.
    draft = written_prescription(client, session, id_number="11010519491231002X")
    unsealed = client.get(
        f"/api/v1/prescriptions/{draft.id}/document", headers=draft.doctor_headers
    ).data
    assert _images(unsealed) == 0  # this doctor keeps no signature image
    # A hospital that keeps none prints none, and a missing file never fails the print.
    (signatures / f"{row.doctor.licence_number}.png").unlink()
    seal.unlink()
    assert _images(client.get(url, headers=written.patient_headers).data) == 1
