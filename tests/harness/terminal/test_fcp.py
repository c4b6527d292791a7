"""FCP templates (TS 102 221 §11.1.1.3, §11.1.1.4) decoded by the terminal.

The vectors are FCPs returned by a commercial UICC (sysmoISIM-SJA2) as recorded by pySim's
file-system dump test, decoded here by hand from the spec, plus templates built from the
clauses for what that card does not show (usage qualifier, 81 lengths).
"""

import pytest
from harness.terminal.fcp import Fcp, parse_fcp

MF = "62308202782183023f00a50c8001718304000564508701018a01058c04261a0000c60f90017083010183018183010a83010b"
ADF_USIM = ("623e820278218410a0000000871002ffffffff8907090000a50c8001718304000564508701018a01058c04261a0000"
            "c60f90017083010183018183010a83010b")
EF_LP = "621e8202412183026f05a506d00120d2010f8a01058b036f0602800200058800"  # transparent, 5 bytes
EF_ACM = "62218205462100031483026f39a506d00110d2010f8a01058b036f06058002003c8800"     # cyclic, 20 x 3
EF_NIA = "62218205422100150583026f51a506d00130d2010f8a01058b036f0607800200698800"     # linear, 5 x 21
EF_MCS_CONFIG = ("622e8202792183024f02a5158302012a8401018502012c8602012cd00130d2010f8a01058b036f0607"
                 "80020000880110")                                                       # BER-TLV EF


def test_mf_is_a_df_with_its_pin_status_template():
    fcp = parse_fcp(bytes.fromhex(MF))
    assert fcp.structure == "df" and fcp.fid == 0x3F00 and fcp.lcs == 0x05
    assert fcp.size is None and fcp.length is None and fcp.df_name is None
    # PS_DO 70 = 0111 0000: the first key reference (01) disabled, the next three enabled
    assert fcp.pin_status == ((0x01, False, None), (0x81, True, None), (0x0A, True, None), (0x0B, True, None))


def test_adf_carries_its_aid_as_df_name():
    fcp = parse_fcp(bytes.fromhex(ADF_USIM))
    assert fcp.structure == "df" and fcp.fid is None
    assert fcp.df_name == bytes.fromhex("a0000000871002ffffffff8907090000")
    assert fcp.pin_status is not None and fcp.pin_status[0] == (0x01, False, None)


@pytest.mark.parametrize("raw,structure,fid,size,record_length,record_count,length", [
    (EF_LP, "transparent", 0x6F05, 5, None, None, 5),
    (EF_ACM, "cyclic", 0x6F39, 60, 3, 20, 3),
    (EF_NIA, "linear_fixed", 0x6F51, 105, 21, 5, 21),
    (EF_MCS_CONFIG, "ber_tlv", 0x4F02, 0, None, None, 0),
])
def test_working_efs(raw, structure, fid, size, record_length, record_count, length):
    fcp = parse_fcp(bytes.fromhex(raw))
    assert (fcp.structure, fcp.fid, fcp.size) == (structure, fid, size)
    assert (fcp.record_length, fcp.record_count, fcp.length) == (record_length, record_count, length)
    assert fcp.pin_status is None and fcp.lcs == 0x05


def _template(*objects: bytes) -> bytes:
    body = b"".join(objects)
    return b"\x62" + bytes((len(body),)) + body


def test_usage_qualifier_applies_to_the_next_key_reference():
    # §9.5.2: PS_DO 40 (second reference enabled), usage qualifier 08 before the universal PIN 11
    template = bytes.fromhex("90014083010195010883011183010A")
    fcp = parse_fcp(_template(bytes.fromhex("820278218302 7FF0".replace(" ", "")),
                              b"\xc6" + bytes((len(template),)) + template))
    assert fcp.fid == 0x7FF0
    assert fcp.pin_status == ((0x01, False, None), (0x11, True, 0x08), (0x0A, False, None))


def test_two_byte_lengths():
    # ISO/IEC 7816-4 §5.2.2: 81 xx (and 82 xx xx) lengths on the template and inside it
    proprietary = bytes(0x90)
    inner = (bytes.fromhex("82027821") + b"\xa5\x81\x90" + proprietary
             + bytes.fromhex("8407A0000000871002") + bytes.fromhex("8A0105"))
    fcp = parse_fcp(b"\x62\x81" + bytes((len(inner),)) + inner)
    assert (fcp.structure, fcp.df_name, fcp.lcs) == ("df", bytes.fromhex("A0000000871002"), 0x05)
    wide = parse_fcp(b"\x62\x82" + len(inner).to_bytes(2, "big") + inner)
    assert wide == fcp


def test_not_a_fcp():
    assert parse_fcp(b"") == Fcp()
    assert parse_fcp(bytes.fromhex("6f108408a000000003000000a5049f6501ff")) == Fcp()  # FCI, not FCP


def test_a_cut_template_gives_the_objects_before_the_cut():
    # the template announces 0x10 bytes but only the descriptor and one byte of tag 83 follow
    fcp = parse_fcp(bytes.fromhex("6210820241218302 6F".replace(" ", "")))
    assert fcp.structure == "transparent" and fcp.fid is None and fcp.size is None


def test_fcp_is_an_immutable_value():
    fcp = parse_fcp(bytes.fromhex(EF_NIA))
    assert fcp == Fcp("linear_fixed", 105, 21, 5, 0x6F51, None, 0x05, None)
    assert hash(fcp) == hash(parse_fcp(bytearray.fromhex(EF_NIA))) and fcp != Fcp()
    assert "record_count=5" in repr(fcp)
    with pytest.raises(AttributeError):
        fcp.size = 0
