"""Who is asking: Flask-Login sessions for the consoles, bearer tokens for the JSON API,
and the role checks both doors use."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, g, redirect, request, url_for
from flask_login import LoginManager, current_user

from identity import services as identity
from identity.models import Account, Role
from web.errors import ApiProblem
from web.session import db_session

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
login_manager.login_view = "consoles.sign_in"
login_manager.login_message = "请先登录"
login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(session_id: str) -> Account | None:
    """The account of a console session, if the session is still current (see
    Account.session_epoch): a cookie from before a sign-out loads nobody."""
    account_id, _, epoch = session_id.partition(":")
    if not account_id.isdigit() or not epoch.isdigit():
        return None
    account = identity.account_by_id(db_session(), int(account_id))
    if account is None or not account.is_active or account.session_epoch != int(epoch):
        return None
    return account


def init_app(app: Flask) -> None:
    login_manager.init_app(app)


def bearer_account() -> Account | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return identity.account_for_token(db_session(), token.strip())


def api_account() -> Account:
    """The account behind the request's bearer token (cookies are not credentials on the API)."""
    account: Account | None = g.get("api_account")
    if account is None:
        account = bearer_account()
        if account is None:
            raise ApiProblem(401, "unauthorized", "请先登录", "缺少有效的访问令牌")
        g.api_account = account
    return account


def _check_role(account: Account, roles: tuple[Role, ...]) -> None:
    if roles and account.role not in roles:
        allowed = "、".join(role.label for role in roles)
        raise ApiProblem(403, "forbidden_role", "无权访问", f"此操作仅限{allowed}")


def api_roles_required(*roles: Role) -> Callable[[F], F]:
    """API views: a valid bearer token of one of `roles` (any role when none are given)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _check_role(api_account(), roles)
            return view(*args, **kwargs)

        wrapper.required_roles = roles  # type: ignore[attr-defined]  # read by the OpenAPI builder
        return cast(F, wrapper)

    return decorator


def console_roles_required(*roles: Role) -> Callable[[F], F]:
    """Console pages: a signed-in session of one of `roles`; others go to sign in."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("consoles.sign_in", next=request.path))
            _check_role(cast(Account, current_user), roles)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator
