"""``simharness run`` and ``simharness validate``: replay or check scenario files."""

from __future__ import annotations

import argparse
import sys
import time
import xml.etree.ElementTree as ET  # noqa: S405 - only writes XML
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from csim.yamlsrc import DataError
from harness.network.aaa import AaaError, select_backend
from harness.scenario import loader as scenario
from harness.scenario import runner
from harness.scenario.session import IN_PROCESS, CardMismatch, CardTarget, Session, parse_reader
from harness.terminal.transport import TransportError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="replay scenarios (files or directories)",
                       description="Replay YAML scenarios on the simulated card; exit 0 only if all pass.")
    p.add_argument("paths", nargs="*", default=["scenarios"], metavar="PATH",
                   help="scenario files or directories (default: scenarios)")
    p.add_argument("-k", dest="keyword", metavar="TEXT",
                   help="only scenarios whose id or name contains TEXT")
    p.add_argument("-m", dest="marker", metavar="MARKER", help="only scenarios with this marker")
    p.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    p.add_argument("--junitxml", metavar="FILE", help="write a JUnit XML report")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--report", metavar="FILE",
                   help="write an HTML report: per scenario, usage against envelope and cut-offs over time")
    p.add_argument("--pcap", metavar="DIR",
                   help="write one pcap per scenario with data sessions (GTP, RADIUS, L2TP/PPP) into DIR")
    p.add_argument("--events", metavar="FILE",
                   help="write every scenario's event log (APDUs included) as JSON lines into FILE")
    p.add_argument("--aaa", choices=("in-process", "freeradius"), default="in-process",
                   help="the AAA answering the packet core's RADIUS: in-process (default) or Debian's "
                        "FreeRADIUS started on 127.0.0.1")
    add_target_options(p)
    p.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check scenario files without running them",
                       description="Check scenario files against the schema and the fixtures.")
    v.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or directories")
    v.set_defaults(func=cmd_validate)


@dataclass
class Outcome:
    id: str
    name: str
    source: str
    passed: bool
    steps: int
    total_steps: int
    duration: float
    message: str = ""
    report: str = ""
    xfail: str | None = None
    events: Any = None  # the run's event log, kept for --report and --events
    start: Any = None
    skipped: bool = False  # not run: the card in the reader is not the scenario's card

    @property
    def verdict(self) -> str:
        """passed / failed / skipped, or xfailed / xpassed for a scenario marked ``xfail``."""
        if self.skipped:
            return "skipped"
        if self.xfail is None:
            return "passed" if self.passed else "failed"
        return "xpassed" if self.passed else "xfailed"

    @property
    def ok(self) -> bool:
        """A pass, or the expected failure of an ``xfail`` scenario (a pass there is strict)."""
        return self.verdict in ("passed", "xfailed", "skipped")


def _collect(paths: Sequence[str]) -> tuple[list[scenario.Scenario], list[DataError]]:
    scenarios: list[scenario.Scenario] = []
    errors: list[DataError] = []
    for path in scenario.iter_files(paths):
        try:
            scenarios.extend(scenario.load_file(path))
        except DataError as exc:
            errors.append(exc)
    return scenarios, errors


def _selected(scn: scenario.Scenario, keyword: str | None, marker: str | None) -> bool:
    if keyword and keyword.lower() not in f"{scn.test_id} {scn.name}".lower():
        return False
    return not marker or marker in scn.markers


def add_target_options(p: argparse.ArgumentParser) -> None:
    """Where the card is: ``--reader``/``--serve`` and what the harness may do with it."""
    g = p.add_argument_group("card", "the simulated card in-process by default")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--reader", metavar="N|NAME",
                       help="replay on the card in this PC/SC reader (index or part of its name)")
    where.add_argument("--serve", action="store_true",
                       help="serve each scenario's simulated card through a private pcscd + vpcd "
                            "(PC/SC end to end)")
    g.add_argument("--keys", metavar="FILE",
                   help="K/OPc by IMSI for the simulated HSS when the card is in a reader (YAML list)")
    g.add_argument("--expect-profile", metavar="FILE",
                   help="the profile the card in the reader was personalised from (ICCID, keys, PIN1)")
    g.add_argument("--allow-terminal-writes", action="store_true",
                   help="let the terminal write EF_LOCI/PSLOCI/EPSLOCI/FPLMN/KEYS... on a card in a reader")
    g.add_argument("--trace", metavar="FILE", help="APDU trace (JSON lines) of a card in a reader")
    g.add_argument("--pin-attempts-ok", action="store_true",
                   help="present PIN1 to a card in a reader even with a single attempt left (you are sure "
                        "of the value; a wrong one blocks the PIN). Without it a PIN is presented only while "
                        "at least 2 attempts remain")


