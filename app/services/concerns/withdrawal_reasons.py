"""Why a reason of an open concern stopped holding, in words for its history: the fact that
changed (a miss recoded, an appointment that now names another patient, the rebooking that
followed a miss up, a merge), never a fact that did not change."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy.orm import Session

from app.rules import EventView, RuleSet
from app.rules.desired import Pair
from app.rules.follow_up import FollowUpIndex
from app.store import rules_repo

OTHER_CHANGES = "a status, family link or rule changed"
HELD = (
    "the family is larger than WNB_FAMILY_ALERT_SIZE, so its family rules are held until an "
    "admin confirms it is one family or lists the carer identifier that ties it together"
)


def explain(
    session: Session,
    gone: Mapping[Pair, list[str]],
    surviving: Mapping[str, str],
    rules: RuleSet,
    events: Sequence[EventView],
    held: Collection[str] = (),
) -> dict[Pair, str]:
    """Why each reason that no longer holds stopped holding. `gone`: (rule, child) -> the
    evidence the reason had. `events`: the judged
    families' events, merged records already folded into their surviving record; `held`:
    children of families whose family rules are held for an admin (`large_families`)."""
    if not gone:
        return {}
    refs = {e for had in gone.values() for e in had}
    facts = rules_repo.event_facts(session, refs)
    plans = {plan.rule.id: plan for plan in rules.plans}
    follow_ups: dict[str, FollowUpIndex] = {}
    out: dict[Pair, str] = {}
    for pair, had in gone.items():
        rule_id, child = pair
        if surviving.get(child, child) != child:
            out[pair] = f"the record was merged into Patient/{surviving[child]}"
            continue
        plan = plans.get(rule_id)
        if plan is not None and plan.rule.scope == "family" and child in held:
            out[pair] = HELD
            continue
        if plan is not None and plan.follow_up is not None and rule_id not in follow_ups:
            follow_ups[rule_id] = FollowUpIndex(plan, events)
        said = []
        for ref in had:
            mine = [e for e in facts.get(ref, ()) if surviving.get(e.child_id, e.child_id) == child]
            if not facts.get(ref):
                said.append(f"{ref} is no longer a coded outcome")
            elif not mine:
                said.append(f"{ref} now names another patient (the source changed who it is for)")
            elif not mine[0].is_child:
                said.append(f"{ref} is no longer a child's appointment")
            elif plan is not None and mine[0].category in plan.categories:
                index = follow_ups.get(rule_id)
                view = next((v for v in events if v.event_id == ref and v.child_id == child), None)
                found = index.follow_up_of(view) if index is not None and view else None
                if found is not None:
                    said.append(f"{found} followed up {ref}")
                # else: the miss itself did not change; the reason is elsewhere
            else:
                said.append(f"{ref} is now {mine[0].category}")
        if not said:
            out[pair] = OTHER_CHANGES
        elif any(" followed up " in s for s in said):
            out[pair] = "; ".join(said)
        else:
            out[pair] = "; ".join(said) + f" (or {OTHER_CHANGES})"
    return out
