"""Signing patients in on the H5 pages: WeChat web authorisation (snsapi_base: the Official
Account openid, linked to a patient account by unionid or binding code), or in demo mode the
demo sign-in."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import login_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired

from core import clock, providers
from identity import services as identity
from identity.models import Role
from identity.services import followers
from web.session import commit_now, db_session
from web.settings import settings
from wechat.interfaces import WeChat

bp = Blueprint("h5_auth", __name__, url_prefix="/h5/auth", template_folder="templates")
STATE = "h5_oauth_state"


class DemoForm(FlaskForm):  # type: ignore[misc]
    username = StringField("演示账号", default="patient", validators=[DataRequired()])


@bp.route("/", methods=["GET", "POST"])
def sign_in() -> str | Response:
    cfg = settings()
    form = DemoForm()
    if cfg.demo_mode and form.validate_on_submit():
        account = identity.account_by_username(db_session(), form.username.data)
        if account is None or account.role is not Role.patient:
            flash("没有这个演示患者账号", "error")
        else:
            login_user(account)
            return redirect(url_for("h5.home"))
    return render_template(
        "h5/sign_in.html",
        form=form,
        demo_mode=cfg.demo_mode,
        wechat=bool(cfg.wechat_oa_app_id and cfg.wechat_oa_app_secret),
    )


@bp.get("/wechat")
def wechat_start() -> Response:
    cfg = settings()
    if not cfg.wechat_oa_app_id:
        abort(404)
    state = secrets.token_urlsafe(16)
    session[STATE] = state
    oauth = providers.find(WeChat, cfg).web_oauth(url_for(".wechat_return", _external=True), state)
    return redirect(oauth.authorize_url)


@bp.get("/wechat/return")
def wechat_return() -> str | Response:
    """WeChat sends the browser back with a code; it is exchanged for the openid (once)."""
    cfg = settings()
    expected = session.pop(STATE, None)
    if not expected or request.args.get("state") != expected or not request.args.get("code"):
        flash("微信授权已失效，请重新进入", "error")
        return redirect(url_for(".sign_in"))
    oauth = providers.find(WeChat, cfg).web_oauth(
        url_for(".wechat_return", _external=True), expected
    )
    try:
        answer = oauth.fetch_access_token(request.args["code"])
    except Exception:  # WeChat refused the code or could not be reached
        flash("微信授权失败，请重试", "error")
        return redirect(url_for(".sign_in"))
    row = followers.follower(db_session(), cfg.wechat_oa_app_id, answer["openid"], clock.now())
    if answer.get("unionid") and row.account_id is None:
        followers.link_by_unionid(db_session(), row, answer["unionid"])
    commit_now()
    if row.account is None or row.account.role is not Role.patient:
        return render_template("h5/not_linked.html")
    login_user(row.account)
    return redirect(url_for("h5.home"))
