"""Replay a :class:`harness.scenario.loader.Scenario` against a card, a modem and a world.

A :class:`Session` holds what one run needs: the :class:`csim.Card` built from the
scenario's profile, the :class:`~harness.terminal.transport.InProcessTransport` that logs every APDU
into one :class:`~harness.events.EventLog`, the :class:`harness.network.world.World` and the
:class:`harness.terminal.modem.Modem`. :func:`run` executes the steps in order; the first unmet
expectation raises :class:`ScenarioFailure` with the step, the line, expected vs actual and
the last APDUs exchanged.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.events import Event, EventLog
from harness.scenario import data_steps, plan_steps
from harness.scenario.loader import Scenario, Step, card_profile, parse_duration
from harness.terminal.transport import InProcessTransport

#: Instruction bytes by name (ISO/IEC 7816-4 §5, TS 102 221 §10.1.2, TS 102 223 §6).
INS_NAMES = {
    "SELECT": 0xA4, "STATUS": 0xF2, "READ BINARY": 0xB0, "UPDATE BINARY": 0xD6,
    "READ RECORD": 0xB2, "UPDATE RECORD": 0xDC, "SEARCH RECORD": 0xA2, "INCREASE": 0x32,
    "VERIFY": 0x20, "VERIFY PIN": 0x20, "CHANGE PIN": 0x24, "DISABLE PIN": 0x26, "ENABLE PIN": 0x28,
    "UNBLOCK PIN": 0x2C, "DEACTIVATE FILE": 0x04, "ACTIVATE FILE": 0x44, "AUTHENTICATE": 0x88,
    "GET CHALLENGE": 0x84, "TERMINAL PROFILE": 0x10, "ENVELOPE": 0xC2, "FETCH": 0x12,
    "TERMINAL RESPONSE": 0x14, "MANAGE CHANNEL": 0x70, "GET RESPONSE": 0xC0,
}
_HEX_CLEAN = re.compile(r"\s+")
_EF_PATH = re.compile(r"^[0-9A-Fa-f]{4}(/[0-9A-Fa-f]{4})*$")
_PROFILE_NAMES = ("domestic", "international")


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
        head = f"{self.where}: step {self.step.index + 1} ({self.step.describe()})"
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
        lines.append(f"step {self.step.index + 1}: {self.step.describe()}")
        if self.step.note:
            lines.append(f"  note: {self.step.note}")
        if self.mismatches:
            lines.append("")
            width = max(len(m.key) for m in self.mismatches)
            for m in self.mismatches:
                at = f"  (line {m.line})" if m.line and m.line != self.step.line else ""
                lines.append(f"  {m.key:<{width}}  expected: {_show(m.expected)}{at}")
                lines.append(f"  {'':<{width}}  actual:   {_show(m.actual)}")
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
class Mismatch:
    key: str
    expected: Any
    actual: Any
    line: int | None = None


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


def _show(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex().upper()
    if isinstance(value, str):
        return repr(value)
    return repr(value)


def format_apdu(ev: Event) -> str:
    """``#12 t=30 80C2000009D607... -> 9000`` for an ``apdu`` event."""
    if ev.kind != "apdu":
        return repr(ev)
    cmd = ev.data["command"].hex().upper()
    resp = ev.data["response"]
    name = next((n for n, i in INS_NAMES.items() if len(ev.data["command"]) > 1
                 and i == ev.data["command"][1]), "")
    body = resp[:-2].hex().upper()
    sw = resp[-2:].hex().upper()
    shown = f"{body} {sw}" if body else sw
    return f"#{ev.seq} t={ev.time:g} {name + ' ' if name else ''}{cmd} -> {shown}"


# --------------------------------------------------------------------------- EF names


def ef_path(name: str) -> str | None:
    """The path of an EF given by path (``3F00/7FF0/6F07``), key (``ADF_USIM/EF_IMSI``) or
    name (``EF_IMSI`` or ``IMSI``; the ADF.USIM file when DF_GSM has one of the same name)."""
    if _EF_PATH.match(name):
        return name.upper()
    spec = _ef_spec(name)
    return spec.path if spec is not None else None


