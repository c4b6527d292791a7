"""harness.event_kinds is exactly the set of kinds the harness records: every kind an emitter
writes (found in the sources of csim/ and harness/, and in a run of every bundled scenario) is
declared, every declared kind is written somewhere, and the kinds read back by name exist."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.event_kinds import EMITTER, KINDS, unknown_kind

ROOT = Path(__file__).resolve().parents[2]

#: calls that append an event, and the position of their kind argument: the log's ``record``,
#: the compiled modules' ``record_event`` and the emitters' own wrappers around them
EMITS = {"record": 0, "_event": 0, "record_event": 1, "_record": 1}
#: calls that append an ``apdu`` event
APDU_EMITS = {"record_apdu", "apdu_event"}

#: every emit call whose kind is not written at the call, by (file, call up to the kind):
#: where its kinds come from (file, pattern of a literal kind), or None when it is not an event
#: (a wrapper passing its own parameter on, whose callers are scanned, or another ``record``)
COMPUTED: dict[tuple[str, str], tuple[str, str] | None] = {
    ("harness/events.pyx", "record_event(self, kind"): None,  # EventLog.record
    ("harness/terminal/modem_core.pyx", "record_event(self._log, kind"): None,  # Modem.record
    ("harness/terminal/modem_core.pyx", "self._log.record(kind"): None,
    ("harness/network/mme_core.pyx", "record_event(log, kind"): None,  # _record
    ("harness/network/mme_core.pyx", "log.record(kind"): None,
    ("harness/plans/engine.py", "self.log.record(event"): None,  # PolicyEngine._event
    ("harness/terminal/link.pyx", "self.record(n"): None,  # READ RECORD, not an event
    ("harness/network/packet_core.py", "self._record(result"): None,  # takes an ActivationResult
    ("harness/network/smdp/server.py", "self.log.record(kind"): None,  # Smdp._event
    ("harness/terminal/lpa.py", "self.log.record(kind"): None,  # Lpa._event
    ("harness/plans/engine.py", "self._event(kind"):  # the changes enforcement.refresh lists
        ("harness/plans/enforcement.py", r'out\.append\(\(mi, 0, "(\w+)"\)\)'),
    ("harness/scenario/data_steps.py", "log.record(kind"):  # the events the data setup gathers
        ("harness/scenario/data_steps.py", r'self\.events\.append\(\("(\w+)"'),
}

_QUIET = (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)
_STRING = re.compile(r'^"(\w+)"$')
_CONDITIONAL = re.compile(r'^"(\w+)" if .* else "(\w+)"$')


def _sources() -> list[Path]:
    return sorted(p for pkg in ("csim", "harness") for p in (ROOT / pkg).rglob("*")
                  if p.suffix in (".py", ".pyx") and "__pycache__" not in p.parts)


def _arguments(toks: list[tokenize.TokenInfo], start: int) -> list[str]:
    """The top-level arguments of the call whose ``(`` is ``toks[start]``, as token text."""
    depth, args = 0, [[]]
    for tok in toks[start:]:
        s = tok.string
        if tok.type == tokenize.OP and s in "([{":
            depth += 1
            if depth == 1:
                continue
        elif tok.type == tokenize.OP and s in ")]}":
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and s == ",":
            args.append([])
        else:
            args[-1].append(s)
    return [" ".join(a) for a in args]


def _calls(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, receiver.name, arguments) of every call to an emit name in ``path``, definitions
    excluded."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    toks = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in _QUIET]
    for i, tok in enumerate(toks[:-1]):
        if tok.type != tokenize.NAME or tok.string not in EMITS.keys() | APDU_EMITS:
            continue
        if toks[i + 1].string != "(":
            continue
        if lines[tok.start[0] - 1].split()[0] in ("def", "cdef", "cpdef"):
            continue
        name, j = tok.string, i
        while j >= 2 and toks[j - 1].string == "." and toks[j - 2].type == tokenize.NAME:
            name = f"{toks[j - 2].string}.{name}"
            j -= 2
        yield tok.start[0], name, _arguments(toks, i + 1)


def _scan() -> tuple[dict[str, list[str]], dict[tuple[str, str], str]]:
    """Every kind emitted in the sources (kind -> the places), and the emit calls whose kind
    is computed ((file, call up to the kind) -> place)."""
    kinds: dict[str, list[str]] = {}
    computed: dict[tuple[str, str], str] = {}
    for path in _sources():
        rel = str(path.relative_to(ROOT))
        for line, name, args in _calls(path):
            where = f"{rel}:{line}"
            method = name.rpartition(".")[2]
            if method in APDU_EMITS:
                kinds.setdefault("apdu", []).append(where)
                continue
            pos = EMITS[method]
            arg = args[pos] if len(args) > pos else ""
            found = _STRING.match(arg) or _CONDITIONAL.match(arg)
            if found:
                for kind in found.groups():
                    kinds.setdefault(kind, []).append(where)
            else:
                head = f"{name}({', '.join(a.replace(' ', '') for a in args[:pos + 1])}"
                computed[(rel, head)] = where
    for (site, _), feeder in COMPUTED.items():
        if feeder is None:
            continue
        rel, pattern = feeder
        fed = re.findall(pattern, (ROOT / rel).read_text(encoding="utf-8"))
        assert fed, f"{rel}: no kind matches {pattern!r}: the emitter changed, update COMPUTED"
        for kind in fed:
            kinds.setdefault(kind, []).append(f"{site} (from {rel})")
    return kinds, computed


@pytest.fixture(scope="module")
def scanned() -> tuple[dict[str, list[str]], dict[tuple[str, str], str]]:
    return _scan()


def test_every_emit_call_with_a_computed_kind_is_accounted_for(scanned):
    _, computed = scanned
    new = {k: v for k, v in computed.items() if k not in COMPUTED}
    assert not new, f"emit calls whose kind is not a literal: {new}; say in COMPUTED where it comes from"
    gone = set(COMPUTED) - set(computed)
    assert not gone, f"no longer in the sources: {gone}"


def test_every_kind_emitted_in_the_sources_is_declared(scanned):
    kinds, _ = scanned
    undeclared = {k: v for k, v in kinds.items() if k not in KINDS}
    assert not undeclared, f"emitted but not in harness/event_kinds.py: {undeclared}"


def test_every_declared_kind_is_emitted_somewhere(scanned):
    kinds, _ = scanned
    assert set(KINDS) - set(kinds) == set()
    assert set(EMITTER) == set(KINDS)


def test_each_kind_is_recorded_where_the_registry_says(scanned):
    kinds, _ = scanned
    wrong = {}
    for kind, places in kinds.items():
        modules = {p.split(":")[0].split(" ")[0].rsplit(".", 1)[0].replace("/", ".") for p in places}
        if kind in EMITTER and not modules & set(EMITTER[kind].split(", ")):
            wrong[kind] = (EMITTER[kind], sorted(modules))
    assert wrong == {}


def test_a_run_of_every_bundled_scenario_records_declared_kinds_only():
    from harness.scenario import loader, runner

    seen: dict[str, str] = {}
    for path in loader.iter_files([ROOT / "scenarios"]):
        for scn in loader.load_file(path):
            session = runner.Session.for_scenario(scn)
            try:
                runner.run(scn, session)
            except runner.ScenarioFailure:
                pass  # an xfail scenario: its events count all the same
            finally:
                session.close()
            for ev in session.log:
                seen.setdefault(ev.kind, str(path.relative_to(ROOT)))
    undeclared = {k: v for k, v in seen.items() if k not in KINDS}
    assert not undeclared, f"recorded but not in harness/event_kinds.py: {undeclared}"
    assert {"apdu", "registration", "usage", "pdn_activation", "line_ordered"} <= set(seen)


#: reads of the log by kind: ``of_kind("x")``, ``tail(kinds=("x",))``, ``ev.kind == "x"``
_READS = re.compile(r'(?:of_kind\(|kinds=\(|\b(?:e|ev|event)\.kind (?:==|in \())\s*((?:"\w+",?\s*)+)')


def test_kinds_read_back_by_name_are_declared():
    from harness.plans.engine import SNAPSHOT_EVENTS
    from harness.scenario.report import MARKERS, PLAN_EVENTS

    read: dict[str, str] = {}
    for path in _sources():
        for m in _READS.finditer(path.read_text(encoding="utf-8")):
            for kind in re.findall(r'"(\w+)"', m.group(1)):
                read.setdefault(kind, str(path.relative_to(ROOT)))
    assert {"refresh", "partner_email", "month_start"} <= set(read)  # the pattern still finds the readers
    for kind in (*SNAPSHOT_EVENTS, *PLAN_EVENTS, *MARKERS):
        read.setdefault(kind, "a list of kinds")
    assert {k: v for k, v in read.items() if k not in KINDS} == {}


def test_unknown_kind_names_the_closest_kind():
    assert unknown_kind("registration") is None
    assert unknown_kind("registratoin") == "unknown event kind 'registratoin' (did you mean 'registration'?)"
    assert unknown_kind("pdn_activaton") == ("unknown event kind 'pdn_activaton' "
                                             "(did you mean 'pdn_activation'?)")
    assert unknown_kind("zzzzzz") == "unknown event kind 'zzzzzz' ('simharness list events' lists them)"


def test_validate_refuses_an_unknown_kind_at_its_line(tmp_path):
    from csim.yamlsrc import DataError
    from harness.scenario import loader

    path = tmp_path / "kinds.yaml"
    path.write_text("name: kinds\ncard: alphalink-orange\nworld: europe\nsteps:\n"
                    "  - power_on: {country: FR}\n  - expect:\n      events:\n"
                    "        - {kind: registration, count: 1}\n        - {kind: zzzzzz}\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        loader.load_file(path)
    assert str(err.value) == (f"{path}:9: unknown event kind 'zzzzzz' "
                              "('simharness list events' lists them)")
    path.write_text(path.read_text(encoding="utf-8").replace("zzzzzz", "refresh"), encoding="utf-8")
    assert len(loader.load_file(path)[0].steps) == 2
