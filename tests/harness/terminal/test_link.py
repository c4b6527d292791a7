"""The terminal's side of the ME-UICC link: SELECT with the FCP size remembered, READ/UPDATE BINARY."""

import pytest
from harness.events import Event, EventLog
from harness.terminal.link import UiccLink, fcp_size

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


def test_fcp_size_from_file_size_or_record_length():
    assert fcp_size(bytes.fromhex(FCP_ICCID)) == 10
    assert fcp_size(bytes.fromhex("62078205422100100A")) == 16  # linear fixed, record length 16
    assert fcp_size(b"\x6f\x00") == 0
