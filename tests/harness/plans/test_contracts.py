from harness.plans import PolicyEngine
from harness.plans.units import GB


def engine(start="2026-04-01T00:00"):
    return PolicyEngine(start=start)


def test_alphalink_volume_change_and_migration_effective_on_the_1st_of_next_month():
    e = engine("2026-04-10T12:00")
    e.add_line("alphalink-orange-unlimited-10gb-blocked", "a", activated="2026-04-01T00:00")
    r = e.change_plan("a", "alphalink-orange-unlimited-50gb-unblocked")
    assert r["accepted"] and r["effective"].isoformat() == "2026-05-01T00:00:00"
    assert e.status("a")["offer"] == "alphalink-orange-unlimited-10gb-blocked"
    e.at("2026-04-30T23:59")
    assert e.status("a")["envelope"] == 10 * GB
    e.at("2026-05-01T00:00")
    assert e.status("a")["offer"] == "alphalink-orange-unlimited-50gb-unblocked"
    assert e.status("a")["envelope"] == 50 * GB
    assert [ev["new"] for ev in e.log.of_kind("change_applied")] == [
        "alphalink-orange-unlimited-50gb-unblocked"
    ]


def test_alphalink_rejections_carry_the_reason():
    e = engine()
    e.add_line("alphalink-orange-data-only-20gb-blocked", "d")
    e.add_line("alphalink-orange-unlimited-30gb-blocked", "u")
    e.add_line("alphalink-orange-travel-20gb", "t")
    assert (
        "Pas possible de changer de gamme"
        in e.change_plan("d", "alphalink-orange-unlimited-30gb-blocked")["reason"]
    )
    assert "offre compteur" in e.change_plan("u", "alphalink-orange-compteur")["reason"]
    assert "changer de gamme" in e.change_plan("t", "alphalink-orange-unlimited-100gb-blocked")["reason"]
    assert "unknown offer" in e.change_plan("u", "alphalink-orange-unlimited-31gb-blocked")["reason"]
    assert len(e.log.of_kind("change_rejected")) == 4


def test_alphalink_first_month_prorata_temporis():
    e = engine("2026-04-16T00:00")
    e.add_line("alphalink-orange-unlimited-30gb-blocked", "a")  # 10.50 EUR, 15 of 30 days left
    e.at("2026-06-01T00:00")
    april, may = e.lines["a"].bills
    assert april.total == 5.25 and may.total == 10.50


def test_seed_002_volume_change_mid_cycle():
    # "10 Go à 6 € et qu'il vous reste 2 Go ... forfait 30 Go à 9 € ... 6 € + 4,5 € ... 30 Go + 2 Go = 32 Go"
    e = engine()
    e.add_line("mds-orange-data-10gb-4g", "m")
    e.consume("m", "8GB")
    r = e.change_plan("m", "mds-orange-data-30gb-4g", at="2026-04-16T00:00")
    assert r["accepted"] and r["reboot_required"]
    assert e.status("m")["envelope"] == 32 * GB
    assert e.consume("m", "33GB")["accepted"] == 32 * GB
    e.at("2026-05-01T00:00")
    bill = e.lines["m"].bills[0]
    assert [i.amount for i in bill.items] == [6.00, 4.50]
    assert bill.total == 10.50
    assert e.status("m")["envelope"] == 30 * GB


def test_seed_002_radio_change_bills_prorated_difference_quota_unchanged():
    e = engine()
    e.add_line("mds-orange-data-10gb-4g", "m")
    e.consume("m", "3GB")
    e.change_plan("m", "mds-orange-data-10gb-5g")  # at the start of the cycle: the full 2.50 EUR
    assert e.status("m")["envelope"] == 10 * GB and e.status("m")["meters"]["envelope"]["used"] == 3 * GB
    e.add_line("mds-sfr-data-10gb-4g", "h", activated="2026-04-01T00:00")
    e.change_plan("h", "mds-sfr-data-10gb-5g", at="2026-04-16T00:00")  # half the cycle left: 1.25 EUR
    e.at("2026-05-01T00:00")
    assert [i.amount for i in e.lines["m"].bills[0].items] == [6.00, 2.50]
    assert [i.amount for i in e.lines["h"].bills[0].items] == [6.00, 1.25]


def test_seed_002_one_request_a_month_and_mno_change():
    e = engine()
    e.add_line("mds-orange-data-10gb-4g", "m")
    r = e.change_plan("m", mno="sfr")
    assert r["accepted"] and r["offer"] == "mds-sfr-data-10gb-4g" and r["billed"][0][1] == 10
    assert e.log.of_kind("reboot_required")
    assert "Une seule demande" in e.change_plan("m", "mds-sfr-data-30gb-4g")["reason"]
    e.at("2026-05-02T00:00")
    assert e.change_plan("m", "mds-sfr-data-30gb-4g")["accepted"]


def test_opensim_immediate_prorated_data_but_unprorated_threshold():
    e = engine()
    e.add_line("opensim-sfr-data-per-gb-5gb-blocked", "o")
    e.consume("o", "4GB")
    r = e.change_plan("o", "opensim-sfr-data-per-gb-20gb-blocked", at="2026-04-16T00:00")
    assert r["accepted"] and r["effective"].isoformat() == "2026-04-16T00:00:00"
    assert e.status("o")["envelope"] == 20 * GB  # threshold not prorated
    assert e.lines["o"].allowance == int(12.5 * GB)  # 5 GB x 1/2 + 20 GB x 1/2
    assert e.consume("o", "16GB")["accepted"] == 16 * GB  # 20 GB used: above the prorated 12.5
    e.at("2026-05-01T00:00")
    assert any("dépassement data 7500MB" in i.label for i in e.lines["o"].bills[0].items)


def test_opensim_no_change_across_categories():
    e = engine()
    e.add_line("opensim-sfr-data-only-20gb-blocked", "o")
    r = e.change_plan("o", "opensim-sfr-data-per-gb-20gb-blocked")
    assert not r["accepted"] and "catégorie" in r["reason"]


def test_simalarm_cancellation_active_until_expiry():
    e = engine("2026-03-10T00:00")
    e.add_line({"id": "s", "offer": "simalarm", "expires": "2026-07-15T00:00"})
    ends = e.cancel("s")
    assert ends.isoformat() == "2026-07-15T00:00:00"
    e.at("2026-07-14T23:00")
    assert e.session_open("s", country="ES", apn="iot.1nce.net")["accepted"]
    assert not e.session_open("s", country="ES", apn="internet.csliot.com")["accepted"]
    e.at("2026-07-15T00:00")
    assert not e.status("s")["active"]
    assert e.session_open("s", country="ES")["reason"] == "line deactivated"
    e.at("2026-09-01T00:00")
    assert [b.month for b in e.lines["s"].bills][-1] == (2026, 7)  # no bill after expiry
