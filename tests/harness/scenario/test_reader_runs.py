"""Scenarios replayed on a card in a PC/SC reader, as a QA engineer runs them on a physical card.

The card is the simulated alphalink-orange card served in the vpcd reader of a private pcscd
(the hil plugin's ``serve_card``); ``simharness run --reader`` runs in its own process and
knows nothing of how the card got there: it gets the keys, the PIN and the right to write
only from its options.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ORANGE = ROOT / "fixtures" / "cards" / "alphalink-orange.yaml"
HOME = ROOT / "scenarios" / "01_home_france.yaml"


@pytest.fixture
def orange_in_reader(serve_card, pcscd_service):
    from csim import Card

    card = Card.from_profile(str(ORANGE))
    serve_card(card, slot=0)
    return card, pcscd_service


def simharness_run(env_from, *args: str, pin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **env_from.env, COLUMNS="200")
    env.pop("SIMHARNESS_PIN1", None)
    if pin is not None:
        env["SIMHARNESS_PIN1"] = pin
    return subprocess.run([sys.executable, "-m", "harness.cli", "run", "-q", *args],  # noqa: S603
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)


def test_a_scenario_runs_on_the_card_in_the_reader(orange_in_reader, tmp_path):
    card, service = orange_in_reader
    run = simharness_run(service, str(HOME), "--reader", "0", "--expect-profile", str(ORANGE),
                         "--allow-terminal-writes", "--events", str(tmp_path / "ev.jsonl"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 0 failed" in run.stdout and "card in PC/SC reader 0" in run.stdout
    # the terminal's location update reached the card in the reader
    assert card.read_file("3F00/7FF0/6F7E")[4:7] == bytes.fromhex("02F810")  # LAI of 208-01


def test_scenarios_for_another_card_are_skipped_with_the_reason(orange_in_reader):
    _, service = orange_in_reader
    other = ROOT / "scenarios" / "32_bouygues_germany.yaml"
    run = simharness_run(service, str(other), str(HOME), "--reader", "0", "--expect-profile", str(ORANGE),
                         "--allow-terminal-writes")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "the scenario is written for" in run.stdout


def test_terminal_writes_need_the_flag_and_nothing_is_written(orange_in_reader):
    card, service = orange_in_reader
    before = card.read_file("3F00/7FF0/6F7E")
    run = simharness_run(service, str(HOME), "--reader", "0", "--expect-profile", str(ORANGE))
    assert run.returncode == 1
    assert "EF_LOCI (6F7E) refused" in run.stdout and "--allow-terminal-writes" in run.stdout
    assert card.read_file("3F00/7FF0/6F7E") == before


def _pin1() -> str | None:
    from csim.profile import load_profile

    pin = load_profile(ORANGE).pins["pin1"]
    return pin.value.rstrip(b"\xff").decode() if pin.enabled else None


def test_without_keys_registration_stops_with_the_reason(orange_in_reader):
    _, service = orange_in_reader
    run = simharness_run(service, str(HOME), "--reader", "0", "--allow-terminal-writes", pin=_pin1())
    assert run.returncode == 1
    assert "KeysMissing" in run.stdout and "--keys FILE or --expect-profile FILE" in run.stdout


def test_a_wrong_keys_file_stops_the_run_before_any_scenario(orange_in_reader, tmp_path):
    _, service = orange_in_reader
    keys = tmp_path / "keys.yaml"
    keys.write_text("- imsi: '208019900000001'\n  ki: 00\n  opc: 00\n")
    run = simharness_run(service, str(HOME), "--reader", "0", "--keys", str(keys))
    assert run.returncode == 2
    assert f"{keys}:2:" in run.stderr and "ki" in run.stderr


def test_keys_file_gives_the_hss_the_card_keys(orange_in_reader, tmp_path):
    from csim.profile import load_profile

    _, service = orange_in_reader
    prof = load_profile(ORANGE)
    keys = tmp_path / "keys.yaml"
    keys.write_text("".join(f"- imsi: '{p.imsi}'\n  ki: {p.ki.hex()}\n  opc: {p.opc.hex()}\n"
                            for p in prof.imsi_profiles.values()))
    pin = prof.pins["pin1"]
    env = {"SIMHARNESS_PIN1": pin.value.rstrip(b"\xff").decode()} if pin.enabled else {}
    run = subprocess.run([sys.executable, "-m", "harness.cli", "run", "-q", str(HOME), "--reader",
                          "Virtual PCD 00 00", "--keys", str(keys), "--allow-terminal-writes"],  # noqa: S603
                         capture_output=True, text=True, timeout=300, cwd=ROOT,
                         env=dict(os.environ, **service.env, **env, COLUMNS="200"))
    assert run.returncode == 0, run.stdout + run.stderr


def test_no_pcscd_is_one_clear_error(tmp_path):
    env = dict(os.environ, PCSCLITE_CSOCK_NAME=str(tmp_path / "none.comm"))
    run = subprocess.run([sys.executable, "-m", "harness.cli", "run", "-q", str(HOME),  # noqa: S603
                          "--reader", "0"], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert run.returncode == 2
    assert "PC/SC service unavailable" in run.stdout
