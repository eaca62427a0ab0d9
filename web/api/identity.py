"""Identity API: sign-in and the signed-in account."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from identity import services as identity
from identity.models import Account
from identity.schemas import AccountOut, DemoSignIn, PasswordSignIn, TokenOut
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation
from web.rate_limits import limiter, sign_in_limit
from web.session import db_session
from web.settings import settings

bp = Blueprint("api_identity", __name__)


def token_response(account: Account) -> Response:
    issued = identity.issue_token(db_session(), account, settings().api_token_ttl_seconds)
    out = TokenOut(access_token=issued.token, expires_at=issued.expires_at, role=account.role)
    return jsonify(out.model_dump(mode="json"))


@bp.post("/auth/token")
@operation(
    "Sign in with username and password; returns a bearer token",
    tag="auth",
    body=PasswordSignIn,
    response=TokenOut,
    problems=("authentication_failed", "account_locked", "too_many_requests"),
    public=True,
    description="Five wrong passwords in a row lock the account for 15 minutes (423).",
)
@limiter.limit(sign_in_limit)
def password_token() -> Response:
    data: PasswordSignIn = body()
    cfg = settings()
    # A failure counts towards lock-out: AuthenticationFailed keeps its effects.
    account = identity.authenticate(
        db_session(),
        data.username,
        data.password,
        max_failures=cfg.login_max_failures,
        lockout_seconds=cfg.login_lockout_seconds,
        source=request.remote_addr or "",
    )
    return token_response(account)


@bp.post("/auth/demo")
@operation(
    "Demo mode only: a bearer token for a demo account, without WeChat",
    tag="auth",
    body=DemoSignIn,
    response=TokenOut,
    problems=("demo_mode_off", "unknown_demo_account"),
    public=True,
)
def demo_token() -> Response:
    if not settings().demo_mode:
        raise ApiProblem(403, "demo_mode_off", "演示登录仅在演示模式下可用")
    data: DemoSignIn = body()
    account = identity.account_by_username(db_session(), data.username)
    if account is None or not account.is_active:
        raise ApiProblem(404, "unknown_demo_account", "没有这个演示账户", data.username)
    current_app.logger.info("demo sign-in as %s", account.role.value)
    return token_response(account)


@bp.post("/auth/revoke")
@operation("Revoke the bearer token in use (sign out)", tag="auth", status=204)
@api_roles_required()
def revoke_token() -> Response:
    api_account()
    token = request.headers["Authorization"].partition(" ")[2].strip()
    identity.revoke_token(db_session(), token)
    return Response(status=204)


@bp.get("/auth/whoami")
@operation("The account behind the bearer token", tag="auth", response=AccountOut)
@api_roles_required()
def whoami() -> Response:
    account = api_account()
    return jsonify(AccountOut.model_validate(account).model_dump(mode="json"))
