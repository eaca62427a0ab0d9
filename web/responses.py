"""Small response helpers shared by the doors."""

from __future__ import annotations

from flask import Response, jsonify
from pydantic import BaseModel


def json_model(model: BaseModel, status: int = 200) -> tuple[Response, int]:
    return jsonify(model.model_dump(mode="json")), status


def private_file(data: bytes, mimetype: str | None) -> Response:
    """A patient's document or photo: never cached by a browser or a proxy."""
    return Response(data, mimetype=mimetype, headers={"Cache-Control": "private, no-store"})
