"""CAT encodings: TS 101 220 §7 TLVs, TS 102 223 proactive commands / envelopes / terminal responses."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csim import stk

H = bytes.fromhex


# --- lengths and TLVs (TS 101 220 §7.1.2) ------------------------------------------------------------


@pytest.mark.parametrize(
    "n, enc", [(0, "00"), (0x7F, "7F"), (0x80, "8180"), (0xFF, "81FF"), (0x100, "820100"), (0x1234, "821234")]
)
def test_length_forms(n, enc):
    assert stk.encode_length(n) == H(enc)
    assert stk.decode_length(H(enc), 0) == (n, len(H(enc)))


@pytest.mark.parametrize("bad", ["817F", "820080", "83000001", "80", "81"])
def test_non_minimal_or_unknown_lengths_rejected(bad):
    with pytest.raises(stk.TlvError):
        stk.decode_length(H(bad), 0)


def test_two_byte_length_proactive_command():
    items = [(i, f"Entry number {i:02d}") for i in range(1, 10)]
    cmd = stk.set_up_menu("A long menu", items)
    assert cmd[0] == 0xD0 and cmd[1] == 0x81 and cmd[2] == len(cmd) - 3 > 0x7F
    assert stk.parse_proactive(cmd).menu_items() == items


def test_comprehension_tlv_cr_bit_both_accepted():
    with_cr, without_cr = stk.parse_ctlvs(H("8103012600")), stk.parse_ctlvs(H("0103012600"))
    assert with_cr[0].tag == without_cr[0].tag == stk.Tag.COMMAND_DETAILS
    assert with_cr[0].cr and not without_cr[0].cr
    assert with_cr[0].value == without_cr[0].value == H("012600")


def test_comprehension_tlv_three_byte_tag():
    obj = stk.CTLV(0x0123, b"\x01\x02", cr=True)
    assert obj.encode() == H("7F8123020102")
    assert stk.parse_ctlvs(H("7F8123020102")) == [obj]


@pytest.mark.parametrize("bad", ["000100", "800100", "FF0100", "0105AA", "7F01"])
def test_malformed_comprehension_tlvs(bad):
    with pytest.raises(stk.TlvError):
        stk.parse_ctlvs(H(bad))


@given(st.lists(st.tuples(st.integers(1, 0x7E), st.binary(max_size=300), st.booleans()), max_size=6))
def test_ctlv_round_trip(objs):
    data = b"".join(stk.ctlv(t, v, cr) for t, v, cr in objs)
    assert [(o.tag, o.value, o.cr) for o in stk.parse_ctlvs(data)] == objs


def test_ber_length_mismatch_is_a_length_error():
    with pytest.raises(stk.TlvLengthError):
        stk.parse_ber(H("D6140103"))
    with pytest.raises(stk.TlvLengthError):
        stk.parse_ber(H("D6010300"))


# --- proactive commands: facts.md §4.3, §4.4, §4.7 --------------------------------------------------


def test_set_up_event_list_location_status():
    assert stk.set_up_event_list([stk.Event.LOCATION_STATUS]) == H("D00C810301050082028182990103")


def test_provide_local_information_location():
    # forum trace, TS 102 223 §6.4.15
    assert stk.provide_local_information() == H("D009810301260082028182")


def test_refresh_fcn_with_file_list():
    cmd = stk.refresh(stk.Refresh.FCN, ["3F00/7FFF/6F7B"])
    assert cmd == H("D0128103010101820281829207013F007FFF6F7B")
    assert stk.parse_proactive(cmd).files() == ["3F00/7FFF/6F7B"]


@pytest.mark.parametrize("q", [0x00, 0x03, 0x04])
def test_refresh_without_file_list(q):
    cmd = stk.refresh(q)
    assert cmd == H(f"D00981030101{q:02X}82028182")
    decoded = stk.parse_proactive(cmd)
    assert (decoded.type, decoded.qualifier, decoded.destination) == (0x01, q, 0x82)


def test_refresh_file_list_rules():
    with pytest.raises(ValueError):
        stk.refresh(stk.Refresh.FCN)
    with pytest.raises(ValueError):
        stk.refresh(stk.Refresh.UICC_RESET, ["3F00/7FFF/6F07"])
    cmd = stk.refresh(stk.Refresh.NAA_INIT_FCN, ["3F00/7FFF/6F07", "3F00/7FFF/6F7E"])
    assert stk.parse_ctlvs(stk.parse_ber(cmd)[1])[2].value == H("02 3F007FFF6F07 3F007FFF6F7E")
    assert stk.parse_proactive(cmd).files() == ["3F00/7FFF/6F07", "3F00/7FFF/6F7E"]


def test_set_up_menu_encoding():
    cmd = stk.set_up_menu("Profil", [(1, "Auto"), (2, "Intl")])
    assert cmd == H("D0 1F 810301250082028182 8506 50726F66696C 8F05 01 4175746F 8F05 02 496E746C")
    assert stk.parse_proactive(cmd).menu_items() == [(1, "Auto"), (2, "Intl")]


# --- alpha identifiers, TS 102 221 Annex A -------------------------------------------------------------


def test_alpha_default_alphabet_and_ucs2():
    assert stk.encode_alpha("Orange F") == H("4F72616E67652046")
    assert stk.encode_alpha("@$_") == H("000211")
    assert stk.encode_alpha("Réseau") == H("52") + bytes([0x05]) + b"seau"
    assert stk.encode_alpha("Ж") == H("800416")
    for text in ("Domestic", "International", "Réseau", "Ж-1"):
        assert stk.decode_alpha(stk.encode_alpha(text)) == text


def test_alpha_81_and_82_forms():
    # 81: length 3, base pointer 0x08 << 7 = 0x0400, chars 0x96 -> 0x0416 'Ж', 0x41 'A'
    assert stk.decode_alpha(H("8102084196FF")) == "AЖ"
    assert stk.decode_alpha(H("820204004196")) == "AЖ"


# --- envelopes: facts.md §4.7 --------------------------------------------------------------------------


def test_event_download_location_status_geran():
    data = H("D613190103820282811B0100130799F08900010001")
    env = stk.parse_envelope(data)
    assert isinstance(env, stk.EventDownload)
    assert env.event == stk.Event.LOCATION_STATUS
    assert (env.source, env.destination) == (0x82, 0x81)
    assert env.location_status == stk.LocationStatus.NORMAL_SERVICE
    assert env.location == stk.LocationInformation("990-98", 1, H("0001"))
    assert stk.event_download_location_status(0, env.location) == data


def test_event_download_location_status_eutran_length_9():
    # real LTE ENVELOPE from a public modem script (facts.md §4.5): PLMN 044578 = 405-874
    env = stk.parse_envelope(H("D615190103820282811B01001309044578000000000000"))
    assert env.location.plmn == "405-874"
    assert env.location.mcc == "405" and env.location.area == 0 and len(env.location.cell) == 4
    france = stk.LocationInformation("208-01", 0x1234, H("0ABCDEFF"))
    env = stk.parse_envelope(stk.event_download_location_status(0, france))
    assert env.location == france and env.location.mnc == "01"


def test_event_download_limited_service_without_location():
    env = stk.parse_envelope(stk.event_download_location_status(stk.LocationStatus.LIMITED_SERVICE))
    assert env.location_status == 1 and env.location is None


@pytest.mark.parametrize(
    "bad",
    [
        "D60A190103820282811B01",  # location status TLV truncated
        "D60A19020303820282811B00",  # two events in one download
        "D608820282811901037F",  # garbage three-byte tag at the end
        "D6078202828119010300"[:18],  # location status event without location status
        "D603190103",  # no device identities
        "D00482028281",  # D0 is not an envelope template
    ],
)
def test_malformed_envelopes(bad):
    with pytest.raises(stk.TlvError):
        stk.parse_envelope(H(bad))


def test_data_objects_in_any_order():
    env = stk.parse_envelope(H("D60A820282811B0100190103"))
    assert env.event == 3 and env.location_status == 0


def test_menu_selection_envelope():
    data = stk.menu_selection(3)
    assert data == H("D307820201819001 03")
    env = stk.parse_envelope(data)
    assert env == stk.MenuSelection(item=3, help=False, source=0x01, destination=0x81)
    assert stk.parse_envelope(stk.menu_selection(2, help_request=True)).help


def test_other_envelope_templates_are_generic():
    env = stk.parse_envelope(H("D104820283 81"))
    assert isinstance(env, stk.OtherEnvelope) and env.template == 0xD1


# --- terminal response ------------------------------------------------------------------------------


def test_terminal_response_provide_local_information():
    data = H("810301260082028281830100930762F210081C0005")
    tr = stk.parse_terminal_response(data)
    assert tr.details == H("012600")
    assert (tr.source, tr.destination, tr.result) == (0x82, 0x81, 0)
    assert tr.location == stk.LocationInformation("262-01", 0x081C, H("0005"))
    assert tr.successful
    assert stk.terminal_response(H("012600"), 0, stk.ctlv(0x13, tr.location.encode())) == data


def test_terminal_response_unable_additional_info():
    tr = stk.parse_terminal_response(stk.terminal_response(H("012600"), 0x20, additional=b"\x04"))
    assert tr.result == stk.Result.TERMINAL_UNABLE and tr.additional == b"\x04" and not tr.successful


def test_terminal_response_missing_result():
    with pytest.raises(stk.TlvError):
        stk.parse_terminal_response(H("8103012600820282 81"))


# --- PLMN ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plmn, enc",
    [
        ("208-01", "02F810"), ("206-01", "02F610"), ("310-260", "130062"),
        ("246-81", "42F618"), ("302-720", "030227"),
    ],
)
def test_plmn_vectors(plmn, enc):
    assert stk.encode_plmn(plmn) == H(enc)
    assert stk.decode_plmn(H(enc)) == plmn


# --- terminal profile (TS 102 223 §5.2) -----------------------------------------------------------------


def test_terminal_profile_bits():
    # byte1 09 = profile download + menu selection; byte3 80 = REFRESH; byte4 60 = SET UP MENU + PLI;
    # byte5 11 = SET UP EVENT LIST + location status
    tp = stk.TerminalProfile(H("0900806011"))
    for f in ("profile_download", "menu_selection", "refresh", "set_up_menu", "provide_local_information",
              "set_up_event_list", "event_location_status"):
        assert tp.supports(f), f
    absent = ("sms_pp_download", "display_text", "select_item", "event_mt_call",
              "provide_local_information_nmr")
    for f in absent:
        assert not tp.supports(f), f
    assert stk.TerminalProfile.build(tp.facilities(), 5) == tp


def test_short_terminal_profile_reads_zero():
    assert not stk.TerminalProfile(H("FF")).supports("set_up_event_list")
    assert stk.TerminalProfile(H("FF")).supports("menu_selection")
