"""Store incoming resources: resolve, decide create/update, code outcomes, write in bulk.

One straight path for a single resource and for a Bundle of a thousand: every lookup is one
query per batch, every write one multi-row statement. Flushes only; the caller commits.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.coding import BirthSpan, code_outcomes, subject_patient, subject_patients
from app.fhir.dates import birth_range, fhir_instant
from app.fhir.errors import FhirError
from app.fhir.identity import identity_keys
from app.fhir.new_id import time_ordered_uuid
from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.fhir.patient_of import patient_of
from app.fhir.terminology import Category, category_of
from app.fhir.written_by import stamp
from app.services.common.resource_store import store_versions
from app.services.common.writes import Planned, WriteContext, WriteRequest, WriteResult
from app.services.records.carried_outcomes import carry_forward
from app.services.records.consequences import after_write
from app.services.records.impossible_outcomes import refuse_impossible_outcomes
from app.services.records.resolve import BundleIds, resolve_references
from app.services.records.search import count_matches
from app.services.records.stale import is_stale, keep_source_time, stale_warning
from app.services.records.subject_change import warn_if_subject_changed
from app.services.records.version_rows import event_row, restamped, stored_version
from app.store import events_repo, resources_repo
from app.store.bulk import PIPELINE_UP_TO, pipelined
from app.store.models import CodedEvent, Resource

# Targets before the resources that point at them.
TYPE_ORDER = {
    "Organization": 0,
    "Patient": 0,
    "RelatedPerson": 1,
    "Group": 1,
    "Flag": 2,
    "Observation": 2,
    "Appointment": 3,
}
CODED_TYPES = frozenset({"Appointment", "Observation"})


class SharedTarget(Exception):
    """Two requests of a pass asked for `distinct` targets name one resource."""


def write_resources(
    session: Session, requests: list[WriteRequest], ctx: WriteContext, distinct: bool = False
) -> list[WriteResult]:
    """Store `requests` as one unit and run what follows from them; results in the order
    given. Raises FhirError (nothing written is flushed before every check has passed).
    `distinct`: raise SharedTarget, before anything is written, if two requests name one
    resource (by id or identifier, even one that would change nothing): several clients'
    writes in one pass, which one after another would each see the other's version.
    The service's own Flags never come this way (`flag_store`): they follow from the facts,
    so storing them must not start the facts' consequences again."""
    ids = BundleIds()
    plans = [Planned(request=r, index=i) for i, r in enumerate(requests)]
    for p in plans:
        if p.request.full_url and p.request.full_url.startswith("urn:"):
            ids.urns[p.request.full_url] = ""  # known, resolved when its group is planned
    seen_keys: dict[tuple[str, str, str, str], int] = {}
    birth: dict[str, BirthSpan | None] = {}
    groups: dict[int, list[Planned]] = {}
    for p in plans:
        groups.setdefault(TYPE_ORDER.get(p.request.type, 2), []).append(p)
    for order in sorted(groups):
        group = groups[order]
        resolve_references(session, [(p.request.data, p.request.where) for p in group], ids)
        _plan_group(session, group, ids, seen_keys, ctx)
        _finish_group(session, group, ids, birth, ctx)
    _one_version_each(plans, distinct)
    refuse_impossible_outcomes(session, plans, ctx)
    written = [p for p in plans if p.result is None]
    removed_events_of = _write(session, written, ctx)
    # Families, statuses and codes follow; the families touched are reconciled before the
    # unit of work commits (`reconcile.settle`).
    after_write(session, written, removed_events_of, ctx)
    return [_written(p) for p in plans]


