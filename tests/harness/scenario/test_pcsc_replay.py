"""The bundled scenarios replayed through the real pcscd + vsmartcard-vpcd give the same verdicts
and the same event log, APDU by APDU, as on the in-process card.

Both runs are ``simharness run`` processes: ``--serve`` puts each scenario's fresh simulated card
in the vpcd reader of a private pcscd (its own mount and network namespaces), so every command
crosses libpcsclite, pcscd and the vpcd driver as with a card in a physical reader.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET  # noqa: S405 - parses our own JUnit output
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
REQUIRE_ENV = "SIMHARNESS_REQUIRE_PCSC"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"PC/SC required ({REQUIRE_ENV} is set) but {reason}", pytrace=False)
    pytest.skip(reason)


def _run(out: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    events, junit = out / "events.jsonl", out / "junit.xml"
    proc = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "harness.cli", "run", "-q", str(ROOT / "scenarios"),
         "--events", str(events), "--junitxml", str(junit), *extra],
        capture_output=True, text=True, timeout=900, cwd=ROOT, env=dict(os.environ, COLUMNS="200"))
    return proc, events, junit


def _verdicts(junit: Path) -> dict[str, str]:
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our own file
        kind = next((c.tag for c in case if c.tag in ("failure", "skipped", "error")), "passed")
        out[case.get("name")] = kind
    return out


def _events(path: Path) -> dict[str, list[dict]]:
    by_scenario: dict[str, list[dict]] = {}
    for line in path.read_text().splitlines():
        ev = json.loads(line)
        by_scenario.setdefault(ev.pop("scenario"), []).append(ev)
    return by_scenario


@pytest.fixture(scope="module")
def replays(tmp_path_factory):
    from harness.readers.vpcd import missing_parts

    missing = missing_parts()
    if missing:
        _unavailable(missing)
    base = tmp_path_factory.mktemp("replays")
    (base / "in-process").mkdir()
    (base / "served").mkdir()
    local = _run(base / "in-process")
    served = _run(base / "served", "--serve")
    return local, served


def test_the_served_card_gives_the_same_verdicts(replays):
    (local, _, local_junit), (served, _, served_junit) = replays
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    assert served.returncode == 0, served.stdout[-3000:] + served.stderr[-3000:]
    assert "on the simulated card served through pcscd + vpcd" in served.stdout
    local_v, served_v = _verdicts(local_junit), _verdicts(served_junit)
    assert len(local_v) >= 100  # the bundled suite, not an empty run
    assert served_v == local_v


def test_the_served_card_gives_the_same_event_log_apdu_by_apdu(replays):
    (_, local_events, _), (_, served_events, _) = replays
    local, served = _events(local_events), _events(served_events)
    assert sorted(served) == sorted(local)
    apdus = 0
    for scenario, events in local.items():
        other = served[scenario]
        for i, (a, b) in enumerate(zip(events, other, strict=False)):
            assert a == b, f"{scenario}: event {i} differs:\n in-process: {a}\n served:     {b}"
        assert len(events) == len(other), f"{scenario}: {len(events)} events in-process, {len(other)} served"
        apdus += sum(e["kind"] == "apdu" for e in events)
    assert apdus > 5_000  # every scenario's traffic was compared
