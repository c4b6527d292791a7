import pytest

from harness.plans.zones import ZoneTable, zone_of


@pytest.mark.parametrize(
    "country,zone",
    [
        ("FR", "france"),
        ("BE", "europe"),
        ("DE", "europe"),
        ("NO", "europe"),
        ("IS", "europe"),
        ("GP", "europe"),
        ("RE", "europe"),
        ("YT", "europe"),  # DROM are in Zone 1/1B
        ("CH", "world"),
        ("AD", "world"),  # the AlphaLink mobile reference: Suisse et Andorre = monde
        ("US", "usa_canada"),
        ("CA", "usa_canada"),
        ("MA", "maghreb_turkey"),
        ("DZ", "maghreb_turkey"),
        ("TN", "maghreb_turkey"),
        ("TR", "maghreb_turkey"),
        ("JP", "world"),
        ("GB", "world"),
    ],
)
def test_zone_of_country(country, zone):
    assert zone_of(country=country) == zone


@pytest.mark.parametrize(
    "plmn,zone",
    [
        ("208-01", "france"),
        ("206-01", "europe"),
        ("228-01", "world"),
        ("213-03", "world"),
        ("310-260", "usa_canada"),
        ("302220", "usa_canada"),
        ("604-00", "maghreb_turkey"),
        ("340-01", "europe"),
        ("647-10", "europe"),
        ("286-01", "maghreb_turkey"),
    ],
)
def test_zone_of_serving_plmn(plmn, zone):
    assert zone_of(plmn=plmn) == zone


def test_bad_inputs_are_reported():
    with pytest.raises(ValueError, match="alpha-2"):
        zone_of(country="FRA")
    with pytest.raises(ValueError, match="unknown zone"):
        zone_of(zone="mars")


def test_a_country_in_two_zones_is_a_data_error(tmp_path):
    p = tmp_path / "zones.yaml"
    p.write_text(
        "zones:\n"
        "  france: {label: F, countries: [FR], mcc: ['208']}\n"
        "  europe: {label: E, countries: [BE], mcc: ['206']}\n"
        "  usa_canada: {label: U, countries: [US], mcc: ['310']}\n"
        "  maghreb_turkey: {label: M, countries: [MA], mcc: ['604']}\n"
        "  world:\n"
        "    label: W\n"
        "    countries: [CH, BE]\n"
        "    mcc: ['228']\n"
    )
    with pytest.raises(ValueError, match=r"zones.yaml:8: country BE is in both europe and world"):
        ZoneTable(p)
