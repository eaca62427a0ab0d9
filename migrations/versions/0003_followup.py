"""followup: offline diagnoses, consultations, messages, signed visit records, referrals,
notifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 04:56:48.261695
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "offline_diagnoses",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("icd10_code", sa.String(length=16), nullable=False),
        sa.Column("disease_name", sa.String(length=64), nullable=False),
        sa.Column("diagnosed_on", sa.Date(), nullable=False),
        sa.Column("institution_name", sa.String(length=128), nullable=False),
        sa.Column("doctor_name", sa.String(length=64), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "platform", "patient_upload", name="diagnosissource", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "rejected",
                name="diagnosisstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("evidence", sa.LargeBinary(), nullable=True),
        sa.Column("evidence_type", sa.String(length=32), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("platform_reference", sa.String(length=64), nullable=True),
        sa.Column(
            "uploaded_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "reviewed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_offline_diagnoses_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["practitioners.id"],
            name=op.f("fk_offline_diagnoses_reviewed_by_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_offline_diagnoses_uploaded_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_diagnoses")),
    )
    with op.batch_alter_table("offline_diagnoses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offline_diagnoses_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "consultations",
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
        sa.Column(
            "diagnosis_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("complaint", sa.LargeBinary(), nullable=False),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("vitals", sa.JSON(), nullable=False),
        sa.Column("consent_version", sa.String(length=16), nullable=False),
        sa.Column("consent_digest", sa.String(length=64), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "requested",
                "accepted",
                "in_progress",
                "completed",
                "referred",
                "cancelled",
                "expired",
                name="consultationstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("doctor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accept_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.Column("next_message_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_consultations_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["diagnosis_id"],
            ["offline_diagnoses.id"],
            name=op.f("fk_consultations_diagnosis_id_offline_diagnoses"),
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["practitioners.id"],
            name=op.f("fk_consultations_doctor_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["guardian_person_id"],
            ["persons.id"],
            name=op.f("fk_consultations_guardian_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_consultations_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultations_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consultations_department"), ["department"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_consultations_doctor_id"), ["doctor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consultations_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consultations_state"), ["state"], unique=False)

    op.create_table(
        "consultation_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "consultation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "sender_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("sender_role", sa.String(length=16), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("text", "image", "system", name="messagekind", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("text", sa.LargeBinary(), nullable=True),
        sa.Column("image", sa.LargeBinary(), nullable=True),
        sa.Column("image_type", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_messages_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["sender_account_id"],
            ["accounts.id"],
            name=op.f("fk_consultation_messages_sender_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_messages")),
        sa.UniqueConstraint(
            "consultation_id", "seq", name=op.f("uq_consultation_messages_consultation_id")
        ),
    )
    op.create_table(
        "referrals",
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
            "consultation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("diagnosis_code", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("red_flags", sa.JSON(), nullable=False),
        sa.Column(
            "urgency",
            sa.Enum("emergency", "urgent", "routine", name="urgency", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "triage",
                "doctor",
                "patient",
                "followup",
                name="referralsource",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "requested",
                "accepted",
                "booked",
                "declined",
                name="referralstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "requested_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("platform_reference", sa.String(length=64), nullable=True),
        sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("follow_up_due", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_referrals_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_referrals_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_referrals_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["accounts.id"], name=op.f("fk_referrals_requested_by_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_person_id"), ["person_id"], unique=False)

    op.create_table(
        "visit_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "consultation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_digest", sa.String(length=64), nullable=False),
        sa.Column("amendment_reason", sa.String(length=200), nullable=True),
        sa.Column(
            "doctor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("signature_algorithm", sa.String(length=16), nullable=False),
        sa.Column("signature_key", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_visit_records_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["practitioners.id"],
            name=op.f("fk_visit_records_doctor_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_records")),
        sa.UniqueConstraint(
            "consultation_id", "version", name=op.f("uq_visit_records_consultation_id")
        ),
    )

    _make_records_immutable()


def downgrade() -> None:
    _drop_record_guards()
    op.drop_table("visit_records")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_person_id"))
        batch_op.drop_index(batch_op.f("ix_referrals_account_id"))

    op.drop_table("referrals")
    op.drop_table("consultation_messages")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultations_state"))
        batch_op.drop_index(batch_op.f("ix_consultations_person_id"))
        batch_op.drop_index(batch_op.f("ix_consultations_doctor_id"))
        batch_op.drop_index(batch_op.f("ix_consultations_department"))
        batch_op.drop_index(batch_op.f("ix_consultations_account_id"))

    op.drop_table("consultations")
    with op.batch_alter_table("offline_diagnoses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offline_diagnoses_person_id"))

    op.drop_table("offline_diagnoses")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_account_id"))

    op.drop_table("notifications")


# A signed visit record is never changed: an amendment is a new signed version.
PG_GUARD = """
CREATE FUNCTION visit_records_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'visit_records are immutable: % refused (amend with a new version)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER visit_records_no_change BEFORE UPDATE OR DELETE ON visit_records
    FOR EACH ROW EXECUTE FUNCTION visit_records_immutable();
"""
SQLITE_GUARDS = (
    """CREATE TRIGGER visit_records_no_update BEFORE UPDATE ON visit_records
       BEGIN SELECT RAISE(ABORT, 'visit_records are immutable: UPDATE refused'); END""",
    """CREATE TRIGGER visit_records_no_delete BEFORE DELETE ON visit_records
       BEGIN SELECT RAISE(ABORT, 'visit_records are immutable: DELETE refused'); END""",
)


def _make_records_immutable() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD)
    else:
        for statement in SQLITE_GUARDS:
            op.execute(statement)


def _drop_record_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS visit_records_no_change ON visit_records")
        op.execute("DROP FUNCTION IF EXISTS visit_records_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS visit_records_no_update")
        op.execute("DROP TRIGGER IF EXISTS visit_records_no_delete")
