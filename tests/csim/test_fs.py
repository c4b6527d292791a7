"""File system behaviour through Card.transmit: SELECT, FCP, READ/UPDATE BINARY/RECORD, SEARCH RECORD.

TS 102 221 §8 (file system, selection), §11.1.1 (SELECT, FCP), §11.1.3-§11.1.7; facts.md §3.
"""

from __future__ import annotations

import pytest

from csim import Card


def tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """Simple one-byte-tag BER-TLV list."""
    out, i = [], 0
    while i < len(data):
        tag, ln = data[i], data[i + 1]
        out.append((tag, data[i + 2:i + 2 + ln]))
        i += 2 + ln
    assert i == len(data)
    return out


def fcp(card: Card, h, apdu: str) -> dict[int, bytes]:
    data, sw = h.t0(card, apdu)
    assert sw == 0x9000
    assert data[0] == 0x62 and data[1] == len(data) - 2
    items = tlvs(data[2:])
    return {t: v for t, v in items} | {"order": [t for t, _ in items]}


# --- SELECT -------------------------------------------------------------------------------------


def test_select_by_fid_case4_answers_61xx_then_get_response(mini, h):
    data, sw = h.tx(mini, "00A40004023F00")
    assert data == b"" and sw >> 8 == 0x61
    n = sw & 0xFF
    data, sw = h.tx(mini, f"00C00000{n:02X}")
    assert sw == 0x9000 and len(data) == n and data[0] == 0x62


def test_select_no_data_returns_9000(mini, h):
    assert h.tx(mini, "00A4000C023F00") == (b"", 0x9000)
    assert h.tx(mini, "00A4000C027FF0") == (b"", 0x9000)
    assert mini.selection()["df"] == "3F00/7FF0" and mini.selection()["adf"] == "3F00/7FF0"


def test_select_scope_by_file_identifier(mini, h):
    """TS 102 221 §8.4.1: from the current DF a FID selects a child of it, the DF itself, its
    parent, a DF that is a child of the parent, the MF, '7FFF' the current ADF; nothing else."""
    assert h.tx(mini, "00A4000C027FF0")[1] == 0x9000
    assert h.tx(mini, "00A4000C026FAD")[1] == 0x9000          # child of current DF
    assert mini.selection()["ef"] == "3F00/7FF0/6FAD"
    assert h.tx(mini, "00A4000C026F07")[1] == 0x9000          # EF current: its DF's children still
    assert h.tx(mini, "00A4000C027FF0")[1] == 0x9000          # the current DF itself
    assert h.tx(mini, "00A4000C022FE2")[1] == 0x6A82          # an EF of the parent (MF): not in scope
    assert mini.selection()["df"] == "3F00/7FF0"              # a failed SELECT changes nothing
    assert h.tx(mini, "00A4000C027F10")[1] == 0x9000          # a DF child of the parent
    assert h.tx(mini, "00A4000C026F07")[1] == 0x6A82          # EF_IMSI is not reachable from DF_TELECOM
    assert h.tx(mini, "00A4000C026F3A")[1] == 0x9000          # EF_ADN, child of DF_TELECOM
    assert h.tx(mini, "00A4000C022FE2")[1] == 0x6A82          # still out of scope from DF_TELECOM
    assert h.tx(mini, "00A4000C023F00")[1] == 0x9000          # MF from anywhere
    assert h.tx(mini, "00A4000C022FE2")[1] == 0x9000          # and then its children
    assert mini.selection()["ef"] == "3F00/2FE2"


def test_select_parent_by_fid(mini, h):
    h.tx(mini, "00A4000C027F10")
    h.tx(mini, "00A4000C026F3A")
    assert h.tx(mini, "00A4000C023F00")[1] == 0x9000
    h.tx(mini, "00A4000C027F10")
    assert mini.selection()["df"] == "3F00/7F10"


def test_gsm_select_scope(mini, h):
    """TS 51.011 §6.5: as §8.4.1 plus any DF child of the MF; no EF of the parent, no ADF."""
    assert h.tx(mini, "A0A40000027F10")[1] >> 8 == 0x9F
    assert h.tx(mini, "A0A40000022FE2")[1] == 0x9404          # EF of the parent
    assert h.tx(mini, "A0A40000027FF0")[1] == 0x9404          # an ADF
    assert h.tx(mini, "A0A40000023F00")[1] >> 8 == 0x9F
    assert h.tx(mini, "A0A40000022FE2")[1] >> 8 == 0x9F


