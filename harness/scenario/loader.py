"""Scenario files: load, validate and expand them into runnable step lists.

A scenario (``scenarios/*.yaml``) names a card profile, a network world and ordered steps
with expectations. Every file goes through :func:`csim.yamlsrc.load` and the JSON Schema
published at ``scenarios/schema.json``; semantic checks (unknown card, world, country,
block, variable) follow, and every error reads ``file:line: what is wrong``.

Expansion happens here, once, at load time: matrix entries become separate
:class:`Scenario` objects, ``use: block`` steps are replaced by the block's steps with
``${param}`` substituted, so the runner only sees a flat list of :class:`Step`.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from csim.yamlsrc import DataError, LineDict, LineList, load, load_schema, validate, validator
from harness.event_kinds import unknown_kind
from harness.paths import FIXTURES, ROOT, real
from harness.plans import clock
from harness.scenario.steps import STEP_KINDS, check_scenario

SCHEMA_PATH = ROOT / "scenarios" / "schema.json"

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(slots=True)
class Step:
    """One step of an expanded scenario.

    ``line`` is where the step is written (inside a block for block steps); ``via`` lists
    the ``use:`` sites that led here, outermost first, as ``(block name, line)``.
    """

    index: int
    kind: str
    args: Any
    line: int | None
    via: tuple[tuple[str, int | None], ...] = ()
    note: str | None = None

    def describe(self) -> str:
        """Short text of the step as written: ``move {country: BE}``."""
        if self.args is None:
            return self.kind
        return f"{self.kind} {_flow(self.args)}"

    def where(self, source: str) -> str:
        text = f"{source}:{self.line}" if self.line else source
        for name, line in reversed(self.via):
            text += f" (block {name!r} used at line {line})"
        return text


@dataclass
class Scenario:
    """A runnable scenario: one card, one world, a flat list of steps."""

    name: str
    source: str
    line: int | None
    card: str
    world: str
    steps: list[Step]
    config: dict[str, Any] = field(default_factory=dict)
    markers: tuple[str, ...] = ()
    description: str = ""
    matrix_id: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    xfail: str | None = None
    plan: Any = None  # the line's subscription (harness.scenario.plan_steps), None without plans
    start: str | None = None
    terminal: Any = None    # the terminal's data settings (harness.scenario.data_steps), None: defaults
    subscriber: Any = None  # the line as the home network knows it (harness.scenario.data_steps)

    @property
    def test_id(self) -> str:
        """The id under pytest: the file stem, then the matrix entry."""
        stem = os.path.splitext(os.path.basename(self.source))[0]
        return f"{stem}[{self.matrix_id}]" if self.matrix_id else stem

    @property
    def card_path(self) -> Path:
        return resolve_card(self.card, self.source)

    @property
    def world_path(self) -> Path:
        return resolve_world(self.world, self.source)


# --------------------------------------------------------------------------- fixtures


def resolve_card(card: str, source: str = ".") -> Path:
    """The profile file for ``card``: a name in ``fixtures/cards`` or a path relative to ``source``."""
    if card.endswith((".yaml", ".yml")) or "/" in card:
        return real(Path(source).parent / card)
    return FIXTURES / "cards" / f"{card}.yaml"


def resolve_world(world: str, source: str = ".") -> Path:
    """The network world file for ``world``: a name in ``fixtures/networks`` or a path."""
    if world.endswith((".yaml", ".yml")) or "/" in world:
        return real(Path(source).parent / world)
    return FIXTURES / "networks" / f"{world}.yaml"


def _known(folder: str) -> list[str]:
    return sorted(p.stem for p in (FIXTURES / folder).glob("*.yaml"))


def world_countries(path: Path) -> frozenset[str]:
    """ISO codes of the countries a world defines (the world's own ``file:line`` error when it
    does not load)."""
    from harness.network.world import World

    return frozenset(World.load(path).countries)


def _fixture_error(exc: DataError, what: str, source: str, line: int | None) -> DataError:
    """A fixture's own error, saying which scenario line refers to the fixture."""
    where = f"{source}:{line}" if line else source
    return DataError(exc.source, exc.line, f"{exc.message} (the {what} of {where})")


