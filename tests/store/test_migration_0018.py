"""Migration 0018 on both databases, with data: each event notification already in the
outbox gets the id of the Flag it was about; a handshake gets none."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import create_engine, text

from app.store.migrate import alembic_config
from tests.store.test_migration_0008 import empty_url  # noqa: F401  (the fixture)

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _message(conn: Any, pk: int, kind: str, focus: str | None) -> None:
    conn.execute(
        text(
            "INSERT INTO webhook_message (pk, msg_id, subscription_pk, kind, order_key, "
            "event_number, focus, body, state, attempts, next_attempt_at, created_at) VALUES "
            "(:pk, :msg, 1, :kind, 'child', 1, :focus, '{}', 'delivered', 1, :at, :at)"
        ),
        {"pk": pk, "msg": f"msg_{pk}", "kind": kind, "focus": focus, "at": AT},
    )


def test_each_notification_names_its_flag(empty_url: str) -> None:  # noqa: F811
    config = alembic_config(empty_url)
    command.upgrade(config, "0017")
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # No subscription row is needed to test the column: foreign keys off here.
                conn.execute(text("SET session_replication_role = replica"))
            _message(conn, 1, "event-notification", "Flag/abc-1/_history/3")
            _message(conn, 2, "event-notification", "Flag/f2/_history/12")
            _message(conn, 3, "handshake", None)
        command.upgrade(config, "0018")
        with engine.connect() as conn:
            found = dict(conn.execute(text("SELECT pk, flag_id FROM webhook_message")).all())
    finally:
        engine.dispose()
    assert found == {1: "abc-1", 2: "f2", 3: None}