@lru_cache(maxsize=256)
def _ef_spec(name: str) -> Any:
    """The EF table entry for a path, key or name (the table is static: looked up once per name)."""
    from csim import ef as eftable

    if _EF_PATH.match(name):
        return eftable.by_path(name)
    if "/" in name:
        try:
            return eftable.get(name)
        except KeyError:
            return None
    key = name.upper()
    if not key.startswith("EF_"):
        key = "EF_" + key
    matches = [e for e in eftable.all_efs() if e.name.upper() == key]
    matches.sort(key=lambda e: e.parent != "ADF_USIM")
    return matches[0] if matches else None


def ef_decode(name: str, data: bytes | list[bytes]) -> Any:
    """Decode an EF's contents with the EF table's decoder (``csim.ef``)."""
    from csim import ef as eftable

    spec = _ef_spec(name)
    if spec is None:
        raise KeyError(f"no decoder for {name!r}")
    return eftable.decode(spec, data)


# --------------------------------------------------------------------------- sessions


class Session:
    """Card + transport + event log + world + modem for one scenario run."""

    scenario: Scenario | None = None  # set by for_scenario; plan steps read its plan and start

    def __init__(self, card: Any, world: Any, modem: Any, log: EventLog, transport: Any,
                 profile: Mapping[str, Any] | None = None) -> None:
        self.card = card
        self.world = world
        self.modem = modem
        self.log = log
        self.transport = transport
        self.profile = profile or {}
        self._imsi_profiles = {
            str(p.get("imsi")): name for name, p in (self.profile.get("profiles") or {}).items()
            if isinstance(p, Mapping)
        }

    @classmethod
    def build(cls, card: str | Path, world: str | Path, config: Mapping[str, Any] | None = None,
              source: str = ".") -> Session:
        """Build the in-process card, the world and the modem for a card profile and world."""
        from csim import Card
        from harness.network.mme import Network
        from harness.network.world import World
        from harness.scenario.loader import resolve_card, resolve_world
        from harness.terminal.modem import Modem, ModemConfig

        card_path = resolve_card(str(card), source)
        world_path = resolve_world(str(world), source)
        profile = card_profile(card_path)
        log = EventLog()
        st = card_path.stat()
        image, prof = _card_source(str(card_path), st.st_mtime)
        sim = Card(image, profile=prof)
        transport = InProcessTransport(sim, log)
        wld = World.load(str(world_path))
        settings = dict(config or {})
        if "pin" not in settings:
            settings["pin"] = user_pin(profile)
        # the HSS takes the card's subscribers from the profile version just read
        network = Network(wld, log=log, profile_versions={str(card_path): st.st_mtime_ns})
        modem = Modem(transport, wld, log=log, config=ModemConfig(**settings), network=network)
        return cls(sim, wld, modem, log, transport, profile=profile)

    @classmethod
    def for_scenario(cls, scenario: Scenario) -> Session:
        session = cls.build(scenario.card, scenario.world, scenario.config, scenario.source)
        session.scenario = scenario
        return session

    def profile_name(self, imsi: str | None) -> str | None:
        """Which profile of the card an IMSI belongs to (domestic/international)."""
        if imsi is None:
            return None
        return self._imsi_profiles.get(str(imsi))


@lru_cache(maxsize=64)
def _card_source(path: str, mtime: float) -> tuple[Any, Any]:
    """The checked profile and its card image, built once per file version.

    :class:`csim.Card` copies the image into its own file system, so every session gets a
    fresh card (files, PIN counters, SQN) without parsing and validating the profile again.
    """
    from csim.profile import build_image, load_profile

    prof = load_profile(path)
    return build_image(prof), prof


