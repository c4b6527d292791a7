from array import array

from harness.plans.rating import Fleet, unpack_events
from hypothesis import given
from hypothesis import strategies as st

from harness.plans import PolicyEngine
from harness.plans.enforcement import EVENT_NAMES, METERS
from harness.plans.fleet import fleet_of
from harness.plans.zones import ZONES

SUBSCRIPTIONS = [
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
KIND = {"data": 0, "voice": 1, "sms": 2}

record = st.tuples(
    st.integers(0, 7),
    st.sampled_from(ZONES),
    st.sampled_from(["data", "data", "voice", "sms"]),
    st.integers(0, 3 * 10**9),
)


def run_engine(lines, records):
    e = PolicyEngine(start="2026-04-01T00:00")
    for i, offer_index in enumerate(lines):
        offer, kw = SUBSCRIPTIONS[offer_index]
        e.add_line({"id": f"l{i}", "offer": offer, **kw})
    fleet = fleet_of([e.lines[f"l{i}"] for i in range(len(lines))])
    got = []
    for r, (li, zone, kind, amount) in enumerate(records):
        mark = e.log.mark()
        line = f"l{li}"
        if kind == "data":
            e.consume(line, amount, zone=zone)
        elif kind == "voice":
            e.call(line, amount % 7000, zone=zone)
        else:
            e.sms(line, count=amount % 3, zone=zone, to="+33600000000")
        for ev in e.log.of_kind("alert", "block", "throttle", since=mark):
            got.append((r, ev.kind, ev.get("percent"), ev["meter"]))
    return e, fleet, got


def run_fleet(fleet, records):
    line = array("i", [r[0] for r in records])
    zone = array("b", [ZONES.index(r[1]) for r in records])
    kind = array("b", [KIND[r[2]] for r in records])
    amount = array(
        "q", [r[3] if r[2] == "data" else (r[3] % 7000 if r[2] == "voice" else r[3] % 3) for r in records]
    )
    events = fleet.rate(line, zone, kind, amount)
    return [
        (rec, EVENT_NAMES[code], (80, 100)[code] if code < 2 else None, METERS[meter])
        for rec, code, meter in unpack_events(events)
    ]


@given(
    st.lists(st.integers(0, len(SUBSCRIPTIONS) - 1), min_size=8, max_size=8),
    st.lists(record, min_size=1, max_size=120),
)
def test_cython_rater_agrees_with_the_python_engine(lines, records):
    e, fleet, expected = run_engine(lines, records)
    assert run_fleet(fleet, records) == expected
    for i in range(len(lines)):
        ln = e.lines[f"l{i}"]
        for mi, m in enumerate(ln.policy.meters):
            assert fleet.meter(i, mi) == (m.limit, m.used, m.exhausted, m.throttled)
        for zi, zone in enumerate(ZONES):
            assert fleet.counter(i, zi, 0) == ln.counters.get("data", zone)
            assert fleet.counter(i, zi, 1) == ln.counters.get("voice", zone)
            assert fleet.counter(i, zi, 2) == ln.counters.get("sms", zone)
        assert fleet.rejected_of(i, 0) == ln.counters.rejected["data"]


def test_packed_events_for_a_blocked_plan():
    e = PolicyEngine(start="2026-04-01T00:00")
    e.add_line("alphalink-orange-unlimited-10gb-blocked", "a")
    fleet = fleet_of([e.lines["a"]])
    events = fleet.rate(
        array("i", [0, 0, 0]),
        array("b", [0, 0, 1]),
        array("b", [0, 0, 0]),
        array("q", [8 * 10**9, 3 * 10**9, 10**6]),
    )
    assert unpack_events(events) == [(0, 0, 0), (1, 1, 0), (1, 2, 0)]  # 80 %, 100 %, block on the envelope
    assert fleet.meter(0, 0) == (10**10, 10**10, True, False)
    assert fleet.rejected_of(0, 0) == 10**9 + 10**6


def test_bad_records_are_refused():
    fleet = Fleet(1)
    import pytest

    with pytest.raises(ValueError, match="bad record 0"):
        fleet.rate(array("i", [1]), array("b", [0]), array("b", [0]), array("q", [1]))
    with pytest.raises(ValueError, match="differ in length"):
        fleet.rate(array("i", [0]), array("b", []), array("b", [0]), array("q", [1]))
