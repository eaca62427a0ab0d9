"""prescriptions: allergies, revisions, escalation, expiry, redemption codes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 08:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allergies", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("allergies_recorded_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("redemption_code", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("redemption_code_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_prescriptions_redemption_code_index"), ["redemption_code_index"]
        )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.alter_column("revision", server_default=None)
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "prescription_versions",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("prescription_id", big, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("doctor_signature_key", sa.String(length=64), nullable=True),
        sa.Column("doctor_signature", sa.String(length=128), nullable=True),
        sa.Column("review_reason", sa.String(length=32), nullable=True),
        sa.Column("review_note", sa.String(length=300), nullable=True),
        sa.Column("reviewed_by", big, nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescriptions.id"],
            name=op.f("fk_prescription_versions_prescription_id_prescriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"],
            ["practitioners.id"],
            name=op.f("fk_prescription_versions_reviewed_by_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescription_versions")),
        sa.UniqueConstraint(
            "prescription_id",
            "revision",
            name=op.f("uq_prescription_versions_prescription_id"),
        ),
    )
    with op.batch_alter_table("prescription_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prescription_versions_prescription_id"), ["prescription_id"]
        )


def downgrade() -> None:
    op.drop_table("prescription_versions")
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_prescriptions_redemption_code_index"), type_="unique"
        )
        batch_op.drop_column("redeemed_at")
        batch_op.drop_column("redemption_code_index")
        batch_op.drop_column("redemption_code")
        batch_op.drop_column("expired_at")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("revision")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_column("allergies_recorded_at")
        batch_op.drop_column("allergies")
