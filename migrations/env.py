"""Alembic environment: the same revisions run on PostgreSQL and, in batch mode, on SQLite."""

from __future__ import annotations

import os
from logging.config import fileConfig
from pathlib import Path
from typing import Any

from alembic import context
from sqlalchemy.types import TypeDecorator

from core.db import load_models, make_engine, metadata

config = context.config
if config.config_file_name is not None and not config.attributes.get("database_url"):
    fileConfig(config.config_file_name)

load_models()


def _url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if url:
        return str(url)
    return f"sqlite:///{Path.cwd() / 'instance' / 'hospital.sqlite3'}"


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Our column types (encrypted text, UTC datetimes) are stored as their plain SQL type;
    # revisions name that type so they never import application code.
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # batch operations run on SQLite and PostgreSQL alike
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; connect to a database")
run_migrations()