def user_pin(profile: Mapping[str, Any]) -> str | None:
    """PIN1 the user types at power-on: the profile's value when PIN1 is enabled, else none.

    A terminal asks for PIN1 only when the card says it is enabled (TS 102 221 §9.5.1,
    §11.1.9 VERIFY PIN with an empty body); a disabled PIN is never typed.
    """
    pin1 = (profile.get("pins") or {}).get("pin1")
    if not isinstance(pin1, Mapping) or not pin1.get("enabled", True) or pin1.get("value") is None:
        return None
    return str(pin1["value"])


# --------------------------------------------------------------------------- steps


def _no_args(method: str) -> Callable[[Session, Any], None]:
    def run(s: Session, _args: Any) -> None:
        getattr(s.modem, method)()

    run.__name__ = method
    return run


def _power_on(s: Session, args: Any) -> None:
    if args:
        s.modem.power_on(**args)
    else:
        s.modem.power_on()


def _move(s: Session, args: Any) -> None:
    s.modem.move(country=args["country"])


def _wait(s: Session, args: Any) -> None:
    s.modem.wait(parse_duration(args))


def _select_manual(s: Session, args: Any) -> None:
    s.modem.select_manual(str(args))


def _data_roaming(s: Session, args: Any) -> None:
    s.modem.set_data_roaming(bool(args))


def _force_profile(s: Session, args: Any) -> None:
    s.modem.force_profile(str(args))


ACTIONS: dict[str, Callable[[Session, Any], None]] = {
    "power_on": _power_on,
    "move": _move,
    "wait": _wait,
    "lose_coverage": _no_args("lose_coverage"),
    "restore_coverage": _no_args("restore_coverage"),
    "select_manual": _select_manual,
    "select_automatic": _no_args("select_automatic"),
    "data_roaming": _data_roaming,
    "force_profile": _force_profile,
    "restart": _no_args("restart"),
    "power_off": _no_args("power_off"),
}
ACTIONS.update(plan_steps.ACTIONS)
ACTIONS.update(data_steps.ACTIONS)


def _hex(text: str) -> str:
    return _HEX_CLEAN.sub("", str(text)).upper()


def sw_matches(pattern: str, sw: bytes) -> bool:
    """``9000`` / ``91XX`` / ``6?82``: X and ? match any nibble."""
    actual = sw.hex().upper()
    pat = _hex(pattern)
    return len(pat) == 4 and all(p in "X?" or p == a for p, a in zip(pat, actual, strict=True))


def hex_matches(pattern: str, data: bytes) -> bool:
    """Exact hex match where ``..`` stands for any byte."""
    pat = _hex(pattern)
    actual = data.hex().upper()
    if len(pat) != len(actual):
        return False
    return all(p == "." or p == a for p, a in zip(pat, actual, strict=True))


def _apdu(s: Session, args: Mapping[str, Any]) -> list[Mismatch]:
    command = bytes.fromhex(_hex(args["command"]))
    resp = s.transport.transmit(command)
    out = []
    if "sw" in args and not sw_matches(args["sw"], resp[-2:]):
        out.append(Mismatch("sw", _hex(args["sw"]), resp[-2:].hex().upper()))
    if "data" in args and not hex_matches(args["data"], resp[:-2]):
        out.append(Mismatch("data", _hex(args["data"]), resp[:-2].hex().upper()))
    return out


# --------------------------------------------------------------------------- expectations


def _ins_of(spec: str) -> int:
    key = str(spec).upper().replace("_", " ").strip()
    if key in INS_NAMES:
        return INS_NAMES[key]
    return int(key, 16)


def _count_ok(spec: Mapping[str, Any], n: int) -> bool:
    """``n`` satisfies the spec's ``count`` / ``min`` / ``max`` (at least one by default)."""
    if "count" in spec:
        return n == spec["count"]
    hi = spec.get("max")
    return n >= spec.get("min", 1 if "max" not in spec else 0) and (hi is None or n <= hi)


