"""Errors: RFC 9457 problem documents on the API, Chinese error pages elsewhere."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from core.errors import DomainError
from web.session import keep_effects

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://errors.hospital.invalid/"

HTTP_CODES = {
    400: ("bad_request", "请求格式有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "未找到"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "请求与当前状态冲突"),
    413: ("payload_too_large", "上传内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "输入有误"),
    423: ("locked", "已锁定"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误"),
    503: ("service_unavailable", "服务暂不可用"),
}


class ApiProblem(DomainError):
    """A problem raised by a door (as opposed to a domain rule)."""

    def __init__(self, status: int, code: str, title: str, detail: str | None = None, **extra: Any):
        self.status = status
        self.code = code
        self.title = title
        super().__init__(detail or title, **extra)


def problem_response(
    status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "code": code,
        "detail": detail or title,
        "instance": request.path,
    }
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    if status == 423 and "retry_after" in extra:
        response.headers["Retry-After"] = str(extra["retry_after"])
    return response


def wants_problem_json() -> bool:
    # WeChat's server reads only the status of an error; a problem document says why in logs.
    return request.path.startswith(("/api/", "/wechat/")) or request.path == "/healthz"


def _page(status: int, title: str, detail: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, detail=detail), status


# A NUL character is in no legitimate input, and PostgreSQL refuses it in text (a 500 after
# the door had accepted the request): refused at the door, before anything runs.
def _has_nul() -> bool:
    if any("\x00" in value for value in request.args.values()):
        return True
    if request.is_json or request.mimetype.endswith("+json"):
        raw = request.get_data(cache=True)
        return b"\x00" in raw or b"\\u0000" in raw
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return any("\x00" in value for value in request.form.values())
    return False


# The database or Redis cannot be reached (restarting, failing over): nothing was done, and
# the client may try again shortly — a 503 with Retry-After, never a 500.
OUTAGES = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)
RETRY_AFTER_SECONDS = 5


def _unavailable(exc: BaseException) -> Response | tuple[str, int]:
    log.warning("service unavailable on %s %s: %s", request.method, request.path, type(exc))
    code, title = HTTP_CODES[503]
    if wants_problem_json():
        response = problem_response(503, code, title, "数据库或缓存暂时不可用，请稍后重试")
    else:
        page, _ = _page(503, title, "系统正在恢复，请稍后重试。")
        response = Response(page, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul() -> Response | tuple[str, int] | None:
        if "\x00" in request.path or _has_nul():
            title = "输入含有不允许的控制字符（NUL）"
            if wants_problem_json():
                return problem_response(400, "invalid_characters", title)
            return _page(400, title, title)
        return None

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response | tuple[str, int]:
        keep_effects(exc)
        if wants_problem_json():
            return problem_response(exc.status, exc.code, exc.title, exc.detail, **exc.extra)
        return _page(exc.status, exc.title, exc.detail)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def _outage(exc: Exception) -> Response | tuple[str, int]:
        return _unavailable(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | tuple[str, int]:
        original = getattr(exc, "original_exception", None)
        if isinstance(original, OUTAGES):  # the door's commit met the outage
            return _unavailable(original)
        status = exc.code or 500
        code, title = HTTP_CODES.get(status, ("http_error", exc.name))
        # The exception's own headers (405's Allow, 401's WWW-Authenticate) stay on the answer.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        if wants_problem_json():
            response = problem_response(status, code, title)
            response.headers.update(headers)
            return response
        page, _ = _page(status, title, title)
        return Response(page, status=status, headers=headers, mimetype="text/html")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response | tuple[str, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        code, title = HTTP_CODES[500]
        if wants_problem_json():
            return problem_response(500, code, title)
        return _page(500, title, "请稍后重试；如问题持续，请联系医院客服。")
