"""What follows from a write, in the same transaction: families for new patients, family
links from carers and households, safeguarding statuses from Flags, and rule evaluation of
new coded events (which may raise flags: those come back as further writes)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.fhir.statuses import status_of
from app.rules import EventView
from app.services import family
from app.services.evaluate import Trigger, evaluate_events
from app.services.writes import Planned, WriteContext, WriteRequest
from app.store import rules_repo


def after_write(session: Session, plans: list[Planned], ctx: WriteContext) -> list[WriteRequest]:
    created = [p.id for p in plans if p.request.type == "Patient" and p.version == 1]
    family.add_patients(session, created, ctx.now)
    for p in plans:
        kind = p.request.type
        if kind in ("RelatedPerson", "Group"):
            family.update_links(
                session, f"{kind}/{p.id}", family.links_of(kind, p.id, p.request.data), ctx.now
            )
        elif kind == "Flag" and p.existing_pk is not None:
            status = status_of(p.request.data, ctx.terms, ctx.now)
            rules_repo.replace_status(
                session,
                p.existing_pk,
                status
                and {
                    "child_id": status.child_id,
                    "status": status.status,
                    "start": status.start,
                    "end": status.end,
                },
            )
    triggers = [
        Trigger(
            p.event_pk,
            EventView(
                event_id=f"{p.request.type}/{p.id}",
                child_id=p.outcome.child_id,
                at=p.outcome.event_at,
                category=p.outcome.category,
                service_code=p.outcome.service_code,
                age_days=p.outcome.age_days,
            ),
        )
        for p in plans
        if p.outcome is not None and p.event_pk is not None and p.outcome.is_child
    ]
    return evaluate_events(session, triggers, ctx) if triggers else []
