"""The pytest plugin: YAML scenarios collected and replayed, failures readable, xdist and junitxml."""

import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

pytest_plugins = ["pytester"]

PASSING = """\
name: Orange at home
card: alphalink-orange
world: europe
markers: [home]
steps:
  - power_on: {country: FR}
  - expect: {registered: "208-01", roaming: false, profile: domestic}
"""

FAILING = """\
name: Wrong expectation in Belgium
card: alphalink-orange
world: europe
markers: [roaming]
steps:
  - power_on: {country: FR}
  - move: {country: BE}
  - expect:
      roaming: true
      registered: "262-01"
"""

MATRIX = """\
name: Power on in ${country}
card: alphalink-orange
world: europe
matrix:
  - {id: fr, vars: {country: FR, roaming: false}}
  - {id: be, vars: {country: BE, roaming: true}}
steps:
  - power_on: {country: "${country}"}
  - expect: {roaming: "${roaming}"}
"""


@pytest.fixture
def suite(pytester):
    pytester.makefile(".yaml", **{"scenarios/home": PASSING, "scenarios/belgium": FAILING,
                                  "scenarios/trip": MATRIX})
    return pytester


def test_scenarios_are_collected_one_item_per_matrix_entry(suite):
    result = suite.runpytest("--collect-only", "-q", "scenarios")
    result.stdout.fnmatch_lines([
        "scenarios/belgium.yaml::belgium",
        "scenarios/home.yaml::home",
        "scenarios/trip.yaml::trip[[]fr[]]",
        "scenarios/trip.yaml::trip[[]be[]]",
    ])


def test_passing_and_failing_scenarios(suite):
    result = suite.runpytest("scenarios")
    result.assert_outcomes(passed=3, failed=1)


def test_failure_shows_file_line_step_diff_and_apdu_tail(suite):
    result = suite.runpytest("scenarios/belgium.yaml")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "scenarios/belgium.yaml:8: step 3 (expect {roaming: true, registered: 262-01})" in out
    result.stdout.fnmatch_lines([
        "*registered  expected: '262-01'*",
        "*            actual:   '206-01'*",
        "last * APDUs:",
    ])
    assert "roaming  expected" not in out  # met expectations are not reported
    assert "ENVELOPE 80C2" in out or "80C2" in out


def test_keyword_and_marker_selection(suite):
    result = suite.runpytest("scenarios", "-k", "home")
    result.assert_outcomes(passed=1)
    result = suite.runpytest("scenarios", "-m", "roaming")
    result.assert_outcomes(failed=1)
    result = suite.runpytest("scenarios", "-k", "trip and be")
    result.assert_outcomes(passed=1)


def test_junitxml_report(suite):
    report = suite.path / "report.xml"
    suite.runpytest("scenarios", f"--junitxml={report}")
    root = ET.parse(report).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"home", "belgium", "trip[fr]", "trip[be]"}
    failure = cases["belgium"].find("failure")
    assert failure is not None and "registered" in failure.text
    assert cases["home"].find("failure") is None


def test_broken_yaml_is_a_collection_error_with_its_line(pytester):
    pytester.makefile(".yaml", **{"scenarios/broken": "name: x\ncard: alphalink-orange\nworld: europe\n"
                                  "steps:\n  - power_on: {country: FR}\n  - mvoe: {country: BE}\n"})
    result = pytester.runpytest("scenarios")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*scenarios/broken.yaml:6: steps/1: unknown key(s) ('mvoe' was unexpected)*"])


def test_yaml_outside_scenario_directories_is_ignored(pytester):
    pytester.makefile(".yaml", **{"data/notes": "just: data\n"})
    result = pytester.runpytest("data")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_xdist_two_local_gateways(suite):
    """The suite spread over two execnet gateways, as over two machines (docs/scenarios.md)."""
    py = sys.executable
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--dist", "load",
                                        "--tx", f"popen//python={py}", "--tx", f"popen//python={py}",
                                        "scenarios")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["created: 2/2 workers"])
    ran_on = {line.split("]", 1)[0] + "]" for line in result.outlines
              if line.startswith("[gw") and ("PASSED" in line or "FAILED" in line)}
    assert ran_on == {"[gw0]", "[gw1]"}, result.outlines  # both gateways replayed scenarios


def test_xdist_numprocesses(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "scenarios")
    result.assert_outcomes(passed=3, failed=1)


def test_fixtures_for_plain_python_tests(pytester):
    pytester.makepyfile(textwrap.dedent("""\
        import pytest

        def test_power_on(sim_card, modem, world, event_log):
            modem.power_on(country="FR")
            assert modem.status()["registered"] == "208-01"
            assert "FR" in world.countries
            assert any(e.kind == "apdu" for e in event_log)
            assert sim_card.atr

        @pytest.mark.card("alphalink-orange")
        @pytest.mark.world("europe")
        def test_markers_pick_the_card(modem):
            modem.power_on(country="BE")
            assert modem.status()["registered"] == "206-01"
        """))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_xfail_scenarios_are_strict(pytester):
    mark = "xfail: known defect elsewhere\n"
    pytester.makefile(".yaml", **{"scenarios/known": FAILING.replace("steps:\n", mark + "steps:\n"),
                                  "scenarios/fixed": PASSING.replace("steps:\n", mark + "steps:\n")})
    result = pytester.runpytest("-p", "no:cacheprovider", "scenarios")
    result.assert_outcomes(xfailed=1, failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*known defect elsewhere*"])
