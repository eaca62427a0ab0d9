"""Prescribing in the product's own units with a 用法: insulin in units, inhalers in puffs,
weekly tablets, micrograms; whole packs and their 金额; the strength the doctor means."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from prescriptions.catalogue import products
from prescriptions.services.drugs import LoadReport
from tests import factories
from tests.followup.helpers import doctor_headers, patient_with_diagnosis, start_visit


@pytest.fixture
def visit(client: FlaskClient, session: Session, catalogue: LoadReport) -> dict[str, Any]:
    _, patient, diagnosis_id = patient_with_diagnosis(session)
    visit_id = start_visit(client, patient, diagnosis_id).json["id"]
    dr = doctor_headers(session, factories.practitioner())
    assert client.post(f"/api/v1/consultations/{visit_id}/accept", headers=dr).status_code == 200
    return {"id": visit_id, "doctor": dr}


def _write(client: FlaskClient, visit: dict, *items: dict, **extra: Any) -> Any:
    return client.post(
        f"/api/v1/consultations/{visit['id']}/prescriptions",
        json={"items": list(items), **extra},
        headers=visit["doctor"],
    )


def _product(name: str, strength: str) -> Any:
    return next(p for p in products() if p.generic_name == name and p.strength == strength)


def test_insulin_in_units_and_an_inhaler_in_puffs(client: FlaskClient, visit: dict) -> None:
    written = _write(
        client,
        visit,
        {
            "drug": "甘精胰岛素注射液",
            "dose": 12,
            "dose_unit": "单位",
            "frequency": "睡前",
            "days": 28,
        },
        {"drug": "沙丁胺醇气雾剂", "dose": 2, "frequency": "prn", "times_per_day": 4, "days": 28},
    )
    assert written.status_code == 201, written.json
    insulin, inhaler = written.json["items"]
    # 12 U a night for 28 days is 336 U: two 300 U pens.
    assert (insulin["dose"], insulin["dose_unit"], insulin["frequency"]) == (12, "U", "qn")
    assert insulin["usage"] == "每次 12 U，每晚一次，注射，共 28 天"
    assert (insulin["quantity"], insulin["pack_unit"]) == (2, "盒")
    pen = _product("甘精胰岛素注射液", "300U")
    assert insulin["amount_fen"] == 2 * pen.price_fen
    # Up to 2 puffs 4 times a day for 28 days: 224 puffs from 200-puff canisters.
    assert inhaler["quantity"] == 2
    assert inhaler["usage"].startswith("每次 2揿，必要时（每日最多 4 次）")


def test_a_weekly_tablet_is_counted_by_the_week(client: FlaskClient, visit: dict) -> None:
    written = _write(
        client,
        visit,
        {"drug": "阿仑膦酸钠片 70mg", "dose": 70, "frequency": "每周一次", "days": 84},
        stable_chronic_reason="骨质疏松，病情稳定，长期规律用药",
    )
    assert written.status_code == 201, written.json
    line = written.json["items"][0]
    assert line["strength"] == "70mg"
    assert line["quantity"] == 3  # 12 tablets, packs of 4
    # Every day would be ten times the dose: refused against the daily maximum of the product.
    daily = _write(
        client, visit, {"drug": "阿仑膦酸钠片 70mg", "dose": 70, "frequency": "bid", "days": 7}
    )
    assert daily.status_code == 422
    assert daily.json["code"] == "dose_exceeds_max"
    assert "140 mg" in daily.json["detail"]


def test_micrograms_and_milligrams_are_the_same_dose(client: FlaskClient, visit: dict) -> None:
    written = _write(
        client,
        visit,
        {"drug": "左甲状腺素钠片", "dose": 0.05, "dose_unit": "mg", "frequency": "qm", "days": 28},
    )
    assert written.status_code == 201, written.json
    line = written.json["items"][0]
    assert (line["strength"], line["dose"], line["dose_unit"]) == ("50μg", 50, "μg")
    assert line["usage"].startswith("每次 50 μg，每晨一次")


def test_the_strength_the_doctor_means(client: FlaskClient, visit: dict) -> None:
    def strength_of(**item: Any) -> Any:
        # A few days each: the strengths asked for add up in force (28 days at most).
        response = _write(client, visit, {"days": 3, "frequency": "qd", **item})
        return (
            response.json["items"][0]["strength"] if response.status_code == 201 else response.json
        )

    assert strength_of(drug="氨氯地平", dose=5) == "5mg"  # one tablet, not two of 2.5 mg
    assert strength_of(drug="氨氯地平", dose=2.5) == "2.5mg"
    assert strength_of(drug="氨氯地平 2.5mg", dose=5) == "2.5mg"  # as written: two tablets
    assert strength_of(drug="苯磺酸氨氯地平片10mg", dose=10) == "10mg"
    ten = _product("苯磺酸氨氯地平片", "10mg")
    assert strength_of(drug="氨氯地平", dose=5, drug_id=ten.code) == "10mg"  # half a tablet
    # An id that is not what the name says: refused, never silently swapped.
    metformin = next(p for p in products() if "二甲双胍" in p.generic_name)
    refused = strength_of(drug="氨氯地平", dose=5, drug_id=metformin.code)
    assert refused["code"] == "unknown_drug"
    # Immediate and controlled release are different medicines: the doctor must choose.
    ambiguous = strength_of(drug="硝苯地平", dose=10)
    assert ambiguous["code"] == "unknown_drug"
    assert "请选择具体规格" in ambiguous["detail"]


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"drug": "沙丁胺醇气雾剂", "dose_mg": 0.1, "times_per_day": 4}, "dose_unit_mismatch"),
        (
            {"drug": "甘精胰岛素注射液", "dose": 10, "dose_unit": "mg", "frequency": "qd"},
            "dose_unit_mismatch",
        ),
        (
            {"drug": "氨氯地平", "dose": 5, "dose_unit": "勺", "frequency": "qd"},
            "dose_unit_mismatch",
        ),
        ({"drug": "氨氯地平", "dose": 5, "frequency": "偶尔吃"}, "unknown_frequency"),
        ({"drug": "氨氯地平", "dose": 5, "frequency": "每日十次"}, "unknown_frequency"),
        ({"drug": "氨氯地平", "dose": 5}, "validation_error"),
        ({"drug": "氨氯地平", "dose": 5, "dose_mg": 5, "frequency": "qd"}, "validation_error"),
    ],
)
def test_unclear_doses_are_refused_in_chinese(
    client: FlaskClient, visit: dict, item: dict, code: str
) -> None:
    refused = _write(client, visit, {"days": 28, **item})
    assert refused.status_code == 422, refused.json
    assert refused.json["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.json["detail"])


def test_older_clients_writing_dose_mg_still_work(client: FlaskClient, visit: dict) -> None:
    written = _write(
        client, visit, {"drug": "氨氯地平", "dose_mg": 5, "times_per_day": 1, "days": 28}
    )
    assert written.status_code == 201
    line = written.json["items"][0]
    assert (line["dose_mg"], line["frequency"], line["quantity"]) == (5, "qd", 1)
