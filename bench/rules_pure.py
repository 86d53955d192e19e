"""bench/rules_pure.py: the pure rule evaluation reconciliation runs per family, this tree
against an earlier commit, in one run.

What `reconcile.reconcile` calls for each family of a Bundle: `desired_flags`, `next_due` and
`desired_concerns`, over families shaped like bench/stages.py's (one child, four earlier
outcomes, then the Bundles' noshows), over larger ones (three children, 15 events each,
misses, bookings, cancellations and attendances at four services), and over children who miss
every appointment (20 or 60 in a year: `bench/ingest` (b)'s children by its end). The
earlier commit's `app/` is exported with `git archive` into a temporary folder; each side runs
in its own process, rounds alternate, the median round counts. Also prints a digest of both sides'
results, which must be equal (the changes are meant to be results-neutral).

    .venv/bin/python bench/rules_pure.py [--base REF] [--rounds 7] [--instructions]

`--instructions` counts instructions with valgrind's callgrind instead of timing (the same
figure on every run: for a machine whose speed varies from minute to minute).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
SERVICES = ("dental", "audiology", "ophthalmology", "paediatrics")
HISTORY = ("attended", "was-not-brought", "attended", "attended")  # bench/stages.py's
KINDS = {
    "stages": "stages.py-like: 1 child, 8 events",
    "large": "3 children, 45 events",
    "dense20": "1 child, 20 misses in a year",
    "dense60": "1 child, 60 misses in a year",
}


def _families(kind: str) -> list[Any]:
    from app.rules import EventView
    from app.rules.desired import FamilyFacts

    out = []
    if kind == "stages":  # 100 families: 4 earlier outcomes, then 4 noshows from the Bundles
        for f in range(100):
            events = [
                EventView(
                    f"e{f}-{i}",
                    f"c{f}",
                    NOW - timedelta(days=300 - 30 * i, hours=f % 7),
                    cat,
                    SERVICES[(f + i) % 4],
                    2500 + f,
                )
                for i, cat in enumerate(HISTORY + ("was-not-brought",) * 4)
            ]
            out.append(FamilyFacts(events=events))
        return out
    if kind.startswith("dense"):  # one child missing every appointment, n of them in a year
        n = int(kind[5:])
        for f in range(10):
            events = [
                EventView(
                    f"e{f}-{i}",
                    f"c{f}",
                    NOW - timedelta(days=360 * (n - i) / n, hours=f % 7),
                    "was-not-brought",
                    SERVICES[(f + i) % 4],
                    2500 + f,
                )
                for i in range(n)
            ]
            out.append(FamilyFacts(events=events))
        return out
    cats = ("was-not-brought", "attended", "booked", "carer-cancelled", "no-access", "attended")
    for f in range(30):
        events = []
        for child in range(3):
            for i in range(15):
                at = NOW - timedelta(days=420 - 27 * i - 5 * child, hours=(f + i) % 9)
                events.append(
                    EventView(
                        f"e{f}-{child}-{i}",
                        f"c{f}-{child}",
                        at,
                        cats[(i + child) % 6],
                        SERVICES[(i + f) % 4],
                        200 + 300 * child + 27 * i,
                        booked_at=at - timedelta(days=10) if i % 3 == 0 else None,
                    )
                )
        out.append(FamilyFacts(events=events))
    return out


def child(rounds: int) -> None:
    """Measure this process's `app` (wherever PYTHONPATH found it); print JSON."""
    from app.rules.concerns import desired_concerns
    from app.rules.desired import desired_flags, next_due
    from app.rules.loader import load_rules

    rules = load_rules(ROOT / "rules")
    result: dict[str, Any] = {}
    digest = hashlib.sha256()
    for kind in KINDS:
        families = _families(kind)

        def run() -> None:
            for facts in families:  # noqa: B023
                desired = desired_flags(rules, facts, NOW)
                next_due(rules, facts.events, NOW)
                desired_concerns(desired)

        for facts in families:
            flags = desired_flags(rules, facts, NOW)
            digest.update(
                repr(
                    sorted(
                        (k, v.description, sorted(v.events), sorted(v.children))
                        for k, v in flags.items()
                    )
                ).encode()
            )
            digest.update(repr(next_due(rules, facts.events, NOW)).encode())
        run()
        times = []
        for _ in range(rounds):
            start = time.thread_time()
            run()
            times.append((time.thread_time() - start) / len(families) * 1e3)
        result[kind] = statistics.median(times)
    result["digest"] = digest.hexdigest()[:16]
    print(json.dumps(result))


def replay(kind: str, passes: int) -> None:
    """Judge `kind`'s families `passes` times, untimed: what `--instructions` counts."""
    from app.rules.concerns import desired_concerns
    from app.rules.desired import desired_flags, next_due
    from app.rules.loader import load_rules

    rules = load_rules(ROOT / "rules")
    families = _families(kind)
    for _ in range(passes):
        for facts in families:
            desired_concerns(desired_flags(rules, facts, NOW))
            next_due(rules, facts.events, NOW)


def _instructions(path: Path, kind: str) -> float:
    """Instructions per family judged, counted by callgrind: one pass and three passes in
    two processes, so start-up, imports and building the families cancel out. The same
    count on every run, whatever else the machine is doing."""
    counts = []
    for passes in (1, 3):
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                "-c",
                f"import sys; sys.path.insert(0, {str(path)!r}); "
                f"sys.path.insert(1, {str(ROOT / 'bench')!r}); "
                f"import rules_pure; rules_pure.replay({kind!r}, {passes})",
            ],
            env={**os.environ, "PYTHONPATH": str(path)},
            check=True,
            capture_output=True,
            text=True,
            cwd=path,
        )
        match = re.search(r"Collected : (\d+)", out.stderr)
        assert match, out.stderr[-2000:]
        counts.append(int(match.group(1)))
    return (counts[1] - counts[0]) / 2 / len(_families(kind))


def _export(ref: str, into: Path) -> None:
    blob = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "app", "rules"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")


def _side(path: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(path)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(path)!r}); "
            f"sys.path.insert(1, {str(ROOT / 'bench')!r}); "
            "import rules_pure; rules_pure.child(5)",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=path,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", default="19ddef6", help="the earlier commit (default %(default)s)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="processes per side")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per family with valgrind's callgrind instead of timing: the "
        "same figure on every run, for a machine whose speed varies (several minutes)",
    )
    args = parser.parse_args()
    if args.instructions:
        return _count(args.base)
    print(f"load average {tuple(round(x, 2) for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        _export(args.base, base)
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
        for _ in range(args.rounds):
            runs["base"].append(_side(base))
            runs["head"].append(_side(ROOT))
    print(f"| families | {args.base} ms per family | this tree ms per family | ratio |")
    print("|---|---:|---:|---:|")
    for kind, label in KINDS.items():
        old = statistics.median(r[kind] for r in runs["base"])
        new = statistics.median(r[kind] for r in runs["head"])
        print(f"| {label} | {old:.4f} | {new:.4f} | {new / old:.2f} |")
    digests = {r["digest"] for side in runs.values() for r in side}
    print(f"results digest: {'equal' if len(digests) == 1 else 'DIFFERENT'} ({', '.join(digests)})")
    return 0 if len(digests) == 1 else 1


def _count(ref: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        _export(ref, base)
        print(f"| families | {ref} instructions per family | this tree | ratio |")
        print("|---|---:|---:|---:|")
        for kind, label in KINDS.items():
            old, new = _instructions(base, kind), _instructions(ROOT, kind)
            print(f"| {label} | {old / 1e6:.2f} M | {new / 1e6:.2f} M | {new / old:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
