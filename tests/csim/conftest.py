"""Cards for the core tests: the bundled AlphaLink profile and a small hand-built image.

The hand-built image covers what the bundled profiles do not: a cyclic EF, a deactivated EF,
a NEV file, an EF without SFI, a second application sharing the USIM RID.
"""

from __future__ import annotations

import pytest

from csim import Card
from csim.image import ADM1, ALW, NEV, PIN1, PIN2, AuthSpec, CardImage, FileSpec, PinSpec

# 3GPP TS 35.208 test set 1 (facts.md §1.1)
K1 = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC1 = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8907090000")
ISIM_AID = bytes.fromhex("A0000000871004FFFFFFFF8907090000")
SECOND_USIM_AID = bytes.fromhex("A0000000871002FF49FF0589")
PIN1_VALUE = b"1111\xff\xff\xff\xff"
PUK1_VALUE = b"11111111"
PIN2_VALUE = b"2222\xff\xff\xff\xff"
PUK2_VALUE = b"22222222"
ADM1_VALUE = b"88888888"
IMSI = bytes.fromhex("082980102143658709")  # 208011234567890, facts.md §2.1


def ef_dir_record(aid: bytes, label: bytes) -> bytes:
    body = b"\x4f" + bytes([len(aid)]) + aid + b"\x50" + bytes([len(label)]) + label
    return (b"\x61" + bytes([len(body)]) + body).ljust(40, b"\xff")


def mini_image(pin1_enabled: bool = True, ust: bytes = bytes.fromhex("0E000C04200000")) -> CardImage:
    """UST default: services 2-4 (byte 1 0E), 19-20 (byte 3 0C), 27 (byte 4 04), 38 (byte 5 20)."""
    f = FileSpec
    files = [
        f("3F00", "MF", "MF"),
        f("3F00/2F00", "EF", "EF_DIR", structure="linear", sfi=0x1E, read=ALW, update=ADM1,
          record_length=40, records=[ef_dir_record(USIM_AID, b"USIM"), ef_dir_record(ISIM_AID, b"ISIM")]),
        f("3F00/2FE2", "EF", "EF_ICCID", data=bytes.fromhex("988812010000400310F0"), sfi=0x02,
          read=ALW, update=NEV, arr_record=2),
        f("3F00/2F06", "EF", "EF_ARR", structure="linear", sfi=0x06, record_length=16,
          records=[bytes.fromhex("8001019000") , bytes.fromhex("800101A40683010A950108")]),
        f("3F00/7F10", "DF", "DF_TELECOM"),
        f("3F00/7F10/6F3A", "EF", "EF_ADN", structure="linear", read=PIN1, update=PIN1,
          record_length=30, records=[b"\xff" * 30] * 5),
        f("3F00/7FF0", "ADF", "ADF_USIM", aid=USIM_AID),
        f("3F00/7FF0/6F06", "EF", "EF_ARR", structure="linear", sfi=0x17, record_length=16,
          records=[bytes.fromhex("8001019000")]),
        f("3F00/7FF0/6F07", "EF", "EF_IMSI", data=IMSI, sfi=0x07, read=PIN1, update=ADM1, arr_record=3),
        f("3F00/7FF0/6F38", "EF", "EF_UST", data=ust, sfi=0x04, read=PIN1, update=ADM1),
        f("3F00/7FF0/6F46", "EF", "EF_SPN", data=bytes.fromhex("014F72616E67652046") + b"\xff" * 8,
          read=ALW, update=ADM1),
        f("3F00/7FF0/6F7B", "EF", "EF_FPLMN", data=bytes.fromhex("02F80102F851FFFFFFFFFFFF"), sfi=0x0D,
          read=PIN1, update=PIN1),
        f("3F00/7FF0/6F7E", "EF", "EF_LOCI", data=bytes.fromhex("FFFFFFFF02F8100000FF01"), sfi=0x0B,
          read=PIN1, update=PIN1),
        f("3F00/7FF0/6FAD", "EF", "EF_AD", data=bytes.fromhex("00000002"), sfi=0x03, read=ALW, update=ADM1),
        f("3F00/7FF0/6F56", "EF", "EF_EST", data=b"\x00", sfi=0x05, read=PIN1, update=PIN2),
        f("3F00/7FF0/6F40", "EF", "EF_MSISDN", structure="linear", read=PIN1, update=PIN1, record_length=28,
          records=[bytes.fromhex("FF" * 14 + "0791331632547698FFFFFFFFFFFF"), b"\xff" * 28]),
        f("3F00/7FF0/6F80", "EF", "EF_ICI", structure="cyclic", read=PIN1, update=PIN1, record_length=4,
          records=[b"\x01\x01\x01\x01", b"\x02\x02\x02\x02", b"\x03\x03\x03\x03"]),
        f("3F00/7FF0/6F08", "EF", "EF_KEYS", data=b"\x07" + b"\xff" * 32, sfi=0x08, read=PIN1, update=NEV),
        f("3F00/7FF0/6F09", "EF", "EF_OLD", data=b"\x00" * 4, read=ALW, update=ALW, lcsi=0x04),
        f("3F00/7F20", "DF", "DF_GSM"),
        f("3F00/7F20/6F07", "EF", "EF_IMSI", read=PIN1, update=ADM1, link="3F00/7FF0/6F07"),
        f("3F00/7F20/6F7E", "EF", "EF_LOCI", read=PIN1, update=PIN1, link="3F00/7FF0/6F7E"),
        f("3F00/7F20/6FAD", "EF", "EF_AD", read=ALW, update=ADM1, link="3F00/7FF0/6FAD"),
        f("3F00/7F20/6F46", "EF", "EF_SPN", read=ALW, update=ADM1, link="3F00/7FF0/6F46"),
        f("3F00/7FF1", "ADF", "ADF_USIM2", aid=SECOND_USIM_AID),
        f("3F00/7FF1/6FAD", "EF", "EF_AD", data=bytes.fromhex("00000003"), sfi=0x03),
    ]
    pins = [
        PinSpec("PIN1", 0x01, PIN1_VALUE, puk=PUK1_VALUE, enabled=pin1_enabled),
        PinSpec("PIN2", 0x81, PIN2_VALUE, puk=PUK2_VALUE),
        PinSpec("ADM1", 0x0A, ADM1_VALUE, attempts=10, max_attempts=10),
    ]
    return CardImage(atr=bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5"), files=files,
                     pins=pins, auth=AuthSpec(ki=K1, opc=OPC1, sqn=0))


