"""The bulk writers on both databases: many rows (COPY, unnest) and a few (VALUES) land whole,
each primary key handed back belongs to the row it was handed back for, and updates by key
(one statement, or arrays) land on their own rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text
from sqlalchemy.exc import DBAPIError

from app.fhir.concern_state import ConcernState
from app.runtime import AppState
from app.store.bulk import (
    COPY_FROM,
    Dependents,
    insert_returning_pks,
    insert_rows,
    insert_with_dependents,
)
from app.store.models import (
    AuditEntity,
    AuditRecord,
    CodedEvent,
    IdentityKey,
    RaisedFlag,
    Resource,
    ResourceVersion,
    SearchIndex,
)
from app.store.row_updates import update_rows

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def resource_row(i: int) -> dict[str, object]:
    # Quotes, backslashes and braces: what a JSON body is full of, and what an array's text
    # form would have to escape.
    content = '{"resourceType": "Basic", "note": "say \\"' + str(i) + '\\" \\\\ {x}"}'
    return {"type": "Basic", "id": f"bulk-{i}", "version": 1, "last_updated": NOW,
            "sort_date": None, "patient_id": None, "content": content}  # fmt: skip


@pytest.mark.parametrize("count", [1, COPY_FROM - 1, COPY_FROM, 3 * COPY_FROM + 7])
def test_each_key_belongs_to_its_row(state: AppState, count: int) -> None:
    rows = [resource_row(i) for i in range(count)]
    rows.reverse()  # not the order the database would pick by itself
    with state.writer() as s:
        pks = insert_returning_pks(s, Resource.__table__, rows, ("type", "id"))
        insert_rows(
            s,
            SearchIndex.__table__,
            [{"resource_pk": pk, "type": "Basic", "param": "code", "system": None,
              "code": row["id"]} for pk, row in zip(pks, rows, strict=True)],
        )  # fmt: skip
        s.commit()
    with state.reader() as s:
        stored = {
            pk: (rid, content)
            for pk, rid, content in s.execute(
                select(Resource.pk, Resource.id, Resource.content).where(Resource.type == "Basic")
            )
        }
        indexed = {
            pk: code
            for pk, code in s.execute(
                select(SearchIndex.resource_pk, SearchIndex.code).where(SearchIndex.type == "Basic")
            )
        }
    assert len(stored) == count
    for pk, row in zip(pks, rows, strict=True):
        assert stored[pk] == (row["id"], row["content"])
        assert indexed[pk] == row["id"]


def concern_row(i: int) -> dict[str, object]:
    return {"flag_id": f"bulk-flag-{i}", "rule_id": "concern", "rule_version": 1,
            "child_id": f"bulk-child-{i}", "family_id": f"bulk-child-{i}", "priority": "low",
            "state": ConcernState.OPEN, "is_open": True, "description": "d", "agencies": "",
            "evidence_events": [f"Appointment/a-{i}", 'Appointment/"q"'],
            "family_children": [f"bulk-child-{i}"], "first_event_at": NOW,
            "last_event_at": NOW, "opened_at": NOW, "updated_at": NOW}  # fmt: skip


@pytest.mark.parametrize("count", [1, COPY_FROM])  # unnest / executemany, then COPY
def test_json_list_columns_store_the_same_text_on_every_path(state: AppState, count: int) -> None:
    """The unnest and COPY paths skip SQLAlchemy's bind processing: they store a JsonList
    column's list as the text the ORM would (`orjson.dumps`), and it reads back a list."""
    rows = [concern_row(i) for i in range(count)]
    mine = RaisedFlag.flag_id.like("bulk-flag-%")
    with state.writer() as s:
        insert_rows(s, RaisedFlag.__table__, rows)
        first = s.scalars(select(RaisedFlag.pk).where(RaisedFlag.flag_id == "bulk-flag-0")).one()
        update_rows(s, RaisedFlag.__table__, [{"pk": first, "evidence_events": ["Appointment/b"]}])
        s.commit()
    with state.reader() as s:
        query = "SELECT flag_id, evidence_events FROM raised_flag WHERE flag_id LIKE 'bulk-flag-%'"
        raw: dict[str, str] = {f: e for f, e in s.execute(text(query))}
        read = {f.flag_id: f for f in s.scalars(select(RaisedFlag).where(mine))}
    assert len(raw) == count
    for row in rows[1:]:
        fid = str(row["flag_id"])
        assert raw[fid] == orjson.dumps(row["evidence_events"]).decode()
        assert read[fid].evidence_events == row["evidence_events"]
        assert read[fid].family_children == row["family_children"]
    assert raw["bulk-flag-0"] == '["Appointment/b"]'
    assert read["bulk-flag-0"].evidence_events == ["Appointment/b"]


