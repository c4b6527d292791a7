"""The terminal's side of the ME-UICC link: SELECT with the FCP size remembered, READ/UPDATE
BINARY, files by path from the MF."""

import pytest
from harness.events import Event, EventLog
from harness.terminal.link import UiccLink

import csim
from csim import encoding as enc
from csim import stk
from harness.terminal.errors import CardCommandError, TransportError
from harness.terminal.transport import InProcessTransport

FCP_ICCID = "62178202412183022FE28A01058B032F06028002000A880110"


class ScriptedCard:
    """A card that answers from a fixed script of (expected command, response)."""

    atr = bytes.fromhex("3B00")

    def __init__(self, script):
        self.script = list(script)

    def transmit(self, apdu):
        expected, response = self.script.pop(0)
        assert apdu.hex().upper() == expected
        return bytes.fromhex(response)

    def reset(self):
        return self.atr


class PlainTransport:
    """Any transport: only ``transmit`` is used by the link."""

    name = "plain"

    def __init__(self, card):
        self.card = card
        self.sent = []

    def transmit(self, apdu):
        self.sent.append(apdu)
        return self.card.transmit(apdu)


@pytest.fixture(params=["in-process", "generic"])
def make_link(request):
    def make(script):
        card = ScriptedCard(script)
        log = EventLog()
        transport = InProcessTransport(card, log) if request.param == "in-process" else PlainTransport(card)
        return UiccLink(transport), card, log
    return make


def test_first_select_asks_for_the_fcp_then_no_data(make_link):
    link, card, _ = make_link([
        ("00A40004022FE200", FCP_ICCID + "9000"),
        ("00B000000A", "98331099000000001" + "0F2" + "9000"),
        ("00A4000C022FE2", "9000"),
        ("00B000000A", "98331099000000001" + "0F2" + "9000"),
    ])
    assert link.read(0x2FE2) == bytes.fromhex("983310990000000010F2")
    assert link.sizes == {0x2FE2: 10}
    assert link.read(0x2FE2) == bytes.fromhex("983310990000000010F2")
    assert card.script == []


def test_absent_file_and_read_error(make_link):
    link, _, _ = make_link([("00A40004026F4600", "6A82"), ("00A40004026F0700", "62038002000A9000"),
                            ("00B000000A", "6982")])
    assert link.read(0x6F46) is None
    assert link.read(0x6F07) is None


def test_large_file_is_read_in_256_byte_chunks(make_link):
    link, card, _ = make_link([("00A40004026F0100", "6204800201109000"),
                               ("00B0000000", "11" * 256 + "9000"),
                               ("00B0010010", "22" * 16 + "9000")])
    assert link.read(0x6F01) == b"\x11" * 256 + b"\x22" * 16
    assert card.script == []


def test_update_goes_out_only_when_the_contents_change(make_link):
    link, card, _ = make_link([("00A40004026F7E00", "6204800200029000"), ("00D6000002AABB", "910B")])
    assert link.update(0x6F7E, b"\xaa\xbb") == 0x910B
    assert link.efs[0x6F7E] == b"\xaa\xbb"
    assert link.update(0x6F7E, b"\xaa\xbb") == 0x9000  # nothing sent
    assert card.script == []


def test_toolkit_commands(make_link):
    link, _, _ = make_link([("80C2000002D600", "910C"), ("801200000C", "D00A" + "00" * 10 + "9000"),
                            ("8014000001AA", "9000"), ("8010000001FF", "9000")])
    assert link.envelope(b"\xd6\x00") == 0x910C
    assert link.fetch(0x0C) == (bytes.fromhex("D00A") + bytes(10), 0x9000)
    assert link.terminal_response(b"\xaa") == 0x9000
    assert link.terminal_profile(b"\xff") == 0x9000


def test_in_process_transport_records_one_apdu_event_per_command():
    card = ScriptedCard([("00B0000000", "6C04"), ("00B0000004", "010203049000")])
    log = EventLog()
    link = UiccLink(InProcessTransport(card, log))
    assert link.tx(bytes.fromhex("00B0000000")) == (b"\x01\x02\x03\x04", 0x9000)
    (ev,) = list(log)
    assert ev.kind == "apdu" and ev.seq == 0 and ev.time == 0.0
    assert ev.data == {"command": bytes.fromhex("00B0000000"), "response": bytes.fromhex("010203049000")}
    assert ev["response"][-2:] == b"\x90\x00" and ev.get("missing", 1) == 1
    assert repr(ev) == "#0 t=0 apdu command=00B0000000 response=010203049000"


def test_event_record_api():
    ev = Event(3, 1.5, "registration", {"plmn": "208-01"})
    assert (ev.seq, ev.time, ev.kind, ev["plmn"]) == (3, 1.5, "registration", "208-01")
    assert repr(ev) == "#3 t=1.5 registration plmn=208-01"
    log = EventLog()
    assert log.record_apdu(b"\x00", b"\x90\x00") is log[0]


TERMINAL_PROFILE = stk.TerminalProfile.build([
    "profile_download", "command_result", "provide_local_information", "set_up_event_list",
    "event_location_status", "refresh"]).raw


