"""The name of the registered network from EF_OPL / EF_OPL5G / EF_PNN (TS 31.102 §4.2.58, §4.2.59,
§4.4.11.9) and what is displayed with EF_SPN and EF_SPDI (§4.2.12, §4.2.66, TS 22.101 §A.4).

The card is the bundled demonstration card (no provider document gives network names), its
files varied per test through its YAML.
"""

from pathlib import Path

import pytest
from harness.events import EventLog

from csim import Card
from harness.network.world import World
from harness.terminal.modem import Modem, ModemConfig
from harness.terminal.transport import InProcessTransport

DEMO = Path("fixtures/cards/demo-mvno-5g.yaml")
UST = "ust: [17, 19, 20, 21, 27, 33, 42, 43, 45, 46, 51, 71, 85, 122, 124, 129]"
SELECT_DF_5GS = bytes.fromhex("00A4080C047FFF5FC0")
LILLE = '{plmn: "208-01", lac_min: 4098, lac_max: 4098, pnn_record: 2}'


@pytest.fixture(scope="module")
def world():
    return World.load("europe")


def demo_card(tmp_path, **replace):
    text = DEMO.read_text(encoding="utf-8")
    for old, new in replace.values():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    return Card.from_profile(path)


def modem_on(world, card, rats=("2G", "3G", "4G", "5G")):
    log = EventLog()
    modem = Modem(InProcessTransport(card, log), world, log=log, config=ModemConfig(pin="0000", rats=rats))
    return modem, log


def without_opl5g(text=None):
    """Replacements that take UST service 129 and DF.5GS/EF_OPL5G off the demonstration card."""
    text = text or DEMO.read_text(encoding="utf-8")
    opl5g = text[text.index("  # on NR (UST 129)"):text.index("  ADF_USIM/EF_SPDI:")]
    return {"ust129": (UST, UST.replace(", 129", "")), "opl5g": (opl5g, "")}


def selected_fids(log):
    return {e["command"][5:7].hex().upper() for e in log.of_kind("apdu") if e["command"][1:2] == b"\xa4"}


def test_opl_range_names_the_area_on_eutran_only(tmp_path, world):
    card = demo_card(tmp_path, lille=(LILLE, '{plmn: "208-01", lac_min: 4097, lac_max: 4097, pnn_record: 2}'),
                     **without_opl5g())
    modem, log = modem_on(world, card, ("4G",))
    modem.power_on(country="FR")
    assert modem.status()["network_name"] == "Demo Mobile Nord"      # LAC 4097 in 4097..4097
    modem, log = modem_on(world, card, ("5G",))
    modem.power_on(country="FR")
    # NR: a 24-bit TAC is no LAC; only the PLMN-wide entry (0000-FFFE) applies
    assert modem.status()["network_name"] == "Demo Mobile"


def test_pnn_record_zero_and_unmatched_plmns_take_the_networks_name(tmp_path, world):
    card = demo_card(tmp_path, proximus=('{plmn: "206-01", lac_min: 0, lac_max: 65534, pnn_record: 1}',
                                         '{plmn: "206-01", lac_min: 0, lac_max: 65534, pnn_record: 0}'),
                     **without_opl5g())
    modem, log = modem_on(world, card)
    modem.power_on(country="BE")
    st = modem.status()
    assert (st["registered"], st["network_name"]) == ("206-01", world.operator_name("206-01"))
    # 206-01 is in EF_SPDI: the SPN is shown as at home, with the network name (b1 = 1)
    assert st["display_name"] == f"Demo MVNO ({world.operator_name('206-01')})"
    assert log.of_kind("network_name")[-1]["source"] == "network"


def test_without_opl_the_first_pnn_record_names_the_home_network(tmp_path, world):
    text = DEMO.read_text(encoding="utf-8")
    opl = text[text.index("  ADF_USIM/EF_OPL:"):text.index("  ADF_USIM/EF_SPDI:")]
    card = demo_card(tmp_path, ust=(UST, UST.replace(" 46,", "").replace(", 129", "")), opl=(opl, ""))
    modem, log = modem_on(world, card)
    modem.power_on(country="FR")
    assert modem.status()["network_name"] == "Demo Mobile"
    assert "6FC6" not in selected_fids(log)                            # EF_OPL not looked for
    modem.move(country="DE")
    st = modem.status()
    assert st["roaming"] and st["network_name"] == world.operator_name(st["registered"])
    assert st["display_name"] == st["network_name"]                    # b2 = 1: no SPN abroad


