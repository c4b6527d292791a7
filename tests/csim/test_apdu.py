"""APDU engine behaviour through Card.transmit: status words, T=0, channels, AUTHENTICATE, CAT, SIM view.

TS 102 221 §10 (CLA/INS coding, status words), §11.1.2 STATUS, §11.1.17 MANAGE CHANNEL, §11.2 CAT;
TS 31.102 §7.1.2 AUTHENTICATE; TS 51.011 §9 (CLA A0); facts.md §1.3, §3, §4.
"""

from __future__ import annotations

import pytest
from csim.milenage import generate_vector

from csim import Card

RAND1 = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
SQN1 = bytes.fromhex("ff9bb4d0b607")
AMF1 = bytes.fromhex("b9b9")


# --- malformed and unsupported commands ---------------------------------------------------------


@pytest.mark.parametrize("apdu,sw", [
    ("", 0x6700), ("00", 0x6700), ("00A4", 0x6700), ("00A400", 0x6700),
    ("00B000000A0102", 0x6700),      # Lc inconsistent with the data length
    ("00A4000C0000", 0x6700),        # extended length is not supported
    ("FFA4000C023F00", 0x6E00),      # CLA FF
    ("20A4000C023F00", 0x6E00),
    ("0CA4000C023F00", 0x6882),      # secure messaging indication
    ("40A4000C023F00", 0x6881),      # extended logical channel 4
    ("01A4000C023F00", 0x6881),      # channel 1 not open
    ("80A4000C023F00", 0x6E00),      # SELECT is an inter-industry command
    ("00F2000000", 0x6E00),          # STATUS needs CLA 8X
    ("0060000000", 0x6D00),          # INS 6X invalid
    ("0091000000", 0x6D00),
    ("00D8000000", 0x6D00),          # INS D8 is not a UICC command
    ("8004000000", 0x6E00),          # DEACTIVATE FILE is an inter-industry command
    ("0032000000", 0x6E00),          # INCREASE needs CLA 8X
    ("00AA000000", 0x6E00),          # so does TERMINAL CAPABILITY
    ("80AA000000", 0x6700),          # TERMINAL CAPABILITY without its template
    ("00C0000000", 0x6985),          # GET RESPONSE with nothing pending
    ("00C0010000", 0x6A86),
    ("80F2030000", 0x6A86),          # STATUS P1 / P2
    ("80F2000200", 0x6A86),
    ("00D6000000", 0x6700),
])
def test_status_words(mini, h, apdu, sw):
    assert h.tx(mini, apdu) == (b"", sw)
    # and the card keeps working
    assert h.tx(mini, "00A4000C023F00") == (b"", 0x9000)


def test_transmit_accepts_bytearray_and_memoryview(mini):
    assert mini.transmit(bytearray.fromhex("00A4000C023F00")) == b"\x90\x00"
    assert mini.transmit(memoryview(bytes.fromhex("00A4000C023F00"))) == b"\x90\x00"
    assert mini.transmit(12345)[-2:] == b"\x67\x00"


# --- STATUS and T=0 -----------------------------------------------------------------------------


def test_status_returns_the_current_df_fcp_and_aid(mini, h):
    h.tx(mini, "00A4040C10" + h.USIM_AID.hex())
    h.tx(mini, "00A4000C026FAD")
    data, sw = h.tx(mini, "80F2000000")
    assert sw >> 8 == 0x6C                                        # Le wrong -> 6C xx
    data, sw = h.tx(mini, f"80F20000{sw & 0xFF:02X}")
    assert sw == 0x9000 and data[0] == 0x62 and bytes.fromhex("8410") + h.USIM_AID in data
    assert h.t0(mini, "80F2000100") == (bytes.fromhex("8410") + h.USIM_AID, 0x9000)
    assert h.tx(mini, "80F2000C00") == (b"", 0x9000)
    assert h.tx(mini, "80F2010C00") == (b"", 0x9000)                # P1 01: application initialised


