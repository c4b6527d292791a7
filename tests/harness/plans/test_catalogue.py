from pathlib import Path

import pytest

from csim.yamlsrc import DataError
from harness.plans.catalogue import PLANS_DIR, Catalogue, default_catalogue
from harness.plans.units import GB, MB, TB

CAT = default_catalogue()


def volumes(**criteria):
    return sorted({o.volume for o in CAT.find(**criteria)})


def test_alphalink_unlimited_envelopes_per_seed_003():
    # "sans Data ou avec des enveloppes data de : 1Go, 5Go, 10Go, 30Go, 50Go, 100Go, 250Go et 500Go"
    expected = [0, 1 * GB, 5 * GB, 10 * GB, 30 * GB, 50 * GB, 100 * GB, 250 * GB, 500 * GB]
    for network in ("orange", "bouygues"):
        assert volumes(provider="alphalink", network=network, range="unlimited") == expected


def test_data_only_small_envelopes_travel_and_m2m():
    assert volumes(provider="alphalink", network="orange", range="data_only") == [
        1 * GB,
        10 * GB,
        20 * GB,
        50 * GB,
        100 * GB,
        150 * GB,
        200 * GB,
        500 * GB,
        1 * TB,
    ]
    assert volumes(provider="alphalink", network="orange", range="data_small") == [
        10 * MB,
        25 * MB,
        50 * MB,
        100 * MB,
        250 * MB,
        500 * MB,
    ]
    # M2M: Orange only, 10 / 25 / 100 / 250 / 500 Mo
    assert volumes(provider="alphalink", network="orange", range="m2m") == [
        10 * MB,
        25 * MB,
        100 * MB,
        250 * MB,
        500 * MB,
    ]
    assert CAT.find(provider="alphalink", network="bouygues", range="m2m") == []
    travel = {o.volume: o.usa_canada for o in CAT.find(provider="alphalink", range="travel")}
    assert travel == {
        20 * GB: (5 * GB, 3600, 100),
        30 * GB: (15 * GB, 3600, 100),
        50 * GB: (25 * GB, 7200, 100),
        100 * GB: (50 * GB, 7200, 100),
    }


def test_order_form_prices():
    assert CAT.offer("alphalink-orange-unlimited-nodata").price == 4.00
    assert CAT.offer("alphalink-orange-unlimited-30gb-blocked").price == 10.50
    assert CAT.offer("alphalink-orange-unlimited-500gb-unblocked").price == 125.00
    assert CAT.offer("alphalink-orange-data-only-1tb-blocked").price == 220
    assert CAT.offer("alphalink-orange-data-small-250mb-blocked").price == 1.40
    assert CAT.offer("alphalink-orange-travel-100gb").price == 90
    assert CAT.offer("alphalink-orange-compteur").price == 2.50
    assert CAT.offer("alphalink-bouygues-compteur-data").price == 2.00
    assert CAT.offer("alphalink-bouygues-unlimited-30gb-blocked").price is None  # no published price
    orange = CAT.rules(CAT.offer("alphalink-orange-unlimited-30gb-blocked"))
    assert orange.roaming_options["maghreb_turkey"][("data", 10 * GB)] == 85
    assert orange.roaming_options["world"][("voice_sms_data", 10 * GB)] == 290


def test_5g_rules_differ_per_network():
    assert not CAT.offer("alphalink-orange-unlimited-30gb-blocked").fiveg
    assert CAT.offer(
        "alphalink-orange-unlimited-50gb-blocked"
    ).fiveg  # "5G gratuite à partir des forfaits 50Go"
    assert CAT.offer("alphalink-bouygues-unlimited-1gb-blocked").fiveg  # "5G offerte sur tous les forfaits"
    assert CAT.offer("alphalink-orange-travel-20gb").fiveg


def test_forbidden_usages():
    for oid in (
        "alphalink-orange-data-only-20gb-blocked",
        "alphalink-orange-m2m-100mb-blocked",
        "alphalink-bouygues-compteur-data",
    ):
        o = CAT.offer(oid)
        assert o.services == {"data"} and not o.roaming
    assert "data" not in CAT.offer("alphalink-orange-unlimited-nodata").services


