"""pytest plugin: YAML scenarios as test items, and card/modem/world fixtures.

``pytest scenarios/`` collects every ``*.yaml`` under a directory named ``scenarios``
(pytest's non-python test collection): one item per scenario and matrix entry, named
``file.yaml::stem[matrix-id]``. Markers listed in the YAML (``markers: [roaming]``) are
applied, so ``-m`` and ``-k`` select scenarios. A failure prints ``file:line``, the failing
step, expected vs actual and the last APDUs. Works with ``--junitxml`` and pytest-xdist.

Plain Python tests get the fixtures ``sim_card``, ``modem``, ``world`` and ``event_log``;
``@pytest.mark.card("alphalink-bouygues")`` and ``@pytest.mark.world("europe")`` pick them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from csim.yamlsrc import DataError
from harness.scenario import loader as scenario
from harness.scenario import runner
from harness.scenario.session import CardMismatch, CardTarget, Session, parse_reader

DEFAULT_CARD = "alphalink-orange"
DEFAULT_WORLD = "europe"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("scenario_dirs", "directory names whose *.yaml files are scenarios",
                  type="args", default=["scenarios"])
    group = parser.getgroup("simharness")
    group.addoption("--scenario-apdus", type=int, default=12, metavar="N",
                    help="APDUs shown when a scenario fails (default 12)")
    # --reader and --expect-profile are the hardware-in-the-loop plugin's (harness.pytest_plugins.hil)
    group.addoption("--serve", action="store_true", default=False,
                    help="replay scenarios on their simulated card served through a private pcscd + vpcd")
    group.addoption("--keys", default=None, metavar="FILE",
                    help="K/OPc by IMSI for the simulated HSS when the card is in a reader (--reader)")
    group.addoption("--allow-terminal-writes", action="store_true", default=False,
                    help="let the terminal write EF_LOCI/PSLOCI/EPSLOCI/FPLMN/KEYS... on a card in a reader")
    group.addoption("--pin-attempts-ok", action="store_true", default=False,
                    help="present PIN1 to a card in a reader even with a single attempt left (you are sure "
                         "of the value); without it a PIN is presented only while 2 attempts remain")
    group.addoption("--aaa", choices=("in-process", "freeradius"), default="in-process",
                    help="the AAA answering the packet core's RADIUS (default in-process)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario: a YAML scenario replayed by simharness")
    config.addinivalue_line("markers", "card(name): card profile for the sim_card/modem fixtures")
    config.addinivalue_line("markers", "world(name): network world for the world/modem fixtures")
    from harness.network.aaa import select_backend

    select_backend(config.getoption("--aaa"))


def _is_scenario_file(path: Path, config: pytest.Config) -> bool:
    if path.suffix not in (".yaml", ".yml") or path.name.startswith("."):
        return False
    dirs = set(config.getini("scenario_dirs"))
    return any(part in dirs for part in path.parent.parts)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_scenario_file(file_path, parent.config):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """One YAML file: one item per scenario (per matrix entry); library files give none."""

    def collect(self) -> Iterator[pytest.Item]:
        for scn in scenario.load_file(self.path):
            for m in scn.markers:
                _register_marker(self.config, m)
            name = f"{Path(scn.source).stem}[{scn.matrix_id}]" if scn.matrix_id else Path(scn.source).stem
            item = ScenarioItem.from_parent(self, name=name, scenario=scn)
            item.add_marker("scenario")
            if scn.xfail:
                item.add_marker(pytest.mark.xfail(reason=scn.xfail, raises=runner.ScenarioFailure,
                                                  strict=True))
            for m in scn.markers:
                item.add_marker(m)
            yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, DataError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _register_marker(config: pytest.Config, name: str) -> None:
    known = config.stash.setdefault(_MARKERS, set())
    if name not in known:
        known.add(name)
        config.addinivalue_line("markers", f"{name}: scenario marker")


_MARKERS = pytest.StashKey[set]()


class ScenarioItem(pytest.Item):
    """One scenario run: builds the session, replays the steps."""

    def __init__(self, *, scenario: scenario.Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: runner.ScenarioResult | None = None

    def runtest(self) -> None:
        try:
            session = Session.for_scenario(self.scenario, card_target(self.config))
        except CardMismatch as exc:
            pytest.skip(str(exc))
        try:
            self.result = runner.run(self.scenario, session,
                                     apdu_tail=self.config.getoption("scenario_apdus"))
        finally:
            session.close()
        self.user_properties.append(("steps", len(self.result.steps)))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        exc = excinfo.value
        if isinstance(exc, runner.ScenarioFailure):
            text = exc.report(self.config.getoption("scenario_apdus"))
            if exc.error and exc.__cause__ is not None:
                tb = excinfo.getrepr(style="short", chain=True)
                text += "\n\ncaused by:\n" + str(tb)
            return text
        if isinstance(exc, DataError):
            return str(exc)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = (self.scenario.line - 1) if self.scenario.line else None
        title = self.scenario.name + (f" [{self.scenario.matrix_id}]" if self.scenario.matrix_id else "")
        return self.path, line, f"scenario: {title}"


# --------------------------------------------------------------------------- fixtures


_TARGET = pytest.StashKey[CardTarget]()


def card_target(config: pytest.Config) -> CardTarget:
    """Where the scenarios' card is, from ``--reader`` / ``--serve`` and their companions (one
    target for the whole session: its keys file and expected profile are read once)."""
    if _TARGET not in config.stash:
        config.stash[_TARGET] = CardTarget(
            reader=parse_reader(config.getoption("--reader", None)),
            serve=bool(config.getoption("--serve")), keys=config.getoption("--keys"),
            expect_profile=config.getoption("--expect-profile", None),
            allow_terminal_writes=bool(config.getoption("--allow-terminal-writes")),
            pin_attempts_ok=bool(config.getoption("--pin-attempts-ok")))
    return config.stash[_TARGET]


def _marker_arg(request: pytest.FixtureRequest, name: str, default: str) -> str:
    mark = request.node.get_closest_marker(name)
    return str(mark.args[0]) if mark and mark.args else default


@pytest.fixture
def sim_session(request: pytest.FixtureRequest) -> Session:
    """A full in-process session: card, transport, event log, world and modem."""
    return Session.build(_marker_arg(request, "card", DEFAULT_CARD),
                                _marker_arg(request, "world", DEFAULT_WORLD))


@pytest.fixture
def sim_card(sim_session: Session) -> Any:
    """The simulated :class:`csim.Card` (profile from ``@pytest.mark.card``, default alphalink-orange)."""
    return sim_session.card


@pytest.fixture
def modem(sim_session: Session) -> Any:
    """The :class:`harness.terminal.modem.Modem` driving ``sim_card`` through an in-process transport."""
    return sim_session.modem


@pytest.fixture
def world(sim_session: Session) -> Any:
    """The :class:`harness.network.world.World` (``@pytest.mark.world``, default europe)."""
    return sim_session.world


@pytest.fixture
def event_log(sim_session: Session) -> Any:
    """The run's :class:`harness.events.EventLog` (APDUs and modem events)."""
    return sim_session.log


def pytest_report_header(config: pytest.Config) -> str | None:
    target = card_target(config)
    if target.in_reader:
        writes = "terminal writes allowed" if target.allow_terminal_writes else "no terminal writes"
        return f"simharness scenarios: {target.describe()} ({writes})"
    if target.serve:
        return f"simharness scenarios: {target.describe()}"
    return None