def test_get_response_in_pieces(mini, h):
    _, sw = h.tx(mini, "00A40004023F00")
    n = sw & 0xFF
    first, sw = h.tx(mini, "00C0000010")
    assert len(first) == 16 and sw == 0x6100 | (n - 16)
    rest, sw = h.tx(mini, f"00C00000{n - 16:02X}")
    assert sw == 0x9000 and (first + rest)[0] == 0x62 and len(first + rest) == n
    _, sw = h.tx(mini, "00A40004023F00")
    assert h.tx(mini, "00C00000FF")[1] == sw - 0x6100 + 0x6C00     # too long -> 6C
    assert h.tx(mini, "00A4000C023F00")[1] == 0x9000
    assert h.tx(mini, "00C0000010")[1] == 0x6985                  # any other command drops the data


# --- logical channels ---------------------------------------------------------------------------


def test_manage_channel_open_close_and_independent_selection(mini_open, h):
    data, sw = h.tx(mini_open, "0070000001")
    assert (data, sw) == (b"\x01", 0x9000)
    assert mini_open.selection(1)["df"] == "3F00"                 # opened from the basic channel: MF
    assert h.tx(mini_open, "01A4000C027F10")[1] == 0x9000
    assert h.tx(mini_open, "00A4000C026F07")[1] == 0x9000
    assert mini_open.selection(0)["ef"] == "3F00/7FF0/6F07"
    assert mini_open.selection(1)["df"] == "3F00/7F10"
    assert h.tx(mini_open, "01B0000009")[1] == 0x6986             # nothing selected on channel 1
    assert h.tx(mini_open, "00B0000009")[1] == 0x9000
    assert h.tx(mini_open, "0070000200")[1] == 0x9000              # open channel 2 explicitly
    assert h.tx(mini_open, "0070000200")[1] == 0x6985              # already open
    assert h.tx(mini_open, "0070000001") == (b"\x03", 0x9000)
    assert h.tx(mini_open, "0070000001")[1] == 0x6A81              # no channel left
    assert h.tx(mini_open, "0070800100")[1] == 0x9000
    assert h.tx(mini_open, "01A4000C023F00")[1] == 0x6881          # closed
    assert h.tx(mini_open, "0070800000")[1] == 0x6A86              # the basic channel stays
    assert h.tx(mini_open, "0070800500")[1] == 0x6881
    assert h.tx(mini_open, "0070800100")[1] == 0x6A88
    # a channel opened from channel 2 inherits its current DF / application
    h.tx(mini_open, "02A4040C07A0000000871002")
    assert h.tx(mini_open, "0270000001") == (b"\x01", 0x9000)
    assert mini_open.selection(1)["adf"] == "3F00/7FF0"
    assert h.tx(mini_open, "81F2000C00")[1] == 0x9000               # CLA 8X on channel 1
    mini_open.reset()
    assert h.tx(mini_open, "01A4000C023F00")[1] == 0x6881


def test_record_pointer_is_per_channel(mini_open, h):
    h.tx(mini_open, "0070000001")
    h.tx(mini_open, "01A4080C047FF06F40")
    h.tx(mini_open, "00A4000C026F40")
    assert h.tx(mini_open, "00B200021C")[1] == 0x9000
    assert h.tx(mini_open, "00B200021C")[1] == 0x9000
    assert h.tx(mini_open, "01B200021C")[1] == 0x9000
    assert mini_open.selection(0)["record"] == 2 and mini_open.selection(1)["record"] == 1


# --- AUTHENTICATE -------------------------------------------------------------------------------


def auth_apdu(rand: bytes, autn: bytes) -> bytes:
    return bytes.fromhex("0088008122") + b"\x10" + rand + b"\x10" + autn


