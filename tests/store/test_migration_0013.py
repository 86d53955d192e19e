"""Migration 0013 on both databases, with data: a child's open per-rule flags fold into one
concern that keeps every reason, review and area; the folded Flags get a last, inactive
version; closed per-rule flags stay as closed concerns; the rules are re-judged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import create_engine, text

from app.store.migrate import alembic_config
from tests.store.test_migration_0008 import empty_url  # noqa: F401  (the fixture)

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _flag(conn: Any, pk: int, rule: str, priority: str, state: str, events: list[str]) -> None:
    is_open = state not in ("closed", "withdrawn")
    conn.execute(
        text(
            "INSERT INTO raised_flag (pk, flag_id, rule_id, rule_version, child_id, family_id, "
            "priority, state, is_open, description, agencies, evidence_events, "
            "family_children, first_event_at, last_event_at, opened_at, updated_at, "
            "closed_at, reviewed, age_uncertain) VALUES (:pk, :fid, :rule, 2, 'c1', 'f1', "
            ":priority, :state, :open, :desc, :agencies, :events, '[\"c1\"]', :at, :at, "
            ":opened, :at, :closed, :reviewed, false)"
        ),
        {
            "pk": pk, "fid": f"flag-{pk}", "rule": rule, "priority": priority, "state": state,
            "open": is_open, "desc": f"{rule} saw it", "agencies": "gp health-visiting",
            "events": json.dumps(events), "at": AT, "opened": AT.replace(day=pk),
            "closed": None if is_open else AT, "reviewed": state == "acknowledged",
        },
    )  # fmt: skip
    content = {
        "resourceType": "Flag",
        "id": f"flag-{pk}",
        "status": "active" if is_open else "inactive",
    }
    conn.execute(
        text(
            "INSERT INTO resource (pk, type, id, version, last_updated, patient_id, content) "
            "VALUES (:pk, 'Flag', :id, 1, :at, 'c1', :content)"
        ),
        {"pk": pk, "id": f"flag-{pk}", "at": AT, "content": json.dumps(content)},
    )
    conn.execute(
        text(
            "INSERT INTO search_index (resource_pk, type, param, code) "
            "VALUES (:pk, 'Flag', 'status', :status)"
        ),
        {"pk": pk, "status": content["status"]},
    )
    conn.execute(
        text("INSERT INTO flag_area (flag_id, area) VALUES (:id, :area)"),
        {"id": f"flag-{pk}", "area": f"AREA{pk}"},
    )


def test_open_flags_fold_into_one_concern_keeping_reviews(empty_url: str) -> None:  # noqa: F811
    config = alembic_config(empty_url)
    command.upgrade(config, "0012")
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            _flag(
                conn, 1, "repeat-wnb", "medium", "acknowledged", ["Appointment/a", "Appointment/b"]
            )
            _flag(conn, 2, "protected-child", "high", "open", ["Appointment/b"])
            _flag(conn, 3, "infant-wnb", "high", "closed", ["Appointment/z"])
            conn.execute(
                text(
                    "INSERT INTO flag_review (flag_pk, at, by_kind, by_id, action, flag_version) "
                    "VALUES (1, :at, 'user', 'jo', 'acknowledge', 2), "
                    "(2, :at, 'user', 'jo', 'note', 1)"
                ),
                {"at": AT},
            )
            conn.execute(
                text("INSERT INTO service_state (key, value) VALUES ('rules-fingerprint', 'x')")
            )
        command.upgrade(config, "0013")
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pk, rule_id, state, is_open, priority, reasons, reason_rules, "
                    "evidence_events, reviewed FROM raised_flag ORDER BY pk"
                )
            ).all()
            assert [r[0] for r in rows] == [1, 3]  # flag 2 folded into flag 1 (opened first)
            concern, closed = rows
            assert concern[1] == "wnb-concern" and bool(concern[3])
            # The state that most needs a nurse, the highest priority, every reason.
            assert concern[2] == "open" and concern[4] == "high" and bool(concern[8])
            assert [r["rule"] for r in json.loads(concern[5])] == ["protected-child", "repeat-wnb"]
            assert concern[6] == " protected-child repeat-wnb "
            assert json.loads(concern[7]) == ["Appointment/a", "Appointment/b"]
            assert closed[1] == "wnb-concern" and not closed[3] and closed[2] == "closed"
            assert [r["rule"] for r in json.loads(closed[5])] == ["infant-wnb"]
            reviews = conn.execute(text("SELECT flag_pk, action FROM flag_review ORDER BY pk"))
            assert [tuple(r) for r in reviews] == [(1, "acknowledge"), (1, "note")]
            areas = conn.execute(
                text("SELECT area FROM flag_area WHERE flag_id = 'flag-1' ORDER BY area")
            )
            assert [a for (a,) in areas] == ["AREA1", "AREA2"]
            folded = conn.execute(
                text("SELECT version, content FROM resource WHERE id = 'flag-2'")
            ).one()
            assert folded[0] == 2 and json.loads(folded[1])["status"] == "inactive"
            versions = conn.execute(
                text("SELECT version FROM resource_version WHERE id = 'flag-2'")
            ).all()
            assert [v for (v,) in versions] == [2]
            status = conn.execute(
                text("SELECT code FROM search_index WHERE resource_pk = 2 AND param = 'status'")
            ).scalar()
            assert status == "inactive"
            assert conn.execute(text("SELECT count(*) FROM service_state")).scalar() == 0
        command.downgrade(config, "0012")
    finally:
        engine.dispose()
