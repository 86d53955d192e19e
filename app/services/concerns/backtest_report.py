"""A backtest's report for the reader: JSON (the API's answer and `wnb rules backtest --json`)
and text (`wnb rules backtest` at a terminal)."""

from __future__ import annotations

from typing import Any

from app.fhir.dates import fhir_instant
from app.services.concerns.backtest import BacktestReport, Pair
from app.services.concerns.concern_weeks import Week, children_with_concerns, concern_weeks


def as_json(report: BacktestReport, limit: int | None = None) -> dict[str, Any]:
    """The report as JSON (the API's answer and `wnb rules backtest --json`); `limit` caps
    the firings listed, never the counts or the diff."""
    listed = report.firings(limit)
    return {
        "since": fhir_instant(report.since) if report.since else None,
        "now": fhir_instant(report.now),
        # Like live reconciliation, the replay judges every event with the statuses, family
        # links and merged records known today, not those known when the event arrived.
        "judged_with": "current-facts",
        "families": report.families,
        "events": report.events,
        "rules": [
            {
                "rule_id": c.rule_id,
                "version": c.version,
                "enabled": c.enabled,
                "firings": c.firings,
                "children": c.children,
                "in_force": None
                if c.in_force_version is None
                else {
                    "version": c.in_force_version,
                    "firings": c.in_force_firings,
                    "children": c.in_force_children,
                },
            }
            for c in report.counts
        ],
        "firings_total": report.firings_total,
        # The nurses' workload: one concern per child, its reasons the rules that fire.
        "concerns": len(children_with_concerns(report.found)),
        "concerns_per_week": [_week_json(w) for w in concern_weeks(report.found)],
        "truncated": len(listed) < report.firings_total,
        "firings": [
            {
                "rule_id": f.rule_id,
                "rule_version": f.rule_version,
                "patient": f"Patient/{f.child_id}",
                "at": fhir_instant(f.at),
                "trigger": {"event": f.trigger_event, "at": fhir_instant(f.trigger_at)},
                "evidence": list(f.evidence),
                "description": f.description,
                "priority": f.priority,
            }
            for f in listed
        ],
        "diff": {
            "added": [_pair(p) for p in report.diff.added],
            "removed": [_pair(p) for p in report.diff.removed],
            "kept": report.kept,
        },
    }


def as_text(report: BacktestReport, source: str, limit: int | None) -> str:
    """The report for a person at a terminal (`wnb rules backtest`)."""
    window = f"from {report.since.date().isoformat()} " if report.since else ""
    lines = [
        f"backtest of {source}: {report.events:,} children's events in {report.families:,} "
        f"families, firings {window}up to {fhir_instant(report.now)} "
        f"({report.seconds:.1f} s; nothing was raised or written)",
        "judged with today's knowledge of statuses, families and merged records, as live "
        "reconciliation judges them",
        "",
        f"{'rule':<24}{'version':>8}{'firings':>10}{'children':>10}   in force:"
        f"{'version':>8}{'firings':>10}{'children':>10}",
    ]
    for c in report.counts:
        name = c.rule_id if c.enabled else f"{c.rule_id} (off)"
        force = (
            f"{c.in_force_version:>8}{c.in_force_firings:>10,}{c.in_force_children:>10,}"
            if c.in_force_version is not None
            else f"{'(new rule)':>28}"
        )
        lines.append(f"{name:<24}{c.version:>8}{c.firings:>10,}{c.children:>10,}{'':12}{force}")
    weeks = concern_weeks(report.found)
    lines += [
        "",
        f"concerns (one per child): {len(children_with_concerns(report.found)):,}; per week:",
        f"  {'week':<10}{'raised':>8}{'reasons added':>15}",
        *(f"  {w.week:<10}{len(w.raised):>8,}{w.reasons_added:>15,}" for w in weeks),
    ]
    listed = report.firings(limit)
    lines += ["", f"would flag ({len(listed):,} of {report.firings_total:,} firings listed):"]
    for f in listed:
        lines.append(
            f"  {fhir_instant(f.at)}  {f.rule_id} v{f.rule_version}  Patient/{f.child_id}  "
            f"trigger {f.trigger_event}: {f.description} (evidence: {', '.join(f.evidence)})"
        )
    added, removed = report.diff.added, report.diff.removed
    lines += [
        "",
        f"against the rules in force, by (rule, child): {len(added):,} added, "
        f"{len(removed):,} removed, {report.kept:,} unchanged",
        *(f"  + {rule}  Patient/{child}" for rule, child in added),
        *(f"  - {rule}  Patient/{child}" for rule, child in removed),
    ]
    return "\n".join(lines)


def _pair(pair: Pair) -> dict[str, str]:
    return {"rule_id": pair[0], "patient": f"Patient/{pair[1]}"}


def _week_json(w: Week) -> dict[str, Any]:
    return {"week": w.week, "raised": len(w.raised), "reasons_added": w.reasons_added}


def comparison_text(
    current: BacktestReport, proposed: BacktestReport, names: tuple[str, str], limit: int
) -> str:
    """`wnb rules backtest --compare CURRENT PROPOSED`: what the proposed file does to the
    weekly number of concerns, and to which children."""
    old, new = concern_weeks(current.found), concern_weeks(proposed.found)
    weeks = sorted({w.week for w in old} | {w.week for w in new})
    old_by, new_by = {w.week: w for w in old}, {w.week: w for w in new}
    lines = [
        f"concerns per week, {names[0]} -> {names[1]} (one concern per child; nothing was "
        "raised or written)",
        f"  {'week':<10}{'raised':>8}{'->':>4}{'raised':>8}{'reasons added':>15}{'->':>4}"
        f"{'reasons added':>15}",
    ]
    for k in weeks:
        a, b = old_by.get(k, Week(k)), new_by.get(k, Week(k))
        lines.append(
            f"  {k:<10}{len(a.raised):>8,}{'':>4}{len(b.raised):>8,}{a.reasons_added:>15,}"
            f"{'':>4}{b.reasons_added:>15,}"
        )
    was, now = children_with_concerns(current.found), children_with_concerns(proposed.found)
    gained = sorted(set(now) - set(was))
    lost = sorted(set(was) - set(now))
    changed = sorted(c for c in set(now) & set(was) if now[c] != was[c])
    lines += [
        "",
        f"children: {len(gained):,} gain a concern, {len(lost):,} lose theirs, "
        f"{len(changed):,} keep one with other reasons",
        *(f"  + Patient/{c}: {', '.join(sorted(now[c]))}" for c in gained[:limit]),
        *(f"  - Patient/{c}: {', '.join(sorted(was[c]))}" for c in lost[:limit]),
        *(
            f"  ~ Patient/{c}: {', '.join(sorted(was[c]))} -> {', '.join(sorted(now[c]))}"
            for c in changed[:limit]
        ),
    ]
    return "\n".join(lines)
