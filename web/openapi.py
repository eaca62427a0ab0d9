"""The OpenAPI 3.1 document, built from the API views themselves.

Each API view is declared with `@operation(...)`: its summary, the pydantic model of its body
(validated here, 422 `validation_error` on failure), its response model and the problem codes
it may answer with. The document at /api/v1/openapi.json walks the URL map, so an endpoint
cannot exist without appearing in it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import Flask, g, request
from pydantic import BaseModel, ValidationError

from web.errors import ApiProblem

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    problems: tuple[str, ...] = ()
    public: bool = False
    description: str = ""
    form: type[BaseModel] | None = None
    files: tuple[str, ...] = ()
    # The JSON body may be left out entirely (all its fields are optional).
    body_optional: bool = False
    # Query parameters: (name, required, description).
    query: tuple[tuple[str, bool, str], ...] = ()


def operation(
    summary: str,
    *,
    tag: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    problems: tuple[str, ...] = (),
    public: bool = False,
    description: str = "",
    form: type[BaseModel] | None = None,
    files: tuple[str, ...] = (),
    body_optional: bool = False,
    query: tuple[tuple[str, bool, str], ...] = (),
) -> Callable[[F], F]:
    """Declare an API view. `body` is a JSON body; `form` and `files` a multipart body."""
    spec = Operation(
        summary,
        tag,
        body,
        response,
        status,
        problems,
        public,
        description,
        form,
        files,
        body_optional,
        query,
    )

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.openapi_operation = spec
            return view(*args, **kwargs)

        wrapper.openapi = spec  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorator


def parse_body(model: type[BaseModel]) -> BaseModel:
    data = request.get_json(silent=True)
    if data is None:
        raise ApiProblem(400, "invalid_json", "请求体必须是 JSON 对象")
    return _validate(model, data)


def _validate(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise ApiProblem(
            422, "validation_error", "输入有误", "请求内容未通过校验", errors=errors
        ) from exc


def body() -> Any:
    """The request body, validated against the operation's model. Parsed on first use, so that
    the view's authorisation runs before anything about the body is said."""
    if "body" not in g:
        spec: Operation = g.openapi_operation
        if spec.body is not None and spec.body_optional and not request.get_data():
            g.body = spec.body.model_validate({})
        elif spec.body is not None:
            g.body = parse_body(spec.body)
        elif spec.form is not None:
            g.body = _validate(spec.form, request.form.to_dict())
        else:
            raise RuntimeError("this operation declares no body")
    return g.body


def upload(name: str, max_bytes: int = 8 * 1024 * 1024) -> bytes:
    """A declared multipart file, read whole; missing, empty or too large is a 422."""
    spec: Operation = g.openapi_operation
    if name not in spec.files:
        raise RuntimeError(f"file {name!r} is not declared on this operation")
    storage = request.files.get(name)
    if storage is None or not storage.filename:
        raise ApiProblem(422, "missing_file", "缺少上传文件", f"请上传 {name}", field=name)
    data: bytes = storage.read(max_bytes + 1)
    if not data:
        raise ApiProblem(422, "missing_file", "上传文件为空", f"{name} 为空", field=name)
    if len(data) > max_bytes:
        raise ApiProblem(
            413, "file_too_large", "上传文件过大", f"{name} 超过 {max_bytes // 1048576} MB"
        )
    return data


_PATH_PARAM = re.compile(r"<(?:(?P<conv>[^:<>]+):)?(?P<name>[^<>]+)>")
_PARAM_TYPES = {"int": {"type": "integer"}, "string": {"type": "string"}, None: {"type": "string"}}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem document",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "stable machine-readable code"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}


def documented_paths(app: Flask) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules() if _in_document(rule.rule)})


def _in_document(path: str) -> bool:
    return path.startswith("/api/") or path in ("/healthz", "/wechat/callback")


