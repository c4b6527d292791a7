"""The command line a newcomer meets: --version, list, new scenario, help on everything."""

import argparse
import json
import subprocess
import sys
from importlib.metadata import version

import pytest

from harness.cli.main import build_parser, main


def test_version_is_the_installed_distribution(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"simharness {version('simharness')}"


def _actions(parser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, (*path, name))
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            yield " ".join(path), action


def _commands(parser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield " ".join((*path, name)), helps.get(name), sub.description
                yield from _commands(sub, (*path, name))


def test_every_command_and_argument_has_help_text():
    parser = build_parser()
    commands = list(_commands(parser))
    assert {"run", "validate", "list", "new scenario", "card serve", "smdp serve", "readers", "trace",
            "reader read"} <= {
        c for c, _, _ in commands}
    missing = [c for c, helptext, description in commands if not helptext or not description]
    assert missing == []
    arguments = list(_actions(parser))
    assert len(arguments) > 40
    assert [f"{c}: {a.dest}" for c, a in arguments if not a.help] == []


@pytest.mark.parametrize("kind,expected", [
    ("cards", "alphalink-orange"), ("worlds", "europe"), ("operators", "orange-france"),
    ("plans", "alphalink"), ("offers", "alphalink-bouygues-compteur"), ("events", "registration"),
])
def test_list_names_what_a_scenario_can_use_with_a_description(kind, expected, capsys):
    assert main(["list", kind]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(line for line in lines if line.split()[0] == expected)
    assert len(line.split()) > 1  # a description follows the name
    assert main(["list", kind, "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert len(entries) == len(lines)
    entry = next(e for e in entries if e["name"] == expected)
    assert entry["description"]


def test_list_cards_describes_each_card_from_its_profile(capsys):
    assert main(["list", "cards", "--json"]) == 0
    orange = next(e for e in json.loads(capsys.readouterr().out) if e["name"] == "alphalink-orange")
    assert orange["description"] == ("AlphaLink unlimited line on Orange France, "
                                     "domestic + international profiles")
    assert "208019900000001" in orange["detail"]


def test_new_scenario_writes_a_commented_template_that_validates_and_runs(tmp_path, capsys):
    target = tmp_path / "roaming_check.yaml"
    assert main(["new", "scenario", "roaming_check", "--card", "alphalink-orange", "--world", "europe",
                 "-o", str(target)]) == 0
    text = target.read_text()
    assert text.count("\n#") + text.count("  #") >= 5  # commented
    assert "card: alphalink-orange" in text and "country: FR" in text and '"208-01"' in text
    assert main(["validate", str(target)]) == 0
    assert main(["run", "-q", str(target)]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roaming_check.yaml"]  # no temp file left


def test_new_scenario_refuses_an_unknown_card_and_an_existing_file(tmp_path, capsys):
    target = tmp_path / "x.yaml"
    assert main(["new", "scenario", "x", "--card", "nosuchcard", "--world", "europe", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert "unknown card 'nosuchcard'" in err and "alphalink-orange" in err
    assert not target.exists()
    target.write_text("keep me\n")
    assert main(["new", "scenario", "x", "--card", "alphalink-orange", "-o", str(target)]) == 2
    assert "exists" in capsys.readouterr().err
    assert target.read_text() == "keep me\n"


def test_new_scenario_where_nothing_can_be_written_is_one_line_and_exit_2(capsys):
    assert main(["new", "scenario", "x", "--card", "alphalink-orange", "-o", "/proc/simharness/x.yaml"]) == 2
    err = capsys.readouterr().err
    assert err == "error: /proc/simharness/x.yaml: cannot write it (No such file or directory)\n"


def test_commands_run_as_a_module_with_help():
    out = subprocess.run([sys.executable, "-m", "harness.cli", "reader", "read", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "--pin-attempts-ok" in out.stdout and "SIMHARNESS_PIN1" in out.stdout


def test_every_bundled_card_gets_a_template_that_validates_and_runs(tmp_path, capsys):
    from csim.profile import bundled_profiles

    cards = bundled_profiles()
    for card in cards:
        assert main(["new", "scenario", f"start_{card}", "--card", card, "--world", "europe",
                     "-o", str(tmp_path / f"start_{card}.yaml")]) == 0, card
    assert main(["validate", str(tmp_path)]) == 0
    assert main(["run", "-q", str(tmp_path)]) == 0
    assert f"{len(cards)} passed, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["read", "check"])
def test_reader_refuses_a_malformed_pin_before_touching_the_card(
        command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A $SIMHARNESS_PIN1 that is not 4 to 8 digits (TS 102 221 §9.5.2) is one line, no traceback, and no
    reader is opened (reader 99 does not exist)."""
    monkeypatch.setenv("SIMHARNESS_PIN1", "12ab")
    argv = ["reader", command, "--reader", "99"] + (["alphalink-orange"] if command == "check" else [])
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "$SIMHARNESS_PIN1: a PIN is 4 to 8 digits; nothing was sent to the card" in err
    assert "Traceback" not in err