# --------------------------------------------------------------------------- loading

_schema_cache: dict[str, Any] = {}


def schema() -> dict[str, Any]:
    """The published scenario JSON Schema (``scenarios/schema.json``)."""
    if "s" not in _schema_cache:
        _schema_cache["s"] = load_schema(SCHEMA_PATH)
    return _schema_cache["s"]


def _step_schema() -> dict[str, Any]:
    if "step" not in _schema_cache:
        _schema_cache["step"] = {"$defs": schema()["$defs"], "$ref": "#/$defs/step"}
    return _schema_cache["step"]


def parse_duration(value: Any) -> float:
    """Seconds from ``300``, ``"30s"``, ``"5m"``, ``"1h30min"`` (the plans' duration grammar,
    :func:`harness.plans.clock.parse_duration`)."""
    return clock.parse_duration(value).total_seconds()


def _flow(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _substitute(node: Any, variables: Mapping[str, Any], source: str, line: int | None) -> Any:
    """Replace ``${name}`` in strings; a string that is only ``${name}`` takes the value's type."""
    if isinstance(node, str):
        if "${" not in node:
            return node
        whole = _VAR.fullmatch(node)
        if whole:
            name = whole.group(1)
            if name not in variables:
                raise DataError(source, line, f"undefined variable ${{{name}}}")
            return variables[name]

        def repl(m: re.Match[str]) -> str:
            if m.group(1) not in variables:
                raise DataError(source, line, f"undefined variable ${{{m.group(1)}}}")
            return _flow(variables[m.group(1)])

        return _VAR.sub(repl, node)
    if isinstance(node, LineDict):
        out = LineDict()
        out.source, out.line = node.source, node.line
        for key, value in node.items():
            out[key] = _substitute(value, variables, source, node.line_of(key))
        out.lines = dict(node.lines)
        return out
    if isinstance(node, LineList):
        out_l = LineList(_substitute(v, variables, source, node.line_of(i)) for i, v in enumerate(node))
        out_l.source, out_l.line, out_l.lines = node.source, node.line, list(node.lines)
        return out_l
    if isinstance(node, Mapping):
        return {k: _substitute(v, variables, source, line) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, variables, source, line) for v in node]
    return node


