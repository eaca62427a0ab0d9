"""audit sequencer: events appended without a lock, sealed later with keyed links

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 22:43:43.506913

Events gain `seq` (their place in the chain, given by the sequencer) and lose the unkeyed
links they had: the first seal after this revision chains the whole history again under the
audit key (AUDIT_KEY), which the database never holds. The guard now lets exactly one UPDATE
through — the sequencer setting `seq`, `prev_hash` and `chain_hash` on an unsealed event, every
other column unchanged. Checkpoints are append-only too.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

PG_GUARD = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND NEW.prev_hash IS NOT NULL AND NEW.chain_hash IS NOT NULL
       AND OLD.prev_hash IS NULL AND OLD.chain_hash IS NULL
       AND (NEW.id, NEW.occurred_at, NEW.actor_id, NEW.actor_role, NEW.action,
            NEW.subject_type, NEW.subject_id, NEW.detail::text, NEW.change_digest)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.occurred_at, OLD.actor_id, OLD.actor_role, OLD.action,
            OLD.subject_type, OLD.subject_id, OLD.detail::text, OLD.change_digest)
    THEN
        RETURN NEW;  -- the sequencer sealing an event, once
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoints is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();
"""

PG_OLD_GUARD = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

SQLITE_GUARDS = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR OLD.chain_hash IS NOT NULL
         OR NEW.chain_hash IS NULL OR NEW.prev_hash IS NULL
         OR NEW.id IS NOT OLD.id OR NEW.occurred_at IS NOT OLD.occurred_at
         OR NEW.actor_id IS NOT OLD.actor_id OR NEW.actor_role IS NOT OLD.actor_role
         OR NEW.action IS NOT OLD.action OR NEW.subject_type IS NOT OLD.subject_type
         OR NEW.subject_id IS NOT OLD.subject_id OR NEW.detail IS NOT OLD.detail
         OR NEW.change_digest IS NOT OLD.change_digest
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END""",
    """CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
       BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
       BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only: DELETE refused'); END""",
)


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tree_size", BigId, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("pushed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("tree_size", name=op.f("uq_audit_checkpoints_tree_size")),
    )
    if not _postgres():
        # The table is rebuilt below, which drops its triggers; they are made again after.
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", BigId, nullable=True))
        batch_op.alter_column("prev_hash", existing_type=sa.VARCHAR(length=64), nullable=True)
        batch_op.alter_column("chain_hash", existing_type=sa.VARCHAR(length=64), nullable=True)
        batch_op.create_index(
            "ix_audit_events_unsealed",
            ["id"],
            unique=False,
            postgresql_where=sa.text("seq IS NULL"),
            sqlite_where=sa.text("seq IS NULL"),
        )
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])
    # The old links had no key; the sequencer chains the history again under the audit key.
    if _postgres():
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
        op.execute("UPDATE audit_events SET prev_hash = NULL, chain_hash = NULL")
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")
        op.execute(PG_GUARD)
    else:
        op.execute("UPDATE audit_events SET prev_hash = NULL, chain_hash = NULL")
        for statement in SQLITE_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    if _postgres():
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_truncate ON audit_checkpoints")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_change ON audit_checkpoints")
        op.execute("DROP FUNCTION IF EXISTS audit_checkpoints_append_only()")
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
    else:
        for name in ("events_no_update", "events_no_delete", "checkpoints_no_update"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_{name}")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_delete")
    # The unkeyed links cannot be made again here: the history keeps placeholders.
    op.execute(
        "UPDATE audit_events SET prev_hash = COALESCE(prev_hash, ''), "
        "chain_hash = COALESCE(chain_hash, 'unsealed-' || id)"
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        batch_op.drop_index(
            "ix_audit_events_unsealed",
            postgresql_where=sa.text("seq IS NULL"),
            sqlite_where=sa.text("seq IS NULL"),
        )
        batch_op.alter_column("chain_hash", existing_type=sa.VARCHAR(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.VARCHAR(length=64), nullable=False)
        batch_op.drop_column("seq")
    op.drop_table("audit_checkpoints")
    if _postgres():
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")
        op.execute(PG_OLD_GUARD)
    else:
        op.execute(
            """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
               BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END"""
        )
        op.execute(
            """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
               BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END"""
        )