def test_select_7fff_is_the_current_application(mini, h):
    assert h.tx(mini, "00A4000C027FFF")[1] == 0x6A82          # no application selected yet
    h.tx(mini, "00A4040C07A0000000871002")
    h.tx(mini, "00A4000C023F00")
    assert h.tx(mini, "00A4000C027FFF")[1] == 0x9000
    assert mini.selection()["df"] == "3F00/7FF0"
    assert h.tx(mini, "00A4080C047FFF6F07")[1] == 0x9000
    assert mini.selection()["ef"] == "3F00/7FF0/6F07"


def test_select_child_df_and_parent(mini, h):
    assert h.tx(mini, "00A4010C027F10")[1] == 0x9000
    assert h.tx(mini, "00A4010C026F3A")[1] == 0x6A82          # P1=01 selects DFs only
    assert h.tx(mini, "00A4030C")[1] == 0x9000
    assert mini.selection()["df"] == "3F00"
    assert h.tx(mini, "00A4030C")[1] == 0x6A82                # the MF has no parent


def test_select_by_path_from_mf_and_from_current_df(mini, h):
    assert h.tx(mini, "00A4080C047FF06F07")[1] == 0x9000
    assert mini.selection()["ef"] == "3F00/7FF0/6F07"
    assert h.tx(mini, "00A4080C047F206FAD")[1] == 0x9000
    assert h.tx(mini, "00A4080C066F077F206FAD")[1] == 0x6A82  # EF in the middle of a path
    assert h.tx(mini, "00A4000C027FF0")[1] == 0x9000
    assert h.tx(mini, "00A4090C026F7E")[1] == 0x9000
    assert mini.selection()["ef"] == "3F00/7FF0/6F7E"
    assert h.tx(mini, "00A4080C03123456")[1] == 0x6700       # odd path length


def test_select_by_partial_aid_first_next_and_termination(mini, h):
    # right-truncated DF name: RID + USIM app code matches both USIM ADFs
    assert h.tx(mini, "00A4040C07A0000000871002")[1] == 0x9000
    assert mini.selection()["adf"] == "3F00/7FF0"
    assert h.tx(mini, "00A4040E07A0000000871002")[1] == 0x9000   # next occurrence
    assert mini.selection()["adf"] == "3F00/7FF1"
    assert h.tx(mini, "00A4040E07A0000000871002")[1] == 0x6A82   # no further occurrence
    assert h.tx(mini, "00A4040D07A0000000871002")[1] == 0x9000   # last occurrence
    assert mini.selection()["adf"] == "3F00/7FF1"
    assert h.tx(mini, "00A4040C05A000000087")[1] == 0x9000
    assert h.tx(mini, "00A4040C07A0000000871009")[1] == 0x6A82
    full = h.USIM_AID.hex()
    assert h.tx(mini, f"00A4040C10{full}")[1] == 0x9000
    assert h.tx(mini, f"00A4044C10{full}")[1] == 0x9000          # application session termination
    assert mini.selection()["adf"] is None and mini.selection()["df"] == "3F00"


@pytest.mark.parametrize("apdu,sw", [
    ("00A40000023F00", 0x6A86),      # P2 b4b3 = 00 is not a TS 102 221 response option
    ("00A4020C023F00", 0x6A86),      # P1 = 02 unknown
    ("00A4000D023F00", 0x6A86),      # occurrence bits outside P1 = 04
    ("00A4000C033F0000", 0x6700),    # FID is 2 bytes
    ("00A4000C026FFF", 0x6A82),
    ("00A4040C00", 0x6700),          # DF name of 1..16 bytes
    ("00A4000C05", 0x6700),          # Lc announced, no data
])
def test_select_errors(mini, h, apdu, sw):
    assert h.tx(mini, apdu)[1] == sw


# --- FCP ----------------------------------------------------------------------------------------


def test_fcp_of_an_ef_matches_the_real_ef_imsi_shape(orange, h):
    """Real EF.IMSI FCP (facts.md §3.3): 82 83 8A 8B 80 88 in that order, SFI 07 -> 88 01 38."""
    real = bytes.fromhex("62178202412183026F078A01058B036F060A80020009880138")
    h.tx(orange, "00A4000C027FF0")
    data, sw = h.t0(orange, "00A40004026F07")
    assert sw == 0x9000
    assert len(data) == len(real)
    assert data[:17] == real[:17]                   # everything but the EF_ARR record number
    assert data[18:] == real[18:]


