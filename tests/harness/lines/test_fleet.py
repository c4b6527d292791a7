"""The fleet's requests and their refusals (AlphaLink mobile reference, "ACTIONS SUR CONTRAT", SIM swap,
self-care e-mails), and a property test over random request sequences."""

from datetime import date, datetime, timedelta

import pytest
from harness.events import EventLog
from hypothesis import given, settings
from hypothesis import strategies as st

from csim.yamlsrc import DataError
from harness.lines import Fleet, LineError, load_rules

T0 = datetime(2026, 3, 4, 10, 0)  # a Wednesday


def _fleet() -> tuple[Fleet, EventLog]:
    log = EventLog()
    return Fleet(load_rules(), log), log


def test_orange_data_only_number_has_14_digits_and_bouygues_lets_the_partner_choose():
    f, _ = _fleet()
    assert len(f.order(T0, "orange", range_="data_only").fields["number"]) == 14
    assert f.order(T0, "bouygues", range_="data_only", number="0712345678").fields["number"] == "0712345678"
    refused = f.order(T0, "orange", range_="data_only", number="07000001234567")
    assert not refused.accepted and "selects" in refused.reason


def test_termination_never_gives_the_number_back():
    f, log = _fleet()
    f.order(T0, "bouygues", range_="data_only", number="0712345678")
    f.tick(T0 + timedelta(hours=1))
    assert f.terminate(T0 + timedelta(hours=1)).accepted
    again = f.order(T0 + timedelta(hours=2), "bouygues", range_="data_only", number="0712345678")
    assert not again.accepted and "never reused" in again.reason
    assert [e.kind for e in log.of_kind("line_terminated")] == ["line_terminated"]


def test_suspension_refuses_services_and_option_suspension_is_refused():
    f, _ = _fleet()
    f.existing("orange", "0757760114", now=T0)
    assert f.suspend(T0).accepted
    assert "suspended" in f.service_refusal(T0)
    assert not f.suspend_option(T0, "Conférence orange").accepted
    assert f.reactivate(T0).accepted and f.service_refusal(T0) is None


def test_selfcare_email_text_is_the_reference_text():
    f, log = _fleet()
    f.client, f.notifications = "AC Telecom Interne", True
    f.existing("orange", "0750758401", user="test", now=T0)
    f.suspend(T0, by="selfcare")
    [mail] = log.of_kind("partner_email")
    assert (
        mail.data["text"]
        == "Votre client AC Telecom Interne a suspendu la ligne de l'utilisateur test 0750758401."
    )


def test_sim_swap_to_a_physical_sim_needs_it_assigned_and_keeps_the_number():
    f, _ = _fleet()
    ln = f.existing("orange", "0757760114", now=T0)
    assert not f.sim_swap(T0, "sim", sim="8933000000000000001").accepted
    f.assigned_sims.add("8933000000000000001")
    out = f.sim_swap(T0, "sim", sim="8933000000000000001")
    assert out.accepted and ln.number == "0757760114" and ln.sims[-1] == "8933000000000000001"


def test_portability_date_must_be_a_later_working_day():
    f, _ = _fleet()
    friday = datetime(2026, 3, 6, 10, 0)
    assert not f.order(friday, "orange", port_date=date(2026, 3, 10), number="0612345678").accepted
    ok = f.order(friday, "orange", port_date=date(2026, 3, 11), number="0612345678")
    assert ok.accepted and ok.fields["active_at"] == datetime(2026, 3, 11)


_requests = st.lists(
    st.tuples(
        st.sampled_from(["order", "order_esim", "order_port", "suspend", "reactivate", "terminate", "swap"]),
        st.sampled_from(["orange", "bouygues"]),
        st.sampled_from(["unlimited", "data_only", "m2m"]),
        st.integers(min_value=0, max_value=14 * 24 * 60),  # minutes after T0, sorted below
        st.integers(min_value=0, max_value=5),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(_requests)
def test_invariants_over_random_requests(requests):
    """Never a number or SIM given twice, never a service on a line not active, never an order
    accepted outside its window."""
    f, _ = _fleet()
    f.esim_swap_allowed = True
    for kind, network, rng, minutes, pick in sorted(requests, key=lambda r: r[3]):
        now = T0 + timedelta(minutes=minutes)
        lines = list(f.lines.values())
        ref = lines[pick % len(lines)].id if lines else None
        if kind.startswith("order"):
            sim = "esim" if kind == "order_esim" else "pin"
            port = (now + timedelta(days=pick)).date() if kind == "order_port" else None
            out = f.order(
                now, network, sim=sim, range_=rng, port_date=port, number=f"06{minutes:08d}" if port else None
            )
            if out.accepted:
                rules = f.rules.network(network)
                window = rules.windows[out.fields["kind"]]
                if window.working_days_ahead is None:
                    assert f.hours.refusal(window, now) is None
                else:
                    assert f.hours.portability_refusal(window, now, port) is None
        elif ref is None:
            continue
        elif kind == "suspend":
            f.suspend(now, ref)
        elif kind == "reactivate":
            f.reactivate(now, ref)
        elif kind == "terminate":
            f.terminate(now, ref)
        else:
            f.sim_swap(now, "esim", ref)
        for ln in f.lines.values():
            assert (f.service_refusal(now, ln.id) is None) == (ln.state == "active")
    numbers = [ln.number for ln in f.lines.values()]
    sims = [s for ln in f.lines.values() for s in ln.sims]
    assert len(numbers) == len(set(numbers)) and len(sims) == len(set(sims))


def test_a_scenario_naming_an_unknown_network_fails_at_load_with_its_line(tmp_path):
    from harness.scenario.loader import load_file

    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\ncard: alphalink-orange\nworld: europe\nsteps:\n  - order_line: {network: sfr}\n"
    )
    try:
        load_file(path)
    except DataError as exc:
        assert str(exc).startswith(f"{path}:5: unknown network 'sfr'")
    else:
        raise AssertionError("an unknown network loaded")


def test_the_swapped_sim_serves_the_line_and_the_old_one_none():
    f, _ = _fleet()
    ln = f.existing("orange", "0757760114", now=T0, sim="8933019900000000012")
    assert f.line_of_sim("8933019900000000012") is ln
    f.assigned_sims.add("8933019900000000020")
    assert f.sim_swap(T0, "sim", sim="8933019900000000020").accepted
    assert f.line_of_sim("8933019900000000020") is ln and ln.number == "0757760114"
    assert f.line_of_sim("8933019900000000012") is None


def test_an_existing_line_cannot_take_a_sim_already_used():
    f, _ = _fleet()
    f.existing("orange", "0757760114", now=T0, sim="8933019900000000012")
    with pytest.raises(LineError, match="already in the fleet"):
        f.existing("orange", "0757760115", now=T0, sim="8933019900000000012")


def test_insert_card_naming_no_card_fails_at_load_with_its_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: x\ncard: alphalink-orange\nworld: europe\nsteps:\n  - power_on: {country: FR}\n"
        "  - insert_card: no-such-card\n"
    )
    from harness.scenario.loader import load_file

    with pytest.raises(DataError, match=r"s\.yaml:6: no card .*no-such-card\.yaml"):
        load_file(path)
