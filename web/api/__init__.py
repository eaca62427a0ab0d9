"""The JSON API (`/api/v1`): one blueprint per domain."""

from __future__ import annotations

from flask import Flask

from web.api import (
    consultations,
    diagnoses,
    identity,
    meta,
    patients,
    practitioners,
    referrals,
)

PREFIX = "/api/v1"


def register(app: Flask, csrf_exempt: list[object]) -> None:
    for module in (meta, identity, patients, practitioners, diagnoses, consultations, referrals):
        app.register_blueprint(module.bp, url_prefix=PREFIX)
        csrf_exempt.append(module.bp)
