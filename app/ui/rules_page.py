"""The rules page (/ui/rules): each trigger rule in force in plain English, its thresholds,
version, the agencies it concerns and how many open flags it holds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.state import get_state
from app.rules.schema import AgeBand, AgeSpan, Rule
from app.services.access.audit import AuditNote
from app.services.nurse.worklist import WorklistQuery, worklist
from app.ui.guard import page_user
from app.ui.labels import CATEGORIES, STATUSES, label
from app.ui.render import page
from app.ui.view import audited

router = APIRouter(prefix="/ui")


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _span(span: AgeSpan) -> str:
    """{years: 1, months: 6} as "1 year 6 months"."""
    parts = [(span.years, "year"), (span.months, "month"), (span.days, "day")]
    return " ".join(_plural(n, unit) for n, unit in parts if n)


def _age(band: AgeBand) -> str:
    bounds: list[str] = []
    if band.at_least is not None:
        bounds.append(f"at least {_span(band.at_least)}")
    if band.under is not None:
        bounds.append(f"under {_span(band.under)}")
    for unit in ("days", "years"):
        low, high = getattr(band, f"min_{unit}"), getattr(band, f"max_{unit}")
        if low is not None:
            bounds.append(f"from {_plural(low, unit[:-1])}")
        if high is not None:
            bounds.append(f"up to {_plural(high, unit[:-1])}")
    return "Age: " + ", ".join(bounds)


def thresholds(rule: Rule) -> list[str]:
    """The rule's numbers as a nurse would say them."""
    counted = {"events": ("appointment", None), "services": ("service", None)}
    one, many = counted.get(rule.count, ("child", "children"))
    out = [
        f"Counts: {', '.join(label(CATEGORIES, c).lower() for c in rule.categories)}",
        f"Fires at {_plural(rule.threshold, one, many)}"
        + (f" within {_plural(rule.window_days, 'day')}" if rule.window_days else ""),
    ]
    if rule.consecutive:
        out.append("Only in a row: an attended appointment breaks the run")
    if rule.age is not None:
        out.append(_age(rule.age))
    if rule.statuses:
        out.append("Child holds: " + ", ".join(label(STATUSES, s) for s in rule.statuses))
    if rule.no_follow_up is not None:
        out.append(f"Not followed up within {_plural(rule.no_follow_up.within_days, 'day')}")
    out.append("Looks at the whole family" if rule.scope == "family" else "Looks at one child")
    return out


@router.get("/rules")
async def rules_page(request: Request) -> Response:
    note = AuditNote("search", "Flag", query="rules page: open flags per rule")
    who = await page_user(request, note)
    state = get_state(request)
    now = state.clock()
    counts = await audited(request, who, note, lambda s: worklist(s, WorklistQuery(count=0), now))
    by_rule = counts.counts.by_rule
    rules: list[dict[str, Any]] = [
        {"rule": r, "thresholds": thresholds(r), "open": by_rule.get(r.id, 0)}
        for r in (state.rules.rules if state.rules else [])
    ]
    context = {"who": who, "rules": rules, "is_admin": who.role == "admin"}
    return page(request, "rules.html", context)
