"""No public path of PcscTransport writes a read-only card or blocks a PIN (TS 102 221 §11.1.9).

A simulated card (alphalink-orange, PIN1 0000 enabled, 3 attempts) is served through the real
pcscd + vsmartcard-vpcd; what reached it is read back from the card itself.
"""

import pytest

from csim import Card
from harness.readers.pcsc import PcscTransport
from harness.readers.safety import PIN_ATTEMPTS_OK, PinGuard, SafetyPolicy, WriteRefused

SELECT_USIM_FPLMN = [bytes.fromhex("00A40004023F00"), bytes.fromhex("00A4000C027FFF"),
                     bytes.fromhex("00A4000C026F7B")]
UPDATE_FPLMN = bytes.fromhex("00D600000C") + bytes.fromhex("00F110") * 4
WRONG_PIN1 = bytes.fromhex("0020000108") + b"9999\xff\xff\xff\xff"
RIGHT_PIN1 = bytes.fromhex("0020000108") + b"0000\xff\xff\xff\xff"


def _attempts(card: Card) -> int:
    sw = bytes(card.transmit(bytes.fromhex("00200001")))
    assert sw[0] == 0x63, sw.hex()
    return sw[1] & 0x0F


@pytest.fixture
def orange(serve_card):
    card = Card.from_profile("alphalink-orange")
    serve_card(card)
    return card


def test_raw_refuses_a_write_on_a_read_only_card(orange):
    before = orange.read_file("3F00/7FF0/6F7B")
    with PcscTransport(1, allow_write=False) as t:
        for apdu in SELECT_USIM_FPLMN:
            t.raw(apdu)
        with pytest.raises(WriteRefused, match="UPDATE BINARY refused"):
            t.raw(UPDATE_FPLMN)
    assert orange.read_file("3F00/7FF0/6F7B") == before


@pytest.mark.parametrize("path", ["raw", "transmit"])
def test_wrong_pins_never_block_pin1_through_any_public_path(orange, path):
    with PcscTransport(1) as t:
        send = getattr(t, path)
        assert send(WRONG_PIN1)[-2:] == b"\x63\xc2"
        assert send(WRONG_PIN1)[-2:] == b"\x63\xc1"  # presented while 2 attempts remained
        with pytest.raises(PinGuard) as refused:
            send(WRONG_PIN1)
    assert _attempts(orange) == 1  # never blocked
    assert str(refused.value).startswith("VERIFY PIN PIN1 refused: only 1 PIN attempt(s) left")


def test_the_refusal_with_one_attempt_left_says_how_to_recover(orange):
    orange.transmit(WRONG_PIN1)  # by hand, outside the harness
    orange.transmit(WRONG_PIN1)
    assert _attempts(orange) == 1
    with PcscTransport(1) as t, pytest.raises(PinGuard) as refused:
        t.transmit(RIGHT_PIN1)
    text = str(refused.value)
    assert text.startswith("VERIFY PIN PIN1 refused: only 1 PIN attempt(s) left")
    assert "--pin-attempts-ok" in text and "by hand" in text
    assert _attempts(orange) == 1
    # the recovery it names: the user vouches for the value, the right PIN resets the counter
    with PcscTransport(1, policy=SafetyPolicy(min_attempts=PIN_ATTEMPTS_OK)) as t:
        assert t.transmit(RIGHT_PIN1)[-2:] == b"\x90\x00"
    orange.reset()
    assert _attempts(orange) == 3


def test_a_blocked_pin_is_never_presented_even_when_the_user_vouches(orange):
    for _ in range(3):
        orange.transmit(WRONG_PIN1)
    with PcscTransport(1, policy=SafetyPolicy(min_attempts=PIN_ATTEMPTS_OK)) as t:
        with pytest.raises(PinGuard, match="The PIN is blocked: unblock it with the PUK"):
            t.raw(RIGHT_PIN1)


def test_a_policy_that_would_present_a_blocked_key_cannot_be_made():
    with pytest.raises(ValueError, match="min_attempts must be at least 1"):
        SafetyPolicy(min_attempts=0)
