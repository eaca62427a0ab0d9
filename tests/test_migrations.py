"""The revisions build the schema from empty on PostgreSQL and SQLite, and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from core.db import metadata, normalise_url
from migrations import alembic_config


def _upgrade_check_downgrade(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.check(config)  # raises if the models and the revisions disagree
    engine = create_engine(normalise_url(url))
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    engine.dispose()
    command.downgrade(config, "base")
    command.upgrade(config, "head")


def test_sqlite_from_empty(tmp_path: Path) -> None:
    _upgrade_check_downgrade(f"sqlite:///{tmp_path / 'm.sqlite3'}")


@pytest.mark.postgresql
def test_postgresql_from_empty(scratch_postgres: str) -> None:
    _upgrade_check_downgrade(scratch_postgres)
