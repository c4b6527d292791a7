from types import SimpleNamespace

import pytest

from harness.scenario import data_steps, plan_steps
from harness.scenario.loader import Step
from harness.scenario.step_groups import OfRun, group_key, modem_view, run_context, serving_plmn


@pytest.mark.parametrize(
    ("kind", "args", "plan", "data"),
    [
        ("consume", {"data": "1GB"}, "consume", None),
        ("data_connect", None, None, "data_connect"),
        ("expect", {"registered": "208-01", "throughput": "full", "pdn": "accepted"}, "throughput", "pdn"),
        ("expect", {"registered": "208-01"}, None, None),
        ("expect", "not a mapping", None, None),
        ("power_on", {"country": "FR"}, None, None),
    ],
)
def test_group_key_per_group(kind, args, plan, data):
    step = Step(index=0, kind=kind, args=args, line=3)
    assert group_key(step, plan_steps.PLAN_STEPS, plan_steps.PLAN_EXPECT) == plan
    assert group_key(step, data_steps.DATA_STEPS, data_steps.DATA_EXPECT) == data


def test_run_context_built_once_per_session():
    built = []

    def build(session):
        built.append(session)
        return {"session": session}

    session = SimpleNamespace()
    first = run_context(session, "_ctx", build)
    assert run_context(session, "_ctx", build) is first
    assert first == {"session": session}
    assert built == [session]
    other = SimpleNamespace()
    assert run_context(other, "_ctx", build) is not first
    assert built == [session, other]


def test_serving_plmn_is_the_modem_views_registration():
    class StandIn:
        def status(self):
            return {"registered": "208-01", "powered": True}

    assert serving_plmn(StandIn()) == modem_view(StandIn())["registered"] == "208-01"
    cell = SimpleNamespace(rat="4G")
    modem = SimpleNamespace(
        usim=SimpleNamespace(iccid="8933", imsi="208019900000001"), registered="208-10", cell=cell,
        powered=True, sim_state="ready", refresh_count=0, data_active=True, roaming=False,
        config=SimpleNamespace(data_roaming=False),
    )
    assert serving_plmn(modem) == modem_view(modem)["registered"] == "208-10"
    modem.registered = None
    assert serving_plmn(modem) is None


def test_run_state_belongs_to_its_session():
    class Run:  # a session stand-in
        pass

    class State(OfRun):
        pass

    run, other = Run(), Run()
    assert State(run).session is run
    assert State(other).session is other
