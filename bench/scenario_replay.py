"""Scenario replay throughput: steps per second in-process, and wall time of the bundled suite.

    python bench/scenario_replay.py [--rounds N] [--repeat K] [--no-pytest] [--no-pcsc]

1. steps/s serial: every bundled scenario (after loading) replayed ``--rounds`` times in this
   process on fresh sessions; session construction (card + modem) is timed separately. The
   measure is taken ``--repeat`` times: median and best are printed (shared machines are noisy).
   The eSIM journeys are measured apart: their downloads are bound by the SGP.22 public-key
   cryptography (ECDSA, ECKA), whose figures bench/esim_download.py prints; the replay floor of
   the rest of the suite is 20,000 steps/s.
2. wall time of the whole bundled suite: ``simharness run`` equivalent in-process (load +
   sessions + steps), then ``pytest scenarios/`` in a subprocess, serial and with ``-n 2``.
3. the bundled suite through the real PC/SC stack (``simharness run --serve``): each scenario's
   simulated card in the vpcd reader of a private pcscd; steps/s and APDU/s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.scenario import loader as scenario  # noqa: E402
from harness.scenario import runner  # noqa: E402


def uses_esim(scn: scenario.Scenario) -> bool:
    """The scenario puts an eUICC in the terminal or downloads, enables or deletes an eSIM."""
    from harness.scenario.esim_steps import ESIM_STEPS

    return any(step.kind in ESIM_STEPS for step in scn.steps)


def load_suite() -> list[scenario.Scenario]:
    out = []
    for path in scenario.iter_files([ROOT / "scenarios"]):
        out.extend(scenario.load_file(path))
    return out


def steps_per_second(scns: list[scenario.Scenario], rounds: int,
                     by_kind: dict[str, list[float]] | None = None) -> tuple[float, float, int, int]:
    """(steps/s of step execution, sessions/s, steps run, failures); ``by_kind`` collects
    [count, seconds] per step kind."""
    steps = 0
    failures = 0
    step_time = 0.0
    build_time = 0.0
    builds = 0

    def on_step(step: scenario.Step, sr: runner.StepResult) -> None:
        if by_kind is not None:
            slot = by_kind.setdefault(step.kind, [0, 0.0])
            slot[0] += 1
            slot[1] += sr.duration

    for _ in range(rounds):
        for scn in scns:
            t0 = time.perf_counter()
            session = runner.Session.for_scenario(scn)
            t1 = time.perf_counter()
            build_time += t1 - t0
            builds += 1
            try:
                result = runner.run(scn, session, on_step=on_step)
                steps += len(result.steps)
            except runner.ScenarioFailure as failure:
                failures += scn.xfail is None  # an xfail scenario is expected to fail
                steps += len(failure.result.steps) if failure.result else 0
            step_time += time.perf_counter() - t1
    return steps / step_time, builds / build_time, steps, failures


def through_pcsc(scns: list[scenario.Scenario]) -> tuple[float, float, int, int, int]:
    """(steps/s, APDU/s, steps, APDUs, failures) of the suite on served cards (pcscd + vpcd)."""
    from harness.scenario.session import CardTarget

    target = CardTarget(serve=True)
    steps = apdus = failures = 0
    elapsed = 0.0
    for scn in scns:
        session = runner.Session.for_scenario(scn, target)
        t0 = time.perf_counter()
        try:
            result = runner.run(scn, session)
            steps += len(result.steps)
        except runner.ScenarioFailure as failure:
            failures += scn.xfail is None
            steps += len(failure.result.steps) if failure.result else 0
        elapsed += time.perf_counter() - t0
        apdus += len(session.log.of_kind("apdu", "check_apdu"))
        session.close()
    return steps / elapsed, apdus / elapsed, steps, apdus, failures


def suite_in_process() -> tuple[float, int]:
    t0 = time.perf_counter()
    runner_scns = load_suite()
    for scn in runner_scns:
        runner.replay(scn)
    return time.perf_counter() - t0, len(runner_scns)


def pytest_wall(*extra: str, env: dict[str, str] | None = None) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, "scenarios"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode:
        print("\n".join(proc.stdout.splitlines()[-15:]))
    return wall, proc.returncode


def bytecode_env() -> dict[str, str]:
    """The environment with bytecode caching allowed (pytest's rewritten-assertion cache too)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pytest", action="store_true")
    ap.add_argument("--no-pcsc", action="store_true", help="skip the replay through pcscd + vpcd")
    args = ap.parse_args()

    t0 = time.perf_counter()
    scns = load_suite()
    load_s = time.perf_counter() - t0
    total_steps = sum(len(s.steps) for s in scns)
    print(f"bundled suite: {len(scns)} scenarios, {total_steps} steps, loaded in {load_s * 1000:.0f} ms")
    steps_per_second(scns, 1)  # warm caches (profiles, world)
    esim = [scn for scn in scns if uses_esim(scn)]
    rest = [scn for scn in scns if not uses_esim(scn)]
    by_kind: dict[str, list[float]] = {}
    for title, group, rounds in (
        (f"replay serial without the eSIM journeys ({len(rest)} scenarios)", rest, args.rounds),
        (f"replay serial of the eSIM journeys ({len(esim)} scenarios)", esim, max(1, args.rounds // 5)),
    ):
        if not group:
            continue
        runs = [steps_per_second(group, rounds, by_kind) for _ in range(max(1, args.repeat))]
        rates = sorted(r[0] for r in runs)
        sps, best = rates[len(rates) // 2], rates[-1]
        builds = sorted(r[1] for r in runs)[len(runs) // 2]
        steps, failures = runs[0][2], sum(r[3] for r in runs)
        print(f"{title}: {sps:,.0f} steps/s median, {best:,.0f} best of {len(runs)} "
              f"({steps} steps over {rounds} rounds each, {failures} unexpected failures); "
              f"session set-up {builds:,.0f} sessions/s")
    for kind, (n, secs) in sorted(by_kind.items(), key=lambda kv: -kv[1][1]):
        print(f"  {kind:<17} {int(n):6d} steps  {secs / n * 1e6:9.1f} us/step  "
              f"{n / secs:10,.0f} steps/s  {secs:6.2f} s")
    wall, n = suite_in_process()
    print(f"whole suite in-process (load + sessions + steps): {wall:.2f} s for {n} scenarios")
    if not args.no_pcsc:
        sps, aps, steps, apdus, failures = through_pcsc(scns)
        print(f"through pcscd + vpcd (served cards): {sps:,.0f} steps/s, {aps:,.0f} APDU/s "
              f"({steps} steps, {apdus} APDUs, {failures} unexpected failures)")
    if not args.no_pytest:
        wall, rc = pytest_wall()
        print(f"pytest scenarios/ serial: {wall:.2f} s wall (exit {rc})")
        wall, rc = pytest_wall("-n", "2")
        print(f"pytest scenarios/ -n 2:   {wall:.2f} s wall (exit {rc})")
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            # every process recompiles (and re-rewrites the asserts of) all plugins when
            # bytecode is not cached; show the figures of a machine that caches it
            env = bytecode_env()
            pytest_wall(env=env)  # fills the caches
            wall, rc = pytest_wall(env=env)
            print(f"pytest scenarios/ serial, bytecode cached: {wall:.2f} s wall (exit {rc})")
            wall, rc = pytest_wall("-n", "2", env=env)
            print(f"pytest scenarios/ -n 2, bytecode cached:   {wall:.2f} s wall (exit {rc})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
