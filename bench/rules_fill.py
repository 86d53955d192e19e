"""bench/rules: filling a database with a backtest's history, two ways.

`through_service`: transaction Bundles posted to a running service (Patients, carers, status
Flags, Appointments), exactly as a GP system would. `by_copy`: the same synthetic history
written with COPY straight into the tables the backtest reads (resource, coded_event, family,
family_member, safeguarding_status) of a migrated database, each event coded by the service's
own `code_outcome`. COPY skips what ingest also writes and the backtest never reads (Patient
and RelatedPerson resources, versions, search index, identity keys, links, flags)."""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import orjson
import psycopg

import rules_data as data
import rules_http as http
import rules_server as srv
from app.fhir.coding import code_outcome
from app.fhir.dates import fhir_instant
from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.fhir.terminology import Terminology, load_terminology

STATUS_SYSTEM = "https://wnb.dev/fhir/CodeSystem/safeguarding-status"
PLAN_SHARE = 0.03  # children on a child protection plan


def plans(families: data.Families, seed: int, today: date) -> Iterator[dict[str, Any]]:
    """cp-plan Flags for about 3% of the children, started in the last two years."""
    rng = random.Random(seed)
    for kid in families.all_children:
        if rng.random() < PLAN_SHARE:
            start = today - timedelta(days=rng.randint(30, 730))
            yield {
                "resourceType": "Flag",
                "id": f"plan-{kid}",
                "status": "active",
                "subject": {"reference": f"Patient/{kid}"},
                "code": {"coding": [{"system": STATUS_SYSTEM, "code": "cp-plan"}]},
                "period": {"start": f"{start.isoformat()}T00:00:00Z"},
            }


def history(
    families: data.Families, each: int, now: datetime, days: int, noshow: float
) -> Iterator[dict[str, Any]]:
    return data.per_child_appointments(families, each, 7, now, days, noshow)


def through_service(
    server: srv.Server,
    families: data.Families,
    each: int,
    now: datetime,
    days: int,
    noshow: float,
) -> float:
    """Post the history as transaction Bundles of 500; Appointments per second."""
    setup = [http.post("/fhir", server.token, b) for b in families.setup_bundles(500)]
    _check(http.drive(server.port, setup, connections=4))
    flags = data.transaction(plans(families, 11, now.date()), 500)
    _check(http.drive(server.port, [http.post("/fhir", server.token, b) for b in flags], 4))
    count = 0
    started = time.perf_counter()
    batch: list[bytes] = []
    for bundle in data.transaction(history(families, each, now, days, noshow), 500):
        batch.append(http.post("/fhir", server.token, bundle))
        count += 500
        if len(batch) == 40:
            _check(http.drive(server.port, batch, connections=4))
            batch = []
    if batch:
        _check(http.drive(server.port, batch, connections=4))
    return count / (time.perf_counter() - started)


def _check(run: http.Run) -> None:
    if run.failures:
        raise RuntimeError(f"filling through the service failed: {run.failures[0]}")


def by_copy(
    db: str, families: data.Families, each: int, now: datetime, days: int, noshow: float
) -> int:
    """Migrate `db` and COPY the history in; the number of Appointments written."""
    env = srv.service_env(srv.database_url(db))
    subprocess.run([srv.WNB, "migrate"], env=env, check=True, capture_output=True)
    terms = load_terminology(srv.ROOT / "rules" / "terminology.yaml")
    recorded = now
    with psycopg.connect(srv.dsn(db)) as conn:
        with conn.cursor() as cur:
            _copy_families(cur, families, recorded)
            pk = 0
            plan_rows, events = [], []
            with cur.copy(
                "COPY resource (pk, type, id, version, last_updated, sort_date, patient_id, "
                "content) FROM STDIN"
            ) as resources:
                for flag in plans(families, 11, now.date()):
                    pk += 1
                    resources.write_row(_resource_row(pk, flag, recorded, None))
                    kid = flag["subject"]["reference"].split("/")[1]
                    start = datetime.fromisoformat(flag["period"]["start"])
                    plan_rows.append((pk, kid, "cp-plan", start, None))
                for appointment in history(families, each, now, days, noshow):
                    pk += 1
                    appointment["id"] = appointment["identifier"][0]["value"]
                    resources.write_row(
                        _resource_row(pk, appointment, recorded, appointment["start"])
                    )
                    events.append(_event_row(pk, appointment, families, terms, recorded))
            with cur.copy(
                'COPY safeguarding_status (resource_pk, child_id, status, start, "end") FROM STDIN'
            ) as copy:
                for row in plan_rows:
                    copy.write_row(row)
            with cur.copy(
                "COPY coded_event (resource_pk, resource_type, resource_id, child_id, "
                "event_at, category, outcome_system, outcome_code, is_child, "
                "age_days, service_system, service_code, service_key, service_display, "
                "organisation, source_system, original_codes, recorded_at) FROM STDIN"
            ) as copy:
                for row in events:
                    copy.write_row(row)
            cur.execute("SELECT setval('resource_pk_seq', %s)", (pk,))
        conn.commit()
    with psycopg.connect(srv.dsn(db), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return len(events)


def family_of(kid: str) -> str:
    """The family id COPY gives child `c<family>-<n>`."""
    return f"fam-{kid[1:].split('-')[0]}"


def _copy_families(cur: psycopg.Cursor[Any], families: data.Families, at: datetime) -> None:
    with cur.copy("COPY family (family_id, created_at) FROM STDIN") as copy:
        for f in range(len(families.children)):
            copy.write_row((f"fam-{f}", at))
    with cur.copy("COPY family_member (patient_id, family_id) FROM STDIN") as copy:
        for f, kids in enumerate(families.children):
            for kid in kids:
                copy.write_row((kid, f"fam-{f}"))
    # What makes them a family: the shared carer (ingest keeps families from these links).
    with cur.copy("COPY family_link (link_key, patient_id, source) FROM STDIN") as copy:
        for f, kids in enumerate(families.children):
            for kid in kids:
                key = f"carer:{NHS_NUMBER_SYSTEM}|{families.carers[f]}"
                copy.write_row((key, kid, f"RelatedPerson/carer-{kid}"))


def _resource_row(
    pk: int, resource: dict[str, Any], at: datetime, sort: str | None
) -> tuple[Any, ...]:
    resource["meta"] = {"versionId": "1", "lastUpdated": fhir_instant(at)}
    patient = resource.get("participant", [{}])[0].get("actor", resource.get("subject"))
    return (
        pk,
        resource["resourceType"],
        resource["id"],
        1,
        at,
        datetime.fromisoformat(sort) if sort else None,
        patient["reference"].split("/")[1],
        orjson.dumps(resource).decode(),
    )


def _event_row(
    pk: int,
    appointment: dict[str, Any],
    families: data.Families,
    terms: Terminology,
    at: datetime,
) -> tuple[Any, ...]:
    kid = appointment["participant"][0]["actor"]["reference"].split("/")[1]
    o = code_outcome(appointment, terms, families.births[kid], at)
    assert o is not None
    return (
        pk,
        "Appointment",
        appointment["id"],
        o.child_id,
        o.event_at,
        o.category,
        o.outcome_system,
        o.outcome_code,
        o.is_child,
        o.age_days,
        o.service_system,
        o.service_code,
        o.service_key,  # what the backtest compares services by
        o.service_display,
        o.organisation,
        o.source_system,
        orjson.dumps(o.original_codes).decode(),
        at,
    )
