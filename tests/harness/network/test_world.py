"""The network world: countries, zones, operators, cells, roaming agreements, file:line errors."""

import pytest

from csim.yamlsrc import DataError
from harness.network.world import (
    CAUSE_NO_SUITABLE_CELLS_IN_LA,
    CAUSE_PLMN_NOT_ALLOWED,
    CAUSE_ROAMING_NOT_ALLOWED_IN_LA,
    World,
    plmn_of_imsi,
)

DOMESTIC = "208019900000001"
INTERNATIONAL = "901709900000001"


@pytest.fixture(scope="module")
def europe():
    return World.load("europe")


def test_french_operators_have_their_real_plmns(europe):
    names = {p: europe.operator(p).name for p in ("208-01", "208-10", "208-15", "208-20")}
    assert names == {"208-01": "Orange F", "208-10": "F SFR", "208-15": "Free",
                     "208-20": "F-Bouygues Telecom"}
    assert {p for p, o in europe.operators.items() if o.country == "BE"} == {"206-01", "206-10", "206-20"}
    assert europe.operator("310-260").country == "US" and europe.operator("310-410").country == "US"


def test_zones_follow_the_provider_document(europe):
    assert europe.zone_of("FR").domestic
    for code in ("BE", "DE", "ES", "IT", "RE", "GP"):
        assert europe.zone_of(code).key == "zone1", code
    # Switzerland and Andorra belong to the international zone, not the EEA
    assert europe.zone_of("CH").key == "world" and europe.zone_of("AD").key == "world"
    assert europe.zone_of("MA").key == europe.zone_of("TR").key == "maghreb_turkey"
    assert europe.zone_of("US").key == europe.zone_of("CA").key == "usa_canada"


def test_drom_have_their_own_mcc_and_belong_to_france(europe):
    assert europe.country_of_mcc("647").code == "RE"
    assert europe.country_of_plmn("340-01").code == "GP"
    assert europe.country("RE").part_of == "FR"


def test_country_lookup_by_mcc_covers_every_us_mcc(europe):
    for mcc in ("310", "311", "316"):
        assert europe.country_of_mcc(mcc).code == "US"
    assert europe.country_of_mcc("302").code == "CA"
    assert europe.country_of_mcc("999") is None


def test_cells_expand_per_rat_with_signal(europe):
    cells = [c for c in europe.cells_at("FR") if c.plmn == "208-01"]
    assert {c.rat: c.signal for c in cells} == {"2G": -75, "3G": -82, "4G": -88, "5G": -97}
    assert len({c.cell_id for c in cells}) == 4
    assert europe.location("FR-border-BE").country == "FR"


def test_home_subscribers_are_always_admitted(europe):
    d = europe.operator("208-01").admit(DOMESTIC, "208-01", "4G", 4097)
    assert d.accepted and d.home and d.data


def test_proximus_accepts_the_domestic_imsi_base_does_not(europe):
    assert europe.operator("206-01").admit(DOMESTIC, "208-01", "4G", 8193).accepted
    d = europe.operator("206-20").admit(DOMESTIC, "208-01", "4G", 8705)
    assert not d.accepted and d.cause == CAUSE_PLMN_NOT_ALLOWED
    assert europe.operator("206-20").admit(INTERNATIONAL, "901-70", "4G", 8705).accepted


def test_andorra_rejects_the_domestic_imsi_with_cause_13(europe):
    d = europe.operator("213-03").admit(DOMESTIC, "208-01", "4G", 15873)
    assert (d.accepted, d.cause) == (False, CAUSE_ROAMING_NOT_ALLOWED_IN_LA)


def test_agreement_limited_to_a_rat_answers_15_elsewhere(europe):
    verizon = europe.operator("311-480")
    assert verizon.admit(INTERNATIONAL, "901-70", "4G", 1).accepted
    assert verizon.admit(INTERNATIONAL, "901-70", "5G", 1).cause == CAUSE_NO_SUITABLE_CELLS_IN_LA


def test_home_plmn_from_imsi_tries_three_digit_mnc_first(europe):
    assert europe.home_plmn_of("310410123456789") == "310-410"
    assert europe.home_plmn_of(DOMESTIC) == "208-01"
    assert plmn_of_imsi("302720123456789", 3) == "302-720"


WORLD = """\
name: tiny
zones:
  home: {label: Home, domestic: true}
  abroad: {label: Abroad}
countries:
  FR: {name: France, mcc: ["208"], zone: home}
  BE: {name: Belgium, mcc: ["206"], zone: abroad}
operators:
  - {plmn: "208-01", name: Orange F, country: FR, rats: [4G]}
  - plmn: "206-01"
    name: Proximus
    country: BE
    rats: [2G, 4G]
    accepts:
      - {imsi_range: ["208019900", "208019909"], areas: [100], data: false}
      - {imsi_prefixes: ["20801777"]}
locations:
  BE:
    cells:
      - {plmn: "206-01", area: 100, rats: {4G: -90}}
"""


def write(tmp_path, text):
    p = tmp_path / "tiny.yaml"
    p.write_text(text)
    return p


def test_imsi_ranges_areas_and_data_flag(tmp_path):
    w = World.load(write(tmp_path, WORLD))
    prox = w.operator("206-01")
    inside = prox.admit("208019900000001", "208-01", "4G", 100)
    assert inside.accepted and not inside.data
    assert prox.admit("208019900000001", "208-01", "4G", 101).cause == CAUSE_ROAMING_NOT_ALLOWED_IN_LA
    assert prox.admit("208019910000001", "208-01", "4G", 100).cause == CAUSE_PLMN_NOT_ALLOWED
    assert prox.admit("208017770000001", "208-01", "4G", 555).data


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ('BE: {name: Belgium, mcc: ["206"], zone: abroad}', 'BE: {name: Belgium, mcc: ["206"], zone: mars}',
         7, "unknown zone 'mars'"),
        ('{plmn: "208-01", name: Orange F, country: FR', '{plmn: "206-99", name: Orange F, country: FR',
         9, "not an MCC of FR"),
        ('{plmn: "206-01", area: 100, rats: {4G: -90}}', '{plmn: "206-02", area: 100, rats: {4G: -90}}',
         20, "no operator 206-02"),
        ('{plmn: "206-01", area: 100, rats: {4G: -90}}', '{plmn: "206-01", area: 100, rats: {3G: -90}}',
         20, "does not run 3G"),
        ('- {imsi_prefixes: ["20801777"]}', '- {imsi_prefixes: ["20801777"], colour: red}',
         16, "unknown key"),
        ('rats: [2G, 4G]', 'rats: [2G, 6G]', 13, "6G"),
        ('{plmn: "208-01", name', '{plmn: "208-1", name', 9, "does not match"),
    ],
)
def test_errors_name_file_and_line(tmp_path, old, new, line, message):
    assert old in WORLD
    path = write(tmp_path, WORLD.replace(old, new))
    with pytest.raises(DataError) as exc:
        World.load(path)
    assert exc.value.line == line, str(exc.value)
    assert message in str(exc.value)
    assert str(exc.value).startswith(f"{path}:{line}: ")


def test_missing_world_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        World.load(tmp_path / "nowhere.yaml")
