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


@pytest.mark.postgresql
def test_health_data_written_in_clear_is_sealed_by_0022(app: object, scratch_postgres: str) -> None:
    """Rows from before 0022 are sealed in place: the database holds no diagnosis in clear, and
    the service reads them back as they were."""
    from sqlalchemy import text

    from core.db import Database
    from followup.models import OfflineDiagnosis, Referral

    config = alembic_config(scratch_postgres)
    command.upgrade(config, "0021")
    engine = create_engine(normalise_url(scratch_postgres))
    with engine.begin() as conn:
        person = conn.execute(
            text(
                "INSERT INTO persons (name, id_number, id_number_index, birth_date, sex, "
                "created_at) VALUES ('\\x00'::bytea, '\\x00'::bytea, 'i', '1980-01-01', "
                "'male', now()) RETURNING id"
            )
        ).scalar_one()
        account = conn.execute(
            text(
                "INSERT INTO accounts (username, display_name, password_hash, role, is_active, "
                "failed_logins, created_at, session_epoch) VALUES ('p', 'p', 'x', 'patient', "
                "true, 0, now(), 0) RETURNING id"
            )
        ).scalar_one()
        diagnosis = conn.execute(
            text(
                "INSERT INTO offline_diagnoses (person_id, icd10_code, disease_name, diagnosed_on,"
                " institution_name, doctor_name, source, status, created_at) VALUES (:p, "
                "'I10.x00x002', '原发性高血压', '2026-01-01', '医院', '医生', 'patient_upload', "
                "'pending', now()) RETURNING id"
            ),
            {"p": person},
        ).scalar_one()
        referral = conn.execute(
            text(
                "INSERT INTO referrals (person_id, account_id, reason, red_flags, urgency, "
                "department, source, state, follow_up_due, created_at, updated_at) VALUES "
                "(:p, :a, '胸痛 30 分钟', '[\"胸痛\"]', 'emergency', '急诊科', 'triage', "
                "'requested', '2026-12-05', now(), now()) RETURNING id"
            ),
            {"p": person, "a": account},
        ).scalar_one()
    command.upgrade(config, "head")
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT icd10_code FROM offline_diagnoses")).scalar_one()
        assert b"I10" not in bytes(raw)
        assert "胸痛".encode() not in bytes(
            conn.execute(text("SELECT reason FROM referrals")).scalar_one()
        )
    engine.dispose()
    database = Database(scratch_postgres)
    with database.transaction() as session:
        found = session.get(OfflineDiagnosis, diagnosis)
        assert found is not None
        assert (found.icd10_code, found.disease_name) == ("I10.x00x002", "原发性高血压")
        handed_off = session.get(Referral, referral)
        assert handed_off is not None
        assert (handed_off.reason, handed_off.red_flags) == ("胸痛 30 分钟", ["胸痛"])
    database.dispose()
