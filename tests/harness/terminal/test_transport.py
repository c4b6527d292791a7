"""T=0 procedure bytes handled on the terminal side, and APDUs logged."""

from harness.events import EventLog

from harness.terminal.transport import InProcessTransport, Transport, transmit_t0


class ScriptedCard:
    """A card that answers from a fixed script of (expected command, response)."""

    atr = bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5")

    def __init__(self, script):
        self.script = list(script)
        self.seen = []

    def transmit(self, apdu):
        self.seen.append(apdu.hex().upper())
        expected, response = self.script.pop(0)
        assert apdu.hex().upper() == expected
        return bytes.fromhex(response)

    def reset(self):
        return self.atr


def test_61xx_triggers_get_response_on_the_same_channel():
    card = ScriptedCard([("01A4000C027FF0", "6104"), ("01C0000004", "DEADBEEF9000")])
    assert transmit_t0(card.transmit, bytes.fromhex("01A4000C027FF0")) == bytes.fromhex("DEADBEEF9000")


def test_chained_61xx_accumulates_data():
    card = ScriptedCard([("00B2010400", "6102"), ("00C0000002", "AABB6101"), ("00C0000001", "CC9000")])
    assert transmit_t0(card.transmit, bytes.fromhex("00B2010400")).hex().upper() == "AABBCC9000"


def test_6cxx_resends_with_the_right_le():
    card = ScriptedCard([("00B0000000", "6C09"), ("00B0000009", "082980102143658709" + "9000")])
    assert transmit_t0(card.transmit, bytes.fromhex("00B0000000")).hex().upper() == "0829801021436587099000"


def test_gsm_9fxx_uses_gsm_get_response():
    card = ScriptedCard([("A0A40000027F20", "9F16"), ("A0C0000016", "00" * 22 + "9000")])
    assert transmit_t0(card.transmit, bytes.fromhex("A0A40000027F20")) == bytes(22) + b"\x90\x00"


def test_9fxx_from_a_uicc_command_is_passed_through():
    card = ScriptedCard([("00A4000C023F00", "9F10")])
    assert transmit_t0(card.transmit, bytes.fromhex("00A4000C023F00")) == bytes.fromhex("9F10")


def test_in_process_transport_logs_every_exchange():
    log = EventLog()
    card = ScriptedCard([("00A4000C023F00", "9000")])
    t = InProcessTransport(card, log)
    assert isinstance(t, Transport)
    assert t.transmit(bytes.fromhex("00A4000C023F00")) == b"\x90\x00"
    assert t.reset() == ScriptedCard.atr
    kinds = [e.kind for e in log]
    assert kinds == ["apdu", "reset"]
    assert log[0]["command"] == bytes.fromhex("00A4000C023F00")
    assert log.tail(1, kinds=("apdu",))[0]["response"] == b"\x90\x00"
