"""The application's database role owns nothing.

Migrations run as the schema owner; the service connects as a role granted only what it
uses: rows of the ordinary tables, appending to the audit trail, and sealing an event once
(the three chain columns, which the guard trigger lets change only from NULL). It cannot alter
a table, switch a trigger off, or delete, truncate or rewrite the audit trail.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

APPEND_ONLY = ("audit_events", "audit_checkpoints")
SEAL_COLUMNS = ("seq", "prev_hash", "chain_hash")
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_app_role(connection: Connection, role: str) -> None:
    """(Re)grant `role` exactly the application's rights on every table there is now."""
    if not ROLE_NAME.match(role):
        raise ValueError(f"not a plain role name: {role!r}")
    if connection.dialect.name != "postgresql":
        raise ValueError("database roles exist on PostgreSQL only")
    owner = connection.scalar(text("SELECT current_user"))
    if owner == role:
        raise ValueError("run this as the schema owner, not as the application's role")
    statements = [
        # Before PostgreSQL 15 everyone may create objects in public (CVE-2018-1058).
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
    for table in APPEND_ONLY:
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}")
    statements.append(f"GRANT UPDATE ({', '.join(SEAL_COLUMNS)}) ON audit_events TO {role}")
    for statement in statements:
        connection.execute(text(statement))
