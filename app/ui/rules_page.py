"""The rules page (/ui/rules): each trigger rule in force in plain English, its thresholds,
version, the agencies it concerns and how many open flags it holds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.state import get_state
from app.rules.schema import Rule
from app.services.audit import AuditNote
from app.services.worklist import WorklistQuery, worklist
from app.ui.guard import page_user
from app.ui.labels import CATEGORIES, STATUSES, label
from app.ui.render import page
from app.ui.view import audited

router = APIRouter(prefix="/ui")


def thresholds(rule: Rule) -> list[str]:
    """The rule's numbers as a nurse would say them."""
    counted = {"events": "appointments", "services": "services", "children": "children"}
    out = [
        f"Counts: {', '.join(label(CATEGORIES, c).lower() for c in rule.categories)}",
        f"Fires at {rule.threshold} {counted[rule.count]}"
        + (f" within {rule.window_days} days" if rule.window_days else ""),
    ]
    if rule.consecutive:
        out.append("Only in a row: an attended appointment breaks the run")
    if rule.age is not None:
        bounds = rule.age.model_dump(exclude_none=True)
        out.append("Age: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in bounds.items()))
    if rule.statuses:
        out.append("Child holds: " + ", ".join(label(STATUSES, s) for s in rule.statuses))
    if rule.no_follow_up is not None:
        out.append(f"Not followed up within {rule.no_follow_up.within_days} days")
    out.append("Looks at the whole family" if rule.scope == "family" else "Looks at one child")
    return out


@router.get("/rules")
async def rules_page(request: Request) -> Response:
    note = AuditNote("search", "Flag", query="rules page: open flags per rule")
    who = await page_user(request, note)
    state = get_state(request)
    now = state.clock()
    counts = await audited(request, who, note, lambda s: worklist(s, WorklistQuery(count=0), now))
    by_rule: dict[str, int] = counts["counts"]["by_rule"]
    rules: list[dict[str, Any]] = [
        {"rule": r, "thresholds": thresholds(r), "open": by_rule.get(r.id, 0)}
        for r in (state.rules.rules if state.rules else [])
    ]
    context = {"who": who, "rules": rules, "is_admin": who.role == "admin"}
    return page(request, "rules.html", context)
