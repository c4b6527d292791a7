import pytest

from harness.plans import PolicyEngine
from harness.plans.units import GB, MB


def engine():
    return PolicyEngine(start="2026-04-01T00:00")


def kinds(e, *names, since=0):
    return [(ev.kind, ev.get("percent")) for ev in e.log.of_kind(*names, since=since)]


def test_orange_blocked_alerts_80_100_and_blocks_at_envelope():
    e = engine()
    e.add_line("alphalink-orange-unlimited-30gb-blocked", "a")
    sid = e.session_open("a", country="FR")["session"]
    e.consume("a", "24GB", country="FR")
    assert kinds(e, "alert") == [("alert", 80)]
    r = e.consume("a", "10GB", country="FR")
    assert r["accepted"] == 6 * GB and r["rejected"] == 4 * GB
    assert kinds(e, "alert", "block") == [("alert", 80), ("alert", 100), ("block", None)]
    assert [ev["session"] for ev in e.log.of_kind("session_cut")] == [sid]
    assert e.session_open("a", country="FR") == {"accepted": False, "reason": "data blocked: limit reached"}
    assert e.status("a")["counters"]["data"] == {"france": 30 * GB}
    alert = e.log.of_kind("alert")[0]
    assert alert["channel"] == "sms" and "80%" in alert["message"]


def test_orange_unblocked_reduced_in_france_without_overage_but_cut_at_envelope_in_europe():
    e = engine()
    e.add_line("alphalink-orange-unlimited-10gb-unblocked", "a")
    e.consume("a", "12GB", country="FR")
    assert kinds(e, "alert", "throttle") == [("alert", 80), ("alert", 100), ("throttle", None)]
    assert e.throughput("a", country="FR") == "reduced"
    r = e.consume("a", "1GB", country="ES")
    assert r["accepted"] == 0 and e.throughput("a", country="ES") == "blocked"
    e.at("2026-05-01T00:00")
    bill = e.lines["a"].bills[0]
    assert bill.amounts() == {
        "abonnement Forfait illimité Voix / SMS / MMS + Data non bloqué Orange 10GB": 8.0
    }


def test_bouygues_alerts_80_unblocked_100_blocked():
    e = engine()
    e.add_line("alphalink-bouygues-unlimited-10gb-unblocked", "u")
    e.add_line("alphalink-bouygues-unlimited-10gb-blocked", "b")
    for line in ("u", "b"):
        e.consume(line, "8GB", country="FR")
        e.consume(line, "3GB", country="FR")
    alerts = {(ev["line"], ev["percent"]) for ev in e.log.of_kind("alert")}
    assert alerts == {("u", 80), ("b", 100)}
    assert [ev["line"] for ev in e.log.of_kind("block")] == ["b"]
    assert [ev["line"] for ev in e.log.of_kind("throttle")] == ["u"]


def test_bouygues_europe_cutoff_zero_means_no_data_in_europe():
    e = engine()
    e.add_line("alphalink-bouygues-unlimited-30gb-unblocked", "a", cutoffs={"europe": 0})
    assert e.session_open("a", country="DE")["accepted"] is False
    assert e.consume("a", "1MB", country="DE")["accepted"] == 0
    assert e.session_open("a", country="FR")["accepted"] is True


def test_bouygues_euro_cutoffs_priced_from_the_zone_rates_and_raised_unblocks_at_once():
    e = engine()
    e.add_line("alphalink-bouygues-unlimited-5gb-unblocked", "a", cutoffs={"europe": 50, "world": 50})
    # world cut-off 50 EUR at the (example) 0.25 EUR/MB USA/Canada rate = 200 MB
    r = e.consume("a", "300MB", country="US")
    assert r["accepted"] == 200 * MB
    assert kinds(e, "alert", "block") == [("alert", 80), ("alert", 100), ("block", None)]
    mark = e.log.mark()
    e.set_cutoff("a", "world", 100)
    assert [ev.kind for ev in e.log.of_kind("unblock", since=mark)] == ["unblock"]
    assert e.consume("a", "100MB", country="US")["accepted"] == 100 * MB
    # Europe beyond the envelope: charged against the 50 EUR Europe cut-off (0.01 EUR/MB example rate)
    e.consume("a", "5GB", country="IT")
    assert e.consume("a", "6GB", country="IT")["accepted"] == 5 * GB
    e.at("2026-05-01T00:00")
    amounts = e.lines["a"].bills[0].amounts()
    assert amounts["data hors forfait europe (cut-off en euros)"] == 50.0
    assert amounts["data hors forfait world (cut-off en euros)"] == 75.0


def test_orange_zone_cutoff_zero_and_roaming_options_not_cumulative():
    e = engine()
    e.add_line("alphalink-orange-unlimited-30gb-blocked", "a", options={"maghreb_turkey": "5GB"})
    assert e.session_open("a", country="JP")["accepted"] is False  # default cut-off 0 MB
    e.consume("a", "4GB", country="MA")
    e.set_option("a", "maghreb_turkey", "10GB")  # 5 GB then 10 GB -> 10 GB
    assert e.consume("a", "7GB", country="TR")["accepted"] == 6 * GB
    e.at("2026-05-01T00:00")
    amounts = e.lines["a"].bills[0].amounts()
    assert amounts["option roaming data maghreb_turkey 5GB"] == 45
    assert amounts["option roaming data maghreb_turkey 10GB"] == 85


