"""A bundled scenario or card profile with one line changed or removed either loads or fails with
a ``file:line`` :class:`DataError`: no other exception escapes the loaders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csim.profile import load_profile
from csim.yamlsrc import DataError
from harness.paths import FIXTURES, ROOT
from harness.scenario import loader

VALUES = ["~", "[]", "{}", "-1", ".inf", ".nan", "1e400", "'x'", "2022-02-30", "[1, 2]", "{a: 1}", "true",
          "0", "99999999999999999999", "'${nope}'", "''", "[999]", "[[1]]", "*nothing", "&a [*a]"]
SCENARIOS = sorted(str(p.relative_to(ROOT / "scenarios")) for p in loader.iter_files([ROOT / "scenarios"]))
PROFILES = sorted(p.name for p in (FIXTURES / "cards").glob("*.yaml"))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundled scenarios (their relative imports and card paths keep working)."""
    root = tmp_path_factory.mktemp("mutations")
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    return root


def _mutate(text: str, index: int, value: str | None) -> str:
    lines = text.splitlines()
    k = index % len(lines)
    if value is not None and ":" in lines[k]:
        lines[k] = lines[k][: lines[k].index(":") + 1] + " " + value
    else:
        del lines[k]
    return "\n".join(lines) + "\n"


def _error_line(exc: DataError, path: Path) -> None:
    if exc.source == str(path):
        assert exc.line is not None and exc.line >= 1, str(exc)


@given(name=st.sampled_from(SCENARIOS), index=st.integers(0, 200),
       value=st.none() | st.sampled_from(VALUES))
def test_a_changed_scenario_loads_or_says_where(tree, name, index, value):
    original = tree / "scenarios" / name
    path = original.with_name("mutated-" + original.name)
    path.write_text(_mutate(original.read_text(encoding="utf-8"), index, value), encoding="utf-8")
    try:
        loader.load_file(path)
    except DataError as exc:
        _error_line(exc, path)


@given(name=st.sampled_from(PROFILES), index=st.integers(0, 200),
       value=st.none() | st.sampled_from(VALUES))
def test_a_changed_profile_loads_or_says_where(tmp_path_factory, name, index, value):
    path = tmp_path_factory.mktemp("profile") / name
    path.write_text(_mutate((FIXTURES / "cards" / name).read_text(encoding="utf-8"), index, value),
                    encoding="utf-8")
    try:
        load_profile(path)
    except DataError as exc:
        _error_line(exc, path)
