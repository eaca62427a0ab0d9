"""pharmacy: pharmacies, pharmacists on duty, kiosks, stock lots and movements, reservations,
fulfilments, identity checks, dispensings, courier events; persons.face_encoding

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 08:47:59.007605
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pharmacies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("chain", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("opening_hours", sa.JSON(), nullable=False),
        sa.Column("licence_number", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacies")),
        sa.UniqueConstraint("code", name=op.f("uq_pharmacies_code")),
    )
    op.create_table(
        "stock_lots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "pharmacy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("drug_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_stock_lots_quantity_not_negative")),
        sa.ForeignKeyConstraint(
            ["drug_id"], ["drugs.id"], name=op.f("fk_stock_lots_drug_id_drugs")
        ),
        sa.ForeignKeyConstraint(
            ["pharmacy_id"], ["pharmacies.id"], name=op.f("fk_stock_lots_pharmacy_id_pharmacies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_lots")),
        sa.UniqueConstraint(
            "pharmacy_id", "drug_id", "batch_number", name=op.f("uq_stock_lots_pharmacy_id")
        ),
    )
    with op.batch_alter_table("stock_lots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stock_lots_pharmacy_id"), ["pharmacy_id", "drug_id"], unique=False
        )

    op.create_table(
        "kiosks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "pharmacy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_kiosks_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["pharmacy_id"], ["pharmacies.id"], name=op.f("fk_kiosks_pharmacy_id_pharmacies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosks")),
        sa.UniqueConstraint("account_id", name=op.f("uq_kiosks_account_id")),
    )
    with op.batch_alter_table("kiosks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kiosks_pharmacy_id"), ["pharmacy_id"], unique=False)

    op.create_table(
        "pharmacy_pharmacists",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "pharmacy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "practitioner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pharmacy_id"],
            ["pharmacies.id"],
            name=op.f("fk_pharmacy_pharmacists_pharmacy_id_pharmacies"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_pharmacy_pharmacists_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_pharmacists")),
        sa.UniqueConstraint(
            "pharmacy_id", "practitioner_id", name=op.f("uq_pharmacy_pharmacists_pharmacy_id")
        ),
    )
    with op.batch_alter_table("pharmacy_pharmacists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pharmacy_pharmacists_pharmacy_id"), ["pharmacy_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pharmacy_pharmacists_practitioner_id"), ["practitioner_id"], unique=False
        )

    op.create_table(
        "fulfilments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "method",
            sa.Enum("pickup", "delivery", name="fulfilmentmethod", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "reserved",
                "awaiting_dispense",
                "dispensed",
                "picked_up",
                "in_transit",
                "delivered",
                "failed",
                "released",
                name="fulfilmentstate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "pharmacy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("address", sa.LargeBinary(), nullable=True),
        sa.Column("courier_order_id", sa.String(length=64), nullable=True),
        sa.Column("delivery_code", sa.LargeBinary(), nullable=True),
        sa.Column("reserved_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pharmacy_id"], ["pharmacies.id"], name=op.f("fk_fulfilments_pharmacy_id_pharmacies")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescriptions.id"],
            name=op.f("fk_fulfilments_prescription_id_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilments")),
        sa.UniqueConstraint("courier_order_id", name=op.f("uq_fulfilments_courier_order_id")),
        sa.UniqueConstraint("prescription_id", name=op.f("uq_fulfilments_prescription_id")),
    )
    with op.batch_alter_table("fulfilments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fulfilments_pharmacy_id"), ["pharmacy_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fulfilments_state"), ["state"], unique=False)

    op.create_table(
        "kiosk_identity_checks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kiosk_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "collector_person_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("collector_role", sa.String(length=16), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("distance", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collector_person_id"],
            ["persons.id"],
            name=op.f("fk_kiosk_identity_checks_collector_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.id"], name=op.f("fk_kiosk_identity_checks_kiosk_id_kiosks")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescriptions.id"],
            name=op.f("fk_kiosk_identity_checks_prescription_id_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_identity_checks")),
    )
    with op.batch_alter_table("kiosk_identity_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kiosk_identity_checks_kiosk_id"), ["kiosk_id"], unique=False
        )

    op.create_table(
        "stock_movements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("change", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column(
            "prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "actor_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_account_id"],
            ["accounts.id"],
            name=op.f("fk_stock_movements_actor_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["stock_lots.id"], name=op.f("fk_stock_movements_lot_id_stock_lots")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescriptions.id"],
            name=op.f("fk_stock_movements_prescription_id_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_movements_lot_id"), ["lot_id"], unique=False)

    op.create_table(
        "courier_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column(
            "fulfilment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fulfilment_id"],
            ["fulfilments.id"],
            name=op.f("fk_courier_events_fulfilment_id_fulfilments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courier_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_courier_events_event_id")),
    )
    with op.batch_alter_table("courier_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_courier_events_fulfilment_id"), ["fulfilment_id"], unique=False
        )

    op.create_table(
        "dispensings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "pharmacy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kiosk_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "pharmacist_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "identity_check_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("lots", sa.JSON(), nullable=False),
        sa.Column("dispensed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_check_id"],
            ["kiosk_identity_checks.id"],
            name=op.f("fk_dispensings_identity_check_id_kiosk_identity_checks"),
        ),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.id"], name=op.f("fk_dispensings_kiosk_id_kiosks")
        ),
        sa.ForeignKeyConstraint(
            ["pharmacist_id"],
            ["practitioners.id"],
            name=op.f("fk_dispensings_pharmacist_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["pharmacy_id"], ["pharmacies.id"], name=op.f("fk_dispensings_pharmacy_id_pharmacies")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescriptions.id"],
            name=op.f("fk_dispensings_prescription_id_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispensings")),
        sa.UniqueConstraint("prescription_id", name=op.f("uq_dispensings_prescription_id")),
    )
    with op.batch_alter_table("dispensings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispensings_pharmacy_id"), ["pharmacy_id"], unique=False
        )

    op.create_table(
        "stock_reservations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "fulfilment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "pharmacy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("drug_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["drug_id"], ["drugs.id"], name=op.f("fk_stock_reservations_drug_id_drugs")
        ),
        sa.ForeignKeyConstraint(
            ["fulfilment_id"],
            ["fulfilments.id"],
            name=op.f("fk_stock_reservations_fulfilment_id_fulfilments"),
        ),
        sa.ForeignKeyConstraint(
            ["pharmacy_id"],
            ["pharmacies.id"],
            name=op.f("fk_stock_reservations_pharmacy_id_pharmacies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_reservations")),
    )
    with op.batch_alter_table("stock_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stock_reservations_fulfilment_id"), ["fulfilment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stock_reservations_pharmacy_id"),
            ["pharmacy_id", "drug_id", "active"],
            unique=False,
        )

    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("face_encoding", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_column("face_encoding")

    with op.batch_alter_table("stock_reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_reservations_pharmacy_id"))
        batch_op.drop_index(batch_op.f("ix_stock_reservations_fulfilment_id"))

    op.drop_table("stock_reservations")
    with op.batch_alter_table("dispensings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispensings_pharmacy_id"))

    op.drop_table("dispensings")
    with op.batch_alter_table("courier_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_courier_events_fulfilment_id"))

    op.drop_table("courier_events")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_movements_lot_id"))

    op.drop_table("stock_movements")
    with op.batch_alter_table("kiosk_identity_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kiosk_identity_checks_kiosk_id"))

    op.drop_table("kiosk_identity_checks")
    with op.batch_alter_table("fulfilments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfilments_state"))
        batch_op.drop_index(batch_op.f("ix_fulfilments_pharmacy_id"))

    op.drop_table("fulfilments")
    with op.batch_alter_table("pharmacy_pharmacists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pharmacy_pharmacists_practitioner_id"))
        batch_op.drop_index(batch_op.f("ix_pharmacy_pharmacists_pharmacy_id"))

    op.drop_table("pharmacy_pharmacists")
    with op.batch_alter_table("kiosks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kiosks_pharmacy_id"))

    op.drop_table("kiosks")
    with op.batch_alter_table("stock_lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_lots_pharmacy_id"))

    op.drop_table("stock_lots")
    op.drop_table("pharmacies")
