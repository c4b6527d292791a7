"""The package layering holds: csim knows nothing of harness, and no module imports itself back
through others (imports inside functions included; ``if TYPE_CHECKING:`` blocks excluded)."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("csim", "harness")
_CYTHON_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+c?import\s+([\w, ()*]+)|c?import\s+([\w.]+))", re.M)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*")):
            if path.suffix in (".py", ".pyx", ".pxd") and "__pycache__" not in path.parts:
                out.setdefault(_module_name(path), []).append(path)
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _python_imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".")
                if path.name != "__init__.py":
                    pkg = pkg[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _cython_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for m in _CYTHON_IMPORT.finditer(path.read_text()):
        if m.group(1):
            found.add(m.group(1))
            names = m.group(2).replace("(", " ").replace(")", " ")
            found.update(f"{m.group(1)}.{n.split(' as ')[0].strip()}" for n in names.split(",") if n.strip())
        else:
            found.add(m.group(3))
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a name imported from a package counts as the
    submodule when there is one, else as the package)."""
    sources = _sources()
    graph: dict[str, set[str]] = {}
    for module, paths in sources.items():
        edges: set[str] = set()
        for path in paths:
            names = _python_imports(path, module) if path.suffix == ".py" else _cython_imports(path)
            for name in names:
                while name and name not in sources:
                    name = name.rpartition(".")[0]
                if name and name != module and not module.startswith(name + "."):
                    edges.add(name)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_the_graph_sees_the_project():
    graph = import_graph()
    assert "harness.terminal.modem" in graph and "csim.card" in graph
    assert "harness.events" in graph["harness.terminal.link"]  # a cimport counts
    assert "csim.apdu" in graph["harness.terminal.link"]


def test_no_import_cycle():
    assert _cycles(import_graph()) == []


def test_cycle_detection_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(m for m in _sources() if m.startswith("csim")))
def test_csim_never_imports_harness(module):
    assert not [m for m in import_graph()[module] if m.split(".")[0] == "harness"]


def test_the_event_log_imports_nothing_of_the_project():
    """The terminal, the network and the plans all log: the log depends on none of them."""
    assert import_graph()["harness.events"] == set()


#: package -> packages it must never import (docs/architecture.md)
FORBIDDEN = {
    "harness.network": ("harness.terminal", "harness.scenario", "harness.readers", "harness.plans",
                        "harness.lines", "harness.cli", "harness.pytest_plugins"),
    "harness.plans": ("harness.terminal", "harness.network", "harness.scenario", "harness.readers",
                      "harness.lines", "harness.cli", "harness.pytest_plugins"),
    "harness.lines": ("harness.terminal", "harness.network", "harness.scenario", "harness.readers",
                      "harness.cli", "harness.pytest_plugins"),
    "harness.terminal": ("harness.scenario", "harness.readers", "harness.plans", "harness.lines",
                         "harness.cli", "harness.pytest_plugins"),
    "harness.readers": ("harness.scenario", "harness.network", "harness.plans", "harness.lines",
                        "harness.cli", "harness.pytest_plugins"),
    "harness.scenario": ("harness.cli", "harness.pytest_plugins"),
}


def test_the_lines_use_the_plans_and_only_the_scenario_and_the_cli_drive_them():
    """The fleet reuses the plans engine's rules (durations); only the scenario steps and the command
    line (``smdp serve`` places its orders through it) import it."""
    graph = import_graph()
    assert "harness.plans" in graph["harness.lines.rules"]
    users = sorted({m.split(".")[1] for m, deps in graph.items() if not m.startswith("harness.lines")
                    and any(d.startswith("harness.lines") for d in deps)})
    assert users == ["cli", "scenario"]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers(package):
    graph = import_graph()
    bad = sorted(f"{m} -> {d}" for m, deps in graph.items() if m.startswith(package + ".")
                 for d in deps if any(d == f or d.startswith(f + ".") for f in FORBIDDEN[package]))
    assert bad == []