def _has_vars(node: Any) -> bool:
    """Does a step argument contain a ``${variable}`` anywhere?"""
    if isinstance(node, str):
        return "${" in node
    if isinstance(node, Mapping):
        return any(_has_vars(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_vars(v) for v in node)
    return False


@dataclass
class _Block:
    name: str
    source: str
    line: int | None
    params: Mapping[str, Any]
    steps: LineList


class _Library:
    """Blocks visible from one scenario file: its own, then imported ones."""

    def __init__(self) -> None:
        self.blocks: dict[str, _Block] = {}

    def add(self, doc: LineDict, source: str) -> None:
        blocks = doc.get("blocks") or {}
        for name, body in blocks.items():
            if name in self.blocks:
                other = self.blocks[name]
                raise DataError(source, blocks.line_of(name),
                                f"block {name!r} is already defined at {other.source}:{other.line}")
            self.blocks[name] = _Block(name, source, blocks.line_of(name), body.get("params") or {},
                                       body["steps"])


def _load_library_file(path: str) -> LineDict:
    doc = load(path)
    _validate(doc, path, schema())
    if not isinstance(doc, LineDict):
        raise DataError(path, None, "a scenario file must be a mapping")
    if "steps" in doc:
        raise DataError(path, doc.line_of("steps"), "an imported file may only define blocks (no steps)")
    return doc


def _import(lib: _Library, doc: LineDict, source: str, chain: tuple[str, ...], done: set[str]) -> None:
    """Add the blocks of the files ``doc`` imports, and of the files they import (each file once;
    a file that imports itself through others is an error)."""
    imports = doc.get("import") or LineList()
    for i, rel in enumerate(imports):
        target = Path(source).parent / rel
        key = str(real(target))
        if key in chain:
            names = " -> ".join(Path(c).name for c in (*chain[chain.index(key):], key))
            raise DataError(source, imports.line_of(i), f"circular import ({names})")
        if key in done:
            continue
        done.add(key)
        try:
            library = _load_library_file(str(target))
        except DataError as exc:
            if exc.source != str(target) or exc.line is not None:
                raise
            # the file itself could not be read (missing, a directory, a device, a link loop...)
            raise DataError(source, imports.line_of(i), f"cannot import {rel!r}: {exc.message}") from None
        lib.add(library, str(target))
        _import(lib, library, str(target), (*chain, key), done)


#: the most steps one file expands to, its blocks used and its matrix entries counted (the bundled
#: files have at most 35): blocks that use blocks ten times each would otherwise multiply
MAX_STEPS = 5_000


def _expand_steps(items: LineList, source: str, lib: _Library, variables: Mapping[str, Any],
                  via: tuple[tuple[str, int | None], ...], out: list[Step], limit: int = MAX_STEPS,
                  top: str | None = None) -> None:
    """Append the steps of ``items`` to ``out``, blocks expanded, at most ``limit`` in all; an
    error of that bound is reported at the outermost ``use:`` of ``top`` (the scenario file)."""
    top = top or source
    for i, raw in enumerate(items):
        line = items.line_of(i)
        src = getattr(items, "source", source)
        if len(out) >= limit:
            raise DataError(top if via else src, via[0][1] if via else line,
                            f"more than {MAX_STEPS} steps once blocks and matrix entries are expanded")
        if isinstance(raw, str):
            out.append(Step(len(out), raw, None, line, via))
            continue
        kinds = [k for k in raw if k in STEP_KINDS or k == "use"]
        if len(kinds) != 1:
            what = "no step" if not kinds else "several steps (" + ", ".join(kinds) + ")"
            raise DataError(src, line, f"{what} in one item; write one step per list item")
        kind = kinds[0]
        if "with" in raw and kind != "use":
            raise DataError(src, raw.line_of("with"), "'with' only goes with 'use: BLOCK'")
        if kind == "use":
            name = _substitute(raw["use"], variables, src, raw.line_of("use"))
            block = lib.blocks.get(name)
            if block is None:
                known = ", ".join(sorted(lib.blocks)) or "none defined"
                raise DataError(src, raw.line_of("use"), f"unknown block {name!r} (known: {known})")
            if any(b == name for b, _ in via):
                chain = " -> ".join([b for b, _ in via] + [name])
                raise DataError(src, raw.line_of("use"), f"block {name!r} uses itself ({chain})")
            args = _substitute(raw.get("with") or LineDict(), variables, src, raw.line_of("with"))
            unknown = [k for k in args if k not in block.params]
            if unknown:
                raise DataError(src, args.line_of(unknown[0]) if isinstance(args, LineDict) else line,
                                f"block {name!r} has no parameter {unknown[0]!r} "
                                f"(parameters: {', '.join(block.params) or 'none'})")
            scope = dict(variables)
            for pname, default in block.params.items():
                if pname in args:
                    scope[pname] = args[pname]
                elif default is not None:
                    scope[pname] = default
                else:
                    raise DataError(src, raw.line_of("use"), f"block {name!r} needs parameter {pname!r}")
            _expand_steps(block.steps, block.source, lib, scope, via + ((name, raw.line_of("use")),), out,
                          limit, top)
            continue
        if not _has_vars(raw[kind]):
            # already checked with its file (scenario or block library)
            out.append(Step(len(out), kind, raw[kind], line, via, raw.get("note")))
            continue
        value = _substitute(raw[kind], variables, src, raw.line_of(kind))
        item = LineDict({kind: value})
        item.source, item.line, item.lines = src, line, {kind: raw.line_of(kind)}
        try:
            _validate(item, src, _step_schema())
        except DataError as exc:
            origin = "".join(f" (in block {b!r} used at line {at})" for b, at in reversed(via))
            raise DataError(src, exc.line or line,
                            f"after substituting variables: {exc.message}{origin}") from None
        out.append(Step(len(out), kind, value, line, via, raw.get("note")))


def _matrix_entries(doc: LineDict) -> list[tuple[str | None, LineDict | dict[str, Any], int | None]]:
    matrix = doc.get("matrix")
    if matrix is None:
        return [(None, {}, None)]
    if isinstance(matrix, LineList):
        entries = []
        seen: dict[str, int | None] = {}
        for i, entry in enumerate(matrix):
            ident = entry.get("id") or "-".join(
                str(entry[k]) for k in ("card", "world") if k in entry) or str(i)
            if ident in seen:
                raise DataError(doc.source, matrix.line_of(i),
                                f"matrix id {ident!r} repeats the entry at line {seen[ident]}")
            seen[ident] = matrix.line_of(i)
            entries.append((ident, entry, matrix.line_of(i)))
        return entries
    axes = list(matrix.items())
    out: list[tuple[str | None, LineDict | dict[str, Any], int | None]] = []
    for combo in itertools.product(*(values for _, values in axes)):
        entry = {axis: value for (axis, _), value in zip(axes, combo, strict=True)}
        out.append(("-".join(str(v) for v in combo), entry, matrix.line))
    return out


def _check_card(card: str, source: str, line: int | None) -> None:
    from csim.profile import load_profile

    path = resolve_card(card, source)
    if not path.is_file():
        raise DataError(source, line, f"unknown card profile {card!r} "
                                      f"(known: {', '.join(_known('cards')) or 'none'})")
    try:
        load_profile(path)  # the session loads it again: one parse per file version (csim.profile)
    except DataError as exc:
        raise _fixture_error(exc, "card", source, line) from None


def _check_world(world: str, source: str, line: int | None) -> None:
    path = resolve_world(world, source)
    if not path.is_file():
        raise DataError(source, line, f"unknown world {world!r} "
                                      f"(known: {', '.join(_known('networks')) or 'none'})")


def _check_countries(scn: Scenario, line: int | None) -> None:
    try:
        countries = world_countries(scn.world_path)
    except DataError as exc:
        raise _fixture_error(exc, "world", scn.source, line) from None
    for step in scn.steps:
        code = None
        if step.kind in ("power_on", "move") and isinstance(step.args, Mapping):
            code = step.args.get("country")
        elif step.kind == "expect" and isinstance(step.args, Mapping):
            code = step.args.get("country")
        if code is not None and code not in countries:
            raise DataError(scn.source, step.line,
                            f"unknown country {code!r} in world {scn.world!r} "
                            f"(known: {', '.join(sorted(countries))})")


def _check_ef_names(scn: Scenario) -> None:
    from harness.scenario.checks import ef_path

    for step in scn.steps:
        if step.kind != "expect" or "ef" not in step.args:
            continue
        efs = step.args["ef"]
        for name in efs:
            if ef_path(name) is None:
                line = efs.line_of(name) if isinstance(efs, LineDict) else step.line
                raise DataError(scn.source, line, f"unknown EF {name!r} (use a name like EF_IMSI or a "
                                                  "path like 3F00/7FF0/6F07)")


#: the longest simulated time one ``wait`` or ``advance`` step may ask for (ten years)
MAX_STEP_DURATION = timedelta(days=3650)


def step_duration(value: Any, source: str, line: int | None) -> timedelta:
    """The duration of a ``wait``/``advance`` step, finite and at most :data:`MAX_STEP_DURATION`."""
    try:
        duration = clock.parse_duration(value)
    except OverflowError:
        duration = None
    except ValueError as exc:
        raise DataError(source, line, str(exc)) from None
    if duration is None or duration > MAX_STEP_DURATION:
        raise DataError(source, line, f"duration {value!r} is longer than {MAX_STEP_DURATION.days} days")
    return duration


def _check_steps(scn: Scenario) -> None:
    """What running a step would find wrong in its arguments, found at load time: durations,
    instants and their order (simulated time never goes back: it has passed at least the start
    plus every ``wait`` and ``advance`` before), APDU hex, instruction names and event kinds."""
    from harness.scenario.checks import clean_hex, ins_of
    from harness.scenario.plan_steps import start_instant

    now: datetime | None = start_instant(scn) if scn.plan is not None else None
    for step in scn.steps:
        if step.kind in ("wait", "advance"):
            duration = step_duration(step.args, scn.source, step.line)
            now = now + duration if now is not None else None
        elif step.kind == "at":
            try:
                target = clock.parse_instant(step.args)
            except ValueError as exc:
                raise DataError(scn.source, step.line, f"at: {exc}") from None
            if now is not None and target < now:
                raise DataError(scn.source, step.line,
                                f"at: {step.args} goes back in time (the scenario is at "
                                f"{now.isoformat(timespec='minutes')} or later by then)")
            now = target
        elif step.kind == "apdu":
            command = clean_hex(step.args["command"])
            if len(command) % 2:
                raise DataError(scn.source, step.line,
                                f"apdu: command {step.args['command']!r} has an odd number of hex digits")
            if len(command) < 8:
                raise DataError(scn.source, step.line,
                                "apdu: a command has at least 4 bytes, CLA INS P1 P2 (ISO/IEC 7816-4 §5.1)")
        elif step.kind == "expect":
            for i, spec in enumerate(step.args.get("apdus", ())):
                try:
                    ins = ins_of(spec["ins"])
                except ValueError:
                    ins = -1
                if not 0 <= ins <= 0xFF:
                    raise DataError(scn.source, _item_line(step, "apdus", i),
                                    f"apdus: unknown instruction {spec['ins']!r} "
                                    "(a name such as SELECT or FETCH, or one hex byte)")
            for i, spec in enumerate(step.args.get("events", ())):
                why = unknown_kind(spec["kind"])
                if why is not None:
                    raise DataError(scn.source, _item_line(step, "events", i), why)


def _item_line(step: Step, key: str, index: int) -> int | None:
    """The line of item ``index`` of the list ``key`` of an ``expect`` step."""
    items = step.args[key]
    return items.line_of(index) if isinstance(items, LineList) else step.line


def _pattern_descriptions() -> dict[str, str]:
    if "p" not in _schema_cache:
        found: dict[str, str] = {}

        def walk(node: Any) -> None:
            if isinstance(node, Mapping):
                if "pattern" in node and "description" in node:
                    found.setdefault(node["pattern"], node["description"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(schema())
        _schema_cache["p"] = found
    return _schema_cache["p"]


_NO_MATCH = re.compile(r"^(?P<value>.*) does not match '(?P<pattern>.*)'$", re.S)


def _readable(exc: DataError) -> DataError:
    """Say what a value should be instead of quoting the schema's regular expression."""
    where, _, message = exc.message.rpartition(": ")
    m = _NO_MATCH.match(message)
    if not m:
        return exc
    pattern = m.group("pattern").replace("\\\\", "\\")
    desc = _pattern_descriptions().get(pattern)
    if desc is None:
        return exc
    text = f"{m.group('value')} is not valid: expected {desc}"
    return DataError(exc.source, exc.line, f"{where}: {text}" if where else text)


def _validate(doc: Any, source: str, sch: Mapping[str, Any]) -> None:
    if validator(sch).is_valid(doc):
        return
    try:  # the slow path words the error with its file:line
        validate(doc, sch, source)
    except DataError as exc:
        raise _readable(exc) from None


def load_document(path: str | Path) -> LineDict:
    """Parse and schema-check one scenario file (no expansion)."""
    doc = load(path)
    _validate(doc, str(path), schema())
    if not isinstance(doc, LineDict):
        raise DataError(str(path), None, "a scenario file must be a mapping")
    return doc


def is_library(doc: Mapping[str, Any]) -> bool:
    """A file with blocks and no steps: imported by scenarios, never run by itself."""
    return "steps" not in doc


def expand(doc: LineDict, source: str | None = None) -> list[Scenario]:
    """Turn one checked document into its scenarios (one per matrix entry)."""
    source = source or doc.source
    if is_library(doc):
        if "blocks" not in doc:
            raise DataError(source, doc.line,
                            "no steps: a scenario needs 'steps' (or only 'blocks' to share)")
        return []
    for key in ("name", "card", "world"):
        if key not in doc:
            raise DataError(source, doc.line, f"missing {key!r}")
    lib = _Library()
    lib.add(doc, source)
    here = str(real(source))
    _import(lib, doc, source, (here,), {here})

    scenarios = []
    budget = MAX_STEPS  # for the whole file: every matrix entry expands the steps again
    for ident, entry, entry_line in _matrix_entries(doc):
        if budget <= 0:
            raise DataError(source, entry_line, f"more than {MAX_STEPS} steps once blocks and matrix "
                                                "entries are expanded")
        card = entry.get("card", doc.get("card"))
        world = entry.get("world", doc.get("world"))
        card_line = entry.line_of("card") if isinstance(entry, LineDict) and "card" in entry else (
            entry_line if "card" in entry else doc.line_of("card"))
        world_line = entry.line_of("world") if isinstance(entry, LineDict) and "world" in entry else (
            entry_line if "world" in entry else doc.line_of("world"))
        variables: dict[str, Any] = {"card": card, "world": world}
        variables.update(doc.get("vars") or {})
        variables.update(entry.get("vars") or {})
        card = _substitute(card, variables, source, card_line)
        world = _substitute(world, variables, source, world_line)
        variables.update(card=card, world=world)
        _check_card(card, source, card_line)
        _check_world(world, source, world_line)
        config = dict(doc.get("config") or {})
        config.update(entry.get("config") or {})
        config = _substitute(config, variables, source, doc.line_of("config"))
        steps: list[Step] = []
        _expand_steps(doc["steps"], source, lib, variables, (), steps, budget)
        budget -= len(steps)
        markers = tuple(dict.fromkeys([*(doc.get("markers") or []), *(entry.get("markers") or [])]))
        name = _substitute(doc["name"], variables, source, doc.line_of("name"))
        scn = Scenario(name=name, source=source, line=entry_line or doc.line_of("name"), card=card,
                       world=world, steps=steps, config=config, markers=markers,
                       description=doc.get("description", ""), matrix_id=ident, vars=variables,
                       xfail=doc.get("xfail"),
                       plan=_substitute(doc.get("plan"), variables, source, doc.line_of("plan")),
                       start=doc.get("start"),
                       terminal=_substitute(doc.get("terminal"), variables, source, doc.line_of("terminal")),
                       subscriber=_substitute(doc.get("subscriber"), variables, source,
                                              doc.line_of("subscriber")))
        check_scenario(scn, doc)
        _check_countries(scn, world_line)
        _check_ef_names(scn)
        _check_steps(scn)
        scenarios.append(scn)
    return scenarios


def load_file(path: str | Path) -> list[Scenario]:
    """Load, check and expand a scenario file; a library file gives no scenario."""
    return expand(load_document(path), str(path))


def iter_files(paths: Iterable[str | Path]) -> list[Path]:
    """Scenario files under ``paths`` (directories are searched recursively), sorted; a ``.yaml``
    name that is no readable file (a dangling link, a link loop, a FIFO) is kept, for the read to
    report it."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml") and not x.is_dir()))
        else:
            out.append(p)
    return out