@pytest.mark.parametrize("count", [1, 2, 7])  # one row's UPDATE, then arrays
def test_updates_land_on_their_rows_and_a_key_given_twice_keeps_its_last(
    state: AppState, count: int
) -> None:
    # The last one is left alone. Every change clears `closed_at` (a column of NULLs only)
    # and every other one `outcome` (NULLs among values).
    rows = [{**concern_row(i), "outcome": "before", "closed_at": NOW} for i in range(count + 1)]
    mine = RaisedFlag.flag_id.like("bulk-flag-%")
    with state.writer() as s:
        insert_rows(s, RaisedFlag.__table__, rows)
        pks = {f: pk for f, pk in s.execute(select(RaisedFlag.flag_id, RaisedFlag.pk).where(mine))}
        changes: list[dict[str, object]] = [
            {"pk": pks[f"bulk-flag-{i}"], "evidence_events": [f"Appointment/new-{i}"],
             "updated_at": NOW + timedelta(days=i + 1), "priority": "high",
             "outcome": f"o-{i}" if i % 2 else None, "closed_at": None}
            for i in range(count)
        ]  # fmt: skip
        # The first again, last: as one after another, its second change is what stays.
        changes.append({**changes[0], "evidence_events": ['Appointment/"last"'], "priority": "low"})
        update_rows(s, RaisedFlag.__table__, changes)
        s.commit()
    with state.reader() as s:
        read = {f.flag_id: f for f in s.scalars(select(RaisedFlag).where(mine))}
    assert read["bulk-flag-0"].evidence_events == ['Appointment/"last"']
    assert read["bulk-flag-0"].priority == "low"
    for i in range(1, count):
        flag = read[f"bulk-flag-{i}"]
        assert flag.evidence_events == [f"Appointment/new-{i}"] and flag.priority == "high"
        assert flag.updated_at == NOW + timedelta(days=i + 1)
        assert flag.outcome == (f"o-{i}" if i % 2 else None) and flag.closed_at is None
    assert read["bulk-flag-0"].outcome is None and read["bulk-flag-0"].closed_at is None
    untouched = read[f"bulk-flag-{count}"]
    assert untouched.evidence_events == rows[count]["evidence_events"]
    assert untouched.updated_at == NOW and untouched.priority == "low"
    assert untouched.outcome == "before" and untouched.closed_at == NOW


@pytest.mark.postgres_only("SQLite does not enforce a column's length")
@pytest.mark.parametrize("count", [1, 5, COPY_FROM])  # VALUES, arrays, COPY
def test_an_over_long_value_is_refused_not_cut_short(state: AppState, count: int) -> None:
    """The driver paths cast each value to its column's type. Cast to VARCHAR(n), PostgreSQL
    cuts an over-long string short without a word, so the casts leave the length out and
    the column refuses the value, as it does through SQLAlchemy."""
    long = "x" * 100  # resource.patient_id is VARCHAR(64)
    rows = [
        {**resource_row(i), "id": f"long-{count}-{i}", "patient_id": long} for i in range(count)
    ]
    with state.writer() as s, pytest.raises(DBAPIError, match="too long"):
        insert_rows(s, Resource.__table__, rows)
    with state.writer() as s:
        given = [resource_row(900 + count + i) for i in range(min(count, 2))]
        pks = insert_returning_pks(s, Resource.__table__, given, ("id",))
        with pytest.raises(DBAPIError, match="too long"):  # one row's UPDATE, then arrays
            update_rows(s, Resource.__table__, [{"pk": pk, "patient_id": long} for pk in pks])


@pytest.mark.postgres_only("the driver paths are PostgreSQL's")
def test_a_naive_time_is_refused_on_the_driver_paths(state: AppState) -> None:
    naive = {**resource_row(950), "last_updated": NOW.replace(tzinfo=None)}
    with state.writer() as s, pytest.raises(ValueError, match="naive"):
        insert_rows(s, Resource.__table__, [naive])
    with state.writer() as s:
        [pk] = insert_returning_pks(s, Resource.__table__, [resource_row(951)], ("id",))
        naive_time = {"pk": pk, "last_updated": NOW.replace(tzinfo=None)}
        with pytest.raises(ValueError, match="naive"):
            update_rows(s, Resource.__table__, [naive_time])


