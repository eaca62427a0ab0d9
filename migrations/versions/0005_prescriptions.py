"""prescriptions: prescriptions and items

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 06:15:03.281670
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prescriptions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "consultation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "doctor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("diagnosis_code", sa.String(length=16), nullable=False),
        sa.Column(
            "state",
            sa.Enum("written", name="prescriptionstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("stable_chronic_reason", sa.String(length=300), nullable=True),
        sa.Column("accompanying_physician", sa.String(length=64), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_prescriptions_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["practitioners.id"],
            name=op.f("fk_prescriptions_doctor_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_prescriptions_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescriptions")),
    )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prescriptions_consultation_id"), ["consultation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_prescriptions_doctor_id"), ["doctor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_prescriptions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "prescription_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("drug_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name_as_written", sa.String(length=100), nullable=False),
        sa.Column("dose_mg", sa.Float(), nullable=False),
        sa.Column("times_per_day", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["drug_id"], ["drugs.id"], name=op.f("fk_prescription_items_drug_id_drugs")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescriptions.id"],
            name=op.f("fk_prescription_items_prescription_id_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescription_items")),
    )
    with op.batch_alter_table("prescription_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prescription_items_prescription_id"), ["prescription_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("prescription_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescription_items_prescription_id"))

    op.drop_table("prescription_items")
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescriptions_person_id"))
        batch_op.drop_index(batch_op.f("ix_prescriptions_doctor_id"))
        batch_op.drop_index(batch_op.f("ix_prescriptions_consultation_id"))

    op.drop_table("prescriptions")