def test_authenticate_35208_set1(mini_open, h):
    """facts.md §1.3 full example; UST service 27 -> Kc appended."""
    v = generate_vector(h.K1, h.OPC1, SQN1, AMF1, RAND1)
    assert v["autn"].hex() == "55f328b43577b9b94a9ffac354dfafb3"
    data, sw = h.tx(mini_open, auth_apdu(RAND1, v["autn"]))
    assert (data, sw) == (b"", 0x6135)
    data, sw = h.tx(mini_open, "00C0000035")
    assert sw == 0x9000
    assert data.hex() == ("db08a54211d5e3ba50bf"
                          "10b40ba9a3c58b2a05bbf0d987b21bf8cb"
                          "10f769bcd751044604127672711c6d3441"
                          "08eae4be823af9a08b")
    # replay of the same SQN: synchronisation failure with AUTS
    data, sw = h.t0(mini_open, auth_apdu(RAND1, v["autn"]))
    assert sw == 0x9000 and data[:2] == b"\xdc\x0e" and len(data) == 16
    from csim.milenage import resync
    assert resync(h.K1, h.OPC1, RAND1, data[2:]) == int.from_bytes(SQN1, "big")
    # MAC failure
    bad = v["autn"][:-1] + bytes([v["autn"][-1] ^ 1])
    assert h.tx(mini_open, auth_apdu(RAND1, bad)) == (b"", 0x9862)
    assert mini_open.counters["sync_failures"] == 1 and mini_open.counters["mac_failures"] == 1


def test_authenticate_without_service_27_has_no_kc(h):
    card = Card(h.mini_image(ust=bytes.fromhex("0E000C00200000")), toolkit=False)
    h.verify_pin1(card)
    h.tx(card, "00A4000C027FF0")
    v = generate_vector(h.K1, h.OPC1, SQN1, AMF1, RAND1)
    data, sw = h.t0(card, auth_apdu(RAND1, v["autn"]))
    assert sw == 0x9000 and len(data) == 44


def test_authenticate_gsm_context(mini_open, h):
    data, sw = h.t0(mini_open, "0088008011" + "10" + RAND1.hex())
    assert (data.hex(), sw) == ("0446f8416a08eae4be823af9a08b", 0x9000)     # SRES, Kc of set 1
    card = Card(h.mini_image(ust=bytes.fromhex("0E000C04000000")), toolkit=False)   # no service 38
    h.verify_pin1(card)
    h.tx(card, "00A4000C027FF0")
    assert h.tx(card, "0088008011" + "10" + RAND1.hex())[1] == 0x6A86


def test_authenticate_errors(mini, h):
    v = generate_vector(h.K1, h.OPC1, SQN1, AMF1, RAND1)
    assert h.tx(mini, auth_apdu(RAND1, v["autn"]))[1] == 0x6985     # no application selected
    h.tx(mini, "00A4000C027FF0")
    assert h.tx(mini, auth_apdu(RAND1, v["autn"]))[1] == 0x6982     # PIN1 not verified
    h.verify_pin1(mini)
    assert h.tx(mini, "0088008221" + "10" + RAND1.hex() + "10" + v["autn"].hex()[:-2])[1] == 0x6A86
    assert h.tx(mini, "0088008121" + "10" + RAND1.hex() + "10" + v["autn"].hex()[:-2])[1] == 0x6700
    assert h.tx(mini, "0088008122" + "11" + RAND1.hex() + "10" + v["autn"].hex())[1] == 0x6A80
    assert h.tx(mini, auth_apdu(RAND1, v["autn"]))[1] == 0x6135


def test_run_gsm_algorithm(mini, h):
    assert h.tx(mini, "A088000010" + RAND1.hex())[1] == 0x9804          # CHV1 needed
    h.tx(mini, "A020000108" + h.PIN1.hex())
    h.tx(mini, "A0A40000027F20")
    assert h.tx(mini, "A088000010" + RAND1.hex()) == (b"", 0x9F0C)
    assert h.tx(mini, "A0C000000C") == (bytes.fromhex("46f8416aeae4be823af9a08b"), 0x9000)


