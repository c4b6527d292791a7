"""Rate usage records for a fleet with the Cython rater (harness.plans.rating).

    python bench/cutoff_fleet.py [--lines 100000] [--records 100] [--seed 1]

Lines get offers from the bundled catalogue (AlphaLink Orange and Bouygues Telecom: blocked
and unblocked unlimited plans with roaming cut-offs and options, data only, Travel 5G) through
the Python policy engine; records (line, zone, kind, amount) are random with most data at home.
Prints records per second of the rating loop alone and peak memory (tracemalloc for Python
allocations, getrusage for the process).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.plans.rating import unpack_events  # noqa: E402

from harness.plans import PolicyEngine  # noqa: E402
from harness.plans.enforcement import METERS  # noqa: E402
from harness.plans.fleet import fleet_of  # noqa: E402

OFFERS = [
    (
        "alphalink-orange-unlimited-30gb-blocked",
        {"cutoffs": {"usa_canada": "1GB"}, "options": {"world": "2GB"}},
    ),
    ("alphalink-orange-unlimited-10gb-unblocked", {"options": {"maghreb_turkey": "3GB"}}),
    ("alphalink-bouygues-unlimited-50gb-unblocked", {"cutoffs": {"europe": 100, "world": 50}}),
    ("alphalink-bouygues-unlimited-5gb-blocked", {"cutoffs": {"europe": 50}}),
    ("alphalink-orange-data-only-20gb-blocked", {}),
    ("alphalink-orange-travel-50gb", {"cutoffs": {"world": "5GB"}}),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--records", type=int, default=100, help="usage records per line")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    tracemalloc.start()
    t0 = time.perf_counter()
    engine = PolicyEngine(start="2026-03-01T00:00")
    templates = [engine.add_line({"id": f"t{i}", "offer": o, **kw}) for i, (o, kw) in enumerate(OFFERS)]
    assignment = [templates[i % len(templates)] for i in range(args.lines)]
    fleet = fleet_of(assignment)
    rng = np.random.default_rng(args.seed)
    n = args.lines * args.records
    line = np.repeat(np.arange(args.lines, dtype=np.int32), args.records)
    rng.shuffle(line)
    zone = rng.choice(np.arange(5, dtype=np.int8), size=n, p=[0.85, 0.09, 0.02, 0.02, 0.02]).astype(np.int8)
    kind = rng.choice(np.arange(3, dtype=np.int8), size=n, p=[0.8, 0.1, 0.1]).astype(np.int8)
    amount = np.where(kind == 0, rng.integers(0, 400 * 10**6, size=n), rng.integers(1, 600, size=n)).astype(
        np.int64
    )
    setup = time.perf_counter() - t0

    t1 = time.perf_counter()
    events = fleet.rate(line, zone, kind, amount)
    elapsed = time.perf_counter() - t1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    codes = [0, 0, 0, 0]
    for _, code, _ in unpack_events(events[: min(len(events), 2_000_000)]):
        codes[code] += 1
    print(
        f"fleet: {args.lines} lines x {args.records} records = {n} records "
        f"(offers: {len(OFFERS)}; meters {', '.join(METERS)})"
    )
    print(f"setup (engine, fleet, random records): {setup:.2f} s")
    print(f"rating: {elapsed:.3f} s -> {n / elapsed:,.0f} records/s on one core")
    print(
        f"events: {len(events)} (alert80 {codes[0]}, alert100 {codes[1]}, block {codes[2]}, "
        f"throttle {codes[3]})"
    )
    print(f"peak memory: tracemalloc {peak / 1e6:.1f} MB, max RSS {rss / 1024:.1f} MB")


if __name__ == "__main__":
    main()