def test_fcp_of_record_ef_and_no_sfi(mini_open, h):
    f = fcp(mini_open, h, "00A40004026F40")
    assert f[0x82] == bytes.fromhex("42 21 00 1C 02")
    assert f[0x83] == b"\x6f\x40"
    assert f[0x80] == (28 * 2).to_bytes(2, "big")
    assert f[0x88] == b""                            # no SFI supported
    assert f[0x8B] == bytes.fromhex("6F0601")        # EF_ARR of the ADF
    c = fcp(mini_open, h, "00A40004026F80")
    assert c[0x82][0] == 0x46 and c[0x82][2:] == bytes([0, 4, 3])


def test_fcp_of_mf_and_adf(mini, h):
    f = fcp(mini, h, "00A40004023F00")
    assert f["order"] == [0x82, 0x83, 0xA5, 0x8A, 0x8B, 0xC6]    # as the real MF example
    assert f[0x82] == b"\x78\x21" and f[0x83] == b"\x3f\x00" and f[0x8A] == b"\x05"
    assert f[0x8B] == bytes.fromhex("2F0601")
    ps = tlvs(f[0xC6])
    assert ps[0] == (0x90, b"\xc0")                  # PIN1 and ADM1 enabled
    assert [v for t, v in ps[1:]] == [b"\x01", b"\x0a"]
    a = fcp(mini, h, "00A4040410" + h.USIM_AID.hex())
    assert a["order"] == [0x82, 0x83, 0x84, 0xA5, 0x8A, 0x8B, 0xC6]  # as the real ADF example
    assert a[0x84] == h.USIM_AID and a[0x83] == b"\x7f\xf0"
    ps = tlvs(a[0xC6])
    assert [v for t, v in ps[1:]] == [b"\x01", b"\x81", b"\x0a"]
    assert ps[0] == (0x90, b"\xe0")


def test_fcp_ps_do_shows_a_disabled_pin1(h):
    card = Card(h.mini_image(pin1_enabled=False), toolkit=False)
    f = fcp(card, h, "00A40004023F00")
    assert tlvs(f[0xC6])[0] == (0x90, b"\x40")


# --- READ / UPDATE BINARY -----------------------------------------------------------------------


def test_read_binary_offsets_and_lengths(mini_open, h):
    h.tx(mini_open, "00A4000C026F07")
    assert h.tx(mini_open, "00B0000009") == (h.IMSI, 0x9000)
    assert h.tx(mini_open, "00B0000304") == (h.IMSI[3:7], 0x9000)
    assert h.tx(mini_open, "00B000030A") == (b"", 0x6C06)       # Le too long -> 6C (bytes left)
    assert h.tx(mini_open, "00B0000900") == (b"", 0x6B00)       # offset beyond the file
    assert h.tx(mini_open, "00B000000900")[1] == 0x6700          # case 2 carries no data
    assert h.t0(mini_open, "00B0000000") == (h.IMSI, 0x9000)    # P3=00 -> 6C09 -> resend


def test_read_binary_by_sfi_selects_the_file(mini_open, h):
    assert h.tx(mini_open, "00B0830004") == (bytes.fromhex("00000002"), 0x9000)   # SFI 3 = EF_AD
    assert mini_open.selection()["ef"] == "3F00/7FF0/6FAD"
    assert h.tx(mini_open, "00B0870209") == (b"", 0x6C07)        # SFI 7 offset 2
    assert h.tx(mini_open, "00B09F0001")[1] == 0x6A82            # no EF with SFI 31
    assert h.tx(mini_open, "00B0C30001")[1] == 0x6A86            # P1 b7b6 must be 00


def test_update_binary_and_linked_storage(mini_open, h):
    h.tx(mini_open, "00A4000C026F7E")
    new = bytes.fromhex("11223344 02F810 1234 FF 00".replace(" ", ""))
    assert h.tx(mini_open, b"\x00\xd6\x00\x00\x0b" + new)[1] == 0x9000
    assert h.tx(mini_open, "00B000000B")[0] == new
    assert mini_open.read_file("3F00/7F20/6F7E") == new          # DF_GSM EF_LOCI shares storage
    assert h.tx(mini_open, "00D6000A02AABB")[1] == 0x6700        # runs past the end
    assert h.tx(mini_open, "00D6000B01AA")[1] == 0x6B00
    assert h.tx(mini_open, "00D68B0001AA")[1] == 0x9000          # by SFI 11, offset 0
    assert mini_open.read_file("3F00/7FF0/6F7E")[0] == 0xAA


