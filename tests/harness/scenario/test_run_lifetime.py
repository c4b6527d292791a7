"""A run's objects are freed when the run is dropped: no reference cycle between a session and
its step groups' state, or between a card, its CAT runtime and its applets."""

import gc

import pytest

from harness.paths import ROOT
from harness.scenario import loader, runner

FILES = [
    "scenarios/03_france_belgium_germany.yaml",   # the roaming applet switching IMSI
    "scenarios/plans/05_orange_europe_cutoff_envelope.yaml",
    "scenarios/data/29_plan_blocked_rejects_and_cuts.yaml",
    "scenarios/lines/55_sim_swap_new_card_carries_the_line.yaml",
]


@pytest.mark.parametrize("path", FILES)
def test_a_dropped_run_leaves_no_cyclic_garbage(path):
    scenarios = loader.load_file(ROOT / path)
    for scn in scenarios:  # first runs load fixtures and fill the per-profile tables
        runner.replay(scn)
    gc.collect()
    gc.disable()
    try:
        for scn in scenarios:
            session = runner.Session.for_scenario(scn)
            result = runner.replay(scn, session)
            assert result.passed, result.failure
            del session, result
        assert gc.collect() == 0
    finally:
        gc.enable()