def test_swapping_auth_keys(mini_open, h):
    from csim.milenage import UsimAuth
    k2 = bytes.fromhex("0396eb317b6d1c36f19c1c84cd6ffd16")
    opc2 = bytes.fromhex("53c15671c60a4b731c55b4a441c0bde2")
    mini_open.auth = UsimAuth(k2, opc2)
    v = generate_vector(k2, opc2, 64, b"\x80\x00", bytes(16))
    data, sw = h.t0(mini_open, auth_apdu(bytes(16), v["autn"]))
    assert sw == 0x9000 and data[2:10] == v["xres"]
    assert mini_open.auth.sqn == 64


# --- CAT transport ------------------------------------------------------------------------------


class FakeToolkit:
    """A toolkit double recording what the core routes to it (TS 102 223 §6)."""

    def __init__(self, card: Card) -> None:
        self.card = card
        self.calls: list[tuple[str, bytes]] = []
        self.command = bytes.fromhex("D00C8103010500820281829901 03".replace(" ", ""))

    def terminal_profile(self, data: bytes) -> None:
        self.calls.append(("tp", data))
        self.card.set_proactive_pending(len(self.command))

    def envelope(self, data: bytes) -> tuple[int, bytes]:
        self.calls.append(("env", data))
        if data[0] == 0xD1:
            return 0x9000, b"\x01\x02"
        if data[0] == 0xD6:
            return 0x9000, b""
        return 0x9300, b""

    def fetch(self) -> bytes | None:
        self.card.set_proactive_pending(0)
        return self.command

    def terminal_response(self, data: bytes) -> int:
        self.calls.append(("tr", data))
        if data == b"\xee":
            raise RuntimeError("applet failure")
        return 0x9000


def test_cat_routing_91xx_fetch_and_terminal_response(mini, h):
    tk = FakeToolkit(mini)
    mini.toolkit = tk
    assert h.tx(mini, "801000000AFFFFFFFF1F0000000000") == (b"", 0x910E)
    assert tk.calls == [("tp", bytes.fromhex("FFFFFFFF1F0000000000"))]
    assert h.tx(mini, "00A4000C023F00")[1] == 0x910E                   # every final 9000 becomes 91xx
    assert h.tx(mini, "00A4000C023F01")[1] == 0x6A82                   # errors stay errors
    assert h.tx(mini, "8012000010")[1] == 0x6C0E                       # wrong Le
    assert h.tx(mini, "801200000E") == (tk.command, 0x9000)
    assert h.tx(mini, "8014000003810301")[1] == 0x9000
    assert h.tx(mini, "80C2000003D10100") == (b"", 0x6102)             # envelope with response data
    assert h.tx(mini, "00C0000002") == (b"\x01\x02", 0x9000)
    assert h.tx(mini, "80C2000003D60100") == (b"", 0x9000)
    assert h.tx(mini, "80C2000003D30100") == (b"", 0x9300)
    assert h.tx(mini, "80140000 01EE".replace(" ", "")) == (b"", 0x6F00)   # toolkit failure -> 6F00
    assert h.tx(mini, "80C20000")[1] == 0x6700
    assert h.tx(mini, "80C2010001D1")[1] == 0x6A86
    assert h.tx(mini, "A0C2000003D10100") == (b"", 0x9F02)             # SIM view: 9F xx


def test_cat_without_toolkit(mini, h):
    assert mini.toolkit is None
    assert h.tx(mini, "801000000AFFFFFFFF1F0000000000")[1] == 0x9000
    assert h.tx(mini, "80C2000003D60100")[1] == 0x6D00
    assert h.tx(mini, "8012000010")[1] == 0x6D00
    assert h.tx(mini, "8014000003810301")[1] == 0x6D00


def test_bundled_toolkit_gets_a_terminal_profile(orange, h):
    assert orange.toolkit is not None
    _, sw = h.tx(orange, "801000001E" + "FF" * 30)
    assert sw >> 8 == 0x91
    cmd, sw = h.tx(orange, f"80120000{sw & 0xFF:02X}")
    assert cmd[0] == 0xD0 and sw in (0x9000,) or sw >> 8 == 0x91