def test_wrong_structure_and_no_current_ef(mini_open, h):
    assert h.tx(mini_open, "00B0000001")[1] == 0x6986            # only a DF is selected
    assert h.tx(mini_open, "00B2010400")[1] == 0x6986
    h.tx(mini_open, "00A4000C026F40")
    assert h.tx(mini_open, "00B0000001")[1] == 0x6981
    h.tx(mini_open, "00A4000C026F07")
    assert h.tx(mini_open, "00B2010409")[1] == 0x6981


# --- access conditions --------------------------------------------------------------------------


def test_access_conditions_pin1_pin2_adm_nev(mini, h):
    h.tx(mini, "00A4000C027FF0")
    h.tx(mini, "00A4000C026F07")
    assert h.tx(mini, "00B0000009")[1] == 0x6982                 # PIN1 not verified
    h.tx(mini, "00A4000C026FAD")
    assert h.tx(mini, "00B0000004")[1] == 0x9000                 # ALW
    assert h.tx(mini, "00D6000001FF")[1] == 0x6982               # ADM1
    assert h.verify_pin1(mini) == 0x9000
    h.tx(mini, "00A4000C026F07")
    assert h.tx(mini, "00B0000009")[1] == 0x9000
    h.tx(mini, "00A4000C026F56")
    assert h.tx(mini, "00D600000101")[1] == 0x6982               # PIN2
    assert h.tx(mini, b"\x00\x20\x00\x81\x08" + h.PIN2)[1] == 0x9000
    assert h.tx(mini, "00D600000101")[1] == 0x9000
    h.tx(mini, "00A4000C026F08")
    assert h.tx(mini, "00D600000100")[1] == 0x6982               # NEV, even with ADM
    assert h.tx(mini, b"\x00\x20\x00\x0a\x08" + h.ADM1)[1] == 0x9000
    assert h.tx(mini, "00D600000100")[1] == 0x6982
    h.tx(mini, "00A4000C026FAD")
    assert h.tx(mini, "00D600000101")[1] == 0x9000               # ADM1 now satisfied
    h.tx(mini, "00A4000C023F00")
    h.tx(mini, "00A4000C022FE2")
    assert h.tx(mini, "00D6000001FF")[1] == 0x6982               # EF_ICCID update NEV


def test_disabled_pin1_grants_pin1_files(h):
    card = Card(h.mini_image(pin1_enabled=False), toolkit=False)
    h.tx(card, "00A4080C047FF06F07")
    assert h.tx(card, "00B0000009") == (h.IMSI, 0x9000)


def test_deactivated_file(mini_open, h):
    assert h.tx(mini_open, "00A4000C026F09")[1] == 0x6283       # selected file invalidated
    assert h.tx(mini_open, "00B0000004")[1] == 0x6985
    f = fcp(mini_open, h, "00A40004026F09")
    assert f[0x8A] == b"\x04"


# --- records ------------------------------------------------------------------------------------


def test_read_record_modes_and_pointer(mini_open, h):
    h.tx(mini_open, "00A4000C027F10")
    h.tx(mini_open, "00A4000C026F3A")
    assert h.tx(mini_open, "00B200041E")[1] == 0x6A83            # no current record yet
    assert h.tx(mini_open, "00B201041E")[1] == 0x9000
    assert h.tx(mini_open, "00B206041E")[1] == 0x6A83            # 5 records
    assert h.tx(mini_open, "00B201041D")[1] == 0x6C1E            # wrong Le
    for n in range(1, 6):                                          # next from "no record"
        assert h.tx(mini_open, "00B200021E")[1] == 0x9000
        assert mini_open.selection()["record"] == n
    assert h.tx(mini_open, "00B200021E")[1] == 0x6A83            # linear fixed: no wrap
    assert mini_open.selection()["record"] == 5
    assert h.tx(mini_open, "00B200031E")[1] == 0x9000
    assert mini_open.selection()["record"] == 4
    assert h.tx(mini_open, "00B200041E")[1] == 0x9000            # current = 4
    assert h.tx(mini_open, "00B201021E")[1] == 0x6A86            # P1 must be 0 in next mode
    assert h.tx(mini_open, "00B2010100")[1] == 0x6A86            # mode 01 undefined


