"""The API's own description."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel, ConfigDict

from web.openapi import build_document, operation

bp = Blueprint("api_meta", __name__)


class OpenApiDocument(BaseModel):
    model_config = ConfigDict(extra="allow")
    openapi: str


@bp.get("/openapi.json")
@operation("This OpenAPI 3.1 document", tag="meta", response=OpenApiDocument, public=True)
def openapi_document() -> Response:
    return jsonify(build_document(current_app))
