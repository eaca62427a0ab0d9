"""Error types shared by the domain packages.

A DomainError carries a stable machine `code` (used as the problem document's `code` at the
API) and a Chinese message for people; the doors decide how to render it.
"""

from __future__ import annotations

from typing import Any


class ConfigError(RuntimeError):
    """The service is configured in a way it must refuse to run with."""


class DomainError(Exception):
    code = "domain_error"
    status = 400
    title = "请求无法处理"
    # A refusal whose effects stand although the request fails: the audit of a blocked
    # controlled drug, a failed sign-in counted towards lock-out, a red flag's hand-off. The
    # door commits them (web.session; web.actions) and rolls back every other refusal.
    keeps_effects = False

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "未找到"


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = "无权执行此操作"


class InvalidState(DomainError):
    code = "invalid_state"
    status = 409
    title = "当前状态不允许此操作"


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 422
    title = "输入有误"


class AuthenticationFailed(DomainError):
    code = "authentication_failed"
    status = 401
    title = "用户名或密码错误"
    keeps_effects = True  # the failure counts towards lock-out


class AccountLocked(DomainError):
    code = "account_locked"
    status = 423
    title = "登录失败次数过多，账户已暂时锁定"
    keeps_effects = True