def tx(card: Card, apdu: str | bytes) -> tuple[bytes, int]:
    """One raw transmit: (response data, SW as int)."""
    r = card.transmit(bytes.fromhex(apdu.replace(" ", "")) if isinstance(apdu, str) else apdu)
    return r[:-2], (r[-2] << 8) | r[-1]


def t0(card: Card, apdu: str | bytes) -> tuple[bytes, int]:
    """A T=0 exchange as a terminal runs it (61xx/9Fxx -> GET RESPONSE, 6Cxx -> resend)."""
    from harness.terminal.transport import transmit_t0

    r = transmit_t0(card.transmit, bytes.fromhex(apdu.replace(" ", "")) if isinstance(apdu, str) else apdu)
    return r[:-2], (r[-2] << 8) | r[-1]


def verify_pin1(card: Card, value: bytes = PIN1_VALUE) -> int:
    return tx(card, b"\x00\x20\x00\x01\x08" + value)[1]


@pytest.fixture
def mini() -> Card:
    return Card(mini_image(), toolkit=False)


@pytest.fixture
def mini_open() -> Card:
    """The hand-built card with PIN1 verified and ADF.USIM selected."""
    card = Card(mini_image(), toolkit=False)
    assert verify_pin1(card) == 0x9000
    assert tx(card, "00A4000C027FF0")[1] == 0x9000
    return card


@pytest.fixture
def orange() -> Card:
    return Card.from_profile("alphalink-orange")


@pytest.fixture(scope="session")
def h():
    """The helpers and constants above, for test modules (tests are not a package)."""
    import types

    return types.SimpleNamespace(
        tx=tx, t0=t0, verify_pin1=verify_pin1, mini_image=mini_image, ef_dir_record=ef_dir_record,
        K1=K1, OPC1=OPC1, USIM_AID=USIM_AID, ISIM_AID=ISIM_AID, SECOND_USIM_AID=SECOND_USIM_AID,
        PIN1=PIN1_VALUE, PUK1=PUK1_VALUE, PIN2=PIN2_VALUE, PUK2=PUK2_VALUE, ADM1=ADM1_VALUE, IMSI=IMSI,
    )