def card_target(args: argparse.Namespace) -> CardTarget:
    """The :class:`CardTarget` the command-line options name."""
    return CardTarget(reader=parse_reader(args.reader), serve=args.serve, keys=args.keys,
                      expect_profile=args.expect_profile,
                      allow_terminal_writes=args.allow_terminal_writes, trace=args.trace,
                      pin_attempts_ok=args.pin_attempts_ok)


def _check_target_files(target: CardTarget) -> None:
    """A wrong keys file or profile stops the run before any scenario (``file:line: what``)."""
    _ = target.subscriber_keys, target.expected


def _run_one(scn: scenario.Scenario, keep_log: bool = False, pcap: str | None = None,
             target: CardTarget = IN_PROCESS) -> Outcome:
    outcome = _replay(scn, keep_log, pcap, target)
    outcome.xfail = scn.xfail
    if outcome.verdict == "xpassed":
        outcome.message = f"{scn.source}: passed although marked xfail: {scn.xfail}"
    return outcome


def _replay(scn: scenario.Scenario, keep_log: bool = False, pcap: str | None = None,
            target: CardTarget = IN_PROCESS) -> Outcome:
    started = time.perf_counter()
    name = scn.name + (f" [{scn.matrix_id}]" if scn.matrix_id else "")
    session = None
    try:
        session = Session.for_scenario(scn, target)
    except CardMismatch as exc:
        return Outcome(scn.test_id, name, scn.source, False, 0, len(scn.steps),
                       time.perf_counter() - started, f"{scn.source}: {exc}", skipped=True)
    except TransportError:
        raise  # no reader, no card, no pcscd: nothing else can run either
    except Exception as exc:  # noqa: BLE001 - a broken session is a failed scenario, not a crash
        return Outcome(scn.test_id, name, scn.source, False, 0, len(scn.steps),
                       time.perf_counter() - started, f"{scn.source}: {type(exc).__name__}: {exc}")
    try:
        result = runner.run(scn, session)
    except runner.ScenarioFailure as failure:
        done = len(failure.result.steps) if failure.result else failure.step.index
        outcome = Outcome(scn.test_id, name, scn.source, False, done, len(scn.steps),
                          time.perf_counter() - started, failure.summary(), failure.report())
    except Exception as exc:  # noqa: BLE001 - a broken session is a failed scenario, not a crash
        outcome = Outcome(scn.test_id, name, scn.source, False, 0, len(scn.steps),
                          time.perf_counter() - started, f"{scn.source}: {type(exc).__name__}: {exc}")
    else:
        outcome = Outcome(scn.test_id, name, scn.source, True, len(result.steps), len(scn.steps),
                          time.perf_counter() - started)
    if pcap and session is not None:
        from harness.scenario import data_steps

        data_steps.write_pcap(session, pcap)
    if keep_log and session is not None:
        outcome.events = list(session.log)
        ctx = getattr(session, "_plan_context", None)
        outcome.start = ctx.start if ctx is not None else None
    if session is not None:
        session.close()
    return outcome


