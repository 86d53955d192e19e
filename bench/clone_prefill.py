"""A large prefill made fast: a template stored through the service, then copied in SQL.

`bench/ingest --prefill-template N` stores N appointments (and their children) through the
real service, then copies every row the template left in the service's tables, `copies`
times, by COPY: each copy with its own identities (new resource, family, Flag and audit ids,
new valid NHS numbers from the bench's own sequence, new appointment identifiers) and its own
primary keys (the template's shifted past every earlier copy, with the foreign keys that name
them). So a copy holds what the service itself would have stored for another `N / 20`
children with the same histories: the same rows, search values, coded events, concerns and
audit records, in the same shapes and sizes. Measured: 3,240 appointments/s over 10,000,000
with random ids (4,840/s over the first tenth, slowing as the indexes grew, not as the
children's histories did), and 2,800/s over 5,000,000 with time-ordered ids on a machine
half as fast; the service's Bundles fall from about 2,000/s to 1,200/s by 2,000,000.

What a copy does not reproduce, and why it does not matter to (c): the audit chain's seals
(the benchmark runs no worker, so a real prefill is not sealed either), and the physical
order of rows in the tables (copies are appended copy by copy; a real prefill interleaves
children within each Bundle). The copy refuses to run when a table outside its lists holds
rows (a new table would otherwise be left empty), and checks at the end that every copied
table holds the template's rows once per copy.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter

import psycopg

from app.fhir.new_id import time_ordered_uuid
from app.store.models import Base

# Tables shared by the whole service (clients, settings, the seals), never copied.
SHARED = frozenset({
    "api_client", "subscription_version", "service_state", "used_assertion", "audit_seal",
    "agency_binding", "subscription", "user_account", "user_session", "login_failure",
    "import_job", "import_progress",
})

# A template's identities as they appear in any text column, JSON included: resource ids
# (UUIDs), family, Flag and audit ids (32 hex digits), NHS numbers of the bench's 999 range
# and the bench's appointment identifiers ("<tag>-<i>"). A token of these shapes that is not
# the template's own (the API client's id, say) is left as it is.
TOKEN = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[0-9a-f]{32}|999[0-9]{7}|[a-z][a-z0-9]*-[0-9]+)(?![0-9A-Za-z])")


# A marked integer key (the index of the table whose key it is, the value) or a token.
SLOT = re.compile("\x00([0-9]+):([0-9]+)\x00|" + TOKEN.pattern)


@dataclass
class Table:
    """A table's template rows in COPY text, cut once into the text between its slots (ids
    and integer keys) and the slots, so that a copy only computes each distinct slot's new
    value and joins."""

    name: str
    columns: list[str]
    shifted: dict[int, str]  # column index -> the table whose primary key it holds
    rows: int = 0
    literals: list[str] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)  # per slot: its index in `keys`
    keys: list[str | tuple[int, int]] = field(default_factory=list)


@dataclass
class Cloned:
    seconds: float
    rows: int
    children: list[str]  # the copies' children, in the template's order, copy by copy
    unmapped: list[str]  # tokens of an id's shape that are not the template's own (the API
    #                      client's id, words such as "nhs-1")


def _tables(conn: psycopg.Connection) -> list[Table]:
    """The tables to copy, parents first, with the integer key columns each must shift."""
    serial = {t.name for t in Base.metadata.sorted_tables
              if len(t.primary_key.columns) == 1 and "pk" in t.columns
              and next(iter(t.primary_key.columns)).name == "pk"}
    found: list[Table] = []
    for table in Base.metadata.sorted_tables:
        if table.name in SHARED:
            continue
        count = conn.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()
        if not count or not count[0]:
            continue
        columns = [c.name for c in table.columns]
        shifted = {columns.index("pk"): table.name} if table.name in serial else {}
        for fk in table.foreign_keys:
            target = fk.column.table.name
            if target in serial and fk.column.name == "pk":
                shifted[columns.index(fk.parent.name)] = target
            elif target in SHARED:
                raise RuntimeError(f"{table.name}.{fk.parent.name} names a shared table")
        found.append(Table(table.name, columns, shifted))
    return found


def _read(conn: psycopg.Connection, table: Table, targets: list[str]) -> None:
    cols = ", ".join(f'"{c}"' for c in table.columns)
    order = ' ORDER BY "pk"' if "pk" in table.columns else ""
    data = bytearray()
    with conn.cursor().copy(f'COPY (SELECT {cols} FROM "{table.name}"{order}) TO STDOUT') as cp:
        for chunk in cp:
            data += chunk
    lines = data.decode().split("\n")[:-1] if data else []
    table.rows = len(lines)
    if table.shifted:
        marked = []
        for line in lines:
            parts = line.split("\t")
            for i, target in table.shifted.items():
                if parts[i] != "\\N":
                    parts[i] = f"\x00{targets.index(target)}:{parts[i]}\x00"
            marked.append("\t".join(parts))
        lines = marked
    text = "".join(line + "\n" for line in lines)
    keys: dict[str | tuple[int, int], int] = {}
    pos = 0
    for m in SLOT.finditer(text):
        table.literals.append(text[pos:m.start()])
        key = (int(m[1]), int(m[2])) if m[1] is not None else m[0]
        table.refs.append(keys.setdefault(key, len(keys)))
        pos = m.end()
    table.literals.append(text[pos:])
    table.keys = list(keys)


def _identities(conn: psycopg.Connection) -> tuple[set[str], set[str], set[str]]:
    """The template's own ids (UUIDs and hex), NHS numbers and appointment identifiers."""
    ids: set[str] = set()
    for sql in ("SELECT id FROM resource", "SELECT flag_id FROM raised_flag",
                "SELECT id FROM audit_event", "SELECT family_id FROM family"):
        for (value,) in conn.execute(sql):  # type: ignore[arg-type]
            ids.update(TOKEN.findall(value))
    nhs = {v for (v,) in conn.execute(
        "SELECT value FROM identity_key WHERE type = 'Patient' AND value LIKE '999%'")}
    appts = {v for (v,) in conn.execute(
        "SELECT value FROM identity_key WHERE type = 'Appointment'")}
    return ids, nhs, appts


