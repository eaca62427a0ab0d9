"""The hospital's drug dictionary (药品字典): imported from CSV or XLSX by an administrator,
versioned, each version with its diff."""

from __future__ import annotations

from flask import Blueprint, Response, request

from identity.models import Role
from identity.services import actor_of
from prescriptions.models import FormularyVersion
from prescriptions.schemas import (
    FormularyChange,
    FormularyImportOut,
    FormularyVersionList,
    FormularyVersionOut,
)
from prescriptions.services.drugs import (
    LoadReport,
    formulary_version,
    import_file,
    versions_of_formulary,
)
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import operation, upload
from web.responses import json_model
from web.session import db_session

bp = Blueprint("api_formulary", __name__)
MAX_FILE_BYTES = 20 * 1024 * 1024
SHOWN_CHANGES = 500


def _changes(
    diff: list[dict[str, object]] | tuple[dict[str, object], ...],
) -> list[FormularyChange]:
    return [FormularyChange.model_validate(entry) for entry in diff[:SHOWN_CHANGES]]


def import_out(report: LoadReport, products: int, dry_run: bool) -> FormularyImportOut:
    return FormularyImportOut(
        dry_run=dry_run,
        version=report.version,
        products=products,
        added=report.added,
        changed=report.updated,
        retired=report.retired,
        blocked=report.blocked,
        diff=_changes(report.diff),
    )


def version_out(version: FormularyVersion, with_diff: bool = False) -> FormularyVersionOut:
    return FormularyVersionOut(
        number=version.number,
        filename=version.filename,
        sha256=version.sha256,
        products=version.products,
        added=version.added,
        changed=version.changed,
        retired=version.retired,
        imported_at=version.imported_at,
        diff=_changes(version.diff) if with_diff else None,
    )


DESCRIPTION = (
    "Headers in Chinese or English (通用名, 商品名, 成分, 国药准字, 医保编码, 规格, 剂型, "
    "最小单位, 剂量单位, 单位剂量, 包装数量, 包装单位, 给药途径, ATC, 单价（元）, 处方类别, "
    "最大日剂量). Every "
    "line is checked; a file with any error imports nothing and the problem lists each error "
    "with its line. Controlled products are kept but barred from online prescribing; products "
    "left out are retired, never deleted."
)


def _import(dry_run: bool) -> FormularyImportOut:
    content = upload("file", max_bytes=MAX_FILE_BYTES)
    filename = request.files["file"].filename or "formulary.csv"
    if not filename.lower().endswith((".csv", ".xlsx")):
        raise ApiProblem(
            422, "formulary_invalid", "药品字典有错误，未导入", "请上传 .csv 或 .xlsx 文件"
        )
    account = api_account()
    count, report = import_file(
        db_session(), actor_of(account), content, filename, account_id=account.id, dry_run=dry_run
    )
    return import_out(report, count, dry_run)


@bp.post("/formulary/imports")
@operation(
    "Import the hospital's drug dictionary (CSV or XLSX) as a new formulary version",
    tag="drugs",
    files=("file",),
    response=FormularyImportOut,
    status=201,
    problems=("formulary_invalid", "missing_file", "file_too_large"),
    description=DESCRIPTION,
)
@api_roles_required(Role.admin)
def import_dictionary() -> tuple[Response, int]:
    return json_model(_import(dry_run=False), 201)


@bp.post("/formulary/imports/preview")
@operation(
    "What importing the file would change (the diff), without changing anything",
    tag="drugs",
    files=("file",),
    response=FormularyImportOut,
    problems=("formulary_invalid", "missing_file", "file_too_large"),
    description=DESCRIPTION,
)
@api_roles_required(Role.admin)
def preview() -> tuple[Response, int]:
    return json_model(_import(dry_run=True))


@bp.get("/formulary/versions")
@operation("The formulary's versions, newest first", tag="drugs", response=FormularyVersionList)
@api_roles_required(Role.admin, Role.pharmacist)
def versions() -> tuple[Response, int]:
    return json_model(
        FormularyVersionList(versions=[version_out(v) for v in versions_of_formulary(db_session())])
    )


@bp.get("/formulary/versions/<int:number>")
@operation(
    "One formulary version with what it changed",
    tag="drugs",
    response=FormularyVersionOut,
    problems=("not_found",),
)
@api_roles_required(Role.admin, Role.pharmacist)
def version(number: int) -> tuple[Response, int]:
    found = formulary_version(db_session(), number)
    if found is None:
        raise ApiProblem(404, "not_found", "未找到", f"没有第 {number} 版药品目录")
    return json_model(version_out(found, with_diff=True))
