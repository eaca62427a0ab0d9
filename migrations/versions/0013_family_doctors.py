"""followup: family-doctor teams, contracts (one active per person), follow-up plans and
records, reminders; readings get pulse, fasting, weight and band

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 09:54:19.302472
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "subject_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("kind", "subject_id", "due_on", name=op.f("uq_reminders_kind")),
    )
    op.create_table(
        "family_doctor_teams",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("centre", sa.String(length=128), nullable=False),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["practitioners.id"],
            name=op.f("fk_family_doctor_teams_lead_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_doctor_teams")),
    )
    op.create_table(
        "family_doctor_contracts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "guardian_person_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("package", sa.String(length=32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "active", "ended", "terminated", name="contractstate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("agreement_version", sa.String(length=16), nullable=False),
        sa.Column("agreement_digest", sa.String(length=64), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.Column(
            "renewed_from_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_family_doctor_contracts_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["guardian_person_id"],
            ["persons.id"],
            name=op.f("fk_family_doctor_contracts_guardian_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_family_doctor_contracts_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["renewed_from_id"],
            ["family_doctor_contracts.id"],
            name=op.f("fk_family_doctor_contracts_renewed_from_id_family_doctor_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["family_doctor_teams.id"],
            name=op.f("fk_family_doctor_contracts_team_id_family_doctor_teams"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_doctor_contracts")),
    )
    with op.batch_alter_table("family_doctor_contracts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_family_doctor_contracts_ends_on"), ["ends_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_family_doctor_contracts_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_family_doctor_contracts_state"), ["state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_family_doctor_contracts_team_id"), ["team_id"], unique=False
        )
        batch_op.create_index(
            "uq_family_doctor_contracts_one_active",
            ["person_id"],
            unique=True,
            postgresql_where=sa.text("state = 'active'"),
            sqlite_where=sa.text("state = 'active'"),
        )

    op.create_table(
        "family_doctor_team_members",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "practitioner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_family_doctor_team_members_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["family_doctor_teams.id"],
            name=op.f("fk_family_doctor_team_members_team_id_family_doctor_teams"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_doctor_team_members")),
        sa.UniqueConstraint(
            "team_id", "practitioner_id", name=op.f("uq_family_doctor_team_members_team_id")
        ),
    )
    with op.batch_alter_table("family_doctor_team_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_family_doctor_team_members_practitioner_id"),
            ["practitioner_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_family_doctor_team_members_team_id"), ["team_id"], unique=False
        )

    op.create_table(
        "follow_up_plans",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contract_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "disease",
            sa.Enum(
                "hypertension", "diabetes", name="chronicdisease", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("next_due_on", sa.Date(), nullable=False),
        sa.Column("unsatisfactory_in_a_row", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["family_doctor_contracts.id"],
            name=op.f("fk_follow_up_plans_contract_id_family_doctor_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_follow_up_plans_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_plans")),
        sa.UniqueConstraint("contract_id", "disease", name=op.f("uq_follow_up_plans_contract_id")),
    )
    with op.batch_alter_table("follow_up_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_plans_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_follow_up_plans_next_due_on"), ["next_due_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_follow_up_plans_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "follow_up_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "practitioner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("way", sa.String(length=16), nullable=False),
        sa.Column("systolic", sa.Integer(), nullable=True),
        sa.Column("diastolic", sa.Integer(), nullable=True),
        sa.Column("glucose_mmol", sa.Float(), nullable=True),
        sa.Column("danger_signs", sa.JSON(), nullable=False),
        sa.Column("adverse_reaction", sa.Boolean(), nullable=False),
        sa.Column("new_complication", sa.Boolean(), nullable=False),
        sa.Column("adherence", sa.String(length=16), nullable=False),
        sa.Column("classification", sa.String(length=24), nullable=False),
        sa.Column("next_due_on", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column(
            "referral_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["follow_up_plans.id"],
            name=op.f("fk_follow_up_records_plan_id_follow_up_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_follow_up_records_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_follow_up_records_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_records")),
    )
    with op.batch_alter_table("follow_up_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_up_records_plan_id"), ["plan_id"], unique=False)

    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pulse", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fasting", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("weight_kg", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("band", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_column("band")
        batch_op.drop_column("weight_kg")
        batch_op.drop_column("fasting")
        batch_op.drop_column("pulse")

    with op.batch_alter_table("follow_up_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_records_plan_id"))

    op.drop_table("follow_up_records")
    with op.batch_alter_table("follow_up_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_plans_person_id"))
        batch_op.drop_index(batch_op.f("ix_follow_up_plans_next_due_on"))
        batch_op.drop_index(batch_op.f("ix_follow_up_plans_contract_id"))

    op.drop_table("follow_up_plans")
    with op.batch_alter_table("family_doctor_team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_family_doctor_team_members_team_id"))
        batch_op.drop_index(batch_op.f("ix_family_doctor_team_members_practitioner_id"))

    op.drop_table("family_doctor_team_members")
    with op.batch_alter_table("family_doctor_contracts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_family_doctor_contracts_one_active",
            postgresql_where=sa.text("state = 'active'"),
            sqlite_where=sa.text("state = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_family_doctor_contracts_team_id"))
        batch_op.drop_index(batch_op.f("ix_family_doctor_contracts_state"))
        batch_op.drop_index(batch_op.f("ix_family_doctor_contracts_person_id"))
        batch_op.drop_index(batch_op.f("ix_family_doctor_contracts_ends_on"))

    op.drop_table("family_doctor_contracts")
    op.drop_table("family_doctor_teams")
    op.drop_table("reminders")
