"""seal health data: diagnoses, referral reasons and red flags, the prescription's diagnosis
and notification texts are stored sealed (AES-GCM under DATA_KEY) like other personal data

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 23:15:16.000000

Existing rows are sealed in place, which needs the data key: run it through
`hospital db upgrade` (the app loads DATA_KEY before migrating).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table, column, sealing context, clear type, nullable, holds JSON
COLUMNS: tuple[tuple[str, str, str, Any, bool, bool], ...] = (
    ("notifications", "body", "core.notification.body", sa.Text(), False, False),
    ("offline_diagnoses", "icd10_code", "followup.diagnosis.icd10_code", sa.String(16), False, False),
    ("offline_diagnoses", "disease_name", "followup.diagnosis.disease_name", sa.String(64), False, False),
    ("offline_diagnoses", "review_note", "followup.diagnosis.review_note", sa.String(200), True, False),
    ("prescriptions", "diagnosis_code", "prescriptions.diagnosis_code", sa.String(16), False, False),
    ("referrals", "diagnosis_code", "followup.referral.diagnosis_code", sa.String(16), True, False),
    ("referrals", "reason", "followup.referral.reason", sa.String(500), False, False),
    ("referrals", "red_flags", "followup.referral.red_flags", sa.JSON(), False, True),
)  # fmt: skip


def _convert(table: str, column: str, new_type: Any, nullable: bool, change: Any) -> None:
    bind = op.get_bind()
    staging = f"{column}_new"
    with op.batch_alter_table(table) as batch_op:
        batch_op.add_column(sa.Column(staging, new_type, nullable=True))
    rows = bind.execute(
        sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")  # noqa: S608
    ).all()
    for row_id, value in rows:
        bind.execute(
            sa.text(f"UPDATE {table} SET {staging} = :v WHERE id = :id"),  # noqa: S608
            {"v": change(value), "id": row_id},
        )
    with op.batch_alter_table(table) as batch_op:
        batch_op.drop_column(column)
        batch_op.alter_column(
            staging, new_column_name=column, existing_type=new_type, nullable=nullable
        )


def upgrade() -> None:
    from core import crypto

    for table, column, context, _clear, nullable, is_json in COLUMNS:

        def seal(value: Any, context: str = context, is_json: bool = is_json) -> bytes:
            if is_json:
                value = json.loads(value) if isinstance(value, str) else value
                return crypto.seal(json.dumps(value, ensure_ascii=False), context)
            return crypto.seal(str(value), context)

        _convert(table, column, sa.LargeBinary(), nullable, seal)


def downgrade() -> None:
    from core import crypto

    for table, column, context, clear, nullable, _is_json in COLUMNS:
        # The clear text (JSON text for red flags) is what the clear column held.
        def open_(value: Any, context: str = context) -> str:
            return crypto.open_sealed(bytes(value), context)

        _convert(table, column, clear, nullable, open_)
