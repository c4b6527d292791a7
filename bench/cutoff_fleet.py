"""Rate usage records for a fleet of lines through the policy engine (harness.plans).

    python bench/cutoff_fleet.py [--lines 1000] [--records 100] [--seed 1]

Lines get offers from the bundled catalogue (AlphaLink Orange and Bouygues Telecom: blocked
and unblocked unlimited plans with roaming cut-offs and options, data only, Travel 5G); records
(line, zone, kind, amount) are random with most data at home, and each is rated as the engine
rates any usage (:meth:`PolicyEngine.consume` / ``call`` / ``sms``: meters, alerts, blocks and
throttling of :mod:`harness.plans.enforcement`, counters, events). Prints records per second of
the rating loop alone and peak memory (tracemalloc for Python allocations, getrusage for the
process).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.plans import PolicyEngine  # noqa: E402
from harness.plans.enforcement import METERS  # noqa: E402
from harness.plans.zones import ZONES  # noqa: E402

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
DATA, VOICE, SMS = range(3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--records", type=int, default=100, help="usage records per line")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    tracemalloc.start()
    t0 = time.perf_counter()
    engine = PolicyEngine(start="2026-03-01T00:00")
    lines = []
    for i in range(args.lines):
        offer, kw = OFFERS[i % len(OFFERS)]
        lines.append(engine.add_line({"id": f"l{i}", "offer": offer, **kw}))
    rng = random.Random(args.seed)
    n = args.lines * args.records
    order = [i for i in range(args.lines) for _ in range(args.records)]
    rng.shuffle(order)
    zones = rng.choices(range(len(ZONES)), weights=[85, 9, 2, 2, 2], k=n)
    kinds = rng.choices((DATA, VOICE, SMS), weights=[8, 1, 1], k=n)
    amounts = [rng.randrange(400 * 10**6) if kd == DATA else rng.randrange(1, 600) if kd == VOICE
               else rng.randrange(1, 4) for kd in kinds]
    records = list(zip(order, zones, kinds, amounts, strict=True))
    setup = time.perf_counter() - t0

    mark = engine.log.mark()
    t1 = time.perf_counter()
    for li, zi, kd, value in records:
        ln, z = lines[li], ZONES[zi]
        if kd == DATA:
            engine.consume(ln, value, zone=z)
        elif kd == VOICE:
            engine.call(ln, value, zone=z)
        else:
            engine.sms(ln, count=value, zone=z)
    elapsed = time.perf_counter() - t1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    counts = {k: len(engine.log.of_kind(k, since=mark)) for k in ("alert", "block", "throttle")}
    print(
        f"fleet: {args.lines} lines x {args.records} records = {n} records "
        f"(offers: {len(OFFERS)}; meters {', '.join(METERS)})"
    )
    print(f"setup (engine, lines, random records): {setup:.2f} s")
    print(f"rating: {elapsed:.3f} s -> {n / elapsed:,.0f} records/s on one core")
    print(f"events: alert {counts['alert']}, block {counts['block']}, throttle {counts['throttle']}")
    print(f"peak memory: tracemalloc {peak / 1e6:.1f} MB, max RSS {rss / 1024:.1f} MB")


if __name__ == "__main__":
    main()
