"""Drug API: search the catalogue as pharmacists do, and screen names."""

from __future__ import annotations

from flask import Blueprint, Response, request

from identity.models import Role
from identity.services import actor_of
from prescriptions.catalogue import Product
from prescriptions.schemas import DrugList, DrugOut, ScreenIn, ScreenOut, ScreenResult
from prescriptions.screening import search
from prescriptions.services.drugs import formulary_index, screen_names
from web.auth import api_account, api_roles_required
from web.openapi import body, operation
from web.responses import json_model
from web.session import db_session

bp = Blueprint("api_drugs", __name__)
CLINICAL = (Role.doctor, Role.pharmacist, Role.family_doctor)


def drug_out(p: Product) -> DrugOut:
    return DrugOut(
        drug_id=p.code,
        generic_name=p.generic_name,
        english_name=p.english_name,
        brands=list(p.brands),
        ingredients=list(p.ingredients),
        dosage_form=p.dosage_form,
        strength=p.strength,
        route=p.route,
        rx=p.rx,
        atc=p.atc,
        dose_unit=p.dose_unit,
        unit=p.unit,
        pack_size=p.pack_size,
        pack_unit=p.pack_unit,
        price_fen=p.price_fen,
        approval_no=p.approval_no,
        insurance_code=p.insurance_code,
        blocked=p.product_class is not None and p.product_class.never_online,
    )


@bp.get("/drugs")
@operation(
    "Search the catalogue by generic or brand name, pinyin or pinyin initials (`?q=aldp`)",
    tag="drugs",
    response=DrugList,
)
@api_roles_required(*CLINICAL)
def find() -> tuple[Response, int]:
    query = request.args.get("q", "")[:50]
    found = search(query, formulary_index(db_session()))
    return json_model(DrugList(drugs=[drug_out(p) for p in found]))


@bp.post("/drugs/screen")
@operation(
    "Screen drug names: what each is, and whether it may be prescribed online",
    tag="drugs",
    body=ScreenIn,
    response=ScreenOut,
    description="Special-management drugs (narcotic, psychotropic, toxic, radioactive, "
    "precursor) are blocked by ingredient under any name; unknown names cannot be prescribed. "
    "Every blocked name is audited.",
)
@api_roles_required(*CLINICAL)
def screen() -> tuple[Response, int]:
    data: ScreenIn = body()
    account = api_account()
    results = screen_names(db_session(), actor_of(account), data.names, "api.screen")
    return json_model(
        ScreenOut(
            results=[
                ScreenResult(
                    name=r.name,
                    known=r.known,
                    blocked=r.blocked,
                    control_class=r.control_class,
                    control_label=r.control_class.label if r.control_class else None,
                    drug_id=r.drug_code,
                    reason=r.reason,
                )
                for r in results
            ]
        )
    )
