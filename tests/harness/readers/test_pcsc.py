"""PcscTransport through the real pcscd + vsmartcard-vpcd, against small T=0 cards."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from harness.events import EventLog
from harness.terminal.link import UiccLink

from harness.readers.pcsc import PcscTransport, list_readers, resolve_reader
from harness.readers.safety import WriteRefused
from harness.terminal.transport import Transport, TransportError

ATR = bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5")
FILE = bytes.fromhex("0123456789ABCDEF0123")
FCP = bytes.fromhex("621B8202412183026F07A5038001718A01058B036F06028002000A8800")


class T0Card:
    """A card with T=0 behaviour: SELECT P2=04 answers 61xx, READ BINARY with a wrong Le 6Cxx."""

    atr = ATR

    def __init__(self):
        self.pending = b""
        self.resets = 0
        self.seen = []

    def reset(self):
        self.resets += 1
        self.pending = b""
        return self.atr

    def transmit(self, apdu):
        apdu = bytes(apdu)
        self.seen.append(apdu)
        ins = apdu[1]
        if ins == 0xA4:
            self.pending = FCP
            return bytes([0x61, len(FCP)])
        if ins == 0xC0:
            data, self.pending = self.pending, b""
            return data[: apdu[4]] + b"\x90\x00"
        if ins == 0xB0:
            if apdu[4] != len(FILE):
                return bytes([0x6C, len(FILE)])
            return FILE + b"\x90\x00"
        if ins == 0x20:
            return b"\x63\xc3" if len(apdu) == 4 else b"\x90\x00"
        return b"\x6d\x00"


def test_readers_are_listed_and_resolved(pcscd_service):
    names = list_readers()
    assert names == ["Virtual PCD 00 00", "Virtual PCD 00 01"]
    assert resolve_reader(1, names) == "Virtual PCD 00 01"
    assert resolve_reader("1", names) == "Virtual PCD 00 01"
    assert resolve_reader("pcd 00 00", names) == "Virtual PCD 00 00"
    with pytest.raises(TransportError, match="no reader #5"):
        resolve_reader(5, names)
    with pytest.raises(TransportError, match="several readers"):
        resolve_reader("Virtual", names)
    with pytest.raises(TransportError, match="no reader matches"):
        resolve_reader("Gemalto", names)
    with pytest.raises(TransportError, match="no PC/SC reader"):
        resolve_reader(0, [])


def test_t0_procedure_bytes_are_handled_through_pcscd(serve_card):
    card = T0Card()
    serve_card(card)
    log = EventLog()
    with PcscTransport(1, log=log) as t:
        assert isinstance(t, Transport)
        assert t.atr == ATR
        assert t.protocol in ("T0", "T1")
        assert t.transmit(bytes.fromhex("00A40004026F07")) == FCP + b"\x90\x00"
        assert t.transmit(bytes.fromhex("00B0000000")) == FILE + b"\x90\x00"
    assert card.seen[:4] == [bytes.fromhex(h) for h in
                             ("00A40004026F07", "00C000001D", "00B0000000", "00B000000A")]
    assert [e["response"] for e in log.of_kind("apdu")] == [FCP + b"\x90\x00", FILE + b"\x90\x00"]


def test_files_are_selected_and_read_with_the_fcp_size(serve_card):
    card = T0Card()
    serve_card(card)
    with PcscTransport(1) as t:
        link = UiccLink(t)
        assert link.select_path("3F00/6F07").size == 10
        assert link.read_binary("3F00/6F07") == FILE
    # from the MF down, the EF with its FCP (61xx then GET RESPONSE), READ BINARY with its size
    assert card.seen[-5:] == [bytes.fromhex(h) for h in ("00A4000C023F00", "00C000001D", "00A40004026F0700",
                                                         "00C000001D", "00B000000A")]


def test_reset_reaches_the_card(serve_card):
    card = T0Card()
    serve_card(card)
    with PcscTransport(1) as t:
        before = card.resets
        assert t.reset() == ATR
        assert card.resets == before + 1
        assert t.transmit(bytes.fromhex("00B000000A")) == FILE + b"\x90\x00"


def test_reset_by_another_application_is_followed_transparently(serve_card):
    card = T0Card()
    serve_card(card)
    with PcscTransport(1) as ours, PcscTransport(1) as other:
        other.reset()  # e.g. a REFRESH with UICC reset handled by another process
        assert ours.transmit(bytes.fromhex("00B000000A")) == FILE + b"\x90\x00"
        assert ours.resets == 1


def test_removed_card_gives_a_clear_error(serve_card):
    served = serve_card(T0Card())
    with PcscTransport(1) as t:
        served.stop()
        with pytest.raises(TransportError, match="card removed from reader 'Virtual PCD 00 01'"):
            t.transmit(bytes.fromhex("00B000000A"))


def test_empty_reader_gives_a_clear_error(pcscd_service):
    with pytest.raises(TransportError, match="no card in reader 'Virtual PCD 00 01'"):
        PcscTransport(1, connect_timeout=0.2)


def test_unknown_reader_gives_a_clear_error(pcscd_service):
    with pytest.raises(TransportError, match="no reader #7"):
        PcscTransport(7)


def test_slow_card_hits_the_exchange_time_limit(serve_card):
    release = threading.Event()

    class Slow(T0Card):
        def transmit(self, apdu):
            if apdu[1] == 0xCA:
                release.wait(2)
            return super().transmit(apdu)

    serve_card(Slow())
    with PcscTransport(1, timeout=0.2) as t:
        with pytest.raises(TransportError, match="did not answer 00CA0000 within 0.2 s"):
            t.transmit(bytes.fromhex("00CA000000"))
        release.set()


def test_writes_are_refused_before_reaching_the_card(serve_card):
    card = T0Card()
    serve_card(card)
    with PcscTransport(1) as t:
        with pytest.raises(WriteRefused, match="UPDATE BINARY refused"):
            t.transmit(bytes.fromhex("00D6000002AABB"))
    assert not any(apdu[1] == 0xD6 for apdu in card.seen)


def test_trace_has_every_exchange_with_pin_masked(serve_card, tmp_path):
    serve_card(T0Card())
    path = tmp_path / "trace.jsonl"
    with PcscTransport(1, trace=path) as t:
        t.transmit(bytes.fromhex("00A40004026F07"))
        t.transmit(bytes.fromhex("0020000108") + b"1234\xff\xff\xff\xff")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["reader"] == "Virtual PCD 00 01" and lines[0]["atr"] == ATR.hex().upper()
    commands = [e["c"] for e in lines[1:]]
    assert commands[:2] == ["00A40004026F07", "00C000001D"]
    assert commands[2] == "00200001"  # the safety probe: empty VERIFY
    assert commands[3] == "0020000108" + "*" * 16
    assert "31323334" not in path.read_text()


def test_no_pcscd_gives_a_clear_error(tmp_path):
    code = ("from harness.readers.pcsc import list_readers\n"
            "try:\n    list_readers()\nexcept Exception as e:\n    print(e)\n")
    env = dict(os.environ, PCSCLITE_CSOCK_NAME=str(tmp_path / "absent.comm"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert "PC/SC service unavailable" in out.stdout


def test_served_card_keeps_pace(serve_card):
    # functional check of a long exchange sequence; throughput is measured in bench/
    serve_card(T0Card())
    with PcscTransport(1) as t:
        start = time.monotonic()
        for _ in range(200):
            assert t.transmit(bytes.fromhex("00B000000A"))[-2:] == b"\x90\x00"
        assert time.monotonic() - start < 60
