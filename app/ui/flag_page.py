"""The flag page (/ui/flags/{id}): why the flag was raised, its evidence, the review form
(acknowledge, record an outcome, close, reopen, add a note) and every review so far, the
system's own entries (evidence changed, withdrawn) shown apart from people's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.api.nurse_params import Id
from app.api.state import get_state
from app.auth.principal import Principal
from app.fhir.concern_state import ConcernState
from app.services.access.audit import AuditNote
from app.services.common.answer import Answer
from app.services.nurse import flag_view
from app.services.nurse.child_banner import child_banner
from app.services.nurse.review import ReviewInput, review_flag
from app.services.nurse.shapes.concern import REVIEW_OUTCOMES, ReviewAction, ReviewOutcome
from app.services.nurse.sharing import METHODS
from app.ui.case_page import LONDON
from app.ui.chronology_view import CLOSED
from app.ui.guard import checked_form_user, page_user
from app.ui.render import page
from app.ui.view import PageError, audited

# The form's words as the review's own: a word not here is a form to show again.
ACTIONS: dict[str, ReviewAction] = {a: a for a in get_args(ReviewAction)}
OUTCOMES: dict[str, ReviewOutcome] = {o: o for o in get_args(ReviewOutcome)}
NOTE_LIMIT = 4000
router = APIRouter(prefix="/ui")


def actions_for(state: str) -> list[str]:
    """What a nurse can do with a flag in this state (the service enforces the same)."""
    if state in CLOSED:
        return ["reopen", "note"]
    if state == ConcernState.ACKNOWLEDGED:
        return ["outcome", "close", "note"]
    return ["acknowledge", "outcome", "close", "note"]


async def _show(
    request: Request,
    who: Principal,
    flag_id: str,
    error: str | None = None,
    status: int = 200,
    given: dict[str, str] | None = None,
) -> Response:
    note = AuditNote("read", "Flag", [f"Flag/{flag_id}"])
    now = get_state(request).clock()
    shown, banner = await audited(request, who, note, lambda s: _flag(s, flag_id, now))
    # Only our own redirect's words: a crafted link cannot make the page say "Saved: ...".
    done = request.query_params.get("done")
    context = {
        "who": who,
        "flag": shown.flag,
        "sharing": shown.sharing,
        "banner": banner,
        "actions": actions_for(shown.flag.state),
        "outcomes": REVIEW_OUTCOMES,
        "error": error,
        "given": given or {},
        # Only our own redirect's words: a crafted link cannot make the page say "Saved: ...".
        "done": done if error is None and done in ACTIONS else None,
        "methods": list(METHODS.items()),
        "shared": request.query_params.get("shared") == "saved",
        "today": now.astimezone(LONDON).date().isoformat(),  # the form's default: London's day
    }
    return page(request, "flag.html", context, status)


def _flag(
    session: Session, flag_id: str, now: datetime
) -> Answer[tuple[flag_view.FlagPage, dict[str, Any]]]:
    """The concern and its child's status banner, in one transaction and one audit record."""
    flag = flag_view.flag_page(session, flag_id, now)
    top = child_banner(session, flag.body.flag.child.id, now)
    return Answer((flag.body, top.body), sorted({*flag.references, *top.references}))


@router.get("/flags/{flag_id}")
async def flag_page(flag_id: Id, request: Request) -> Response:
    who = await page_user(request, AuditNote("read", "Flag", [f"Flag/{flag_id}"]))
    return await _show(request, who, flag_id)


@router.post("/flags/{flag_id}/review")
async def review(
    flag_id: Id,
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    audit_note = AuditNote("review", "Flag", [f"Flag/{flag_id}"])
    who = await checked_form_user(request, audit_note, csrf_token)
    state = get_state(request)
    given = {"action": action, "outcome": outcome, "note": note}
    problem = _problem(action, outcome, note)
    if problem:
        return await _show(request, who, flag_id, problem, 422, given)
    review_input = ReviewInput(ACTIONS[action], OUTCOMES.get(outcome), note or None)
    ctx = state.write_context()
    try:
        await audited(
            request,
            who,
            audit_note,
            lambda s: review_flag(s, flag_id, review_input, who, ctx),
            ctx,
        )
    except PageError as exc:
        if exc.status not in (409, 422):
            raise
        return await _show(request, who, flag_id, exc.message, exc.status, given)
    return RedirectResponse(f"/ui/flags/{flag_id}?done={action}", status_code=303)


def _problem(action: str, outcome: str, note: str) -> str | None:
    if action not in ACTIONS:
        return "Choose what you want to do with this flag."
    if outcome and outcome not in OUTCOMES:
        return "Choose an outcome from the list."
    if len(note) > NOTE_LIMIT or "\x00" in note:
        return f"The note must be {NOTE_LIMIT} characters or fewer."
    return None
