"""Outcomes that cannot be true of a child, refused (422) before anything is written.

A miss before the child was born, or one that has not happened yet, would otherwise be judged
by every rule (an infant-wnb for a child not yet born) or silently never; a status or a DNA
Observation about a Group or a carer names no child, so it would be stored and ignored. The
sender is told where the fault is; nothing of the request is kept (hazard log H-80 to H-83).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.fhir.coding import Outcome, outcome_category
from app.fhir.dates import birth_range, local_midnight
from app.fhir.errors import FhirError, Issue
from app.fhir.references import split_local
from app.fhir.walk import values_at
from app.services.common.writes import Planned, WriteContext
from app.store import events_repo

MISSES = frozenset({"was-not-brought", "did-not-attend", "no-access"})
# Where an outcome's time comes from, in the order coding reads them (app.fhir.coding).
TIME_PATHS = {
    "Appointment": ("start", "created"),
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
}


def refuse_impossible_outcomes(session: Session, plans: list[Planned], ctx: WriteContext) -> None:
    """Raise 422 naming every impossible outcome of the planned writes (none is written)."""
    issues: list[Issue] = []
    for p in plans:
        if p.result is not None or p.stale_of is not None:
            continue  # unchanged, or kept in history only: nothing new is believed
        if p.request.type in ("Flag", "Observation"):
            issues += _not_about_a_patient(p, ctx)
        issues += [i for o in p.outcomes for i in _impossible_time(p, o, ctx)]
    issues += _births_after_stored_misses(session, plans)
    if issues:
        raise FhirError(422, list(dict.fromkeys(issues)))


def _not_about_a_patient(p: Planned, ctx: WriteContext) -> list[Issue]:
    data = p.request.data
    if p.request.type == "Flag":
        codings = [c for c in values_at(data, "code.coding[]") if isinstance(c, dict)]
        if not any(ctx.terms.status_for(c.get("system"), c.get("code")) for c in codings):
            return []  # not a safeguarding status: not ours to judge
        what = "A safeguarding status"
    elif outcome_category(data, ctx.terms) is not None:
        what = "An appointment outcome"
    else:
        return []
    local = split_local(((data.get("subject") or {}).get("reference")) or "")
    if local is not None and local[0] == "Patient":
        return []
    return [
        Issue(
            "business-rule",
            f"{what} must be about a child: its subject must be a Patient (reference or NHS "
            f"number identifier), not {local[0] if local else 'missing'}.",
            _where(p, "subject"),
        )
    ]


def _impossible_time(p: Planned, o: Outcome, ctx: WriteContext) -> list[Issue]:
    if o.category not in MISSES:
        return []
    if o.event_at > ctx.now + ctx.future_miss_tolerance:
        # Held until it passes, a future miss would be a miss that may never happen.
        said = "has not happened yet: send it once the appointment has passed."
    elif o.age_days is not None and o.age_days + o.age_uncertain_days < 0:
        said = f"is before the birth date of Patient/{o.child_id}."
    else:
        return []
    path = _time_path(p)
    return [Issue("business-rule", f"A missed appointment {said}", _where(p, path))]


def _time_path(p: Planned) -> str:
    for path in TIME_PATHS.get(p.request.type, ()):
        if any(isinstance(v, str) for v in values_at(p.request.data, path)):
            return path
    return TIME_PATHS.get(p.request.type, ("meta",))[0]


def _births_after_stored_misses(session: Session, plans: list[Planned]) -> list[Issue]:
    """A birth date moved after a stored miss: refused (hazard log H-81). Either the date or
    the miss is wrong; believing the date would drop the miss from every rule unseen."""
    cutoffs = {}
    for p in plans:
        birth = p.request.data.get("birthDate")
        if p.request.type != "Patient" or p.result is not None or p.existing_pk is None:
            continue
        span = birth_range(birth) if isinstance(birth, str) else None
        if span is not None:
            cutoffs[p.id] = (local_midnight(span[0]), p)
    # Outcomes rewritten by this same request are judged by their new version instead.
    rewritten = [
        p.existing_pk
        for p in plans
        if p.request.type in TIME_PATHS
        and p.existing_pk is not None
        and p.result is None
        and not p.keep_events
    ]
    found = events_repo.misses_before(
        session, {pid: at for pid, (at, _) in cutoffs.items()}, MISSES, rewritten
    )
    return [
        Issue(
            "business-rule",
            f"{kind}/{rid}, a missed appointment of this child, is dated before this birthDate: "
            f"correct it (or mark it entered-in-error) first, or send the right birthDate.",
            _where(cutoffs[child][1], "birthDate"),
        )
        for child, kind, rid in found
    ]


def _where(p: Planned, element: str) -> str:
    return f"{p.request.where or p.request.type}.{element}"