def test_update_record_linear_and_sfi(mini_open, h):
    rec = bytes(range(28))
    h.tx(mini_open, "00A4000C026F40")
    assert h.tx(mini_open, b"\x00\xdc\x02\x04\x1c" + rec)[1] == 0x9000
    assert mini_open.read_record("3F00/7FF0/6F40", 2) == rec
    assert h.tx(mini_open, b"\x00\xdc\x02\x04\x1b" + rec[:27])[1] == 0x6700
    assert h.tx(mini_open, b"\x00\xdc\x03\x04\x1c" + rec)[1] == 0x6A83
    # EF_DIR by SFI 1E from the ADF's parent: select MF first
    h.tx(mini_open, "00A4000C023F00")
    data, sw = h.tx(mini_open, "00B201F428")
    assert sw == 0x9000 and data == h.ef_dir_record(h.USIM_AID, b"USIM")
    assert mini_open.selection()["ef"] == "3F00/2F00"


def test_cyclic_file_previous_update_and_wrap(mini_open, h):
    h.tx(mini_open, "00A4000C026F80")
    assert h.tx(mini_open, "00B2010404") == (b"\x01" * 4, 0x9000)
    assert h.tx(mini_open, "00DC000304AABBCCDD")[1] == 0x9000     # oldest record becomes record 1
    assert mini_open.records("3F00/7FF0/6F80") == [bytes.fromhex("AABBCCDD"), b"\x01" * 4, b"\x02" * 4]
    assert h.tx(mini_open, "00DC010404AABBCCDD")[1] == 0x6981     # absolute update not allowed on cyclic
    assert h.tx(mini_open, "00B2000304") == (b"\x02" * 4, 0x9000)  # previous of record 1 wraps to the last
    assert h.tx(mini_open, "00B2000204") == (bytes.fromhex("AABBCCDD"), 0x9000)  # next wraps to 1


def test_search_record_forward_backward(mini_open, h):
    h.tx(mini_open, "00A4000C023F00")
    h.tx(mini_open, "00A4000C022F00")
    data, sw = h.t0(mini_open, "00A2010407A0000000871002")
    assert sw == 0x9000 and data == b"\x01"
    assert mini_open.selection()["record"] == 1
    data, sw = h.t0(mini_open, "00A2000405A000000087")            # from the current record
    assert data == b"\x01\x02"
    data, sw = h.t0(mini_open, "00A2020505A000000087")            # backward from record 2
    assert data == b"\x02\x01"
    assert h.t0(mini_open, "00A20104044953494D") == (b"\x02", 0x9000)   # label "ISIM", mid-record
    assert h.tx(mini_open, "00A2010403DEADBE")[1] == 0x6282      # unsuccessful search
    assert h.tx(mini_open, "00A2010400")[1] == 0x6700
    assert h.tx(mini_open, "00A2010601AA")[1] == 0x6A86          # enhanced search not offered
    assert h.tx(mini_open, "00A201F402A000")[1] >> 8 == 0x61      # by SFI 1E


# --- internal access ----------------------------------------------------------------------------


def test_internal_access_bypasses_access_conditions(mini, h):
    assert mini.read_file("3F00/7FF0/6F07") == h.IMSI
    assert mini.read_file("7FF0/6F07") == h.IMSI
    mini.write_file("3F00/7FF0/6FAD", b"\x80")
    assert mini.read_file("3F00/7F20/6FAD") == b"\x80\xff\xff\xff"
    with pytest.raises(ValueError):
        mini.write_file("3F00/7FF0/6FAD", b"\x00" * 5)
    with pytest.raises(KeyError):
        mini.read_file("3F00/7FF0/6FFF")
    with pytest.raises(ValueError):
        mini.read_file("3F00/7FF0/6F40")
    mini.write_record("3F00/7FF0/6F40", 2, b"\x01")
    assert mini.records("3F00/7FF0/6F40")[1] == b"\x01" + b"\xff" * 27
    with pytest.raises(IndexError):
        mini.read_record("3F00/7FF0/6F40", 3)


def test_image_validation(h):
    img = h.mini_image()
    img.files.append(img.files[1])
    with pytest.raises(ValueError, match="duplicate"):
        Card(img, toolkit=False)
    img = h.mini_image()
    img.files[-1].link = "3F00/7FF0/6FFF"
    with pytest.raises(ValueError, match="linked file"):
        Card(img, toolkit=False)