def _mapping(copy: int, ids: set[str], nhs: set[str], appts: set[str],
             numbers: Iterator[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for old in ids:
        new = time_ordered_uuid()  # as the service mints them: later copies, later ids
        mapping[old] = new.hex if len(old) == 32 else str(new)
    for old in sorted(nhs):
        mapping[old] = next(numbers)
    for old in appts:
        mapping[old] = f"{old}.c{copy}"
    return mapping


def _render(table: Table, shifts: list[int], mapping: dict[str, str]) -> bytes:
    values = [mapping.get(k, k) if isinstance(k, str) else str(k[1] + shifts[k[0]])
              for k in table.keys]
    if not table.refs:
        return table.literals[0].encode()
    slots = itemgetter(*table.refs)(values) if len(table.refs) > 1 else (values[table.refs[0]],)
    out = [""] * (len(table.literals) + len(table.refs))
    out[0::2] = table.literals
    out[1::2] = slots
    return "".join(out).encode()


def clone(dsn: str, copies: int, numbers: Iterator[str], children: list[str],
          log: Callable[[str], None], min_free_bytes: int = 10 << 30) -> Cloned:
    """Copy the template in database `dsn` `copies` times (see the module's text). `numbers`
    yields fresh NHS numbers (the bench's own sequence, so later children do not collide);
    `children` are the template's children, whose copies are returned. One connection, each
    copy a transaction of its own: with two copying at once, one's integer keys landed in
    the middle of the serial keys' indexes, whose pages then split in halves (the service's
    keys come from a sequence and append at the right), and the database came out 40% larger
    per appointment. A copy is not begun with less than `min_free_bytes` free on the
    database's disk (read where the server keeps its data: this machine's server is local)."""
    t0 = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        tables = _tables(conn)
        listed = {t.name for t in Base.metadata.sorted_tables}
        for (name,) in conn.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE n_live_tup > 0"):
            if name not in listed and name != "alembic_version":
                raise RuntimeError(f"table {name} holds rows the copy does not know of")
        targets = [t.name for t in tables if "pk" in t.columns]
        for table in tables:
            _read(conn, table, targets)
        ids, nhs, appts = _identities(conn)
        tops = [int(conn.execute(  # type: ignore[index]
            f'SELECT coalesce(max(pk), 0) FROM "{name}"').fetchone()[0]) for name in targets]
        sizes = {t.name: t.rows for t in tables}
        data_directory = str(conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
        conn.commit()  # idle from here: each copy below is a transaction, not a savepoint
        seen = {k for t in tables for k in t.keys if isinstance(k, str)}
        unmapped = sorted(seen - ids - nhs - appts)
        log(f"clone: template of {sizes} rows; {copies} copies; tokens not the template's "
            f"own: {len(unmapped)} ({', '.join(unmapped[:8])})")
        copied: list[str] = []
        for k in range(1, copies + 1):
            free = shutil.disk_usage(data_directory).free
            if free < min_free_bytes:  # the server is shared: never fill its disk
                raise RuntimeError(f"{free >> 30} GiB left on PostgreSQL's disk before copy "
                                   f"{k}; stopped")
            mapping = _mapping(k, ids, nhs, appts, numbers)
            shifts = [k * top for top in tops]
            with conn.transaction(), conn.cursor() as cur:
                for table in tables:
                    cols = ", ".join(f'"{c}"' for c in table.columns)
                    data = _render(table, shifts, mapping)
                    with cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as cp:
                        for start in range(0, len(data), 1 << 20):
                            cp.write(data[start:start + (1 << 20)])
            copied.extend(mapping[c] for c in children)
            if k % max(1, copies // 10) == 0 or k == copies:
                log(f"clone: {k}/{copies} copies in {time.perf_counter() - t0:,.0f} s")
        for table in tables:
            count = int(conn.execute(  # type: ignore[index]
                f'SELECT count(*) FROM "{table.name}"').fetchone()[0])
            if count != sizes[table.name] * (copies + 1):
                raise RuntimeError(f"{table.name}: {count} rows, expected "
                                   f"{sizes[table.name]} x {copies + 1}")
            if "pk" in table.columns:
                conn.execute(  # type: ignore[call-overload]
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'pk'), "
                    f'(SELECT max(pk) FROM "{table.name}"))')
        conn.commit()
    rows = copies * sum(sizes.values())
    return Cloned(time.perf_counter() - t0, rows, copied, unmapped)
