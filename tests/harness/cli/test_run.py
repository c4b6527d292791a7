"""``simharness run`` / ``simharness validate`` on real scenarios."""

import os
import stat
import xml.etree.ElementTree as ET

import pytest

from harness.cli.main import main

GOOD = """\
name: Orange at home
card: alphalink-orange
world: europe
steps:
  - power_on: {country: FR}
  - expect: {registered: "208-01", profile: domestic}
"""
BAD = """\
name: Wrong network expected
card: alphalink-orange
world: europe
steps:
  - power_on: {country: FR}
  - expect: {registered: "208-10"}
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad.yaml").write_text(BAD)
    (tmp_path / "broken.yaml").write_text("name: x\ncard: alphalink-orange\nworld: europe\nsteps:\n  - fly\n")
    return tmp_path


def test_run_passing_scenario_exits_0_and_prints_the_table(files, capsys):
    assert main(["run", "-q", str(files / "good.yaml")]) == 0
    out = capsys.readouterr().out
    assert "good" in out and "passed" in out and "2/2" in out
    assert "1 passed, 0 failed, 0 invalid" in out


def test_run_with_a_failure_exits_1_and_shows_the_diff(files, capsys):
    assert main(["run", "-q", str(files / "good.yaml"), str(files / "bad.yaml")]) == 1
    out = capsys.readouterr().out
    assert f"{files / 'bad.yaml'}:6: step 2" in out
    assert "expected: '208-10'" in out and "actual:   '208-01'" in out
    assert "1 passed, 1 failed" in out


def test_run_reports_invalid_files(files, capsys):
    assert main(["run", "-q", str(files)]) == 1
    out = capsys.readouterr().out
    assert f"{files / 'broken.yaml'}:5:" in out and "1 invalid" in out


def test_run_junitxml(files, tmp_path):
    report = tmp_path / "out" / "junit.xml"
    main(["run", "-q", "--junitxml", str(report), str(files / "good.yaml"), str(files / "bad.yaml")])
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["bad"]
    assert "208-10" in failed[0].find("failure").text


@pytest.mark.parametrize(("option", "where", "why"), [
    ("--junitxml", "/dev/full", "No space left on device"),
    ("--report", "/dev/full", "No space left on device"),
    ("--junitxml", ".", "Is a directory"),
    ("--report", ".", "Is a directory"),
    ("--events", ".", "Is a directory"),
])
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(files, capsys, option, where, why):
    path = str(files) if where == "." else where
    assert main(["run", "-q", option, path, str(files / "good.yaml")]) == 2
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"error: {option} {path}: cannot write it ({why})"


def test_events_written_to_a_device_leave_the_device_in_place(files, capsys):
    null = files / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    assert main(["run", "-q", "--events", str(null), str(files / "good.yaml")]) == 0
    assert stat.S_ISCHR(os.stat(null).st_mode)  # written through, not replaced by a file


def test_run_keyword_filter(files, capsys):
    assert main(["run", "-q", "-k", "good", str(files / "good.yaml"), str(files / "bad.yaml")]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_validate_checks_without_running(files, capsys):
    assert main(["validate", str(files / "good.yaml"), str(files / "bad.yaml")]) == 0
    assert "2/2 files valid, 2 scenarios" in capsys.readouterr().out
    assert main(["validate", str(files)]) == 1
    err = capsys.readouterr().err
    assert f"{files / 'broken.yaml'}:5: steps/0: 'fly' is not an allowed value: allowed: power_on," in err


def test_validate_bundled_suite(capsys):
    from harness.paths import ROOT

    assert main(["validate", str(ROOT / "scenarios")]) == 0


def test_run_table_keeps_matrix_ids(tmp_path, capsys):
    (tmp_path / "trip.yaml").write_text(
        "name: Power on in ${country}\ncard: alphalink-orange\nworld: europe\n"
        "matrix:\n  - {id: fr, vars: {country: FR, roams: false}}\n"
        "  - {id: be, vars: {country: BE, roams: true}}\n"
        "steps:\n  - power_on: {country: \"${country}\"}\n  - expect: {roaming: \"${roams}\"}\n")
    assert main(["run", "-q", str(tmp_path / "trip.yaml")]) == 0
    out = capsys.readouterr().out
    assert "trip[fr]" in out and "trip[be]" in out  # brackets are not taken for console markup


def test_scenario_on_a_pin_protected_card_gets_pin1_from_the_profile(tmp_path, capsys):
    (tmp_path / "pin.yaml").write_text(
        "name: PIN1 typed at power-on\ncard: alphalink-orange\nworld: europe\n"
        "steps:\n  - power_on: {country: FR}\n"
        "  - expect:\n      registered: \"208-01\"\n      apdus:\n"
        "        - {ins: VERIFY, data: \"30303030FFFFFFFF\", sw: \"9000\", count: 1}\n")
    (tmp_path / "nopin.yaml").write_text(
        "name: No PIN typed\ncard: alphalink-orange\nworld: europe\nconfig: {pin: null}\n"
        "steps:\n  - power_on: {country: FR}\n"
        "  - expect: {registered: null, status: {sim: pin_required}}\n")
    assert main(["run", "-q", str(tmp_path / "pin.yaml"), str(tmp_path / "nopin.yaml")]) == 0


def test_xfail_scenario_must_fail(tmp_path, capsys):
    marked = "xfail: the network is expected to be Bouygues in a future world\n"
    (tmp_path / "known.yaml").write_text(BAD.replace("steps:\n", marked + "steps:\n"))
    (tmp_path / "fixed.yaml").write_text(GOOD.replace("steps:\n", marked + "steps:\n"))
    assert main(["run", "-q", str(tmp_path / "known.yaml")]) == 0
    assert "0 passed, 0 failed, 1 xfailed" in capsys.readouterr().out
    assert main(["run", "-q", str(tmp_path / "fixed.yaml")]) == 1  # a pass is reported (strict)
    assert "xpassed" in capsys.readouterr().out