def audit_row(i: int) -> dict[str, object]:
    return {"id": f"bulk-audit-{i}", "recorded": NOW, "type_code": "rest", "subtype": "create",
            "action": "C", "outcome": "0", "agent_kind": "client", "agent_id": "bulk",
            "query": 'say "q" \\ {x}' if i % 2 else None}  # fmt: skip


@pytest.mark.parametrize("count", [1, 5, 12])
def test_children_land_with_the_parent_they_name_and_parents_keep_their_order(
    state: AppState, count: int
) -> None:
    rows = [audit_row(i) for i in range(count)]
    # None for the first parent, one for the second, three for the rest: by the parent's key.
    children = [(f"bulk-audit-{i}", f"Patient/p-{i}-{j}")
                for i in range(count) for j in range(min(i, 3))]  # fmt: skip
    entities = [(int(parent.rsplit("-", 1)[1]), {"reference": ref}) for parent, ref in children]
    with state.writer() as s:
        insert_with_dependents(
            s, AuditRecord.__table__, rows, ("id",),
            [Dependents(AuditEntity.__table__, entities, "audit_pk")],
        )  # fmt: skip
        s.commit()
    with state.reader() as s:
        stored = list(
            s.execute(
                select(AuditRecord.pk, AuditRecord.id, AuditRecord.query)
                .where(AuditRecord.agent_id == "bulk")
                .order_by(AuditRecord.pk)
            )
        )
        pk_of = {rid: pk for pk, rid, _ in stored}
        named = sorted(s.execute(select(AuditEntity.audit_pk, AuditEntity.reference)
                                 .where(AuditEntity.audit_pk.in_(pk_of.values()))))  # fmt: skip
    assert [rid for _, rid, _ in stored] == [r["id"] for r in rows]  # pks in the order given
    assert [q for _, _, q in stored] == [r["query"] for r in rows]
    assert named == sorted((pk_of[parent], ref) for parent, ref in children)


@pytest.mark.postgres_only("SQLite does not hold a string to its declared length")
def test_a_child_value_too_long_for_its_column_is_refused_not_cut(state: AppState) -> None:
    """As for the inserts (H-163): the cast leaves the length out, so the column refuses."""
    with state.writer() as s, pytest.raises(DBAPIError):
        insert_with_dependents(
            s, AuditRecord.__table__, [audit_row(0)], ("id",),
            [Dependents(AuditEntity.__table__, [(0, {"reference": "x" * 121})], "audit_pk")],
        )  # fmt: skip


TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=20,
)  # NUL is refused when a body is parsed; lone surrogates cannot be decoded from one
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=11))]
)
TIMES = st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1), timezones=ZONES)


@st.composite
def drawn_concerns(draw: st.DrawFn) -> list[dict[str, object]]:
    """Rows of every column type a bulk write carries (text, integers, booleans, aware times
    in any zone, JSON lists, NULLs, columns left out), as many as one path or another takes:
    VALUES (1-4), binary arrays (5-31), COPY (32 and more)."""
    count = draw(st.sampled_from([1, 4, 5, 17, COPY_FROM - 1, COPY_FROM]))
    rows = []
    for i in range(count):
        row: dict[str, object] = {
            **concern_row(i),
            "description": draw(TEXT),
            "rule_version": draw(st.integers(-(2**31), 2**31 - 1)),
            "is_open": draw(st.booleans()),
            "evidence_events": draw(st.lists(TEXT, max_size=3)),
            "first_event_at": draw(TIMES),
            "closed_at": draw(st.none() | TIMES),
            "outcome": draw(st.none() | TEXT),
        }
        if draw(st.booleans()):
            del row["outcome"]  # left out: NULL
        rows.append(row)
    return rows


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=drawn_concerns())
def test_every_path_stores_what_it_was_given(
    state: AppState, rows: list[dict[str, object]]
) -> None:
    """Whichever way rows go (VALUES, binary arrays, COPY, or SQLite's executemany), each
    value reads back as it was given: text exactly, times as the same instant, a column left
    out as NULL. Then the same through an update of several rows."""
    mine = RaisedFlag.flag_id.like("bulk-flag-%")
    columns = ("description", "rule_version", "is_open", "evidence_events", "first_event_at",
               "closed_at", "outcome")  # fmt: skip
    with state.writer() as s:
        s.execute(delete(RaisedFlag).where(mine))
        insert_rows(s, RaisedFlag.__table__, rows)
        pks = {f: pk for f, pk in s.execute(select(RaisedFlag.flag_id, RaisedFlag.pk).where(mine))}
        s.commit()
    with state.reader() as s:
        read = {f.flag_id: f for f in s.scalars(select(RaisedFlag).where(mine))}
    assert len(read) == len(rows)
    for row in rows:
        got = read[str(row["flag_id"])]
        assert {c: getattr(got, c) for c in columns} == {c: row.get(c) for c in columns}
    changed = [{"pk": pks[str(r["flag_id"])], **{c: r.get(c) for c in columns}} for r in rows[1:]]
    changed += [{"pk": pks[str(rows[0]["flag_id"])], **{c: r.get(c) for c in columns}}
                for r in rows[1:2]]  # fmt: skip
    with state.writer() as s:
        update_rows(s, RaisedFlag.__table__, list(reversed(changed)))
        s.commit()
    with state.reader() as s:
        read = {f.flag_id: f for f in s.scalars(select(RaisedFlag).where(mine))}
    for row in rows[1:]:
        got = read[str(row["flag_id"])]
        assert {c: getattr(got, c) for c in columns} == {c: row.get(c) for c in columns}