def _plan_group(
    session: Session,
    group: list[Planned],
    ids: BundleIds,
    seen: dict[tuple[str, str, str, str], int],
    ctx: WriteContext,
) -> None:
    for p in group:
        p.identity = identity_keys(p.request.data)
        for key in p.identity:
            if key in seen:
                raise FhirError.one(
                    400,
                    "duplicate",
                    f"Entries {seen[key]} and {p.index} carry the same identifier "
                    f"{key[1]}|{key[2]}; send one entry per resource.",
                    _where(p, "identifier"),
                )
            seen[key] = p.index
    owners = resources_repo.identity_owners(session, [k for p in group for k in p.identity])
    existing = resources_repo.by_pks_for_update(session, owners.values())
    put_ids: dict[str, list[str]] = {p.request.type: [] for p in group}
    for p in group:
        if p.request.id:
            put_ids[p.request.type].append(p.request.id)
    by_id = {
        (t, rid): r
        for t, wanted in put_ids.items()
        for rid, r in resources_repo.by_ids_for_update(session, t, wanted).items()
    }
    for p in group:
        owner_pks = {owners[k] for k in p.identity if k in owners}
        target: Resource | None
        if p.request.id:
            target = by_id.get((p.request.type, p.request.id))
            if owner_pks - ({target.pk} if target else set()):
                raise FhirError.one(
                    409,
                    "conflict",
                    "Another stored resource already carries this identifier.",
                    _where(p, "identifier"),
                )
        else:
            if len(owner_pks) > 1:
                raise FhirError.one(
                    409,
                    "conflict",
                    "The identifiers of this resource belong to different stored resources.",
                    _where(p, "identifier"),
                )
            target = existing[owner_pks.pop()] if owner_pks else None
            if target is None and p.request.if_none_exist:
                target = _conditional_match(session, p)
                if target is not None:
                    p.result = _result(target, 200)
                    p.result.matched = True
        _decide(p, target, ctx)
        if p.request.full_url and p.request.full_url.startswith("urn:"):
            ids.urns[p.request.full_url] = f"{p.request.type}/{p.id}"
        if p.existing_pk is None and p.result is None:
            ids.created.add((p.request.type, p.id))


def _one_version_each(plans: list[Planned], distinct: bool) -> None:
    """Two requests that both write one resource would plan the same next version: refused
    (FHIR: a transaction whose entries overlap fails), naming both, before anything is
    written. One that writes nothing (unchanged, matched) meets no other, except where
    `distinct` asks that none meet at all (SharedTarget)."""
    first: dict[tuple[str, str], Planned] = {}
    for p in plans:
        if p.result is not None and not distinct:
            continue
        key = (p.request.type, p.id)
        other = first.setdefault(key, p)
        if other is p:
            continue
        if distinct:
            raise SharedTarget
        raise FhirError.one(
            400,
            "duplicate",
            f"Entries {other.index} and {p.index} both change {key[0]}/{key[1]}: send one "
            "entry per resource.",
            _where(p, "id"),
        )


def _conditional_match(session: Session, p: Planned) -> Resource | None:
    total, first = count_matches(session, p.request.type, p.request.if_none_exist or "")
    if total > 1:
        # Not how many: a caller who may not search must learn no more than "several".
        raise FhirError.one(
            412,
            "multiple-matches",
            "If-None-Exist matched more than one resource; it must match at most one.",
            "If-None-Exist",
        )
    return first


def _decide(p: Planned, target: Resource | None, ctx: WriteContext) -> None:
    if p.result is not None:
        p.id, p.version = p.result.id, p.result.version
        return
    wanted = p.request.if_match
    if wanted is not None and (target is None or target.version != wanted):
        raise FhirError.one(
            412,
            "conflict",
            f"If-Match asked for version {wanted} but the "
            f"stored version is {target.version if target else 'none'}.",
            "If-Match",
        )
    if target is None:
        p.id = p.request.id or str(time_ordered_uuid())
        return
    p.id, p.version, p.existing_pk = target.id, target.version + 1, target.pk
    if p.request.type in CODED_TYPES:
        warn_if_subject_changed(target, p.request.data)
    stored = orjson.loads(target.content)
    if _same_content(stored, p.request.data):
        p.result = _result(target, 200)
        p.result.unchanged = True
    elif p.request.type in CODED_TYPES and is_stale(
        stored, p.request.data, ctx.terms.canonical_base
    ):
        p.stale_of = stored


