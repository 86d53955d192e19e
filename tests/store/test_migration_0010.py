"""Migration 0010 on both databases: a stored status with no start counts from its Flag's
first version (when the service learned of it), one with a start keeps it, and it can be
undone."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, text

from app.store.migrate import alembic_config
from tests.store.test_migration_0008 import empty_url

__all__ = ["empty_url"]  # the fixture, shared


def test_a_status_with_no_start_counts_from_its_first_version(empty_url: str) -> None:
    config = alembic_config(empty_url)
    command.upgrade(config, "0009")
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            for rid, start in [("s1", None), ("s2", "2026-01-01 00:00:00+00")]:
                conn.execute(
                    text(
                        "INSERT INTO resource (type, id, version, last_updated, content) "
                        "VALUES ('Flag', :rid, 2, '2026-05-01 00:00:00+00', '{}')"
                    ),
                    {"rid": rid},
                )
                for version, at in [(1, "2026-03-01 10:00:00+00"), (2, "2026-05-01 00:00:00+00")]:
                    conn.execute(
                        text(
                            "INSERT INTO resource_version (type, id, version, last_updated, "
                            "method, content) VALUES ('Flag', :rid, :v, :at, 'PUT', '{}')"
                        ),
                        {"rid": rid, "v": version, "at": at},
                    )
                pk = conn.execute(text("SELECT pk FROM resource WHERE id = :rid"), {"rid": rid})
                conn.execute(
                    text(
                        "INSERT INTO safeguarding_status (resource_pk, child_id, status, start) "
                        "VALUES (:pk, 'c1', 'cp-plan', :start)"
                    ),
                    {"pk": pk.scalar_one(), "start": start},
                )
        command.upgrade(config, "0010")
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT r.id, s.start, s.start_stated FROM safeguarding_status s "
                    "JOIN resource r ON r.pk = s.resource_pk ORDER BY r.id"
                )
            ).all()
        found = {rid: (_utc(start), bool(stated)) for rid, start, stated in rows}
        assert found == {
            "s1": (datetime(2026, 3, 1, 10, tzinfo=UTC), False),
            "s2": (datetime(2026, 1, 1, tzinfo=UTC), True),
        }
        command.downgrade(config, "0009")
    finally:
        engine.dispose()


def _utc(value: object) -> datetime:
    if isinstance(value, str):  # SQLite keeps text
        value = datetime.fromisoformat(value.replace(" ", "T"))
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
