"""bench/spy_diff.py: two py-spy recordings side by side, in ms per request.

`bench/ingest --py-spy DIR` writes each worker's raw collapsed stacks for each profiled timed
run, `<server>-<phase>-<run>-<pid>.txt`. A share of samples cannot compare two phases that
ran different numbers of requests, or show that one phase costs more everywhere; time per
request can. Each sample stands for 1 / RATE s of a thread holding the GIL (`--py-spy-mode
gil`, the default), so a function's inclusive samples times 1000 / RATE over the requests is
its Python CPU per request. `--requests` counts the timed requests of every run the files
cover (three rounds of 1,500: 4,500). Prints the totals, then the functions whose time per
request differs most:

    .venv/bin/python bench/spy_diff.py DIR/service-a-*.txt --requests 3000 \\
        --against DIR/service-c-*.txt --against-requests 3000
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from procs import stacks

LINE = re.compile(r":\d+\)")  # a frame's line number: one function however many lines


def per_function(files: list[Path]) -> tuple[dict[str, int], int]:
    """Each function's inclusive samples (counted once per stack) and the total."""
    found: dict[str, int] = {}
    total = 0
    for frames, count in stacks(files):
        total += count
        for name in {LINE.sub(")", f) for f in frames}:
            found[name] = found.get(name, 0) + count
    return found, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="the first recording's files")
    parser.add_argument("--requests", type=int, required=True, help="requests it served")
    parser.add_argument("--against", nargs="+", type=Path, required=True,
                        help="the second recording's files")
    parser.add_argument("--against-requests", type=int, required=True)
    parser.add_argument("--rate", type=int, default=100, help="py-spy's samples per second")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    first, first_total = per_function(args.files)
    second, second_total = per_function(args.against)
    ms: float = 1000.0 / args.rate

    requests: int = args.requests
    against: int = args.against_requests
    if min(requests, against) < 1:
        parser.error("--requests and --against-requests must be at least 1")

    def a(name: str) -> float:
        return first.get(name, 0) * ms / requests

    def b(name: str) -> float:
        return second.get(name, 0) * ms / against

    print(f"ms per request: {first_total * ms / requests:.2f} in the first, "
          f"{second_total * ms / against:.2f} in the second")
    print(f"{'first':>7} {'second':>7} {'change':>7}  function (inclusive)")
    for name in sorted(first.keys() | second.keys(), key=lambda n: -abs(b(n) - a(n)))[:args.top]:
        print(f"{a(name):7.3f} {b(name):7.3f} {b(name) - a(name):+7.3f}  {name[:130]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
