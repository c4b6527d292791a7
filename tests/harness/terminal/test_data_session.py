import pytest

from csim.yamlsrc import DataError
from harness.scenario import loader as scenario
from harness.scenario.runner import Session
from harness.terminal.data_session import read_card_identity


def test_identity_read_over_the_transport():
    s = Session.build("alphalink-orange", "europe")
    s.modem.power_on(country="FR")
    mark = s.log.mark()
    card = read_card_identity(s.transport, sim_reference=None)
    assert (card.iccid, card.imsi, card.mnc_length, card.home_plmn) == (
        "8933019900000000012", "208019900000001", 2, "208-01")
    assert card.spn == "Orange"
    assert card.msisdn == "+33700000000001"
    assert card.gid1 == ""                               # UST without service 17: EF_GID1 not read
    reads = [e.data["command"].hex().upper() for e in s.log.of_kind("apdu", since=mark)]
    aid = "A0000000871002FF33FF018900000001"
    assert reads == [
        "00A4000C023F00", "00A40004022FE200", "00B000000A",       # EF_ICCID from the MF
        "00A4000C023F00", "00A40004022F0000", "00B2010426",       # EF_DIR: the USIM's AID
        "00A4000C023F00", "00A4040C10" + aid,                     # ADF.USIM by its AID
        "00A40004026F4000", "00B201041C",                         # EF_MSISDN record 1
        "00A40004026F0700", "00B0000009",                         # then by FID in ADF.USIM
        "00A40004026FAD00", "00B0000004",
        "00A40004026F4600", "00B0000011",
        "00A40004026F3800", "00B0000011",                         # EF_UST: no service 17
    ]


def test_gid1_read_only_with_service_17():
    """EF_GID1 (TS 31.102 §4.2.10) is read when EF_UST has service 17, whole (FF bytes included, as
    Android's getGid1() gives it); with the services the modem read, EF_UST is not read again."""
    s = Session.build("demo-mvno-5g", "europe")
    s.modem.power_on(country="FR")
    mark = s.log.mark()
    card = read_card_identity(s.transport, services=s.modem.usim.ust)
    assert card.gid1 == "D3A1FFFF"
    reads = [e.data["command"].hex().upper() for e in s.log.of_kind("apdu", since=mark)]
    assert reads[-2:] == ["00A40004026F3E00", "00B0000004"] and "00A40004026F3800" not in reads
    orange = Session.build("alphalink-orange", "europe")
    orange.modem.power_on(country="FR")
    mark = orange.log.mark()
    assert read_card_identity(orange.transport, services=orange.modem.usim.ust).gid1 == ""
    assert not [e for e in orange.log.of_kind("apdu", since=mark) if e.data["command"][5:7] == b"\x6f\x3e"]


def test_unknown_apn_database_names_the_line(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: x\ncard: alphalink-orange\nworld: europe\nterminal:\n  apn_db: nokia\n"
                 "steps:\n  - power_on: {country: FR}\n  - data_connect\n")
    with pytest.raises(DataError) as err:
        scenario.load_file(f)
    assert str(err.value).startswith(f"{f}:5: unknown APN database 'nokia'")


def test_pdn_expectation_schema_error(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: x\ncard: alphalink-orange\nworld: europe\n"
                 "steps:\n  - data_connect: {pdn_type: ipv5}\n")
    with pytest.raises(DataError) as err:
        scenario.load_file(f)
    assert ":5:" in str(err.value) and "pdn_type" in str(err.value)
