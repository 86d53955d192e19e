"""What PostgreSQL read and wrote for a timed run: blocks found in shared buffers and blocks
read in, and the WAL written (bytes and full-page images), per request and per statement, from
`pg_stat_statements`.

A store larger than memory slows a write by the pages it has to read in; these figures name
the statements that read them. `pg_stat_statements` counts as each statement ends, so the
figures are exact for the run (`pg_stat_database` flushes up to ten seconds late), and its WAL
is this database's alone, where the server's WAL position counts every database's writes (a
prefill's copy beside the run, another session's tests). Needs the
extension preloaded (`shared_preload_libraries = 'pg_stat_statements'`, and
`track_io_timing = on` for the read time); without it the meter says so and measures nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

TOP = 8  # statements listed per run


@dataclass
class StatementReads:
    query: str
    calls: int
    rows: int
    hit: int
    read: int
    read_ms: float
    exec_ms: float
    wal_bytes: int = 0
    wal_fpi: int = 0  # full-page images: a page's first change after a checkpoint


@dataclass
class Reads:
    """One run's reads, summed over the service database's statements."""

    statements: list[StatementReads] = field(default_factory=list)

    def total(self, name: str) -> float:
        """One column of `StatementReads` summed over the run's statements."""
        return sum(getattr(s, name) for s in self.statements)

    def transaction_ends(self) -> dict[str, int]:
        """COMMITs and ROLLBACKs counted (`pg_stat_statements.track_utility`, on by default;
        a driver's own BEGIN ... COMMIT)."""
        ends = {"COMMIT": 0, "ROLLBACK": 0}
        for s in self.statements:
            word = s.query.strip().rstrip(";").upper()
            if word in ends:
                ends[word] += s.calls
        return ends

    def describe(self, requests: int) -> list[str]:
        """Lines for the report: per request, then the statements that read most."""
        if not requests or not self.statements:
            return []
        n = float(requests)
        per = {name: self.total(name) / n for name in (
            "calls", "hit", "read", "read_ms", "exec_ms", "wal_bytes", "wal_fpi")}
        lines = [
            f"per request: {per['calls']:.1f} statements, {per['hit']:,.0f} blocks found in "
            f"shared buffers, {per['read']:,.1f} read in ({per['read_ms']:.2f} ms reading, "
            f"{per['exec_ms']:.2f} ms executing); WAL {per['wal_bytes']:,.0f} bytes "
            f"({per['wal_fpi']:.2f} full-page images)"]
        ends = self.transaction_ends()
        if ends["COMMIT"] or ends["ROLLBACK"]:
            # A write's unit of work rolled back (a race retried, a group run again one write
            # after another, a reconciliation deferred) did its work twice: it costs CPU
            # that no statement's own time shows. Reads end in ROLLBACK too: the look-up of
            # a token's client when its cache ends, once for every request then in flight.
            lines.append(f"transactions per request: {ends['COMMIT'] / n:.2f} committed, "
                         f"{ends['ROLLBACK'] / n:.3f} rolled back")
        top = sorted(self.statements, key=lambda s: (s.read, s.exec_ms), reverse=True)[:TOP]
        for s in top:
            text = " ".join(s.query.split())
            lines.append(
                f"  {s.calls / n:.2f}/req, {s.rows / max(s.calls, 1):.1f} rows, "
                f"hit {s.hit / max(s.calls, 1):.1f} read {s.read / max(s.calls, 1):.2f} "
                f"blocks/call, {s.read_ms / max(s.calls, 1):.3f} ms reading, "
                f"{s.exec_ms / max(s.calls, 1):.3f} ms/call: {text[:110]}")
        return lines


class ReadMeter:
    """Resets `pg_stat_statements` before a run and reads it after."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.why_not = ""
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                loaded = conn.execute(
                    "SELECT 'pg_stat_statements' = ANY(string_to_array("
                    "replace(current_setting('shared_preload_libraries'), ' ', ''), ','))"
                ).fetchone()
                if not (loaded and loaded[0]):
                    self.why_not = ("pg_stat_statements is not in shared_preload_libraries: "
                                    "blocks read not measured")
                    return
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        except psycopg.Error as exc:
            self.why_not = f"pg_stat_statements unavailable ({exc}): blocks read not measured"

    @property
    def on(self) -> bool:
        return not self.why_not

    def reset(self) -> None:
        if self.on:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_stat_statements_reset()")

    def collect(self) -> Reads:
        if not self.on:
            return Reads()
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT query, calls, rows, shared_blks_hit, shared_blks_read, blk_read_time, "
                "total_exec_time, wal_bytes, wal_fpi FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND query NOT LIKE '%pg_stat_statements%'").fetchall()
        return Reads([StatementReads(q, c, r, h, rd, float(rt), float(et), int(wb), int(wf))
                      for q, c, r, h, rd, rt, et, wb, wf in rows])
