"""Migration 0016 on both databases, with data: a concern whose reasons are all gone loses
its agencies (none may read it now); a concern with reasons keeps them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import create_engine, text

from app.store.migrate import alembic_config
from tests.store.test_migration_0008 import empty_url  # noqa: F401  (the fixture)

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _concern(conn: Any, pk: int, reasons: list[dict[str, Any]]) -> None:
    conn.execute(
        text(
            "INSERT INTO raised_flag (pk, flag_id, rule_id, rule_version, child_id, family_id, "
            "priority, state, is_open, description, agencies, evidence_events, "
            "family_children, first_event_at, last_event_at, opened_at, updated_at, "
            "closed_at, reviewed, age_uncertain, reasons, reason_rules) VALUES (:pk, :fid, "
            "'wnb-concern', 1, :child, :child, 'high', 'evidence-changed', true, 'seen', "
            "'gp health-visiting', '[\"Appointment/a\"]', '[]', :at, :at, :at, :at, NULL, "
            "true, false, :reasons, :rules)"
        ),
        {
            "pk": pk, "fid": f"flag-{pk}", "child": f"c{pk}", "at": AT,
            "reasons": json.dumps(reasons),
            "rules": f" {' '.join(r['rule'] for r in reasons)} ",
        },
    )  # fmt: skip


def test_a_concern_without_reasons_loses_its_agencies(empty_url: str) -> None:  # noqa: F811
    config = alembic_config(empty_url)
    command.upgrade(config, "0015")
    engine = create_engine(empty_url)
    held = {"rule": "infant-wnb", "priority": "high", "agencies": ["gp"], "events": []}
    try:
        with engine.begin() as conn:
            _concern(conn, 1, [])  # every reason gone after a review
            _concern(conn, 2, [held])
        command.upgrade(config, "0016")
        with engine.connect() as conn:
            found = dict(conn.execute(text("SELECT pk, agencies FROM raised_flag")).all())
    finally:
        engine.dispose()
    assert found == {1: "", 2: "gp health-visiting"}
