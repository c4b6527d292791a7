"""A suspended line gets no service from the plans engine, and its month is still billed
(AlphaLink mobile reference, 'Suspension de la ligne': "Services interrompus jusqu'à la réactivation
de la ligne. Montant du forfait facturé."), over random sequences of usages and contract actions."""

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.plans import PolicyEngine

OFFER = "alphalink-orange-unlimited-10gb-blocked"

_actions = st.lists(
    st.one_of(
        st.just(("suspend",)),
        st.just(("reactivate",)),
        st.tuples(st.just("data"), st.integers(1, 2000)),  # MB
        st.tuples(st.just("voice"), st.integers(1, 600)),  # seconds
        st.tuples(st.just("sms"), st.integers(1, 5)),
        st.just(("session",)),
        st.tuples(st.just("advance"), st.integers(1, 72)),  # hours
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(_actions)
def test_a_suspended_line_is_never_served_and_always_billed(actions):
    e = PolicyEngine(start="2026-03-01T00:00")
    ln = e.add_line(OFFER, "l1")
    for action in actions:
        kind = action[0]
        before = ln.counters.as_dict()
        if kind == "suspend":
            e.suspend(ln)
            assert ln.sessions == {}
        elif kind == "reactivate":
            e.suspend(ln, False)
        elif kind == "data":
            out = e.consume(ln, f"{action[1]}MB", zone="france")
            if ln.suspended:
                assert out["accepted"] == 0 and out["rejected"] == action[1] * 10**6
        elif kind == "voice":
            out = e.call(ln, action[1], zone="france")
            assert (out["rejected"] == action[1]) is ln.suspended
        elif kind == "sms":
            out = e.sms(ln, count=action[1], zone="france")
            assert (out["rejected"] == action[1]) is ln.suspended
        elif kind == "session":
            opened, last = e.open_sessions(ln, 1, zone="france")
            if ln.suspended:
                assert opened == 0 and "suspended" in last["reason"]
        else:
            e.advance(f"{action[1]}h")
            assert all(b.items and b.items[0].amount == 8.0 for b in ln.bills)
            continue
        if ln.suspended and kind in ("data", "voice", "sms"):
            after = ln.counters.as_dict()
            assert {k: v for k, v in after.items() if k != "rejected"} == {
                k: v for k, v in before.items() if k != "rejected"
            }


def test_the_month_of_a_suspended_line_is_billed_in_full():
    e = PolicyEngine(start="2026-03-01T00:00")
    ln = e.add_line(OFFER, "l1")
    e.suspend(ln)
    e.at("2026-04-01T00:00")
    assert [item.amount for item in ln.bills[0].items] == [8.0]
    assert e.call(ln, 60, zone="france") == {"included": 0, "metered": 0, "rejected": 60}
