"""The ``expect`` step: what the terminal and the card show, checked against the scenario.

Observables come from the modem's status; ``ef:`` reads the card through the session's link
(the transport the modem uses, whatever card is behind it); ``sw:``, ``apdus:`` and
``events:`` look at the run's event log since the last action (``since: start`` for the whole
run). Keys of the plan and data step groups go to their own checks (:mod:`harness.scenario.steps`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from csim import ef as eftable
from harness.scenario import steps
from harness.scenario.checks import (
    Mismatch,
    clean_hex,
    count_check,
    count_ok,
    ef_path,
    ef_spec,
    hex_prefix_match,
    ins_of,
    same,
    sw_matches,
)
from harness.terminal.transport import TransportError

if TYPE_CHECKING:
    from harness.scenario.session import Session


#: expectation keys with their own check here; the step groups add theirs
#: (:data:`harness.scenario.steps.GROUP_EXPECT`); every other key is an observable (:meth:`Checker.observe`)
TERMINAL_EXPECT = frozenset({"forbidden", "not_forbidden", "status", "ef", "sw", "apdus", "events"})


class Checker:
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
            group = steps.GROUP_EXPECT.get(key)
            if group is not None:
                out.extend(group.check(self.s, key, want, lines.get(key), self.window))
                continue
            if key not in TERMINAL_EXPECT:  # an observable of the modem or the session
                actual = self.observe(key)
                if not same(want, actual):
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
                    if not same(v, self.status.get(k)):
                        out.append(Mismatch(f"status.{k}", v, self.status.get(k), line))
            elif key == "ef":
                out.extend(self.check_ef(want, line))
            elif key == "sw":
                last = self.s.log.tail(1, kinds=("apdu",))
                actual = last[0].data["response"][-2:] if last else b""
                if not last or not sw_matches(want, actual):
                    out.append(Mismatch("sw", clean_hex(want), actual.hex().upper() if last else None, line))
            elif key == "apdus":
                out.extend(self.check_apdus(want))
            elif key == "events":
                out.extend(self.check_events(want))
        return out

    def check_ef(self, spec: Mapping[str, Any], line: int | None) -> list[Mismatch]:
        """EF contents read through the session's link, as a terminal reads them (TS 102 221
        §11.1.3 READ BINARY, §11.1.5 READ RECORD), whichever transport the card is behind."""
        out = []
        lines = getattr(spec, "lines", {})
        link = self.s.link
        for name, want in spec.items():
            ef = ef_spec(name)  # the EF table entry, looked up once per name
            path = ef.path if ef is not None else ef_path(name)
            at = lines.get(name, line)
            record = want.get("record") if isinstance(want, Mapping) else None
            linear = ef is not None and ef.structure != "transparent"
            try:
                if record:
                    raw: Any = link.read_record(path, record)
                elif linear:
                    raw = link.read_records(path)
                else:
                    raw = link.read_binary(path)
            except TransportError as exc:
                out.append(Mismatch(f"ef.{name}", want, f"cannot read: {exc}", at))
                continue
            if isinstance(want, str) or "hex" in want:
                pattern = want if isinstance(want, str) else want["hex"]
                flat = raw if isinstance(raw, bytes) else b"".join(raw)
                if not hex_prefix_match(pattern, flat):
                    out.append(Mismatch(f"ef.{name}", clean_hex(pattern), flat.hex().upper(), at))
            if isinstance(want, Mapping) and "decoded" in want:
                try:
                    if ef is None:
                        raise KeyError(f"no decoder for {name!r}")
                    decoded = eftable.decode(ef, raw)
                except Exception as exc:  # noqa: BLE001
                    decoded = f"cannot decode: {exc}"
                if not same(want["decoded"], decoded):
                    out.append(Mismatch(f"ef.{name} (decoded)", want["decoded"], decoded, at))
        self.s.restore_selection()
        return out

    def check_apdus(self, specs: list[Mapping[str, Any]]) -> list[Mismatch]:
        out = []
        for i, spec in enumerate(specs):
            line = specs.line_of(i) if hasattr(specs, "line_of") else None
            ins = ins_of(spec["ins"])
            cla = int(spec["cla"], 16) if "cla" in spec else None
            data = clean_hex(spec["data"]) if "data" in spec else None
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
            bad = count_check(f"apdus[{spec['ins']}]", spec, n, line)
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
                        if not same(v, ev.get(k)):
                            break
                    else:
                        n += 1
            else:
                n = len(events)
            if count_ok(spec, n):
                continue
            line = specs.line_of(i) if hasattr(specs, "line_of") else None
            bad = count_check(f"events[{spec['kind']}]", spec, n, line)
            assert bad is not None  # the count did not fit
            if fields:
                seen = [e.data for e in events][-3:]
                bad.expected = f"{bad.expected} with {dict(fields)}"
                bad.actual = f"{bad.actual} (last {spec['kind']}: {seen})"
            out.append(bad)
        return out