@pytest.mark.parametrize("count", [1, 4, 5, COPY_FROM - 1, COPY_FROM])  # one statement, then COPY
def test_dependents_land_with_the_parent_they_name(state: AppState, count: int) -> None:
    """New resources with their history rows (no key needed), search values and coded events
    (each naming its resource's key): every dependent lands with its own parent's key, a
    column a row leaves out is NULL, and a parent with no dependents of a table has none."""
    rows = [resource_row(i) for i in range(count)]
    rows.reverse()
    history = [{"type": "Basic", "id": r["id"], "version": 1, "last_updated": NOW,
                "method": "POST", "content": r["content"]} for r in rows]  # fmt: skip
    index = [(i, {"type": "Basic", "param": "code", "code": f"{r['id']}-{n}"})
             for i, r in enumerate(rows) for n in range(i % 3)]  # fmt: skip
    index += [(i, {"type": "Basic", "param": "date", "date_lo": NOW + timedelta(days=i)})
              for i in range(0, count, 2)]  # fmt: skip
    events = [(i, {"resource_type": "Basic", "resource_id": r["id"], "child_id": f"c-{i}",
                   "event_at": NOW, "category": "missed", "outcome_system": "s",
                   "outcome_code": "noshow", "is_child": i % 2 == 0, "age_days": i or None,
                   "original_codes": "[]", "recorded_at": NOW})
              for i, r in enumerate(rows) if i % 2]  # fmt: skip
    with state.writer() as s:
        pks = insert_with_dependents(
            s,
            Resource.__table__,
            rows,
            ("type", "id"),
            [
                Dependents(ResourceVersion.__table__, [(0, h) for h in history]),
                Dependents(SearchIndex.__table__, index, "resource_pk"),
                Dependents(IdentityKey.__table__, [], "resource_pk"),
                Dependents(CodedEvent.__table__, events, "resource_pk"),
            ],
        )
        s.commit()
    with state.reader() as s:
        basic = Resource.type == "Basic"
        ids = {pk: rid for pk, rid in s.execute(select(Resource.pk, Resource.id).where(basic))}
        versions = set(
            s.execute(
                select(ResourceVersion.id, ResourceVersion.content).where(
                    ResourceVersion.type == "Basic"
                )
            )
        )
        values = select(
            SearchIndex.resource_pk, SearchIndex.param, SearchIndex.code, SearchIndex.date_lo
        ).where(SearchIndex.type == "Basic")
        found = sorted((ids[pk], param, code, lo) for pk, param, code, lo in s.execute(values))
        coded_rows = select(
            CodedEvent.resource_pk, CodedEvent.child_id, CodedEvent.is_child, CodedEvent.age_days
        ).where(CodedEvent.resource_type == "Basic")
        coded = {(ids[pk], c, is_child, age) for pk, c, is_child, age in s.execute(coded_rows)}
    assert [ids[pk] for pk in pks] == [r["id"] for r in rows]
    assert versions == {(r["id"], r["content"]) for r in rows}
    assert found == sorted(
        (rows[i]["id"], row["param"], row.get("code"), row.get("date_lo")) for i, row in index
    )
    assert coded == {
        (rows[i]["id"], row["child_id"], row["is_child"], row["age_days"]) for i, row in events
    }
