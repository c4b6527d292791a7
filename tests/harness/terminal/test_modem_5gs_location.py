"""Location information written by the modem per access technology: EF_5GS3GPPLOCI in DF.5GS on NR
when the USIM has service 122, EF_EPSLOCI on E-UTRAN (TS 31.102 §4.2.91, §4.4.11.2).

No provider document of the bundled cards speaks of 5GS card files, so the card here is the
bundled Bouygues Telecom profile with UST service 122 (5GS Mobility Management Information) added.
"""

from pathlib import Path

import pytest
from harness.events import EventLog

from csim import Card
from harness.network.world import World
from harness.terminal.modem import Modem, ModemConfig
from harness.terminal.transport import InProcessTransport

BOUYGUES = Path("fixtures/cards/alphalink-bouygues.yaml")
UST = "ust: [19, 20, 21, 27, 33, 34, 38, 42, 43, 71, 73, 85]"
EF_5GS3GPPLOCI = "3F00/7FF0/5FC0/4F01"
EF_EPSLOCI = "3F00/7FF0/6FE3"


@pytest.fixture(scope="module")
def world():
    return World.load("europe")


def card_with(tmp_path, ust):
    text = BOUYGUES.read_text(encoding="utf-8")
    assert UST in text
    path = tmp_path / "bouygues.yaml"
    path.write_text(text.replace(UST, ust), encoding="utf-8")
    return Card.from_profile(path)


def modem_on(world, card, rats):
    log = EventLog()
    modem = Modem(InProcessTransport(card, log), world, log=log,
                  config=ModemConfig(pin="1111", rats=rats))
    return modem, log


def test_nr_registration_writes_5gs_location(tmp_path, world):
    card = card_with(tmp_path, UST.replace("85]", "85, 122]"))
    eps_before = card.read_file(EF_EPSLOCI)
    modem, log = modem_on(world, card, ("5G",))
    modem.power_on(country="FR")
    reg = log.of_kind("registration")[-1]
    assert (reg["plmn"], reg["rat"]) == ("208-20", "5G")
    loci = card.read_file(EF_5GS3GPPLOCI).hex().upper()
    # 5G-GUTI: 5GS mobile identity, length 000B, type 5G-GUTI (F2), MCC/MNC 208-20 (TS 24.501 §9.11.3.4)
    assert loci[:12] == "000BF202F802"
    # last visited registered TAI: 208-20, TAC 4865 = 001301 (24 bits); 5GS update status 5U1 (00)
    assert loci[26:] == "02F802" "001301" "00"
    assert card.read_file(EF_EPSLOCI) == eps_before  # not on E-UTRAN: EPS location untouched
    # the terminal is back in ADF.USIM: a USIM EF is selectable by FID (TS 102 221 §8.4.1)
    assert card.transmit(bytes.fromhex("00A4000C026F07"))[-2:] == b"\x90\x00"


def test_eutran_registration_writes_eps_location(tmp_path, world):
    card = card_with(tmp_path, UST.replace("85]", "85, 122]"))
    loci_before = card.read_file(EF_5GS3GPPLOCI)
    modem, log = modem_on(world, card, ("4G",))
    modem.power_on(country="FR")
    reg = log.of_kind("registration")[-1]
    assert (reg["plmn"], reg["rat"]) == ("208-20", "4G")
    eps = card.read_file(EF_EPSLOCI).hex().upper()
    # EPS GUTI (0B F6, 208-20), TAI 208-20 / 1301, EPS update status EU1 UPDATED (TS 31.102 §4.2.91)
    assert eps[:10] == "0BF602F802" and eps[24:] == "02F802" "1301" "00"
    assert card.read_file(EF_5GS3GPPLOCI) == loci_before


def test_nr_without_df_5gs_keeps_eps_location(tmp_path, world):
    """Without service 122 the card has no DF.5GS: on NR the EPS location is kept as before."""
    card = card_with(tmp_path, UST)
    modem, log = modem_on(world, card, ("5G",))
    modem.power_on(country="FR")
    assert log.of_kind("registration")[-1]["rat"] == "5G"
    assert card.read_file(EF_EPSLOCI).hex().upper()[24:] == "02F802" "1301" "00"
    assert card.transmit(bytes.fromhex("00A4080C067FFF5FC04F01"))[-2:] == b"\x6a\x82"


# -- the RPLMN at switch-on on a card with DF.5GS ---------------------------------------------------

DEMO = "demo-mvno-5g"   # the demonstration card: UST 85 and 122, EF_5GS3GPPLOCI in DF.5GS


def _locations(card, nr_plmn, nr_status, eps_plmn):
    from csim import encoding as enc

    card.write_file(EF_5GS3GPPLOCI, enc.encode_5gs_loci({"plmn": nr_plmn, "tac": 8193, "status": nr_status}))
    card.write_file(EF_EPSLOCI, enc.encode_epsloci({"plmn": eps_plmn, "tac": 4098, "status": "updated"}))


def _first_choice(log):
    return log.of_kind("plmn_selection")[-1]["order"][0].split("/")[0]


@pytest.mark.parametrize("nr_status, rplmn", [("updated", "206-01"), ("not_updated", "206-10")])
def test_switch_on_takes_the_valid_5gs_location_first(world, nr_status, rplmn):
    """A terminal with no memory of this card: EF_5GS3GPPLOCI when 5U1 UPDATED, else EF_EPSLOCI."""
    card = Card.from_profile(DEMO)
    _locations(card, "206-01", nr_status, "206-10")
    log = EventLog()
    modem = Modem(InProcessTransport(card, log), world, log=log, config=ModemConfig(pin="0000"))
    mark = log.mark()
    modem.power_on(location="FR-border-BE")
    assert _first_choice(log) == rplmn
    reads = [e["command"].hex().upper() for e in log.of_kind("apdu", since=mark)]
    i = reads.index("00A4080C067FFF5FC04F01")              # DF.5GS/EF_5GS3GPPLOCI by path
    assert reads[i + 1:i + 3] == ["00B0000014", "00A4000C027FFF"]   # read, back to ADF.USIM


def test_switch_on_takes_the_location_this_terminal_wrote_last(world):
    card = Card.from_profile(DEMO)
    log = EventLog()
    modem = Modem(InProcessTransport(card, log), world, log=log, config=ModemConfig(pin="0000", rats=("4G",)))
    modem.power_on(country="BE")                           # E-UTRAN: EF_EPSLOCI 206-01 written last
    assert card.read_file(EF_EPSLOCI).hex().upper()[24:30] == "02F610"
    from csim import encoding as enc

    card.write_file(EF_5GS3GPPLOCI, enc.encode_5gs_loci({"plmn": "206-10", "tac": 8449, "status": "updated"}))
    modem.power_off()
    modem.power_on(location="FR-border-BE")
    assert _first_choice(log) == "206-01"
    other = Modem(InProcessTransport(card, log), world, log=log, config=ModemConfig(pin="0000", rats=("4G",)))
    other.power_on(location="FR-border-BE")                # another terminal: the 5GS location
    assert _first_choice(log) == "206-10"


def test_cards_without_service_122_read_no_5gs_location(world):
    card = Card.from_profile("alphalink-orange")
    log = EventLog()
    modem = Modem(InProcessTransport(card, log), world, log=log, config=ModemConfig(pin="0000"))
    modem.power_on(country="FR")
    assert not [e for e in log.of_kind("apdu") if e["command"][5:9] == bytes.fromhex("7FFF5FC0")]
