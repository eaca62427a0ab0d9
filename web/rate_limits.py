"""Rate limits at the doors where passwords are tried, per client address, kept in Redis (in
memory without it) so that every worker and node counts together. Many usernames tried from
one address slow down; the per-account lock-out (identity.services.accounts) still stops
guessing one account from many addresses. Behind a proxy, TRUSTED_PROXIES says how many hops
of X-Forwarded-For to believe, so that the address is the client's and not the proxy's."""

from __future__ import annotations

import secrets

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from core.settings import Settings

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def sign_in_limit() -> str:
    from web.settings import settings

    return settings().sign_in_rate_limit


def init_app(app: Flask, settings: Settings) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    # Redis down (restarting, failing over): patients can still sign in; the per-account
    # lock-out, kept in the database, still stops guessing meanwhile. The error is logged.
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    # One app's counters are its own (several apps share one Redis in the tests).
    app.config["RATELIMIT_KEY_PREFIX"] = f"ratelimit:{secrets.token_hex(4)}"
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )
    limiter.init_app(app)