# --- SIM view (CLA A0) --------------------------------------------------------------------------


def test_gsm_select_and_get_response_layouts(mini, h):
    data, sw = h.t0(mini, "A0A40000023F00")
    assert sw == 0x9000 and len(data) == 22
    assert data[4:7] == bytes.fromhex("3F0001")                      # FID, type MF
    assert data[12] == 9                                           # GSM specific data length
    assert data[14] == 2 and data[15] == 3                           # 2 DFs (ADFs hidden), 3 EFs
    assert data[16] == 5                                           # CHV1, UNBLOCK1, CHV2, UNBLOCK2, ADM
    assert data[18] == 0x83 and data[19] == 0x8A and data[20] == 0x83 and data[21] == 0x8A
    assert h.tx(mini, "A0A40000027F20") == (b"", 0x9F16)
    data, sw = h.t0(mini, "A0A40000026F07")
    assert sw == 0x9000 and len(data) == 15
    assert data[2:4] == b"\x00\x09" and data[4:6] == b"\x6f\x07" and data[6] == 0x04
    assert data[8] == 0x14                                         # READ CHV1, UPDATE ADM
    assert data[11] == 0x01 and data[12] == 2 and data[13] == 0x00 and data[14] == 0
    assert h.tx(mini, "A0A40000027FF0")[1] == 0x9404                # the ADF is not visible
    assert h.tx(mini, "A0A40000026F40")[1] == 0x9404
    assert h.tx(mini, "A0A40400023F00")[1] == 0x6B00
    assert h.tx(mini, "A0A4000003123456")[1] == 0x6700


def test_gsm_read_update_and_status(mini, h):
    h.tx(mini, "A0A40000027F20")
    h.tx(mini, "A0A40000026F07")
    assert h.tx(mini, "A0B0000009")[1] == 0x9804                    # CHV1 not verified
    h.tx(mini, "A020000108" + h.PIN1.hex())
    assert h.tx(mini, "A0B0000009") == (h.IMSI, 0x9000)
    assert h.tx(mini, "A0D6000001FF")[1] == 0x9804                  # ADM
    h.tx(mini, "A0A40000026F7E")
    assert h.tx(mini, "A0D600000101")[1] == 0x9000
    assert mini.read_file("3F00/7FF0/6F7E")[0] == 1                  # same storage as the USIM EF
    assert h.tx(mini, "A0B0000C01")[1] == 0x6B00                    # offset out of the file
    data, sw = h.tx(mini, "A0F2000016")
    assert sw == 0x9000 and data[4:6] == b"\x7f\x20"
    assert h.tx(mini, "A0B2010400")[1] == 0x9408                    # record command on a transparent EF
    h.tx(mini, "A0A40000023F00")
    h.tx(mini, "A0A40000027F10")
    h.tx(mini, "A0A40000026F3A")
    assert h.tx(mini, "A0B201041E")[1] == 0x9000
    assert h.tx(mini, "A0B206041E")[1] == 0x9402
    assert h.tx(mini, "A0B200021E")[1] == 0x9000
    assert h.tx(mini, "A0DC01041E" + "00" * 30)[1] == 0x9000
    assert h.tx(mini, "A0FA000000")[1] == 0x6D00
    assert h.tx(mini, "A0B0000001")[1] == 0x9408


def test_gsm_no_ef_selected(mini, h):
    h.tx(mini, "A0A40000023F00")
    assert h.tx(mini, "A0B0000001")[1] == 0x9400


def test_atr_and_reset(mini, h):
    assert mini.atr == bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5")
    h.verify_pin1(mini)
    h.tx(mini, "00A4080C047FF06F07")
    assert mini.reset() == mini.atr
    assert mini.selection() == {"open": True, "df": "3F00", "ef": None, "record": 0, "adf": None}
    assert not mini.pin_status("PIN1")["verified"]