def cmd_run(args: argparse.Namespace) -> int:
    console = Console(stderr=False, highlight=False)
    scenarios, errors = _collect(args.paths)
    scenarios = [s for s in scenarios if _selected(s, args.keyword, args.marker)]
    target = card_target(args)
    _check_target_files(target)
    try:
        select_backend(args.aaa)
    except AaaError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    for err in errors:
        console.print(f"[red]error:[/] {escape(str(err))}", markup=True, soft_wrap=True)
    outcomes: list[Outcome] = []
    run_started = datetime.now(UTC)
    started = time.perf_counter()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, disable=args.quiet, transient=True)
    with progress:
        task = progress.add_task("scenarios", total=len(scenarios))
        for scn in scenarios:
            progress.update(task, description=escape(scn.test_id))
            try:
                outcome = _run_one(scn, keep_log=bool(args.report or args.events), pcap=args.pcap,
                                   target=target)
            except TransportError as exc:
                progress.stop()
                console.print(f"[red]error:[/] {escape(str(exc))}")
                return 2
            outcomes.append(outcome)
            progress.advance(task)
            if not outcome.ok and args.exitfirst:
                break
    wall = time.perf_counter() - started

    for o in outcomes:
        if not o.ok:
            console.rule(f"[red]FAILED[/] {escape(o.id)}")
            console.print(o.report or o.message, markup=False, highlight=False, soft_wrap=True)
    table = Table(title="scenarios", show_lines=False)
    table.add_column("scenario")
    table.add_column("result")
    table.add_column("steps", justify="right")
    table.add_column("duration", justify="right")
    for o in outcomes:
        colour = {"passed": "green", "xfailed": "yellow", "skipped": "yellow"}.get(o.verdict, "red")
        verdict = f"[{colour}]{o.verdict}[/]"
        table.add_row(escape(o.id), verdict, f"{o.steps}/{o.total_steps}", f"{o.duration * 1000:.1f} ms")
    console.print(table)
    passed = sum(o.verdict == "passed" for o in outcomes)
    xfailed = sum(o.verdict == "xfailed" for o in outcomes)
    skipped = [o for o in outcomes if o.verdict == "skipped"]
    failed = len(outcomes) - passed - xfailed - len(skipped)
    steps = sum(o.steps for o in outcomes)
    color = "green" if not failed and not errors else "red"
    xf = f", {xfailed} xfailed" if xfailed else ""
    sk = f", {len(skipped)} skipped" if skipped else ""
    console.print(f"[{color}]{passed} passed, {failed} failed{xf}{sk}, {len(errors)} invalid[/], "
                  f"{steps} steps in {wall:.2f} s on the {target.describe()}")
    if skipped:
        console.print(f"skipped: {escape(skipped[0].message)}" + (f" (and {len(skipped) - 1} more)"
                                                                  if len(skipped) > 1 else ""))
    option = ""
    try:
        if args.events:
            from harness.scenario.event_export import write_events

            option = f"--events {args.events}"
            write_events(args.events, [(o.id, o.events or []) for o in outcomes])
        if args.junitxml:
            option = f"--junitxml {args.junitxml}"
            write_junit(args.junitxml, outcomes, errors, wall)
        if args.report:
            from harness.scenario import report

            option = f"--report {args.report}"
            report.write(args.report, [
                report.ReportEntry(o.id, o.name, o.source, o.verdict, o.events or [], o.start,
                                   o.report or o.message, o.duration)
                for o in outcomes], report.RunSummary(run_started, wall, len(errors), target.describe()))
            console.print(f"report: {escape(args.report)}")
    except OSError as exc:  # a directory, a full disk, a place that cannot be written
        why = exc.strerror or str(exc)
        console.print(f"[red]error:[/] {escape(option)}: cannot write it ({escape(why)})", soft_wrap=True)
        return 2
    if not scenarios and not errors:
        console.print("[red]no scenario found[/]")
        return 1
    if outcomes and len(skipped) == len(outcomes):
        console.print(f"[red]no scenario ran on the {escape(target.describe())}[/]")
        return 1
    return 0 if not failed and not errors else 1


def write_junit(path: str, outcomes: list[Outcome], errors: list[DataError], wall: float) -> None:
    """A JUnit XML report (one testcase per scenario, invalid files as errors)."""
    failures = sum(not o.ok for o in outcomes)
    suite = ET.Element("testsuite", name="simharness", tests=str(len(outcomes) + len(errors)),
                       failures=str(failures), errors=str(len(errors)), time=f"{wall:.3f}")
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname=Path(o.source).stem, name=o.id,
                             file=o.source, time=f"{o.duration:.4f}")
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="steps", value=str(o.steps))
        if o.verdict == "xfailed":
            ET.SubElement(case, "skipped", type="pytest.xfail", message=o.xfail or "")
        elif o.verdict == "skipped":
            ET.SubElement(case, "skipped", message=o.message)
        elif not o.ok:
            fail = ET.SubElement(case, "failure", message=o.message)
            fail.text = o.report or o.message
    for err in errors:
        case = ET.SubElement(suite, "testcase", classname="validate", name=err.source, file=err.source)
        ET.SubElement(case, "error", message=str(err)).text = str(err)
    tree = ET.ElementTree(ET.Element("testsuites"))
    tree.getroot().append(suite)
    ET.indent(tree)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def cmd_validate(args: argparse.Namespace) -> int:
    files = scenario.iter_files(args.paths)
    bad = 0
    count = 0
    for path in files:
        try:
            count += len(scenario.load_file(path))
        except DataError as exc:
            bad += 1
            print(f"error: {exc}", file=sys.stderr)
    print(f"{len(files) - bad}/{len(files)} files valid, {count} scenarios")
    return 1 if bad or not files else 0