def _finish_group(
    session: Session,
    group: list[Planned],
    ids: BundleIds,
    birth: dict[str, BirthSpan | None],
    ctx: WriteContext,
) -> None:
    for p in group:
        data = p.request.data
        if data["resourceType"] == "Patient" and p.result is None:
            birth[p.id] = birth_range(data["birthDate"]) if "birthDate" in data else None
            for _, system, value, _scope in p.identity:
                if system == NHS_NUMBER_SYSTEM:
                    ids.patients_by_nhs[value] = p.id
    todo = [p for p in group if p.result is None and p.request.type in CODED_TYPES]
    for p in todo:
        if p.request.type == "Appointment" and subject_patient(p.request.data) is None:
            raise FhirError.one(
                422,
                "not-found",
                "No participant of this appointment is a "
                "Patient stored on this server (by reference or NHS number).",
                _where(p, "participant"),
            )
    for pid, span in ids.births.items():
        birth.setdefault(pid, span)  # a Patient written in this Bundle wins over its stored one
    subjects = {pid for p in todo for pid in subject_patients(p.request.data)} - set(birth)
    birth.update(resources_repo.birth_spans(session, subjects))
    based_on = {
        ref.get("reference") or ""
        for p in todo
        for ref in p.request.data.get("basedOn", [])
        if isinstance(ref, dict)
    }
    linked = events_repo.service_keys(session, based_on)
    stored: dict[int, list[CodedEvent]] = {}
    updated_pks = [p.existing_pk for p in todo if p.existing_pk is not None]
    for row in events_repo.events_of_resources(session, updated_pks):
        stored.setdefault(row.resource_pk, []).append(row)
    for p in group:
        if p.result is None and p.stale_of is not None:
            p.keep_events = True
            p.content = _content(p, [], ctx)
            p.current_content = restamped(p.stale_of, p.version + 1, ctx)
        elif p.result is None:
            tags: list[Category] = []
            if p.request.type in CODED_TYPES:
                found = code_outcomes(p.request.data, ctx.terms, birth, ctx.now, linked)
                before = stored.get(p.existing_pk or 0, [])
                p.outcomes, p.keep_events = carry_forward(p.request.data, found, before, ctx.now)
                kept = [category_of(e.category) for e in before] if p.keep_events else []
                tags = list(dict.fromkeys([*(o.category for o in p.outcomes), *kept]))
            p.content = _content(p, tags, ctx)


def _content(p: Planned, categories: list[Category], ctx: WriteContext) -> str:
    data = p.request.data
    meta = dict(data.get("meta") or {})
    meta["versionId"] = str(p.version)
    meta["lastUpdated"] = fhir_instant(ctx.now)
    keep_source_time(meta, data, ctx.terms.canonical_base)
    tags = [t for t in meta.get("tag", []) if t.get("system") != ctx.terms.outcome_system]
    for category in categories:
        written = ctx.terms.written_codes[category]
        tags.append({"system": written.system, "code": written.code, "display": written.display})
    if tags:
        meta["tag"] = tags
    else:
        meta.pop("tag", None)
    author = p.request.author or ctx.author
    if author is not None:
        stamp(meta, ctx.terms.canonical_base, author)
    body = {k: v for k, v in data.items() if k not in ("resourceType", "id", "meta")}
    return orjson.dumps({"resourceType": p.request.type, "id": p.id, "meta": meta, **body}).decode()


def _written(p: Planned) -> WriteResult:  # set for every plan once `_write` ran
    if p.result is None:
        raise RuntimeError(f"entry {p.index} was planned but not written")
    return p.result


def _write(session: Session, plans: list[Planned], ctx: WriteContext) -> set[str]:
    """Write the plans' rows; returns the children whose earlier coded events were replaced."""
    # An update's events are recoded: which children lose one is read before the pipeline.
    removed = events_repo.remove_events(
        session, [p.existing_pk for p in plans if p.existing_pk is not None and not p.keep_events]
    )
    # The rest reads back only new resources' keys: sent together (PostgreSQL), one round
    # trip and one more where a key is read back. New resources alone are one statement
    # with their history, search values and coded events, which a pipeline would only add
    # a sync to. A Bundle's rows go by COPY.
    versions = [stored_version(p, ctx) for p in plans]
    only_new = all(v.pk is None for v in versions)
    with pipelined(session, when=len(plans) <= PIPELINE_UP_TO and not only_new):
        events = [
            (i, event_row(p, outcome, ctx))
            for i, p in enumerate(plans)
            if p.stale_of is None  # its events stay as they were
            for outcome in p.outcomes
        ]
        pks = store_versions(session, versions, events)
        for p, pk in zip(plans, pks, strict=True):
            p.existing_pk = pk
    for p in plans:
        if p.stale_of is not None:
            p.result = WriteResult(
                200,
                p.request.type,
                p.id,
                p.version + 1,
                ctx.now,
                p.current_content,
                patient_of(p.stale_of, p.id),
                stale_warning(p.request.type, p.version, p.version + 1),
            )
            continue
        p.result = WriteResult(
            201 if p.version == 1 else 200,
            p.request.type,
            p.id,
            p.version,
            ctx.now,
            p.content,
            patient_of(p.request.data, p.id),
        )
    return removed


def _same_content(stored: dict[str, Any], incoming: dict[str, Any]) -> bool:
    def strip(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k not in ("id", "meta")}

    return strip(stored) == strip(incoming)


def _result(r: Resource, status: int) -> WriteResult:
    return WriteResult(status, r.type, r.id, r.version, r.last_updated, r.content, r.patient_id)


def _where(p: Planned, element: str) -> str:
    return f"{p.request.where or p.request.type}.{element}"
