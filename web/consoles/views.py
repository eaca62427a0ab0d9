"""Landing page, sign-in and sign-out, and each role's console home."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from core.errors import AccountLocked, AuthenticationFailed
from identity import services as identity
from identity.models import Role
from web.auth import console_roles_required
from web.consoles.forms import SignInForm, SignOutForm
from web.rate_limits import limiter, sign_in_limit
from web.session import commit_now, db_session
from web.settings import settings

bp = Blueprint("consoles", __name__, template_folder="templates")


@dataclass(frozen=True)
class Console:
    role: Role
    path: str
    title: str
    blurb: str
    # A console with a blueprint of its own names its index; the others get a plain home.
    endpoint: str | None = None

    @property
    def home_endpoint(self) -> str:
        return self.endpoint or f"consoles.{self.role.value}_home"


CONSOLES = (
    Console(
        Role.doctor,
        "doctor",
        "医生工作台",
        "接诊复诊、书写病历、开具电子处方、转诊",
        "doctor_console.index",
    ),
    Console(
        Role.pharmacist,
        "pharmacist",
        "药师审方台",
        "审核并签名电子处方",
        "pharmacist_console.index",
    ),
    Console(
        Role.kiosk, "kiosk", "药房自助终端", "扫码核验处方、核对身份、发药", "kiosk_console.index"
    ),
    Console(
        Role.family_doctor,
        "family-doctor",
        "家庭医生随访台",
        "签约居民、随访计划、血压血糖",
        "family_console.index",
    ),
    Console(
        Role.admin, "admin", "管理后台", "医务人员登记与资质、签名密钥、审计", "admin_console.index"
    ),
)
CONSOLE_BY_ROLE = {console.role: console for console in CONSOLES}


@bp.get("/")
def landing() -> str:
    return render_template(
        "landing.html", consoles=CONSOLES, demo_mode=settings().demo_mode, roles=Role
    )


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never send a signed-in user to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _home_for(role: Role) -> str:
    console = CONSOLE_BY_ROLE.get(role)
    return url_for(console.home_endpoint) if console else url_for(".landing")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(sign_in_limit, methods=["POST"])
def sign_in() -> str | Response:
    form = SignInForm()
    if form.validate_on_submit():
        cfg = settings()
        try:
            account = identity.authenticate(
                db_session(),
                form.username.data,
                form.password.data,
                max_failures=cfg.login_max_failures,
                lockout_seconds=cfg.login_lockout_seconds,
                source=request.remote_addr or "",
            )
        except AccountLocked as exc:
            commit_now()
            minutes = max(1, int(exc.extra.get("retry_after", 60)) // 60)
            flash(f"登录失败次数过多，账户已锁定，请约 {minutes} 分钟后再试。", "error")
        except AuthenticationFailed:
            commit_now()
            flash("用户名或密码错误。", "error")
        else:
            login_user(account)
            return redirect(_safe_next(request.args.get("next")) or _home_for(account.role))
    return render_template("sign_in.html", form=form, demo_mode=settings().demo_mode)


@bp.post("/sign-out")
def sign_out() -> Response:
    if SignOutForm().validate_on_submit():
        if current_user.is_authenticated:
            identity.end_sessions(db_session(), current_user)
        logout_user()
    return redirect(url_for(".landing"))


def _make_home(console: Console) -> None:
    @console_roles_required(console.role)
    def home() -> str:
        return render_template(
            "console_home.html", console=console, account=current_user, sign_out=SignOutForm()
        )

    bp.add_url_rule(f"/{console.path}", f"{console.role.value}_home", home)


for _console in CONSOLES:
    if _console.endpoint is None:
        _make_home(_console)
