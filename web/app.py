"""The app factory: settings from the environment, the database, Celery, the doors."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from bot import webhook as wechat_webhook
from core import crypto, runtime
from core import logging as core_logging
from core.celery_app import configure as configure_celery
from core.clock import CHINA
from core.db import Database, load_models
from core.settings import Settings
from web import (
    api,
    auth,
    errors,
    health,
    idempotency,
    rate_limits,
    request_isolation,
    security_headers,
    session,
)
from web.consoles import admin as admin_console
from web.consoles import doctor as doctor_console
from web.consoles import face_check
from web.consoles import family as family_console
from web.consoles import kiosk as kiosk_console
from web.consoles import pharmacist as pharmacist_console
from web.consoles import prescribing as doctor_prescriptions
from web.consoles import views as consoles
from web.h5 import auth as h5_auth
from web.h5 import family as h5_family
from web.h5 import identity as h5_identity
from web.h5 import views as h5_views

csrf = CSRFProtect()


def china_time(value: dt.datetime) -> str:
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def record_diagnosis(content: str) -> str:
    """A signed record's diagnosis, for history lists."""
    record = json.loads(content)
    return f"{record.get('diagnosis_name', '')}（{record.get('diagnosis_code', '')}）"


def create_app(config_override: Mapping[str, Any] | None = None) -> Flask:
    instance_path = os.environ.get("INSTANCE_PATH") or str(Path.cwd() / "instance")
    app = Flask(__name__, instance_path=instance_path)
    settings = Settings.from_env(os.environ, Path(instance_path), config_override)
    if settings.database_url.startswith("sqlite"):
        Path(instance_path).mkdir(parents=True, exist_ok=True)

    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The demo runs on plain http://127.0.0.1; everywhere else cookies need HTTPS.
        SESSION_COOKIE_SECURE=not settings.demo_mode,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=not settings.demo_mode,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        JSON_AS_ASCII=False,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if config_override and config_override.get("TESTING"):
        app.config["TESTING"] = True

    core_logging.install()
    crypto.configure(settings.data_key)
    load_models()
    database = Database(settings.database_url)
    redis_client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    runtime.install(runtime.Runtime(settings, database, redis_client))
    configure_celery(settings)

    app.extensions["hospital.settings"] = settings
    app.extensions["hospital.db"] = database

    session.init_app(app)
    idempotency.init_app(app)  # after session: its answer is kept before the commit
    security_headers.init_app(app, settings)
    rate_limits.init_app(app, settings)
    errors.init_app(app)
    auth.init_app(app)
    csrf.init_app(app)

    exempt: list[object] = []
    api.register(app, exempt)
    app.register_blueprint(health.bp)
    exempt.append(health.bp)
    # WeChat's callback is authenticated by its signature, not by a session.
    app.register_blueprint(wechat_webhook.bp)
    exempt.append(wechat_webhook.bp)
    app.register_blueprint(consoles.bp)
    app.register_blueprint(admin_console.bp)
    app.register_blueprint(doctor_console.bp)
    app.register_blueprint(pharmacist_console.bp)
    app.register_blueprint(doctor_prescriptions.bp)
    app.register_blueprint(kiosk_console.bp)
    app.register_blueprint(family_console.bp)
    app.register_blueprint(h5_auth.bp)
    app.register_blueprint(h5_views.bp)
    app.register_blueprint(h5_identity.bp)
    app.register_blueprint(h5_family.bp)
    app.add_template_filter(record_diagnosis, "fromjson_name")
    app.register_blueprint(face_check.bp)
    app.add_template_filter(china_time)
    for blueprint in exempt:
        # Bearer tokens are not ambient credentials: the API needs no CSRF token.
        csrf.exempt(blueprint)
    request_isolation.install(app)
    return app