def build_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    for rule in app.url_map.iter_rules():
        if not _in_document(rule.rule):
            continue
        view = app.view_functions[rule.endpoint]
        spec: Operation | None = getattr(view, "openapi", None)
        if spec is None:
            raise RuntimeError(f"{rule.rule} has no OpenAPI operation")
        path = _PATH_PARAM.sub(lambda m: "{" + m.group("name") + "}", rule.rule)
        params = [
            {
                "name": m.group("name"),
                "in": "path",
                "required": True,
                "schema": _PARAM_TYPES.get(m.group("conv"), {"type": "string"}),
            }
            for m in _PATH_PARAM.finditer(rule.rule)
        ]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation_document(
                method, spec, rule.endpoint, params, view, schemas
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "互联网医院 API",
            "version": "1",
            "description": "Return visits, e-prescriptions, pharmacy fulfilment and follow-up.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                **{
                    f"{partner}Signature": {
                        "type": "apiKey",
                        "in": "header",
                        "name": f"X-{partner.capitalize()}-Signature",
                        "description": f"hex HMAC-SHA256 of "
                        f"`{{X-{partner.capitalize()}-Timestamp}}.{{body}}`",
                    }
                    for partner in ("platform", "courier")
                },
            },
        },
    }


def _register(schemas: dict[str, Any], name: str, definition: dict[str, Any]) -> None:
    """Components are named by class: two different models of one name would silently
    replace each other (MeOut's verification once read as a prescription's)."""
    if schemas.get(name, definition) != definition:
        raise RuntimeError(f"two different models are named {name}: rename one")
    schemas[name] = definition


def _schema_ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        _register(schemas, name, definition)
    _register(schemas, model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retry-safe creation: a retry with the same key and the same request gets "
    "the first answer again (header Idempotent-Replayed: true) for 24 hours; the same key with "
    "another request is refused (idempotency_key_reused).",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:\\-]{1,64}$"},
}


def _operation_document(
    method: str,
    spec: Operation,
    endpoint: str,
    params: list[dict[str, Any]],
    view: Callable[..., Any],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    ok: dict[str, Any] = {"description": "OK"}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": _schema_ref(spec.response, schemas)}}
    responses: dict[str, Any] = {str(spec.status): ok}
    roles = getattr(view, "required_roles", None)
    if not spec.public:
        responses["401"] = {"description": "未登录或令牌无效", "content": problem}
    if roles:
        responses["403"] = {"description": "角色无权访问", "content": problem}
    if spec.body is not None or spec.form is not None:
        responses["422"] = {"description": "输入有误 (validation_error)", "content": problem}
    # Any operation meets an outage of the database or Redis the same way (web.errors).
    responses["503"] = {
        "description": "数据库或缓存暂不可用，稍后重试 (service_unavailable; Retry-After)",
        "content": problem,
    }
    params = [
        *params,
        *(
            {"name": name, "in": "query", "required": required, "description": text,
             "schema": {"type": "string"}}
            for name, required, text in spec.query
        ),
    ]  # fmt: skip
    if spec.problems:
        responses["4XX"] = {
            "description": "Problem codes: " + ", ".join(f"`{c}`" for c in spec.problems),
            "content": problem,
        }
    document: dict[str, Any] = {
        "operationId": endpoint,
        "summary": spec.summary,
        "tags": [spec.tag],
        "responses": responses,
    }
    if spec.description:
        document["description"] = spec.description
    if roles:
        document["description"] = (
            document.get("description", "") + "\n\nRoles: " + ", ".join(r.value for r in roles)
        ).strip()
    if method == "POST" and not spec.public:
        params = [*params, IDEMPOTENCY_KEY_PARAMETER]
        responses.setdefault(
            "400",
            {
                "description": "Idempotency-Key 格式无效 (invalid_idempotency_key)",
                "content": problem,
            },
        )
    if params:
        document["parameters"] = params
    if spec.body is not None:
        document["requestBody"] = {
            "required": not spec.body_optional,
            "content": {"application/json": {"schema": _schema_ref(spec.body, schemas)}},
        }
    if spec.form is not None or spec.files:
        document["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": _multipart_schema(spec, schemas)}},
        }
    partner = getattr(view, "signed_by", None)
    if partner:
        document["security"] = [{f"{partner}Signature": []}]
        responses["401"] = {"description": "签名无效或已过期 (bad_signature)", "content": problem}
    else:
        document["security"] = [] if spec.public else [{"bearer": []}]
    return document


def _multipart_schema(spec: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    if spec.form is not None:
        form_schema = spec.form.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in form_schema.pop("$defs", {}).items():
            _register(schemas, name, definition)
        properties.update(form_schema.get("properties", {}))
        required.extend(form_schema.get("required", []))
    for name in spec.files:
        properties[name] = {"type": "string", "contentMediaType": "application/octet-stream"}
        required.append(name)
    return {"type": "object", "properties": properties, "required": required}
