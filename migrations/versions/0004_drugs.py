"""prescriptions: drug catalogue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 06:05:26.194525
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drugs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("generic_name", sa.String(length=100), nullable=False),
        sa.Column("english_name", sa.String(length=200), nullable=False),
        sa.Column("brands", sa.JSON(), nullable=False),
        sa.Column("ingredients", sa.JSON(), nullable=False),
        sa.Column("dosage_form", sa.String(length=32), nullable=False),
        sa.Column("strength", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("atc", sa.String(length=16), nullable=False),
        sa.Column("rx", sa.Boolean(), nullable=False),
        sa.Column("max_daily_dose_mg", sa.Float(), nullable=True),
        sa.Column(
            "control_class",
            sa.Enum(
                "narcotic",
                "psychotropic_1",
                "psychotropic_2",
                "toxic",
                "toxic_tcm",
                "radioactive",
                "precursor",
                "compound_narcotic",
                "ephedrine_compound",
                "online_banned",
                name="controlclass",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drugs")),
        sa.UniqueConstraint("code", name=op.f("uq_drugs_code")),
    )


def downgrade() -> None:
    op.drop_table("drugs")
