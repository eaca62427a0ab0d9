from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from web.openapi import documented_paths


def test_document_is_valid_openapi_3_1(client: FlaskClient, session: Session) -> None:
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_api_endpoint_is_documented(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    document = client.get("/api/v1/openapi.json").json
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        assert path in document["paths"], f"{rule.rule} missing from the OpenAPI document"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path]
    assert "/healthz" in document["paths"]
    assert len(documented_paths(app)) == len(document["paths"])


def test_protected_operations_declare_bearer_security(
    client: FlaskClient, session: Session
) -> None:
    document = client.get("/api/v1/openapi.json").json
    assert document["paths"]["/api/v1/auth/whoami"]["get"]["security"] == [{"bearer": []}]
    assert document["paths"]["/api/v1/auth/demo"]["post"]["security"] == []