def test_files_are_read_while_a_proactive_command_is_pending():
    # TS 102 221 §10.2.1.1: 91xx is a normal ending; the card keeps answering it to every
    # command until the terminal FETCHes. The first read selects with the FCP, the second
    # with no data (the size remembered): both must see the file.
    card = csim.Card.from_profile("alphalink-orange")
    link = UiccLink(InProcessTransport(card))
    link.select_path("3F00/7FF0")
    assert link.verify_pin(b"0000") == 0x9000
    sw = link.terminal_profile(TERMINAL_PROFILE)
    assert sw >> 8 == 0x91
    for _ in range(2):
        assert link.select(0x6F07) == 9
        assert enc.decode_imsi(link.read(0x6F07)) == "208019900000001"
    assert enc.decode_imsi(link.read_binary("3F00/7FF0/6F07")) == "208019900000001"
    assert link.sw(bytes.fromhex("00A4000C026F07")) == sw  # still pending
    command, fetched = link.fetch(sw & 0xFF)
    assert fetched == 0x9000 and stk.parse_proactive(command).type == stk.Command.SET_UP_EVENT_LIST


def test_path_api_on_a_simulated_card():
    card = csim.Card.from_profile("alphalink-orange")
    log = EventLog()
    link = UiccLink(InProcessTransport(card, log))
    assert link.usim_aid() == bytes.fromhex("A0000000871002FF33FF018900000001")
    assert enc.decode_iccid(link.read_binary("3F00/2FE2")) == "8933019900000000012"
    fcp = link.select_path("7FF0")
    assert fcp.structure == "df" and fcp.df_name == link.usim_aid() and fcp.pin_status[0][0] == 0x01
    assert link.verify_pin(b"1111") == 0x63C2    # wrong PIN: two attempts left (TS 102 221 §10.2.1.3)
    assert link.verify_pin(b"0000") == 0x9000
    msisdn = link.read_records("3F00/7FF0/6F40")
    assert link.select_path("3F00/7FF0/6F40").record_count == len(msisdn)
    assert link.read_record("3F00/7FF0/6F40", 1) == msisdn[0]
    assert enc.decode_msisdn(msisdn[0])["number"] == "+33700000000001"
    sent = [e["command"].hex().upper() for e in log.of_kind("apdu")][-4:]
    # from the MF down: the DFs selected with no data, the EF with its FCP
    assert sent == ["00A4000C023F00", "00A4040C10A0000000871002FF33FF018900000001",
                    "00A40004026F4000", f"00B20104{len(msisdn[0]):02X}"]
    with pytest.raises(CardCommandError, match="SELECT 6F3E: SW 6A82") as err:
        link.read_binary("3F00/7FF0/6F3E")      # no EF_GID1 on this card
    assert err.value.sw == 0x6A82 and isinstance(err.value, TransportError)


def test_path_api_errors_carry_the_status_word(make_link):
    link, card, _ = make_link([("00A4000C023F00", "9000"), ("00A40004022FE200", FCP_ICCID + "9000"),
                               ("00B000000A", "6982")])
    with pytest.raises(CardCommandError, match=r"READ BINARY 3F00/2FE2: SW 6982 \(") as err:
        link.read_binary("3F00/2FE2")
    assert err.value.sw == 0x6982 and card.script == []


def _dir_record(aid: str, label: str) -> str:
    """An EF_DIR record (application template, TS 102 221 §13.1) of 32 bytes."""
    body = bytes.fromhex("4F%02X" % (len(aid) // 2) + aid) + b"\x50" + bytes((len(label),)) + label.encode()
    return (b"\x61" + bytes((len(body),)) + body).ljust(32, b"\xff").hex().upper()


FCP_DIR = "620F82054221002003" + "83022F00" + "80020060"  # linear fixed, 3 records of 32 bytes
USIM_AID = "A0000000871002FF33FF018900000001"
ISIM_AID = "A0000000871004FF33FF018900000001"


def test_usim_aid_reads_ef_dir_up_to_the_first_usim(make_link):
    link, card, _ = make_link([("00A4000C023F00", "9000"), ("00A40004022F0000", FCP_DIR + "9000"),
                               ("00B2010420", _dir_record(ISIM_AID, "ISIM") + "9000"),
                               ("00B2020420", _dir_record(USIM_AID, "USIM") + "9000")])
    assert link.usim_aid() == bytes.fromhex(USIM_AID)
    assert link.usim_aid() == bytes.fromhex(USIM_AID)  # once per link: nothing more sent
    assert card.script == []


def test_usim_aid_falls_back_to_the_usim_application_code(make_link):
    # TS 102 221 §11.1.1.2: with no USIM in EF_DIR, the ADF is selected by a right-truncated AID
    isim = _dir_record(ISIM_AID, "ISIM")
    link, card, _ = make_link([("00A4000C023F00", "9000"), ("00A40004022F0000", FCP_DIR + "9000"),
                               ("00B2010420", isim + "9000"), ("00B2020420", isim + "9000"),
                               ("00B2030420", "6A83"),
                               ("00A4000C023F00", "9000"), ("00A40004022F0000", "6A82")])
    assert link.usim_aid() == bytes.fromhex("A0000000871002")
    link.forget_aid()
    assert link.usim_aid() == bytes.fromhex("A0000000871002")  # no EF_DIR at all
    assert card.script == []
