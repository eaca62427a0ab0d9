"""bot: wechat followers, binding codes; readings

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 09:31:34.393221
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "readings",
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
            "kind",
            sa.Enum("blood_pressure", "glucose", name="readingkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("systolic", sa.Integer(), nullable=True),
        sa.Column("diastolic", sa.Integer(), nullable=True),
        sa.Column("glucose_mmol", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_readings_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_readings_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_readings_measured_at"), ["measured_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_readings_person_id"), ["person_id"], unique=False)

    op.create_table(
        "wechat_binding_codes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code_index", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_wechat_binding_codes_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_binding_codes")),
        sa.UniqueConstraint("code_index", name=op.f("uq_wechat_binding_codes_code_index")),
    )
    with op.batch_alter_table("wechat_binding_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wechat_binding_codes_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "wechat_followers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("openid", sa.String(length=128), nullable=False),
        sa.Column("unionid", sa.String(length=128), nullable=True),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("scene", sa.String(length=64), nullable=True),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_templates", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_wechat_followers_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_followers")),
        sa.UniqueConstraint("app_id", "openid", name=op.f("uq_wechat_followers_app_id")),
    )
    with op.batch_alter_table("wechat_followers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wechat_followers_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_wechat_followers_unionid"), ["unionid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wechat_followers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_followers_unionid"))
        batch_op.drop_index(batch_op.f("ix_wechat_followers_account_id"))

    op.drop_table("wechat_followers")
    with op.batch_alter_table("wechat_binding_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_binding_codes_account_id"))

    op.drop_table("wechat_binding_codes")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_readings_person_id"))
        batch_op.drop_index(batch_op.f("ix_readings_measured_at"))

    op.drop_table("readings")
