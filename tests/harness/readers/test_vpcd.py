"""vpcd socket protocol (vsmartcard vpcd: 2-byte BE length framing, control codes 0/1/2/4)."""

import socket
import struct
import time

import pytest

from harness.readers.vpcd import CTRL_ATR, CTRL_OFF, CTRL_ON, CTRL_RESET, VpcdCard, VpcdServer

ATR = bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5")


class EchoCard:
    """Answers every APDU with its header followed by 9000; counts resets; saves a marker."""

    atr = ATR

    def __init__(self):
        self.resets = 0
        self.saved = []

    def reset(self):
        self.resets += 1
        return self.atr

    def transmit(self, apdu):
        return bytes(apdu[:4]) + b"\x90\x00"

    def save(self, path):
        self.saved.append(path)
        with open(path, "w") as f:
            f.write(f"resets={self.resets}")


class FakeVpcd:
    """The vpcd side of the socket: listens, accepts the card, exchanges framed messages."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(5)
        self.port = self.listener.getsockname()[1]
        self.conn = None

    def accept(self):
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(5)
        return self.conn

    def send(self, payload, split=False):
        frame = struct.pack(">H", len(payload)) + payload
        if split:  # as vpcd does: length and payload in two writes
            self.conn.sendall(frame[:2])
            time.sleep(0.01)
            self.conn.sendall(frame[2:])
        else:
            self.conn.sendall(frame)

    def recv(self):
        head = self._exact(2)
        return self._exact(struct.unpack(">H", head)[0])

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.conn.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("card closed the socket")
            buf += chunk
        return buf

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.listener.close()


@pytest.fixture
def vpcd():
    fake = FakeVpcd()
    yield fake
    fake.close()


def test_get_atr_and_apdu_are_answered_with_framed_replies(vpcd):
    card = EchoCard()
    with VpcdCard(card, port=vpcd.port):
        vpcd.accept()
        vpcd.send(bytes([CTRL_ATR]))
        assert vpcd.recv() == ATR
        vpcd.send(bytes.fromhex("00A40004023F00"), split=True)
        assert vpcd.recv() == bytes.fromhex("00A400049000")


def test_power_on_and_reset_reset_the_card_without_reply(vpcd):
    card = EchoCard()
    with VpcdCard(card, port=vpcd.port) as served:
        vpcd.accept()
        vpcd.send(bytes([CTRL_ON]))
        vpcd.send(bytes([CTRL_RESET]))
        vpcd.send(bytes([CTRL_OFF]))
        vpcd.send(bytes([CTRL_ATR]))  # the first reply must be the ATR: no reply to 1/2/0
        assert vpcd.recv() == ATR
        assert card.resets == 2
        assert served.powered is False


def test_several_messages_in_one_segment_are_all_answered(vpcd):
    card = EchoCard()
    with VpcdCard(card, port=vpcd.port) as served:
        vpcd.accept()
        burst = b"".join(struct.pack(">H", len(p)) + p for p in
                         (bytes([CTRL_ATR]), bytes.fromhex("00B0000009"), bytes.fromhex("80F2000000")))
        vpcd.conn.sendall(burst)
        assert vpcd.recv() == ATR
        assert vpcd.recv() == bytes.fromhex("00B000009000")
        assert vpcd.recv() == bytes.fromhex("80F200009000")
        assert served.apdus == 2


def test_socket_options_avoid_delayed_ack_stalls(vpcd):
    made = []

    def factory():
        s = socket.socket()
        made.append(s)
        return s

    with VpcdCard(EchoCard(), port=vpcd.port, socket_factory=factory) as served:
        vpcd.accept()
        assert served.wait_connected(5)
        vpcd.send(bytes([CTRL_ATR]))
        vpcd.recv()
        assert made[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_card_reconnects_when_vpcd_goes_away(vpcd):
    card = EchoCard()
    with VpcdCard(card, port=vpcd.port, retry_interval=0.02) as served:
        first = vpcd.accept()
        vpcd.send(bytes([CTRL_ATR]))
        assert vpcd.recv() == ATR
        first.close()  # pcscd restarted: vpcd dropped the card
        vpcd.accept()
        vpcd.send(bytes([CTRL_ATR]))
        assert vpcd.recv() == ATR
        assert served.connections == 2


def test_state_is_saved_when_the_card_is_removed(vpcd, tmp_path):
    card = EchoCard()
    state = tmp_path / "cards" / "one.state"
    served = VpcdCard(card, port=vpcd.port, state_path=state).start()
    vpcd.accept()
    vpcd.send(bytes([CTRL_RESET]))
    vpcd.send(bytes([CTRL_ATR]))
    vpcd.recv()
    served.stop()
    assert state.read_text() == "resets=1"
    assert not served.connected


def test_server_puts_each_card_on_its_own_port():
    fakes = [FakeVpcd(), FakeVpcd()]
    try:
        # VpcdServer uses consecutive ports; emulate by pointing each slot at its fake
        server = VpcdServer([EchoCard(), EchoCard()], base_port=fakes[0].port)
        server.slots[1].port = fakes[1].port
        with server:
            for fake in fakes:
                fake.accept()
            assert server.wait_connected(5)
            for i, fake in enumerate(fakes):
                fake.send(bytes([0x00, 0xB0, 0x00, i, 0x01]))
                assert fake.recv() == bytes([0x00, 0xB0, 0x00, i, 0x90, 0x00])
    finally:
        for fake in fakes:
            fake.close()


def test_a_failing_card_is_removed_and_its_error_kept(vpcd):
    class Broken(EchoCard):
        def transmit(self, apdu):
            raise RuntimeError("card core crashed")

    served = VpcdCard(Broken(), port=vpcd.port).start()
    vpcd.accept()
    vpcd.send(bytes.fromhex("00B0000001"))
    with pytest.raises(ConnectionError):
        vpcd.recv()
    served.stop()
    assert isinstance(served.error, RuntimeError)


def test_state_paths_must_match_cards():
    with pytest.raises(ValueError):
        VpcdServer([EchoCard()], state_paths=[None, None])


# -- through the real pcscd + vsmartcard-vpcd ----------------------------------------------


def test_served_card_appears_in_pcscd_and_disappears_when_stopped(serve_card):
    from harness.readers.pcsc import PcscTransport, reader_states, wait_for_card

    card = EchoCard()
    served = serve_card(card, slot=1)
    name = wait_for_card(1)
    states = dict((n, (present, atr)) for n, present, atr in reader_states())
    assert states[name] == (True, ATR)
    with PcscTransport(name) as t:
        assert t.atr == ATR
        assert t.transmit(bytes.fromhex("00B0000002")) == bytes.fromhex("00B000009000")
    assert served.apdus >= 1
    served.stop()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and dict((n, p) for n, p, _ in reader_states())[name]:
        time.sleep(0.05)
    assert dict((n, p) for n, p, _ in reader_states())[name] is False


def test_many_apdus_through_pcscd_keep_their_order(serve_card):
    from harness.readers.pcsc import PcscTransport

    class Counter(EchoCard):
        def __init__(self):
            super().__init__()
            self.n = 0

        def transmit(self, apdu):
            self.n += 1
            return self.n.to_bytes(2, "big") + b"\x90\x00"

    card = Counter()
    serve_card(card, slot=1)
    with PcscTransport(1) as t:
        got = [int.from_bytes(t.transmit(bytes.fromhex("00CA000002"))[:2], "big") for _ in range(300)]
    assert got == list(range(got[0], got[0] + 300))
