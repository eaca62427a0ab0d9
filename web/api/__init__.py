"""The JSON API (`/api/v1`): one blueprint per domain."""

from __future__ import annotations

from flask import Flask

from web.api import (
    consultations,
    dependents,
    diagnoses,
    drugs,
    family,
    formulary,
    identity,
    kiosk,
    medicines,
    meta,
    patients,
    pharmacy,
    practitioners,
    prescriptions,
    referrals,
    review,
)

PREFIX = "/api/v1"


def register(app: Flask, csrf_exempt: list[object]) -> None:
    modules = (
        meta,
        identity,
        patients,
        dependents,
        practitioners,
        diagnoses,
        consultations,
        referrals,
        drugs,
        formulary,
        prescriptions,
        medicines,
        review,
        pharmacy,
        kiosk,
        family,
    )
    for module in modules:
        app.register_blueprint(module.bp, url_prefix=PREFIX)
        csrf_exempt.append(module.bp)
