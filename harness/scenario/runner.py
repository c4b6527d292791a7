"""Replay a :class:`harness.scenario.loader.Scenario` on a :class:`~harness.scenario.session.Session`.

:func:`run` executes the steps in order (actions from :mod:`harness.scenario.steps`, ``expect``
steps through :mod:`harness.scenario.expectations`); the first unmet expectation raises
:class:`ScenarioFailure` with the step, the line, expected vs actual and the last APDUs exchanged.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.events import Event
from harness.readers.trace import mask_command, mask_response
from harness.scenario.checks import INS_NAMES, Mismatch
from harness.scenario.expectations import Checker
from harness.scenario.loader import Scenario, Step
from harness.scenario.session import Session
from harness.scenario.steps import ACTIONS

__all__ = ["ScenarioFailure", "ScenarioResult", "Session", "StepResult", "format_apdu", "replay", "run"]


class ScenarioFailure(AssertionError):
    """A step did not do what the scenario expects (or failed to run)."""

    def __init__(self, scenario: Scenario, step: Step, mismatches: list[Mismatch],
                 apdu_tail: list[Event], events_tail: list[Event], error: str | None = None) -> None:
        self.scenario = scenario
        self.step = step
        self.step_index = step.index
        self.line = step.line
        self.mismatches = mismatches
        self.apdu_tail = apdu_tail
        self.events_tail = events_tail
        self.error = error
        self.result: ScenarioResult | None = None
        super().__init__(self.summary())

    @property
    def where(self) -> str:
        return self.step.where(self.scenario.source)

    @property
    def expected(self) -> dict[str, Any]:
        return {m.key: m.expected for m in self.mismatches}

    @property
    def actual(self) -> dict[str, Any]:
        return {m.key: m.actual for m in self.mismatches}

    def summary(self) -> str:
        head = f"{self.where}: step {self.step.index + 1} ({describe_step(self.step)})"
        if self.error:
            return f"{head} failed: {self.error}"
        keys = ", ".join(m.key for m in self.mismatches)
        return f"{head}: unmet expectation ({keys})"

    def report(self, apdus: int = 12) -> str:
        """The readable failure: where, the step, expected vs actual, the APDU tail."""
        lines = [self.summary(), ""]
        if self.scenario.matrix_id:
            lines.append(f"scenario: {self.scenario.name} [{self.scenario.matrix_id}]")
        else:
            lines.append(f"scenario: {self.scenario.name}")
        lines.append(f"step {self.step.index + 1}: {describe_step(self.step)}")
        if self.step.note:
            lines.append(f"  note: {self.step.note}")
        if self.mismatches:
            lines.append("")
            width = max(len(m.key) for m in self.mismatches)
            for m in self.mismatches:
                at = f"  (line {m.line})" if m.line and m.line != self.step.line else ""
                lines.append(f"  {m.key:<{width}}  expected: {_show(_masked(m.expected))}{at}")
                lines.append(f"  {'':<{width}}  actual:   {_show(_masked(m.actual))}")
        tail = self.apdu_tail[-apdus:]
        lines.append("")
        lines.append(f"last {len(tail)} APDUs:" if tail else "no APDU exchanged")
        lines.extend("  " + format_apdu(e) for e in tail)
        other = [e for e in self.events_tail if e.kind not in ("apdu", "reset")][-8:]
        if other:
            lines.append("last events:")
            lines.extend(f"  {e!r}" for e in other)
        return "\n".join(lines)


@dataclass(slots=True)
class StepResult:
    index: int
    kind: str
    line: int | None
    duration: float


@dataclass
class ScenarioResult:
    scenario: Scenario
    passed: bool
    steps: list[StepResult] = field(default_factory=list)
    duration: float = 0.0
    failure: ScenarioFailure | None = None


def describe_step(step: Step) -> str:
    """The step as written, a PIN/PUK/ADM value in an APDU it sends replaced by ``*``."""
    return dataclasses.replace(step, args=_masked(step.args)).describe()


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _masked_hex(v) if k == "command" else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _masked_hex(text: Any) -> Any:
    try:
        return mask_command(bytes.fromhex("".join(str(text).split())))
    except ValueError:
        return text


def _show(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex().upper()
    if isinstance(value, str):
        return repr(value)
    return repr(value)


def format_apdu(ev: Event) -> str:
    """``#12 t=30 80C2000009D607... -> 9000`` for an ``apdu`` event, PIN values and session keys masked."""
    if ev.kind != "apdu":
        return repr(ev)
    command, resp = ev.data["command"], ev.data["response"]
    cmd = mask_command(command)  # PIN/PUK/ADM values never reach a report
    name = next((n for n, i in INS_NAMES.items() if len(command) > 1 and i == command[1]), "")
    shown = mask_response(command, resp)
    shown = f"{shown[:-4]} {shown[-4:]}" if len(shown) > 4 else shown
    return f"#{ev.seq} t={ev.time:g} {name + ' ' if name else ''}{cmd} -> {shown}"


# --------------------------------------------------------------------------- run


def run(scenario: Scenario, session: Session | None = None,
        on_step: Callable[[Step, StepResult], None] | None = None,
        apdu_tail: int = 12) -> ScenarioResult:
    """Execute every step; raise :class:`ScenarioFailure` at the first unmet expectation."""
    s = session if session is not None else Session.for_scenario(scenario)
    log = s.log
    result = ScenarioResult(scenario, passed=False)
    window = log.mark()
    clock = time.perf_counter
    started = clock()
    for step in scenario.steps:
        t0 = clock()
        kind = step.kind
        mismatches: list[Mismatch] = []
        try:
            if kind == "expect":
                mismatches = Checker(s, window).check(step.args)
            else:
                window = log.mark()
                mismatches = ACTIONS[kind](s, step.args) or []
        except ScenarioFailure:
            raise
        except Exception as exc:
            failure = ScenarioFailure(scenario, step, [], log.tail(apdu_tail, kinds=("apdu",)),
                                      log.tail(40), error=f"{type(exc).__name__}: {exc}")
            _fail(result, failure, started)
            raise failure from exc
        if mismatches:
            failure = ScenarioFailure(scenario, step, mismatches, log.tail(apdu_tail, kinds=("apdu",)),
                                      log.tail(40))
            _fail(result, failure, started)
            raise failure
        sr = StepResult(step.index, kind, step.line, clock() - t0)
        result.steps.append(sr)
        if on_step is not None:
            on_step(step, sr)
    result.duration = clock() - started
    result.passed = True
    return result


def _fail(result: ScenarioResult, failure: ScenarioFailure, started: float) -> None:
    result.failure = failure
    result.duration = time.perf_counter() - started
    failure.result = result


def replay(scenario: Scenario, session: Session | None = None) -> ScenarioResult:
    """Like :func:`run` but returns a failed result instead of raising."""
    started = time.perf_counter()
    try:
        return run(scenario, session)
    except ScenarioFailure as failure:
        if failure.result is not None:
            return failure.result
        return ScenarioResult(scenario, False, [], time.perf_counter() - started, failure)