def _count_check(key: str, spec: Mapping[str, Any], n: int, line: int | None) -> Mismatch | None:
    if _count_ok(spec, n):
        return None
    if "count" in spec:
        return Mismatch(key, f"count == {spec['count']}", n, line)
    lo = spec.get("min", 1 if "max" not in spec else 0)
    hi = spec.get("max")
    want = f"count >= {lo}" if hi is None else f"{lo} <= count <= {hi}"
    return Mismatch(key, want, n, line)


def _same(expected: Any, actual: Any) -> bool:
    kind = type(actual)
    if kind is not bytes and kind is not bytearray and expected == actual:
        return True  # equal values match (True == 1 included, as below)
    if isinstance(actual, bytes | bytearray):
        return isinstance(expected, str) and _hex(expected) == bytes(actual).hex().upper()
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual or expected == actual
    if expected == actual:
        return True
    if isinstance(actual, list | tuple) and isinstance(expected, list):
        return len(actual) == len(expected) and all(
            _same(e, a) for e, a in zip(expected, actual, strict=True))
    return actual is not None and str(expected) == str(actual)


#: expectation keys with their own check; every other key is an observable (:meth:`_Checker.observe`)
_SPECIAL_KEYS = frozenset({"forbidden", "not_forbidden", "status", "ef", "sw", "apdus", "events",
                           *plan_steps.PLAN_EXPECT, *data_steps.DATA_EXPECT})


