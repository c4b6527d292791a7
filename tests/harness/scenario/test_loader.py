"""Scenario files: schema, file:line errors, block and matrix expansion, bundled suite validity."""

import json
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from csim.yamlsrc import DataError
from harness.paths import FIXTURES
from harness.scenario import loader as scenario

# a card profile that loads (the loader checks the profile a scenario names)
CARD = (FIXTURES / "cards" / "alphalink-orange.yaml").read_text(encoding="utf-8")
WORLD = """\
name: test-world
zones:
  france: {label: France, domestic: true}
  eea: {label: Zone 1/1B}
countries:
  FR: {name: France, mcc: ["208"], zone: france}
  BE: {name: Belgium, mcc: ["206"], zone: eea}
  DE: {name: Germany, mcc: ["262"], zone: eea}
operators:
  - {plmn: "208-01", name: Orange F, rats: [4G]}
locations:
  FR:
    cells:
      - {plmn: "208-01", rats: {4G: -80}, area: 1}
"""
HEAD = "name: t\ncard: ./card.yaml\nworld: ./world.yaml\n"


@pytest.fixture
def write(tmp_path):
    (tmp_path / "card.yaml").write_text(CARD)
    (tmp_path / "world.yaml").write_text(WORLD)

    def _write(text, name="s.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return _write


def error_of(path):
    with pytest.raises(DataError) as info:
        scenario.load_file(path)
    return info.value


def test_published_schema_is_a_valid_draft_2020_12_schema():
    schema = json.loads(scenario.SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    assert set(scenario.STEP_KINDS) <= set(schema["$defs"]["step"]["else"]["properties"])


def test_simple_scenario_loads_into_steps_with_lines(write):
    path = write(HEAD + textwrap.dedent("""\
        markers: [roaming, slow]
        config: {selection: manual}
        steps:
          - power_on: {country: FR}
          - expect: {registered: "208-01", roaming: false}
          - wait: 5m
          - power_off
        """))
    [scn] = scenario.load_file(path)
    assert scn.name == "t" and scn.markers == ("roaming", "slow")
    assert scn.config == {"selection": "manual"}
    assert [(s.kind, s.line) for s in scn.steps] == [("power_on", 7), ("expect", 8), ("wait", 9),
                                                      ("power_off", 10)]
    assert scn.steps[1].args == {"registered": "208-01", "roaming": False}
    assert scenario.parse_duration(scn.steps[2].args) == 300.0
    assert scn.test_id == "s"


@pytest.mark.parametrize("text, line, message", [
    ("steps:\n  - power_on\n  - move: country: BE\n", 6, "invalid YAML"),
    ("steps:\n  - power_on\n  - mvoe: {country: BE}\n", 6, "'mvoe' was unexpected"),
    ("steps:\n  - power_on\n  - move: {}\n", 6, "'country' is a required property"),
    ("steps:\n  - power_on\n  - data_roaming: maybe\n", 6, "expected true or false"),
    ("steps:\n  - power_on\n  - select_manual: '2080'\n", 6, 'expected a PLMN as MCC-MNC, e.g. "208-01"'),
    ("steps:\n  - power_on\n  - expect:\n      roaming: false\n      rat: 6G\n", 8, "expect/rat"),
    ("steps:\n  - power_on\n  - wait: -3\n", 6, "less than the minimum of 0"),
    ("steps:\n  - sleep\n", 5, "'sleep' is not an allowed value: allowed: power_on, "),
    ("steps:\n  - {move: {country: BE}, wait: 3}\n", 5, "several steps (move, wait)"),
    ("steps:\n  - power_on\n  - move: {country: IT}\n", 6, "unknown country 'IT'"),
    ("steps:\n  - use: nowhere\n", 5, "unknown block 'nowhere'"),
    ("steps:\n  - select_manual: ${plmn}\n", 5, "undefined variable ${plmn}"),
    ("steps:\n  - power_on\nsteps:\n  - power_off\n", 6, "duplicate key 'steps'"),
    ("stpes:\n  - power_on\n", 4, "'stpes' was unexpected"),
])
def test_errors_name_the_file_and_line(write, text, line, message):
    path = write(HEAD + text)
    err = error_of(path)
    assert err.source == str(path)
    assert err.line == line, str(err)
    assert message in str(err)
    assert str(err).startswith(f"{path}:{line}: ")


def test_unknown_card_profile_and_world_point_at_their_keys(write):
    err = error_of(write("name: t\nworld: ./world.yaml\ncard: no-such-card\nsteps: [power_on]\n"))
    assert err.line == 3 and "unknown card profile 'no-such-card'" in str(err)
    err = error_of(write("name: t\ncard: ./card.yaml\nworld: atlantis\nsteps: [power_on]\n"))
    assert err.line == 3 and "unknown world 'atlantis'" in str(err)


def test_blocks_expand_with_parameters_defaults_and_origin(write):
    path = write(HEAD + textwrap.dedent("""\
        blocks:
          cross:
            params: {country: null, plmn: null, profile: domestic}
            steps:
              - move: {country: "${country}"}
              - expect: {registered: "${plmn}", profile: "${profile}"}
          trip:
            params: {to: null}
            steps:
              - use: cross
                with: {country: "${to}", plmn: "262-01", profile: international}
        steps:
          - power_on: {country: FR}
          - use: cross
            with: {country: BE, plmn: "206-01"}
          - use: trip
            with: {to: DE}
        """))
    [scn] = scenario.load_file(path)
    got = [(s.kind, s.args, s.line, s.via) for s in scn.steps]
    assert got == [
        ("power_on", {"country": "FR"}, 16, ()),
        ("move", {"country": "BE"}, 8, (("cross", 17),)),
        ("expect", {"registered": "206-01", "profile": "domestic"}, 9, (("cross", 17),)),
        ("move", {"country": "DE"}, 8, (("trip", 19), ("cross", 13))),
        ("expect", {"registered": "262-01", "profile": "international"}, 9, (("trip", 19), ("cross", 13))),
    ]
    assert [s.index for s in scn.steps] == [0, 1, 2, 3, 4]
    assert scn.steps[3].where("s.yaml") == (
        "s.yaml:8 (block 'cross' used at line 13) (block 'trip' used at line 19)")


@pytest.mark.parametrize("use, line, message", [
    ("  - use: cross\n", 10, "block 'cross' needs parameter 'country'"),
    ("  - use: cross\n    with: {country: BE, colour: red}\n", 11, "has no parameter 'colour'"),
    ("  - use: cross\n    with: {country: true}\n", 8,
     "not of type 'string' (in block 'cross' used at line 10)"),
])
def test_block_parameter_errors(write, use, line, message):
    path = write(HEAD + "blocks:\n  cross:\n    params: {country: null}\n    steps:\n"
                 "      - move: {country: \"${country}\"}\nsteps:\n" + use)
    err = error_of(path)
    assert err.line == line, str(err)
    assert message in str(err)


def test_a_block_that_uses_itself_is_an_error(write):
    path = write(HEAD + "blocks:\n  a:\n    steps: [{use: b}]\n  b:\n    steps: [{use: a}]\n"
                 "steps:\n  - use: a\n")
    err = error_of(path)
    assert "block 'a' uses itself (a -> b -> a)" in str(err)


def test_blocks_imported_from_a_library_file(write):
    lib = write("blocks:\n  home:\n    steps:\n      - move: {country: FR}\n", name="lib.yaml")
    assert scenario.load_file(lib) == []  # a library gives no scenario
    path = write(HEAD + "import: [lib.yaml]\nsteps:\n  - power_on: {country: BE}\n  - use: home\n")
    [scn] = scenario.load_file(path)
    assert scn.steps[1].kind == "move" and scn.steps[1].line == 4 and scn.steps[1].via == (("home", 7),)
    err = error_of(write(HEAD + "import: [missing.yaml]\nsteps: [power_on]\n"))
    assert err.line == 4 and "cannot import 'missing.yaml'" in str(err)


def test_matrix_list_expands_one_scenario_per_entry_with_ids_and_vars(write):
    path = write(HEAD.replace("name: t", "name: Visit ${dest}") + textwrap.dedent("""\
        markers: [roaming]
        matrix:
          - {id: belgium, vars: {dest: BE, plmn: "206-01"}, markers: [eea]}
          - {id: germany, vars: {dest: DE, plmn: "262-01"}, config: {selection: manual}}
        steps:
          - power_on: {country: "${dest}"}
          - expect: {registered: "${plmn}", country: "${dest}"}
        """))
    a, b = scenario.load_file(path)
    assert (a.test_id, b.test_id) == ("s[belgium]", "s[germany]")
    assert (a.name, b.name) == ("Visit BE", "Visit DE")
    assert a.markers == ("roaming", "eea") and b.markers == ("roaming",)
    assert b.config == {"selection": "manual"} and a.config == {}
    assert a.steps[1].args == {"registered": "206-01", "country": "BE"}
    assert b.steps[0].args == {"country": "DE"}


def test_matrix_axes_expand_to_the_cartesian_product(write, tmp_path):
    (tmp_path / "card2.yaml").write_text(CARD)
    path = write(HEAD + "matrix:\n  card: [./card.yaml, ./card2.yaml]\n"
                 "steps:\n  - power_on\n  - expect: {imsi: \"208019900000001\"}\n")
    scns = scenario.load_file(path)
    assert [s.matrix_id for s in scns] == ["./card.yaml", "./card2.yaml"]
    assert scns[1].card_path == tmp_path / "card2.yaml"


def test_matrix_variables_are_checked_after_substitution(write):
    path = write(HEAD + "matrix:\n  - {id: a, vars: {flag: 3}}\nsteps:\n  - data_roaming: ${flag}\n")
    err = error_of(path)
    assert err.line == 7 and "after substituting variables" in str(err) and "data_roaming" in str(err)
    dup = write(HEAD + "matrix:\n  - {id: a}\n  - {id: a}\nsteps: [power_on]\n")
    err = error_of(dup)
    assert err.line == 6 and "matrix id 'a' repeats the entry at line 5" in str(err)


def test_typed_variables_keep_their_type(write):
    path = write(HEAD + "vars: {roams: true, seconds: 90}\nsteps:\n  - power_on\n"
                 "  - wait: ${seconds}\n  - expect: {roaming: \"${roams}\"}\n")
    [scn] = scenario.load_file(path)
    assert scn.steps[1].args == 90 and scn.steps[2].args == {"roaming": True}


def test_durations():
    assert scenario.parse_duration(12) == 12.0
    assert scenario.parse_duration("30s") == 30.0
    assert scenario.parse_duration("5m") == 300.0
    assert scenario.parse_duration("1.5h") == 5400.0
    with pytest.raises(ValueError):
        scenario.parse_duration("soon")


def test_every_bundled_scenario_is_valid():
    root = Path(scenario.ROOT, "scenarios")
    files = scenario.iter_files([root])
    scns = [s for f in files for s in scenario.load_file(f)]
    assert len(scns) >= 30
    assert len({s.test_id for s in scns}) == len(scns)
    for s in scns:
        assert any(step.kind == "expect" for step in s.steps), s.test_id


def test_imports_are_followed_once_each_and_a_cycle_is_an_error(write):
    write("blocks:\n  common:\n    steps: [power_on]\n", "lib-c.yaml")
    write("import: [lib-c.yaml]\nblocks:\n  a:\n    steps: [{use: common}]\n", "lib-a.yaml")
    write("import: [lib-c.yaml]\nblocks:\n  b:\n    steps: [power_off]\n", "lib-b.yaml")
    path = write(HEAD + "import: [lib-a.yaml, lib-b.yaml]\nsteps:\n  - use: a\n  - use: b\n")
    scn = scenario.load_file(path)[0]
    assert [s.kind for s in scn.steps] == ["power_on", "power_off"]
    write("import: [lib-a.yaml]\nblocks:\n  c:\n    steps: [power_on]\n", "lib-c.yaml")
    err = error_of(write(HEAD + "import: [lib-a.yaml]\nsteps:\n  - use: a\n"))
    assert str(err).endswith("lib-c.yaml:1: circular import (lib-a.yaml -> lib-c.yaml -> lib-a.yaml)")


def test_time_never_goes_back_behind_the_waits_and_advances(write):
    plan = "plan: {offer: alphalink-orange-unlimited-50gb-blocked}\nstart: 2026-03-01T00:00\n"
    ok = write(HEAD + plan + "steps:\n  - wait: 1h\n  - at: 2026-03-01T01:00\n  - advance: 1d\n"
               "  - at: 2026-03-02T01:00\n")
    assert [s.kind for s in scenario.load_file(ok)[0].steps] == ["wait", "at", "advance", "at"]
    err = error_of(write(HEAD + plan + "steps:\n  - advance: 1d\n  - at: 2026-03-01T12:00\n"))
    assert str(err).endswith("s.yaml:8: at: 2026-03-01T12:00 goes back in time "
                             "(the scenario is at 2026-03-02T00:00 or later by then)")


def test_a_yaml_name_that_is_no_readable_file_is_listed_and_its_read_reports_it(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ok.yaml").write_text("name: x\n", encoding="utf-8")
    (tmp_path / "dangling.yaml").symlink_to("missing.yaml")
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    (tmp_path / "folder.yaml").mkdir()
    files = scenario.iter_files([tmp_path])
    names = [f.relative_to(tmp_path).as_posix() for f in files]
    assert names == ["dangling.yaml", "loop.yaml", "sub/ok.yaml"]
    reasons = []
    for f in files[:2]:
        with pytest.raises(DataError) as err:
            scenario.load_file(f)
        reasons.append(str(err.value))
    assert reasons == [f"{files[0]}: no such file",
                       f"{files[1]}: cannot read: Too many levels of symbolic links"]
