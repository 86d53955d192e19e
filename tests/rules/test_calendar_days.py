"""Issue 8 item 5: rule windows and follow-ups count Europe/London calendar days, across the
BST/GMT changes and 29 February."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rulekit import Kit

from app.rules import EventView
from app.rules.desired import next_due

REPEAT_90 = "multi-service"  # 2 services within 90 days


def miss(at: datetime, service: str, event_id: str) -> EventView:
    return EventView(event_id, "c1", at, "was-not-brought", service_key=service, age_days=3000)


@pytest.mark.parametrize(
    ("first", "second", "fires"),
    [
        # 1 Sep 09:00 BST to 30 Nov 09:00 GMT: 90 calendar days (and an hour more in UTC).
        (datetime(2026, 9, 1, 8, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC), True),
        (datetime(2026, 9, 1, 8, 0, tzinfo=UTC), datetime(2026, 12, 1, 0, 30, tzinfo=UTC), False),
        # GMT to BST: 1 Jan 23:30 GMT to 1 Apr 00:30 BST (31 Mar 23:30 UTC) is 90 days.
        (datetime(2026, 1, 1, 23, 30, tzinfo=UTC), datetime(2026, 3, 31, 23, 30, tzinfo=UTC), True),
        (datetime(2026, 1, 1, 23, 30, tzinfo=UTC), datetime(2026, 4, 1, 23, 0, tzinfo=UTC), False),
        # Leap year: 1 Dec 2023 to 29 Feb 2024 is 90 days; to 1 Mar 91.
        (datetime(2023, 12, 1, 9, 0, tzinfo=UTC), datetime(2024, 2, 29, 18, 0, tzinfo=UTC), True),
        (datetime(2023, 12, 1, 9, 0, tzinfo=UTC), datetime(2024, 3, 1, 8, 0, tzinfo=UTC), False),
    ],
)
def test_windows_are_calendar_days(
    kit: Kit, first: datetime, second: datetime, fires: bool
) -> None:
    earlier, later = miss(first, "gp", "a"), miss(second, "dental", "b")
    assert (REPEAT_90 in kit.fired(later, [earlier])) == fires
    assert (REPEAT_90 in kit.fired(earlier, [later], now=second)) == fires


@pytest.mark.parametrize(
    ("missed_at", "due"),
    [
        # A miss on 12 Oct (BST): 14 calendar days end with 26 Oct (GMT from 25 Oct).
        (datetime(2026, 10, 12, 8, 0, tzinfo=UTC), datetime(2026, 10, 27, 0, 0, tzinfo=UTC)),
        # A miss at 00:30 BST on 12 Oct is 23:30 UTC on 11 Oct: still 12 Oct locally.
        (datetime(2026, 10, 11, 23, 30, tzinfo=UTC), datetime(2026, 10, 27, 0, 0, tzinfo=UTC)),
        # A miss on 20 Mar (GMT): 14 days end with 3 Apr (BST), at 23:00 UTC.
        (datetime(2026, 3, 20, 9, 0, tzinfo=UTC), datetime(2026, 4, 3, 23, 0, tzinfo=UTC)),
        # Leap year: 15 Feb 2024 + 14 days is 29 Feb.
        (datetime(2024, 2, 15, 9, 0, tzinfo=UTC), datetime(2024, 3, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_not_rebooked_is_due_when_the_local_day_ends(
    kit: Kit, missed_at: datetime, due: datetime
) -> None:
    assert next_due(kit.rules, [miss(missed_at, "gp", "m")], now=missed_at) == due