def test_recharge_visible_after_30_minutes_with_double_order_warning():
    e = engine()
    e.add_line("alphalink-orange-unlimited-10gb-blocked", "a")
    e.consume("a", "10GB")
    assert e.throughput("a") == "blocked"
    r = e.order_recharge("a", "5GB")
    assert r["accepted"] and r["warning"] is None
    e.advance("29min")
    assert e.throughput("a") == "blocked"
    assert e.order_recharge("a", "5GB")["warning"]
    assert len(e.log.of_kind("recharge_warning")) == 1
    e.advance("1min")
    assert e.throughput("a") == "full" and e.status("a")["envelope"] == 15 * GB
    e.advance("30min")
    assert e.status("a")["envelope"] == 20 * GB


def test_recharge_restrictions():
    e = engine()
    e.add_line("alphalink-bouygues-unlimited-30gb-unblocked", "bu")
    e.add_line("alphalink-bouygues-unlimited-30gb-blocked", "bb")
    e.add_line("alphalink-orange-unlimited-30gb-unblocked", "ou")
    e.add_line("alphalink-orange-travel-20gb", "t")
    assert "only a recharge of its own volume" in e.order_recharge("bu", "5GB")["reason"]
    assert e.order_recharge("bu", "30GB")["accepted"]
    assert e.order_recharge("bb", "5GB")["accepted"]
    assert e.order_recharge("ou", "5GB")["accepted"]
    assert "upgrade is needed" in e.order_recharge("t", "5GB", zone="usa_canada")["reason"]


def test_bouygues_data_only_256_sessions_unless_fixed_ip():
    e = engine()
    e.add_line("alphalink-bouygues-data-only-20gb-blocked", "b")
    e.add_line("alphalink-bouygues-data-only-20gb-blocked", "f", fixed_ip=True)
    e.add_line("alphalink-orange-data-only-20gb-blocked", "o")
    for line in ("b", "f", "o"):
        for _ in range(256):
            assert e.session_open(line)["accepted"]
    assert "256 simultaneous sessions" in e.session_open("b")["reason"]
    assert e.session_open("f")["accepted"] and e.session_open("o")["accepted"]


def test_data_only_and_m2m_forbid_voice_sms_and_roaming():
    e = engine()
    e.add_line("alphalink-orange-m2m-100mb-blocked", "m")
    assert e.call("m", "1min")["rejected"] == 60
    assert e.sms("m")["rejected"] == 1
    assert e.consume("m", "1MB", country="BE")["accepted"] == 0
    assert e.session_open("m", country="BE")["accepted"] is False


def test_fair_use_two_hours_per_call_and_250_correspondents():
    e = engine()
    e.add_line("alphalink-orange-unlimited-10gb-blocked", "a")
    assert e.call("a", "2h30min", to="+33600000001") == {"included": 7200, "metered": 1800, "rejected": 0}
    for i in range(2, 251):
        e.call("a", "1min", to=f"+336{i:08d}")
    assert e.call("a", "1min", to="+33600000001")["metered"] == 0  # a known correspondent
    assert e.call("a", "1min", to="+33699999999")["metered"] == 60  # the 251st
    e.at("2026-05-01T00:00")
    assert e.call("a", "1min", to="+33699999999")["metered"] == 0  # a new month


def test_orange_500_sms_per_hour_then_3_days_suspension_bouygues_not():
    e = engine()
    e.add_line("alphalink-orange-unlimited-10gb-blocked", "o")
    e.add_line("alphalink-bouygues-unlimited-10gb-blocked", "b")
    assert e.sms("o", count=500)["sent"] == 500
    assert e.sms("o")["rejected"] == 1
    assert len(e.log.of_kind("sms_suspended")) == 1
    assert e.sms("b", count=501)["sent"] == 501
    e.advance("2d")
    assert e.sms("o")["rejected"] == 1
    e.advance("1d")
    assert [ev.kind for ev in e.log.of_kind("sms_resumed")] == ["sms_resumed"]
    assert e.sms("o")["sent"] == 1


@pytest.mark.parametrize(
    "offer,metered",
    [
        ("alphalink-orange-unlimited-10gb-blocked", 0),  # SMS France -> zone 1: Inclus (Orange)
        ("alphalink-bouygues-unlimited-10gb-blocked", 1),  # Compteur (Bouygues)
    ],
)
def test_international_sms_to_europe_differs_per_network(offer, metered):
    e = engine()
    e.add_line(offer, "a")
    assert e.sms("a", to="+34600000000", to_country="ES")["metered"] == metered
    assert e.call("a", "1min", to="+34600000000", to_country="ES")["metered"] == 0
    assert e.call("a", "1min", to="+81300000000", to_country="JP")["metered"] == 60


def test_travel_usa_canada_envelopes():
    e = engine()
    e.add_line("alphalink-orange-travel-20gb", "t")
    assert e.consume("t", "6GB", country="US")["accepted"] == 5 * GB  # data blocked outside France/Europe
    assert e.call("t", "70min", country="US", to_country="US")["metered"] == 600  # 1h included
    assert e.sms("t", count=101, country="CA", to_country="FR")["metered"] == 1  # 100 SMS included
    e.consume("t", "25GB", country="FR")
    assert e.throughput("t", country="DE") == "reduced"  # unblocked in France + Europe
