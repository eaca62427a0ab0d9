"""identity: persons, dependents, face verifications, WeChat identities, practitioners, signing keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 04:35:30.071978
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("id_number", sa.LargeBinary(), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column(
            "sex",
            sa.Enum("male", "female", name="sex", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("id_number_index", name=op.f("uq_persons_id_number_index")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_phone_index"), ["phone_index"], unique=False)

    op.create_table(
        "dependents",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "relation",
            sa.Enum(
                "child", "parent", "spouse", "other", name="relation", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("is_guardian", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_dependents_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_dependents_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dependents")),
        sa.UniqueConstraint("account_id", "person_id", name=op.f("uq_dependents_account_id")),
    )
    with op.batch_alter_table("dependents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dependents_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dependents_person_id"), ["person_id"], unique=False)

    op.create_table(
        "face_verifications",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "purpose",
            sa.Enum(
                "real_name", "practitioner_check", name="facepurpose", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("distance", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_face_verifications_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_face_verifications_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_verifications")),
    )
    with op.batch_alter_table("face_verifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_face_verifications_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_face_verifications_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "practitioners",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "doctor",
                "pharmacist",
                "family_doctor",
                name="practitionerkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("licence_number", sa.String(length=32), nullable=False),
        sa.Column(
            "title",
            sa.Enum(
                "chief_physician",
                "associate_chief_physician",
                "attending_physician",
                "resident_physician",
                "assistant_physician",
                "chief_pharmacist",
                "associate_chief_pharmacist",
                "supervising_pharmacist",
                "pharmacist",
                "assistant_pharmacist",
                name="title",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("practice_started_on", sa.Date(), nullable=False),
        sa.Column("face_encoding", sa.LargeBinary(), nullable=False),
        sa.Column("face_model_version", sa.String(length=128), nullable=False),
        sa.Column("face_checked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_practitioners_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_practitioners_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioners")),
        sa.UniqueConstraint("account_id", name=op.f("uq_practitioners_account_id")),
        sa.UniqueConstraint("licence_number", name=op.f("uq_practitioners_licence_number")),
    )
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_practitioners_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "wechat_identities",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("openid", sa.String(length=128), nullable=False),
        sa.Column("unionid", sa.String(length=128), nullable=True),
        sa.Column("session_key", sa.LargeBinary(), nullable=True),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_wechat_identities_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_identities")),
        sa.UniqueConstraint("app_id", "openid", name=op.f("uq_wechat_identities_app_id")),
    )
    with op.batch_alter_table("wechat_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wechat_identities_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_wechat_identities_unionid"), ["unionid"], unique=False)

    op.create_table(
        "signing_keys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "practitioner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_signing_keys_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_signing_keys_fingerprint")),
    )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signing_keys_practitioner_id"), ["practitioner_id"], unique=False
        )

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("face_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_accounts_person_id"), ["person_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_accounts_person_id_persons"), "persons", ["person_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_accounts_person_id_persons"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_accounts_person_id"), type_="unique")
        batch_op.drop_column("face_verified_at")
        batch_op.drop_column("person_id")

    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_keys_practitioner_id"))

    op.drop_table("signing_keys")
    with op.batch_alter_table("wechat_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_identities_unionid"))
        batch_op.drop_index(batch_op.f("ix_wechat_identities_account_id"))

    op.drop_table("wechat_identities")
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practitioners_institution_id"))

    op.drop_table("practitioners")
    with op.batch_alter_table("face_verifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_verifications_created_at"))
        batch_op.drop_index(batch_op.f("ix_face_verifications_account_id"))

    op.drop_table("face_verifications")
    with op.batch_alter_table("dependents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dependents_person_id"))
        batch_op.drop_index(batch_op.f("ix_dependents_account_id"))

    op.drop_table("dependents")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_phone_index"))

    op.drop_table("persons")