class _Checker:
    """Evaluates one ``expect`` mapping against the session."""

    def __init__(self, session: Session, window: int) -> None:
        self.s = session
        self.window = window
        self._status: dict[str, Any] | None = None

    @property
    def status(self) -> Mapping[str, Any]:
        st = self._status
        if st is None:
            st = self._status = self.s.modem.status()  # read only here
        return st

    def since(self, spec: Mapping[str, Any]) -> int:
        return 0 if spec.get("since") == "start" else self.window

    def observe(self, key: str) -> Any:
        st = self.status
        if key == "profile":
            if "profile" in st:
                return st["profile"]
            return self.s.profile_name(st.get("imsi"))
        if key == "refresh":
            return bool(self.s.log.of_kind("refresh", since=self.window))
        if key == "refresh_count":
            return st.get("refresh_count", len(self.s.log.of_kind("refresh")))
        if key == "selection":
            return st.get("selection", getattr(getattr(self.s.modem, "config", None), "selection", None))
        return st.get(key)

    def check(self, expect: Mapping[str, Any]) -> list[Mismatch]:
        out: list[Mismatch] = []
        lines = getattr(expect, "lines", {})
        for key, want in expect.items():
            if key not in _SPECIAL_KEYS:  # an observable of the modem or the session
                actual = self.observe(key)
                if not _same(want, actual):
                    out.append(Mismatch(key, want, actual, lines.get(key)))
                continue
            line = lines.get(key)
            if key == "forbidden" or key == "not_forbidden":
                have = [str(p) for p in (self.status.get("forbidden") or [])]
                bad = [p for p in want if (p in have) != (key == "forbidden")]
                if bad:
                    out.append(Mismatch(key, list(want), have, line))
            elif key == "status":
                for k, v in want.items():
                    if not _same(v, self.status.get(k)):
                        out.append(Mismatch(f"status.{k}", v, self.status.get(k), line))
            elif key == "ef":
                out.extend(self.check_ef(want, line))
            elif key == "sw":
                last = self.s.log.tail(1, kinds=("apdu",))
                actual = last[0].data["response"][-2:] if last else b""
                if not last or not sw_matches(want, actual):
                    out.append(Mismatch("sw", _hex(want), actual.hex().upper() if last else None, line))
            elif key == "apdus":
                out.extend(self.check_apdus(want))
            elif key == "events":
                out.extend(self.check_events(want))
            elif key in plan_steps.PLAN_EXPECT:
                out.extend(plan_steps.check(self.s, key, want, line, self.window))
            else:
                out.extend(data_steps.check(self.s, key, want, line, self.window))
        return out

    def check_ef(self, spec: Mapping[str, Any], line: int | None) -> list[Mismatch]:
        out = []
        lines = getattr(spec, "lines", {})
        card = self.s.card
        for name, want in spec.items():
            path = ef_path(name)
            at = lines.get(name, line)
            record = want.get("record") if isinstance(want, Mapping) else None
            ef = _ef_spec(name)
            linear = ef is not None and ef.structure != "transparent"
            try:
                if record:
                    raw: Any = bytes(card.read_record(path, record))
                elif linear:
                    raw = [bytes(r) for r in card.records(path)]
                else:
                    raw = bytes(card.read_file(path))
            except Exception as exc:  # noqa: BLE001 - reported as the observed value
                out.append(Mismatch(f"ef.{name}", want, f"cannot read: {exc}", at))
                continue
            if isinstance(want, str) or "hex" in want:
                pattern = want if isinstance(want, str) else want["hex"]
                flat = raw if isinstance(raw, bytes) else b"".join(raw)
                if not _hex_prefix_match(pattern, flat):
                    out.append(Mismatch(f"ef.{name}", _hex(pattern), flat.hex().upper(), at))
            if isinstance(want, Mapping) and "decoded" in want:
                try:
                    decoded = ef_decode(name, raw)
                except Exception as exc:  # noqa: BLE001
                    decoded = f"cannot decode: {exc}"
                if not _same(want["decoded"], decoded):
                    out.append(Mismatch(f"ef.{name} (decoded)", want["decoded"], decoded, at))
        return out

    def check_apdus(self, specs: list[Mapping[str, Any]]) -> list[Mismatch]:
        out = []
        for i, spec in enumerate(specs):
            line = specs.line_of(i) if hasattr(specs, "line_of") else None
            ins = _ins_of(spec["ins"])
            cla = int(spec["cla"], 16) if "cla" in spec else None
            data = _hex(spec["data"]) if "data" in spec else None
            n = 0
            for ev in self.s.log.of_kind("apdu", since=self.since(spec)):
                cmd = ev["command"]
                if len(cmd) < 2 or cmd[1] != ins or (cla is not None and cmd[0] != cla):
                    continue
                if data is not None and data not in cmd[5:].hex().upper():
                    continue
                if "sw" in spec and not sw_matches(spec["sw"], ev["response"][-2:]):
                    continue
                n += 1
            bad = _count_check(f"apdus[{spec['ins']}]", spec, n, line)
            if bad:
                out.append(bad)
        return out

    def check_events(self, specs: list[Mapping[str, Any]]) -> list[Mismatch]:
        out = []
        for i, spec in enumerate(specs):
            fields = spec.get("fields")
            events = self.s.log.of_kind(spec["kind"], since=self.since(spec))
            if fields:
                wanted = tuple(fields.items())
                n = 0
                for ev in events:
                    for k, v in wanted:
                        if not _same(v, ev.get(k)):
                            break
                    else:
                        n += 1
            else:
                n = len(events)
            if _count_ok(spec, n):
                continue
            line = specs.line_of(i) if hasattr(specs, "line_of") else None
            bad = _count_check(f"events[{spec['kind']}]", spec, n, line)
            assert bad is not None  # the count did not fit
            if fields:
                seen = [e.data for e in events][-3:]
                bad.expected = f"{bad.expected} with {dict(fields)}"
                bad.actual = f"{bad.actual} (last {spec['kind']}: {seen})"
            out.append(bad)
        return out


def _hex_prefix_match(pattern: str, data: bytes) -> bool:
    """EF contents match when the pattern matches the start and the rest is FF padding."""
    pat = _hex(pattern)
    n = len(pat) // 2
    if n > len(data):
        return False
    head, rest = data[:n], data[n:]
    return hex_matches(pat, head) and all(b == 0xFF for b in rest)


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
                mismatches = _Checker(s, window).check(step.args)
            else:
                window = log.mark()
                if kind == "apdu":
                    mismatches = _apdu(s, step.args)
                else:
                    ACTIONS[kind](s, step.args)
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
