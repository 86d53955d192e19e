"""The bulk writers on both databases: many rows (COPY, unnest) and a few (executemany) land
whole, and each primary key handed back belongs to the row it was handed back for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.runtime import AppState
from app.store.bulk import COPY_FROM, insert_returning_pks, insert_rows
from app.store.models import Resource, SearchIndex

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
        stored = {pk: (rid, content) for pk, rid, content in s.execute(
            select(Resource.pk, Resource.id, Resource.content).where(Resource.type == "Basic"))}
        indexed = {pk: code for pk, code in s.execute(
            select(SearchIndex.resource_pk, SearchIndex.code).where(SearchIndex.type == "Basic"))}
    assert len(stored) == count
    for pk, row in zip(pks, rows, strict=True):
        assert stored[pk] == (row["id"], row["content"])
        assert indexed[pk] == row["id"]
