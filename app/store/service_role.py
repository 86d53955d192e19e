"""The database role the service runs as, apart from the role that owns the tables and runs
the migrations. The owner could TRUNCATE the audit trail or disable its triggers; the service
role can only SELECT and INSERT on it, and reads and writes the rest."""

from __future__ import annotations

import re

AUDIT_TABLES = ("audit_event", "audit_entity", "audit_seal")
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def service_role_grants(role: str) -> list[str]:
    """SQL (PostgreSQL) that the owner runs after every `wnb migrate`, to give `role` what
    the service needs and no more. `role` must already exist (CREATE ROLE ... LOGIN)."""
    if not _NAME.fullmatch(role):
        raise ValueError("the role name must be lower-case letters, digits and _")
    audit = ", ".join(AUDIT_TABLES)
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # The trail: read and append only. TRUNCATE, triggers and ALTER stay with the owner.
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {audit} FROM {role}",
        # The schema version is the migrations' business.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
    ]