def test_b2_zero_shows_the_spn_abroad_and_names_are_not_repeated(tmp_path, world):
    card = demo_card(tmp_path, spn=("display_spn_when_roaming: false", "display_spn_when_roaming: true"),
                     name=("{full: Demo Mobile, short: Demo}", "{full: Demo MVNO, short: Demo}"),
                     **without_opl5g())
    modem, log = modem_on(world, card)
    modem.power_on(country="FR")
    assert modem.status()["display_name"] == "Demo MVNO"                # SPN = network name: once
    modem.move(country="DE")
    st = modem.status()
    assert st["display_name"] == f"{world.operator_name(st['registered'])} (Demo MVNO)"


def test_cards_without_the_services_read_no_name_files(world):
    card = Card.from_profile("alphalink-orange")
    modem, log = modem_on(world, card)
    modem.power_on(country="FR")
    assert not {"6FC5", "6FC6", "6FCD"} & selected_fids(log)
    assert log.of_kind("network_name") == []
    st = modem.status()
    assert st["network_name"] == world.operator_name("208-01")
    assert st["display_name"] == f"Orange ({world.operator_name('208-01')})"   # b1 = 1 at home


def test_a_card_name_equal_to_the_networks_is_still_the_cards(tmp_path, world):
    own = world.operator_name("208-01")
    card = demo_card(tmp_path, name=("{full: Demo Mobile, short: Demo}", "{full: " + own + "}"),
                     **without_opl5g())
    modem, log = modem_on(world, card)
    modem.power_on(country="FR")
    event = log.of_kind("network_name")[-1]
    assert (event["name"], event["source"]) == (own, "card")


def test_opl5g_names_the_tac_on_nr_and_opl_the_same_area_on_eutran(world):
    card = Card.from_profile(DEMO)
    modem, log = modem_on(world, card, ("5G",))
    modem.power_on(country="FR")
    st = modem.status()
    # TAC 4097 in EF_OPL5G's 4097..4097
    assert (st["rat"], st["area"], st["network_name"]) == ("5G", 4097, "Demo Mobile 5G")
    assert SELECT_DF_5GS in [e["command"] for e in log.of_kind("apdu")]
    modem, log = modem_on(world, card, ("4G",))
    modem.power_on(country="FR")
    st = modem.status()
    # E-UTRAN: EF_OPL, whose only 208-01 entry for LAC 4097 is the whole-PLMN one
    assert (st["rat"], st["area"], st["network_name"]) == ("4G", 4097, "Demo Mobile")


def test_opl5g_without_a_matching_entry_gives_the_networks_name_on_nr(tmp_path, world):
    card = demo_card(tmp_path, whole=('{plmn: "208-01", tac_min: 0, tac_max: 16777214, pnn_record: 1}',
                                      '{plmn: "208-01", tac_min: 0, tac_max: 4096, pnn_record: 1}'),
                     paris=('{plmn: "208-01", tac_min: 4097, tac_max: 4097, pnn_record: 4}',
                            '{plmn: "208-01", tac_min: 4098, tac_max: 65535, pnn_record: 4}'))
    modem, log = modem_on(world, card, ("5G",))
    modem.power_on(country="FR")
    # TAC 4097 lies in neither range; EF_OPL's whole-PLMN entry is not used on NR with EF_OPL5G
    assert modem.status()["network_name"] == world.operator_name("208-01")
    assert log.of_kind("network_name")[-1]["source"] == "network"


@pytest.mark.parametrize("rats", [("4G",), ("5G",)])
def test_a_wild_digit_matches_any_network_of_the_entry(world, rats):
    card = Card.from_profile(DEMO)
    modem, log = modem_on(world, card, rats)
    modem.power_on(country="FR")
    modem.move(country="ES")
    st = modem.status()
    assert st["registered"].startswith("214-0") and st["rat"] == rats[0]
    assert st["network_name"] == "Demo Mobile ES"                   # "214-0D": EF_OPL or EF_OPL5G
    assert st["display_name"] == "Demo Mobile ES"                   # b2 = 1: no SPN abroad


def test_a_wild_digit_needs_the_same_mnc_length(tmp_path, world):
    card = demo_card(tmp_path, **{
        "opl": ('{plmn: "214-0D", lac_min: 0, lac_max: 65534, pnn_record: 3}',
                '{plmn: "214-0DD", lac_min: 0, lac_max: 65534, pnn_record: 3}'),
        **without_opl5g()})
    modem, log = modem_on(world, card, ("4G",))
    modem.power_on(country="ES")
    st = modem.status()
    assert st["network_name"] == world.operator_name(st["registered"])


def test_cards_without_service_129_do_not_look_for_opl5g(tmp_path, world):
    card = demo_card(tmp_path, **without_opl5g())
    modem, log = modem_on(world, card, ("5G",))
    modem.power_on(country="FR")
    assert SELECT_DF_5GS not in [e["command"] for e in log.of_kind("apdu")]
    assert modem.status()["network_name"] == "Demo Mobile"        # EF_OPL's whole-PLMN entry, on NR
