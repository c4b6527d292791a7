"""Plans in the scenario language: plan declaration errors, clocks, steps and expectations."""

import pytest

from csim.yamlsrc import DataError
from harness.scenario import loader as scenario
from harness.scenario import runner

HEAD = """\
name: plan test
card: alphalink-orange
world: europe
start: "2026-03-01T00:00"
"""


def _load(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path, scenario.load_file(path)


def _error(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(DataError) as exc:
        scenario.load_file(path)
    return str(exc.value), str(path)


def test_unknown_offer_is_a_file_line_error(tmp_path):
    text = HEAD + "plan:\n  offer: alphalink-orange-unlimited-30gb-blokced\nsteps:\n  - consume: 1GB\n"
    msg, path = _error(tmp_path, text)
    assert msg.startswith(f"{path}:6: ")
    assert "unknown offer 'alphalink-orange-unlimited-30gb-blokced'" in msg
    assert "did you mean alphalink-orange-unlimited-30gb-blocked" in msg


def test_bouygues_cutoff_outside_the_list_is_a_file_line_error(tmp_path):
    text = HEAD + ("plan:\n  offer: alphalink-bouygues-unlimited-10gb-blocked\n"
                   "  cutoffs:\n    europe: 75\nsteps:\n  - consume: 1GB\n")
    msg, path = _error(tmp_path, text)
    assert msg.startswith(f"{path}:8: ")
    assert "Europe cut-off 75" in msg and "0 EUR, 50 EUR, 100 EUR, 200 EUR" in msg


def test_orange_cutoff_outside_the_list_is_a_file_line_error(tmp_path):
    text = HEAD + ("plan:\n  offer: alphalink-orange-unlimited-10gb-blocked\n"
                   "  cutoffs: {usa_canada: 2GB}\nsteps:\n  - consume: 1GB\n")
    msg, path = _error(tmp_path, text)
    assert msg.startswith(f"{path}:7: ")
    assert "cut-off '2GB' for usa_canada is not one of AlphaLink Orange's cut-offs" in msg


def test_plan_step_without_plan_is_a_file_line_error(tmp_path):
    msg, path = _error(tmp_path, HEAD + "steps:\n  - power_on: {country: FR}\n  - consume: 1GB\n")
    assert msg.startswith(f"{path}:7: ")
    assert "declare 'plan:'" in msg


def test_bad_volume_reads_as_a_volume_error(tmp_path):
    text = HEAD + "plan: {offer: alphalink-orange-unlimited-10gb-blocked}\nsteps:\n  - consume: lots\n"
    msg, path = _error(tmp_path, text)
    assert msg.startswith(f"{path}:7: ")


def test_change_to_unknown_offer_is_a_file_line_error(tmp_path):
    text = HEAD + ("plan: {offer: alphalink-orange-unlimited-10gb-blocked}\nsteps:\n"
                   "  - change_plan: alphalink-orange-unlimited-40gb-blocked\n")
    msg, path = _error(tmp_path, text)
    assert msg.startswith(f"{path}:7: ") and "unknown offer" in msg


def test_scenario_without_plan_builds_no_engine(tmp_path):
    _, (scn,) = _load(tmp_path, HEAD + "steps:\n  - power_on: {country: FR}\n  - wait: 1h\n")
    session = runner.Session.for_scenario(scn)
    runner.run(scn, session)
    assert getattr(session, "_plan_context", None) is None


def test_advance_moves_the_engine_and_the_modem_together(tmp_path):
    text = HEAD + ("plan: {offer: alphalink-orange-unlimited-10gb-blocked}\nsteps:\n"
                   "  - power_on: {country: FR}\n  - advance: 3d\n  - wait: 1h\n  - consume: 1GB\n"
                   "  - at: \"2026-04-01T00:00\"\n")
    _, (scn,) = _load(tmp_path, text)
    session = runner.Session.for_scenario(scn)
    runner.run(scn, session)
    ctx = session._plan_context
    assert ctx.engine.clock.now.isoformat() == "2026-04-01T00:00:00"
    assert session.modem.status()["time"] == 31 * 86400
    usage = session.log.of_kind("usage")[0]
    assert usage.time == 3 * 86400 + 3600  # the modem's wait counted for the engine too
    assert session.log.of_kind("month_start")[0].time == 31 * 86400


def test_unmet_plan_expectation_reports_expected_and_actual(tmp_path):
    text = HEAD + ("plan: {offer: alphalink-orange-unlimited-10gb-blocked}\nsteps:\n"
                   "  - consume: {data: 9GB, country: FR}\n"
                   "  - expect: {alerts: [80, 100], remaining: 2GB, throughput: blocked}\n")
    _, (scn,) = _load(tmp_path, text)
    with pytest.raises(runner.ScenarioFailure) as exc:
        runner.run(scn)
    failure = exc.value
    assert failure.line == 8
    assert failure.expected == {
        "alerts": [80, 100], "remaining.envelope": "2GB", "throughput.france": "blocked"}
    assert failure.actual == {
        "alerts": ["envelope 80%"], "remaining.envelope": "1GB", "throughput.france": "full"}


def test_consume_without_zone_needs_a_registered_modem(tmp_path):
    text = HEAD + "plan: {offer: alphalink-orange-unlimited-10gb-blocked}\nsteps:\n  - consume: 1GB\n"
    _, (scn,) = _load(tmp_path, text)
    with pytest.raises(runner.ScenarioFailure) as exc:
        runner.run(scn)
    assert "the modem is not registered" in str(exc.value)


def test_serving_network_decides_the_zone(tmp_path):
    text = HEAD + ("plan: {offer: alphalink-orange-unlimited-10gb-blocked, cutoffs: {maghreb_turkey: 1GB}}\n"
                   "steps:\n  - power_on: {country: FR}\n  - move: {country: TR}\n  - consume: 300MB\n"
                   "  - expect: {counters: {data: {maghreb_turkey: 300MB, france: 0MB}}, "
                   "remaining: {maghreb_turkey: 700MB}}\n")
    _, (scn,) = _load(tmp_path, text)
    assert runner.run(scn).passed
