"""Scenario replay throughput: steps per second in-process, and wall time of the bundled suite.

    python bench/scenario_replay.py [--rounds N] [--no-pytest]

1. steps/s serial: every bundled scenario (after loading) replayed ``--rounds`` times in this
   process on fresh sessions; session construction (card + modem) is timed separately.
2. wall time of the whole bundled suite: ``simharness run`` equivalent in-process (load +
   sessions + steps), then ``pytest scenarios/`` in a subprocess, serial and with ``-n 2``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import runner, scenario  # noqa: E402


def load_suite() -> list[scenario.Scenario]:
    out = []
    for path in scenario.iter_files([ROOT / "scenarios"]):
        out.extend(scenario.load_file(path))
    return out


def steps_per_second(scns: list[scenario.Scenario], rounds: int) -> tuple[float, float, int, int]:
    """(steps/s of step execution, sessions/s, steps run, failures)."""
    steps = 0
    failures = 0
    step_time = 0.0
    build_time = 0.0
    builds = 0
    for _ in range(rounds):
        for scn in scns:
            t0 = time.perf_counter()
            session = runner.Session.for_scenario(scn)
            t1 = time.perf_counter()
            build_time += t1 - t0
            builds += 1
            try:
                result = runner.run(scn, session)
                steps += len(result.steps)
            except runner.ScenarioFailure as failure:
                failures += 1
                steps += len(failure.result.steps) if failure.result else 0
            step_time += time.perf_counter() - t1
    return steps / step_time, builds / build_time, steps, failures


def suite_in_process() -> tuple[float, int]:
    t0 = time.perf_counter()
    runner_scns = load_suite()
    for scn in runner_scns:
        runner.replay(scn)
    return time.perf_counter() - t0, len(runner_scns)


def pytest_wall(*extra: str) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, "scenarios"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--no-pytest", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    scns = load_suite()
    load_s = time.perf_counter() - t0
    total_steps = sum(len(s.steps) for s in scns)
    print(f"bundled suite: {len(scns)} scenarios, {total_steps} steps, loaded in {load_s * 1000:.0f} ms")
    sps, builds, steps, failures = steps_per_second(scns, 1)  # warm caches (profiles, world)
    sps, builds, steps, failures = steps_per_second(scns, args.rounds)
    print(f"replay serial: {sps:,.0f} steps/s ({steps} steps over {args.rounds} rounds, "
          f"{failures} failed runs); session set-up {builds:,.0f} sessions/s")
    wall, n = suite_in_process()
    print(f"whole suite in-process (load + sessions + steps): {wall:.2f} s for {n} scenarios")
    if not args.no_pytest:
        wall, rc = pytest_wall()
        print(f"pytest scenarios/ serial: {wall:.2f} s wall (exit {rc})")
        wall, rc = pytest_wall("-n", "2")
        print(f"pytest scenarios/ -n 2:   {wall:.2f} s wall (exit {rc})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
