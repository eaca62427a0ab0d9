"""The app's Settings, for the doors."""

from __future__ import annotations

from flask import current_app

from core.settings import Settings


def settings() -> Settings:
    value: Settings = current_app.extensions["hospital.settings"]
    return value
