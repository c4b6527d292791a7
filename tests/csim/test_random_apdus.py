"""Property tests: any byte string gets a well-formed answer and the card keeps working.

TS 102 221 §10.2: every response ends with SW1 SW2; SW1 is 6X (except 60) or 9X.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csim import Card

INS = [0xA4, 0xB0, 0xB2, 0xD6, 0xDC, 0xA2, 0xC0, 0xF2, 0x20, 0x24, 0x26, 0x28, 0x2C, 0x70, 0x88,
       0x10, 0xC2, 0x12, 0x14, 0x32, 0x04, 0x44, 0xFA]
CLA = [0x00, 0x01, 0x02, 0x03, 0x80, 0x81, 0xA0, 0x0C, 0x40, 0xC0, 0xFF]
SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                    deadline=None)


def well_formed(resp: bytes) -> bool:
    return isinstance(resp, bytes) and len(resp) >= 2 and (resp[-2] >> 4 in (6, 9)) and resp[-2] != 0x60


def still_works(card: Card, h) -> None:
    """Known selection and read, from whatever state the random commands left."""
    assert card.transmit(bytes.fromhex("00A4080C047FF06FAD"))[-2:] == b"\x90\x00"
    r = card.transmit(bytes.fromhex("00B0000004"))
    assert r[:-2] == card.read_file("3F00/7FF0/6FAD") and r[-1] == 0 and r[-2] == 0x90
    data, sw = h.t0(card, "00A40004023F00")
    assert sw == 0x9000 and data[:1] == b"\x62"


@SETTINGS
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=20))
def test_random_bytes(h, cmds):
    card = Card(h.mini_image(), toolkit=False)
    for c in cmds:
        assert well_formed(card.transmit(c))
    still_works(card, h)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(CLA), st.sampled_from(INS),
                          st.integers(0, 255), st.integers(0, 255),
                          st.one_of(st.none(), st.binary(min_size=0, max_size=40)), st.booleans()),
                min_size=1, max_size=30))
def test_structured_headers(h, cmds):
    card = Card(h.mini_image(), toolkit=False)
    h.verify_pin1(card)                                   # so that updates can reach files
    for cla, ins, p1, p2, data, le in cmds:
        if data is None:
            apdu = bytes([cla, ins, p1, p2, p1 ^ p2])
        else:
            apdu = bytes([cla, ins, p1, p2, len(data)]) + data + (b"\x00" if le else b"")
        assert well_formed(card.transmit(apdu))
    still_works(card, h)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from([0x00, 0x80, 0xA0]), st.sampled_from(INS), st.integers(0, 255),
                          st.integers(0, 255), st.binary(max_size=20)), max_size=30))
def test_structured_headers_profile_card_with_toolkit(h, orange, cmds):
    orange.reset()
    for cla, ins, p1, p2, data in cmds:
        assert well_formed(orange.transmit(bytes([cla, ins, p1, p2, len(data)]) + data))
    orange.transmit(bytes.fromhex("0070800100"))
    orange.transmit(bytes.fromhex("0070800200"))
    orange.transmit(bytes.fromhex("0070800300"))
    r = orange.transmit(bytes.fromhex("00A4080C047FF06FAD"))
    assert r[-2] in (0x90, 0x91)
    r = orange.transmit(bytes.fromhex("00B0000004"))
    assert r[:-2] == orange.read_file("3F00/7FF0/6FAD")
