"""prescriptions: doctor signature

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 06:20:33.835876
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("doctor_signature_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("doctor_signature", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("doctor_signed_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_column("doctor_signed_at")
        batch_op.drop_column("doctor_signature")
        batch_op.drop_column("doctor_signature_key")
