"""The chronology drawn as a timeline: one row per service (a child) or per person (a family),
each outcome a mark whose colour AND shape say what happened (readable without colour), and
safeguarding statuses such as a CP plan as shaded periods. Pure geometry for the template."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.ui.formats import long_date
from app.ui.labels import CATEGORIES, STATUSES, label

LEFT, RIGHT, TOP, ROW, AXIS = 190, 20, 34, 36, 30
WIDTH = 960
# Shape per outcome; the CSS gives each its colour (see wnb.css, .mark--<category>).
SHAPES = {
    "was-not-brought": "circle",
    "no-access": "square",
    "did-not-attend": "diamond",
    "carer-cancelled": "triangle",
    "provider-cancelled": "triangle-down",
    "attended": "ring",
    "booked": "hollow-square",
}


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    shape: str
    category: str
    title: str


@dataclass(frozen=True)
class Band:
    x: float
    width: float
    y: float
    height: float
    status: str
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    rows: list[tuple[str, float]]  # label, centre y
    marks: list[Mark]
    bands: list[Band]
    ticks: list[Tick]
    legend: list[tuple[str, str, str]]  # category, shape, words
    start: date
    end: date


def _at(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


def build(
    events: Sequence[dict[str, Any]],
    statuses: Sequence[dict[str, Any]],
    row_of: Callable[[dict[str, Any]], str],
    rows: Sequence[str],
    status_row: Callable[[dict[str, Any]], str | None],
    now: datetime,
) -> Timeline:
    """`rows` fixes the order; `status_row` says which row a status shades (None: all)."""
    moments = [_at(e["at"]) for e in events] + [_at(s["start"]) for s in statuses if s.get("start")]
    first = min(moments, default=now - timedelta(days=365))
    last = max([*moments, now])
    span = max((last - first).total_seconds(), 86400.0)
    first -= timedelta(seconds=span * 0.03)
    last += timedelta(seconds=span * 0.03)
    span = (last - first).total_seconds()

    def x(at: datetime) -> float:
        clipped = min(max(at, first), last)
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (clipped - first).total_seconds() / span, 1)

    centre = {name: TOP + ROW * i + ROW / 2 for i, name in enumerate(rows)}
    height = TOP + ROW * max(len(rows), 1) + AXIS
    marks = [
        Mark(
            x(_at(e["at"])),
            centre[row_of(e)],
            SHAPES.get(e.get("category") or "", "circle"),
            e.get("category") or "unknown",
            f"{label(CATEGORIES, e.get('category'))}, {long_date(e['at'])}, {row_of(e)}",
        )
        for e in events
        if row_of(e) in centre
    ]
    bands = []
    for s in statuses:
        start = _at(s["start"]) if s.get("start") else first
        end = _at(s["end"]) if s.get("end") else last
        row = status_row(s)
        top, tall = (centre[row] - ROW / 2, ROW) if row in centre else (TOP, ROW * len(rows))
        words = label(STATUSES, s["status"])
        until = f" to {long_date(s['end'])}" if s.get("end") else ""
        bands.append(
            Band(
                x(start),
                max(x(end) - x(start), 2),
                top,
                tall,
                s["status"],
                f"{words} from {long_date(s.get('start'))}{until}",
            )
        )
    used = sorted({m.category for m in marks})
    legend = [(c, SHAPES.get(c, "circle"), label(CATEGORIES, c)) for c in used]
    ticks = [Tick(x(t), text) for t, text in _ticks(first, last)]
    return Timeline(
        WIDTH,
        int(height),
        [(name, centre[name]) for name in rows],
        marks,
        bands,
        ticks,
        legend,
        first.date(),
        last.date(),
    )


def _ticks(first: datetime, last: datetime) -> list[tuple[datetime, str]]:
    """Month starts (or years, over a long span), at most about a dozen."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = next(s for s in (1, 2, 3, 6, 12, 24, 60) if months / s <= 12)
    out: list[tuple[datetime, str]] = []
    year, month = first.year, first.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        at = datetime(year, month, 1, tzinfo=UTC)
        if at > last:
            return out
        index = year * 12 + month - 1
        if index % step == 0:
            text = str(year) if step >= 12 else f"{at:%b %Y}"
            out.append((at, text))
