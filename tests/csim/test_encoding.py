"""Spec vectors for csim.encoding (TS 24.008, TS 31.102, TS 102 221, TS 23.038, TS 51.011)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csim import encoding as enc

H = bytes.fromhex


@pytest.mark.parametrize("plmn, hexval", [
    ("246-81", "42F618"),   # TS 31.102 §4.2.16 example
    ("262-01", "62F210"), ("228-06", "22F860"), ("334-020", "330420"),
    ("208-01", "02F810"), ("208-10", "02F801"), ("208-15", "02F851"), ("208-20", "02F802"),
    ("001-01", "00F110"), ("206-01", "02F610"), ("310-260", "130062"), ("310-410", "130014"),
    ("302-720", "030227"),
])
def test_plmn_vectors(plmn, hexval):
    assert enc.encode_plmn(plmn) == H(hexval)
    assert enc.decode_plmn(H(hexval)) == plmn


def test_plmn_unused_and_malformed():
    assert enc.decode_plmn(H("FFFFFF")) is None
    with pytest.raises(ValueError):
        enc.encode_plmn("20801")
    with pytest.raises(ValueError):
        enc.encode_plmn("208-1")
    with pytest.raises(ValueError):
        enc.decode_plmn(H("0AF810"))


@given(st.from_regex(r"\A[0-9]{3}-[0-9]{2,3}\Z"))
def test_plmn_round_trip(plmn):
    assert enc.decode_plmn(enc.encode_plmn(plmn)) == plmn


def test_plmn_list_keeps_interior_gaps():
    data = H("FFFFFF" "02F851" "FFFFFF" "FFFFFF")
    assert enc.decode_plmn_list(data) == [None, "208-15"]
    assert enc.encode_plmn_list([None, "208-15"], 4) == data
    with pytest.raises(ValueError):
        enc.encode_plmn_list(["208-01"] * 5, 4)


@pytest.mark.parametrize("imsi, hexval", [
    ("228062800000208", "082982608200002080"),
    ("208011234567890", "082980102143658709"),
    ("20801123456789", "0821801021436587F9"),
])
def test_imsi_vectors(imsi, hexval):
    assert enc.encode_imsi(imsi) == H(hexval)
    assert enc.decode_imsi(H(hexval)) == imsi


@pytest.mark.parametrize("imsi, mnc_length, plmn", [
    ("208011234567890", 2, ("208", "01")),
    ("228062800000208", 2, ("228", "06")),
    ("310260123456789", 3, ("310", "260")),
    ("302720123456789", 3, ("302", "720")),
])
def test_imsi_plmn(imsi, mnc_length, plmn):
    assert enc.imsi_plmn(imsi, mnc_length) == plmn


def test_imsi_rejects_bad_input():
    for bad in ("12345", "1234567890123456", "20801A"):
        with pytest.raises(ValueError):
            enc.encode_imsi(bad)
    assert enc.decode_imsi(H("FF" * 9)) is None
    with pytest.raises(ValueError):  # parity says odd, 14 digits present
        enc.decode_imsi(H("0829801021436587F9"))


@given(st.from_regex(r"\A[0-9]{6,15}\Z"))
def test_imsi_round_trip(imsi):
    data = enc.encode_imsi(imsi)
    assert len(data) == 9
    assert enc.decode_imsi(data) == imsi


def test_iccid_vectors_and_luhn():
    assert enc.encode_iccid("8988211000000430010") == H("988812010000400310F0")
    assert enc.decode_iccid(H("988812010000400310F0")) == "8988211000000430010"
    assert enc.luhn_digit("893301000000000001") == "0"
    assert enc.encode_iccid("8933010000000000010") == H("983310000000000010F0")
    assert enc.luhn_valid("8933019900000000012")
    assert not enc.luhn_valid("8933019900000000013")
    assert enc.luhn_digit("7992739871") == "3"  # the classic Luhn example


def test_gsm7_alphabet():
    assert enc.gsm7_encode("@$_") == H("000211")
    assert enc.gsm7_encode("é") == H("05")
    assert enc.gsm7_encode("€") == H("1B65")
    assert enc.gsm7_decode(H("1B65FF41")) == "€"
    assert enc.gsm7_decode(H("4F72616E6765")) == "Orange"
    assert not enc.gsm7_encodable("Ω€ł")
    with pytest.raises(ValueError, match="'ł'"):
        enc.gsm7_encode("Połska")


def test_spn_vectors():
    assert enc.encode_spn("Orange F", True, True) == H("014F72616E67652046" + "FF" * 8)
    assert enc.decode_spn(H("0147534D2D52204348" + "FF" * 8)) == {
        "name": "GSM-R CH", "display_plmn_on_home": True, "display_spn_when_roaming": True}
    # b2 = 1: display of the SPN not required when roaming
    assert enc.encode_spn("Bouygues Tel", False, False)[0] == 0x02
    assert len(enc.encode_spn("Telco Mobile")) == 17


def test_spn_ucs2_fallback_decodes():
    data = enc.encode_spn("Łódź")
    assert data[1] == 0x80
    assert enc.decode_spn(data)["name"] == "Łódź"


def test_msisdn_vectors():
    rec = H("FF" * 14 + "07913316325476F8" + "FF" * 4 + "FFFF")
    assert enc.encode_msisdn("+33612345678", record_length=28) == rec
    assert enc.decode_msisdn(rec)["number"] == "+33612345678"
    pysim = H("FF" * 14 + "0891947172199181F3" + "FF" * 3 + "FFFF")
    assert enc.decode_msisdn(pysim) == {"alpha": "", "number": "+4917279119183", "ton": "international",
                                        "npi": "isdn"}
    national = enc.encode_msisdn("0612345678", record_length=14)
    assert national[:2] == H("0681") and enc.decode_msisdn(national)["ton"] == "unknown"
    assert enc.decode_msisdn(b"\xff" * 28) is None


def test_acc_and_service_tables():
    assert enc.encode_acc([3]) == H("0008")
    assert enc.decode_acc(H("0201")) == [0, 9]
    assert enc.encode_service_table([1, 9, 136], 17) == H("0101" + "00" * 14 + "80")
    assert enc.decode_service_table(H("0A")) == [2, 4]
    with pytest.raises(ValueError):
        enc.encode_service_table([137], 17)
    assert enc.encode_sst([1, 2, 5], 2) == H("0F03")
    assert enc.decode_sst(H("0703")) == [1, 5]  # service 2 allocated but not activated


def test_ad():
    assert enc.encode_ad({"mnc_length": 2}) == H("00000002")
    assert enc.encode_ad({"mnc_length": 3, "ue_mode": "type_approval",
        "ciphering_indicator": True}) == H("80000103")
    assert enc.decode_ad(H("00000003"))["mnc_length"] == 3
    with pytest.raises(ValueError):
        enc.encode_ad({"mnc_length": 4})


def test_ad_keeps_a_fifth_byte_and_a_three_byte_file():
    """TS 31.102 §4.2.18: bytes after the MNC length are extensions; a TS 51.011 §10.3.18 EF_AD may
    stop after byte 3 (pySim's ts_51_011 vector ``00ffff``)."""
    five = H("0000000201")
    assert enc.decode_ad(five)["extensions"] == "01"
    assert enc.encode_ad(enc.decode_ad(five), 5) == five
    three = H("00FFFF")
    value = enc.decode_ad(three)
    assert value["mnc_length"] is None and value["ciphering_indicator"] is True
    assert enc.encode_ad(value, 3) == three


def test_msisdn_keeps_its_type_of_number():
    """TS 24.008 §10.5.4.7: TON/NPI B1 is network specific / ISDN, not re-encoded as 81."""
    rec = H("FF" * 20 + "04B12143F5" + "FF" * 9)
    value = enc.decode_msisdn(rec)
    assert (value["number"], value["ton"], value["npi"]) == ("12345", "network_specific", "isdn")
    assert enc.encode_msisdn(value["number"], value["alpha"], 34, value["ton"], value["npi"]) == rec
    with pytest.raises(ValueError, match="TON international"):
        enc.encode_msisdn("+3312", ton="national")


def test_ucs2_spn_stays_ucs2():
    """TS 31.102 annex A: a name stored in UCS2 is written back in UCS2."""
    data = H("01" + "80004F00720061006E00670065" + "FF" * 3)
    value = enc.decode_spn(data)
    assert value == {"name": "Orange", "display_plmn_on_home": True, "display_spn_when_roaming": True,
                     "ucs2": True}
    assert enc.encode_spn(value["name"], True, True, 17, ucs2=True) == data


def test_access_technologies():
    assert enc.encode_act(["eutran"]) == H("4000")
    assert enc.encode_act(["eutran", "ngran"]) == H("4800")
    assert enc.encode_act(["gsm"]) == H("0084")
    assert enc.encode_act(["gsm", "ec_gsm_iot"]) == H("008C")
    assert enc.decode_act(H("0080")) == ["gsm"]  # pre-Rel-13 GSM bit alone
    assert enc.decode_act(H("6000")) == ["eutran_wb"]
    assert enc.decode_act(H("5000")) == ["eutran_nb"]
    assert enc.decode_act(H("8000")) == ["utran"]
    entry = enc.encode_plmn_act_list([{"plmn": "208-01", "act": ["eutran", "ngran"]}], 2)
    assert entry == H("02F8104800" "FFFFFF0000")
    assert enc.decode_plmn_act_list(H("62F2104000" "FFFFFF0000")) == [{"plmn": "262-01", "act": ["eutran"]}]
    with pytest.raises(ValueError, match="lte"):
        enc.encode_act(["lte"])


def test_location_files():
    loci = H("47D1264A62F21037211E00")
    assert enc.decode_loci(loci) == {"tmsi": "47D1264A", "plmn": "262-01", "lac": 0x3721, "rfu": 0x1E,
                                     "status": "updated"}
    assert enc.encode_loci(enc.decode_loci(loci)) == loci
    cleared = enc.encode_loci({"tmsi": None, "plmn": None, "lac": 0xFFFE, "status": "not_updated"})
    assert cleared == H("FFFFFFFF" "FFFFFF" "FFFE" "FF" "01")
    ps = enc.encode_psloci({"ptmsi": None, "plmn": "208-01", "lac": 1, "rac": 2, "status": "ra_not_allowed"})
    assert ps == H("FFFFFFFF" "FFFFFF" "02F810" "0001" "02" "03")
    eps = H("FF" * 12 + "02F810" "0001" "02")
    assert enc.decode_epsloci(eps)["status"] == "roaming_not_allowed"
    assert enc.encode_epsloci(enc.decode_epsloci(eps)) == eps


def test_acl_and_apn():
    data = enc.encode_acl(["internet", "orange.fr"], 24)
    assert data == H("02" "DD09" "08696E7465726E6574" "DD0A" "066F72616E6765026672")
    assert enc.decode_acl(data) == ["internet", "orange.fr"]
    assert enc.encode_acl([""], 3) == H("01DD00")
    with pytest.raises(ValueError):
        enc.encode_acl(["internet"], 8)


def test_dir_record():
    rec = H("61294F10A0000000871002FFFFFFFF890709000050055553696D3173" "0EA00C80011781025F608203454150")
    assert enc.decode_dir_record(rec) == {"aid": "A0000000871002FFFFFFFF8907090000", "label": "USim1",
                                          "other": "730EA00C80011781025F608203454150"}
    mine = enc.encode_dir_record(H("A0000000871002FF33FF018900000001"), "USIM", 32)
    assert mine[:2] == H("6118") and len(mine) == 32
    assert enc.decode_dir_record(mine)["label"] == "USIM"
    assert enc.decode_dir_record(b"\xff" * 32) is None


def test_small_files():
    assert enc.encode_hpplmn(60) == H("0A")
    with pytest.raises(ValueError):
        enc.encode_hpplmn(7)
    assert enc.encode_languages(["fr", "en"], 6) == H("6672656EFFFF")
    assert enc.decode_languages(H("6672FFFF656E")) == ["fr", "en"]
    assert enc.encode_keys({"ksi": 7}) == H("07" + "FF" * 32)
    assert enc.encode_kc({"kc": "EAE4BE823AF9A08B", "cksn": 0}) == H("EAE4BE823AF9A08B00")
    assert enc.encode_phase("phase2+") == H("03")


def test_arr_expanded_rules():
    rule = [{"ops": ["read"], "condition": "PIN1"}, {"ops": ["update"], "condition": "ADM1"},
            {"ops": ["deactivate", "activate"], "condition": "ADM1"}]
    data = enc.encode_arr_rule(rule, 40)
    assert data[:11] == H("800101" "A406" "830101" "950108")
    assert data[11:22] == H("800102" "A406" "83010A" "950108")
    assert data[22:33] == H("800118" "A406" "83010A" "950108")
    assert enc.decode_arr_rule(data) == rule
    assert enc.encode_arr_rule([{"ops": ["read", "update"], "condition": "ALW"}], 5) == H("8001039000")
    assert enc.decode_arr_rule(H("8001029700"))[0]["condition"] == "NEV"


def test_gsm7_packing_of_the_classic_example():
    # TS 23.038 §6.1.2.1.1 packing: "hellohello" is the textbook E8329BFD4697D9EC37
    septets = enc.gsm7_encode("hellohello")
    assert enc.gsm7_pack(septets).hex().upper() == "E8329BFD4697D9EC37"
    assert enc.gsm7_unpack(bytes.fromhex("E8329BFD4697D9EC37"), 10) == septets


@pytest.mark.parametrize("name, first", [("Demo Net", 0x80), ("Réseau Démo", 0x80), ("ΔΦΓ ñ€{t}", 0x80),
                                         ("デモ", 0x90)])
def test_network_name_coding_scheme(name, first):
    # TS 24.008 §10.5.3.5a: GSM 7-bit packed when the default alphabet holds the name, else UCS2
    raw = enc.encode_network_name(name)
    assert raw[0] & 0xF8 == first
    assert enc.decode_network_name(raw) == name


def test_pnn_record_with_short_name_and_spdi_list():
    rec = enc.encode_pnn_record({"full": "Demo Network", "short": "Demo"}, 24)
    assert rec[0] == 0x43 and rec[2] == 0x80 | ((8 - 12 * 7 % 8) % 8)
    assert enc.decode_pnn_record(rec) == {"full": "Demo Network", "short": "Demo"}
    assert enc.decode_pnn_record(b"\xff" * 24) is None
    with pytest.raises(ValueError, match="a record holds 8"):
        enc.encode_pnn_record({"full": "Demo Network"}, 8)
    assert enc.encode_spdi(["208-01"], 9).hex().upper() == "A305800302F810FFFF"
    assert enc.decode_spdi(bytes.fromhex("A305800302F810FFFF")) == ["208-01"]


# TS 31.102 §4.2.59 / §4.4.11.9: a BCD 'D' in an EF_OPL / EF_OPL5G PLMN is a wild digit
@pytest.mark.parametrize("plmn, hexval", [
    ("214-0D", "12F4D0"), ("2D8-01", "D2F810"), ("DDD-DD", "DDFDDD"), ("310-26D", "13D062"),
])
def test_wild_plmn_vectors(plmn, hexval):
    assert enc.encode_plmn(plmn, wildcard=True) == H(hexval)
    assert enc.decode_plmn(H(hexval), wildcard=True) == plmn


def test_wild_digits_only_where_the_spec_has_them():
    assert enc.encode_plmn("214-0d", wildcard=True) == H("12F4D0")
    with pytest.raises(ValueError, match="digits or D"):
        enc.encode_plmn("214-0E", wildcard=True)
    with pytest.raises(ValueError, match="3 digits, dash"):
        enc.encode_plmn("214-0D")                       # EF_FPLMN, EF_EHPLMN...: digits only
    with pytest.raises(ValueError, match="not a BCD PLMN"):
        enc.decode_plmn(H("12F4D0"))
    with pytest.raises(ValueError, match="not a BCD PLMN"):
        enc.decode_plmn(H("12F4E0"), wildcard=True)


@pytest.mark.parametrize("pattern, plmn, match", [
    ("214-0D", "214-03", True), ("214-0D", "214-07", True), ("214-0D", "214-10", False),
    ("2DD-01", "208-01", True), ("2DD-01", "208-10", False), ("214-0D", "214-003", False),
    ("208-01", "208-01", True), ("DDD-DDD", "310-260", True), ("DDD-DDD", "208-01", False),
])
def test_plmn_matches(pattern, plmn, match):
    assert enc.plmn_matches(pattern, plmn) is match


def test_opl_and_opl5g_records():
    opl = {"plmn": "214-0D", "lac_min": 0x0100, "lac_max": 0x01FF, "pnn_record": 3}
    assert enc.encode_opl_record(opl, 9) == H("12F4D0010001FF03FF")
    assert enc.decode_opl_record(H("12F4D0010001FF03FF")) == opl
    opl5g = {"plmn": "208-01", "tac_min": 0x000100, "tac_max": 0xFFFFFE, "pnn_record": 2}
    assert enc.encode_opl5g_record(opl5g, 10) == H("02F810000100FFFFFE02")
    assert enc.decode_opl5g_record(H("02F810000100FFFFFE02")) == opl5g
    assert enc.decode_opl5g_record(H("FF" * 10)) is None
    with pytest.raises(ValueError, match="a record holds 8"):
        enc.encode_opl5g_record(opl5g, 8)
    with pytest.raises(OverflowError):
        enc.encode_opl5g_record({**opl5g, "tac_max": 0x1000000}, 10)
