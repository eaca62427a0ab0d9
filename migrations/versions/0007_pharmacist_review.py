"""prescriptions: pharmacist review

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 06:26:44.189806
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "pharmacist_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("pharmacist_signature_key", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("pharmacist_signature", sa.String(length=128), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_prescriptions_pharmacist_id_practitioners"),
            "practitioners",
            ["pharmacist_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_prescriptions_pharmacist_id_practitioners"), type_="foreignkey"
        )
        batch_op.drop_column("pharmacist_signature")
        batch_op.drop_column("pharmacist_signature_key")
        batch_op.drop_column("review_note")
        batch_op.drop_column("review_reason")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("pharmacist_id")
