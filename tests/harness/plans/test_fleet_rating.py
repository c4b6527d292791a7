"""Rating a fleet's usage records through the policy engine: meters, alerts, blocks, throttling."""

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.plans import PolicyEngine
from harness.plans.units import GB, MB
from harness.plans.zones import ZONES

OFFERS = [
    (
        "alphalink-orange-unlimited-10gb-blocked",
        {"cutoffs": {"usa_canada": "1GB"}, "options": {"world": "2GB"}},
    ),
    ("alphalink-orange-unlimited-1gb-unblocked", {"options": {"maghreb_turkey": "1GB"}}),
    ("alphalink-bouygues-unlimited-5gb-unblocked", {"cutoffs": {"europe": 50, "world": 50}}),
    ("alphalink-bouygues-unlimited-1gb-blocked", {"cutoffs": {"europe": 100}}),
    ("alphalink-bouygues-unlimited-1gb-unblocked", {"cutoffs": {"europe": 0}}),
    ("alphalink-orange-data-only-1gb-unblocked", {}),
    ("alphalink-orange-m2m-10mb-blocked", {}),
    ("alphalink-orange-travel-20gb", {"cutoffs": {"world": "500MB"}}),
    ("alphalink-orange-unlimited-nodata", {}),
    ("alphalink-orange-compteur", {"threshold": "1GB"}),
]

record = st.tuples(
    st.integers(0, 7),
    st.sampled_from(ZONES),
    st.sampled_from(["data", "data", "voice", "sms"]),
    st.integers(0, 3 * 10**9),
)


def test_blocked_plan_alerts_at_80_and_100_then_blocks_on_the_envelope():
    e = PolicyEngine(start="2026-04-01T00:00")
    e.add_line("alphalink-orange-unlimited-10gb-blocked", "a")
    first = e.consume("a", 8 * GB, zone="france")
    second = e.consume("a", 3 * GB, zone="france")
    third = e.consume("a", MB, zone="europe")
    assert (first["accepted"], second["accepted"], third["accepted"]) == (8 * GB, 2 * GB, 0)
    assert [(ev.kind, ev.get("percent"), ev["meter"]) for ev in e.log.of_kind("alert", "block")] == [
        ("alert", 80, "envelope"), ("alert", 100, "envelope"), ("block", None, "envelope")]
    envelope = e.status("a")["meters"]["envelope"]
    assert (envelope["used"], envelope["limit"], envelope["exhausted"]) == (10 * GB, 10 * GB, True)
    assert e.lines["a"].counters.rejected["data"] == GB + MB


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, len(OFFERS) - 1), min_size=8, max_size=8),
    st.lists(record, min_size=1, max_size=60),
)
def test_every_record_is_accepted_or_rejected_and_each_alert_and_block_fires_once(lines, records):
    e = PolicyEngine(start="2026-04-01T00:00")
    for i, index in enumerate(lines):
        offer, kw = OFFERS[index]
        e.add_line({"id": f"l{i}", "offer": offer, **kw})
    for li, zone, kind, amount in records:
        line = f"l{li}"
        if kind == "data":
            r = e.consume(line, amount, zone=zone)
            assert r["accepted"] + r["rejected"] == amount and r["accepted"] >= 0
        elif kind == "voice":
            e.call(line, amount % 7000, zone=zone)
        else:
            e.sms(line, count=amount % 3, zone=zone, to="+33600000000")
    for i in range(len(lines)):
        line = f"l{i}"
        for meter in e.status(line)["meters"].values():
            if meter["exhausted"]:
                assert meter["used"] >= meter["limit"]  # a blocked meter has no room left
        fired = [(ev.kind, ev.get("percent"), ev["meter"])
                 for ev in e.log.of_kind("alert", "block", "throttle") if ev["line"] == line]
        assert len(fired) == len(set(fired))  # within one month, each fires at most once
