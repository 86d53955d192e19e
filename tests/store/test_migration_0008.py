"""Migration 0008 on both databases: events coded before it get a service key and a booking
time the way ingest now decides them, and it can be undone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from app.store.migrate import alembic_config
from tests.conftest import _postgres_database

OLD_EVENT = (
    "INSERT INTO coded_event (resource_pk, resource_type, resource_id, child_id, event_at, "
    "category, outcome_system, outcome_code, is_child, service_system, service_code, "
    "original_codes, recorded_at) VALUES (:pk, 'Appointment', :rid, 'c1', :at, "
    "'was-not-brought', 's', 'c', true, :system, :code, '[]', :recorded)"
)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    gen = _postgres_database()
    yield next(gen)
    gen.close()


def test_old_events_get_keys_and_booking_times(empty_url: str) -> None:
    config = alembic_config(empty_url)
    command.upgrade(config, "0007")
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            for rid, at, recorded, system, code in [
                # Stored a day after it took place: booked no later than its own time.
                (
                    "a1",
                    "2026-01-01 09:00:00+00",
                    "2026-01-02 00:00:00+00",
                    "https://A.example/",
                    " Dental",
                ),
                # Stored before it took place: booked when first stored.
                ("a2", "2026-03-01 09:00:00+00", "2026-02-01 00:00:00+00", None, "gp"),
                ("a3", "2026-03-01 09:00:00+00", "2026-02-01 00:00:00+00", "s", None),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO resource (type, id, version, last_updated, content) "
                        "VALUES ('Appointment', :rid, 1, :recorded, '{}')"
                    ),
                    {"rid": rid, "recorded": recorded},
                )
                pk = conn.execute(text("SELECT pk FROM resource WHERE id = :rid"), {"rid": rid})
                conn.execute(
                    text(OLD_EVENT),
                    {
                        "pk": pk.scalar(),
                        "rid": rid,
                        "at": at,
                        "recorded": recorded,
                        "system": system,
                        "code": code,
                    },
                )
        command.upgrade(config, "head")
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT resource_id, service_key, booked_at, age_uncertain_days "
                    "FROM coded_event ORDER BY resource_id"
                )
            ).all()
        keys = [(r[0], r[1], r[3]) for r in rows]
        assert keys == [("a1", "https://a.example|dental", 0), ("a2", "|gp", 0), ("a3", None, 0)]
        booked = [str(r[2])[:16] for r in rows]
        assert booked == ["2026-01-01 09:00", "2026-02-01 00:00", "2026-02-01 00:00"]
        command.downgrade(config, "0007")
        command.upgrade(config, "head")
    finally:
        engine.dispose()