def test_other_providers():
    cats = {o.category for o in CAT.find(provider="opensim")}
    assert cats == {"Data Only", "Voix + Data au Compteur", "Data + Data au Go"}
    mds = {(o.network, o.volume, o.radio): o.price for o in CAT.find(provider="mds")}
    assert mds[("orange", 10 * GB, "4G")] == 6.00 and mds[("orange", 10 * GB, "5G")] == 8.50
    assert mds[("sfr", 30 * GB, "4G")] == 9.00
    from datetime import datetime

    csl = CAT.offer("csl-sim")
    assert csl.apn_for(datetime(2022, 11, 1)) == "gemenit2.m2m"
    assert csl.apn_for(datetime(2022, 11, 16)) == "internet.csliot.com"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "lines.yaml"
    p.write_text(text)
    return p


def test_unknown_offer_is_reported_at_its_line(tmp_path):
    p = write(
        tmp_path,
        "lines:\n  - id: a\n    offer: alphalink-orange-unlimited-30gb-blocked\n"
        "  - id: b\n    offer: alphalink-orange-unlimited-31gb-blocked\n",
    )
    with pytest.raises(
        DataError,
        match=r"lines.yaml:5: unknown offer 'alphalink-orange-unlimited-31gb-blocked'"
        r" \(did you mean",
    ):
        CAT.load_subscriptions(p)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "lines:\n  - id: a\n    offer: alphalink-orange-unlimited-30gb-blocked\n"
            "    cutoffs:\n      usa_canada: 2GB\n",
            r"lines.yaml:5: cut-off '2GB' for usa_canada is not one of AlphaLink "
            r"Orange's cut-offs: 0MB, 500MB, 1GB, 5GB, 10GB, 30GB, 50GB",
        ),
        (
            "lines:\n  - id: a\n    offer: alphalink-bouygues-unlimited-30gb-blocked\n"
            "    cutoffs:\n      europe: 50\n      world: 75\n",
            r"lines.yaml:6: cut-off 75 for world is not one of .*0 EUR, 50 EUR, "
            r"100 EUR, 200 EUR",
        ),
        (
            "lines:\n  - id: a\n    offer: alphalink-orange-unlimited-30gb-blocked\n"
            "    cutoffs: {europe: 10GB}\n",
            r"lines.yaml:4: on Orange the Europe cut-off is the plan envelope",
        ),
    ],
)
def test_cutoff_outside_the_providers_list(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(DataError, match=message):
        CAT.load_subscriptions(p)


@pytest.mark.parametrize(
    ("offer", "extra", "message"),
    [
        ("alphalink-orange-data-only-20gb-blocked", "    cutoffs: {world: 1GB}\n", "does not allow roaming"),
        (
            "alphalink-bouygues-unlimited-30gb-blocked",
            "    options: {world: 1GB}\n",
            "no roaming option on this",
        ),
        (
            "alphalink-orange-unlimited-30gb-unblocked",
            "    fixed_ip: true\n",
            "only available on blocked data",
        ),
        ("alphalink-orange-compteur", "    threshold: 200GB\n", "outside 1GB..100GB"),
        (
            "alphalink-orange-travel-20gb",
            "    options: {usa_canada: 3GB}\n",
            "already included in the Travel",
        ),
    ],
)
def test_other_subscription_mistakes(tmp_path, offer, extra, message):
    p = write(tmp_path, f"lines:\n  - id: a\n    offer: {offer}\n{extra}")
    with pytest.raises(DataError, match=rf"lines.yaml:4: .*{message}"):
        CAT.load_subscriptions(p)


def test_schema_and_semantic_errors_in_a_provider_file(tmp_path):
    text = (PLANS_DIR / "alphalink.yaml").read_text()
    bad = tmp_path / "alphalink.yaml"
    bad.write_text(text.replace("    default_cutoff: 0MB\n", "    default_cutoff: 2GB\n", 1))
    line = bad.read_text().splitlines().index("    default_cutoff: 2GB") + 1
    with pytest.raises(DataError, match=rf"alphalink.yaml:{line}: default_cutoff 2GB is not in cutoffs"):
        Catalogue([bad])
    bad.write_text(
        text.replace("      bouygues:\n        volumes: {10MB", "      sfr:\n        volumes: {10MB", 1)
    )
    line = bad.read_text().splitlines().index("      sfr:") + 1
    with pytest.raises(DataError, match=rf"alphalink.yaml:{line}: range 'data_small' names network 'sfr'"):
        Catalogue([bad])
    bad.write_text(
        text.replace("    recharge_unblocked: same_volume", "    recharge_unblocked: sometimes", 1)
    )
    line = next(
        i for i, t in enumerate(bad.read_text().splitlines(), 1) if "recharge_unblocked: sometimes" in t
    )
    with pytest.raises(DataError, match=rf"alphalink.yaml:{line}: networks/bouygues/recharge_unblocked"):
        Catalogue([bad])
