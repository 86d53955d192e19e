"""The timeline's geometry: rows, marks by shape, status periods; no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.ui import timeline

NOW = datetime(2026, 6, 15, tzinfo=UTC)


def event(at: str, category: str, row: str) -> dict[str, Any]:
    return {"at": datetime.fromisoformat(at), "category": category, "row": row}


def test_marks_fall_on_their_rows_in_time_order() -> None:
    events = [
        event("2026-01-10T09:00:00+00:00", "was-not-brought", "dental"),
        event("2026-03-01T09:00:00+00:00", "attended", "gp"),
        event("2026-05-01T09:00:00+00:00", "no-access", "dental"),
    ]
    t = timeline.build(events, [], lambda e: e["row"], ["dental", "gp"], lambda _: None, NOW)
    [dental, gp] = [y for _, y in t.rows]
    assert [m.y for m in t.marks] == [dental, gp, dental]
    xs = [m.x for m in t.marks]
    assert xs == sorted(xs) and xs[0] > timeline.LEFT and xs[-1] < t.width - timeline.RIGHT
    assert [m.shape for m in t.marks] == ["circle", "ring", "square"]
    assert [words for _, _, words in t.legend] == [
        "Attended",
        "No access at home visit",
        "Not brought",
    ]
    assert t.ticks and all(timeline.LEFT <= tick.x <= t.width for tick in t.ticks)


def test_status_periods_shade_a_row_or_everything() -> None:
    events = [event("2026-01-10T09:00:00+00:00", "was-not-brought", "Ruby")]
    statuses = [
        {
            "status": "cp-plan",
            "start": datetime(2026, 3, 1, tzinfo=UTC),
            "end": None,
            "child_id": "r",
        },
        {
            "status": "child-in-need",
            "start": datetime(2025, 6, 1, tzinfo=UTC),
            "end": datetime(2025, 12, 31, tzinfo=UTC),
            "child_id": "x",
        },
    ]
    t = timeline.build(
        events,
        statuses,
        lambda e: e["row"],
        ["Ruby", "Iris"],
        lambda s: "Ruby" if s["child_id"] == "r" else None,
        NOW,
    )
    plan, need = t.bands
    ruby_y = t.rows[0][1]
    assert plan.y == ruby_y - timeline.ROW / 2 and plan.height == timeline.ROW
    assert need.height == 2 * timeline.ROW  # a child not on the timeline: every row
    assert plan.x + plan.width == t.width - timeline.RIGHT  # still going on
    assert need.x < plan.x and "to 31 December 2025" in need.title


def test_an_empty_chronology_still_draws() -> None:
    t = timeline.build([], [], lambda e: "", [], lambda _: None, NOW)
    assert t.marks == [] and t.height > 0 and t.ticks
