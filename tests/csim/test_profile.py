"""Card profiles: loading, validation errors with file:line, card image and profile switching data."""

import datetime

import pytest

from csim import ef as efs
from csim import encoding as enc
from csim.image import CardImage
from csim.profile import (
    AppletConfig,
    build_image,
    bundled_profiles,
    load_profile,
    plmn_matches,
    profile_auth,
    profile_files,
)
from csim.yamlsrc import DataError

H = bytes.fromhex

BASE = """\
name: test-card
atr: 3B9F96801FC78031A073BE21136743200718000001A5
iccid: "8933019900000000012"
msisdn: "+33700000000001"
pins:
  pin1: {value: "0000", puk: "12345678"}
  pin2: {value: "1234", puk: "87654321"}
  adm1: {value: "38383838"}
ust: [19, 20, 21, 27, 33, 42, 43, 71, 85]
entries: {fplmn: 5}
profiles:
  domestic:
    imsi: "208019900000001"
    mnc_length: 2
    spn: {name: Orange}
    ehplmn: ["208-01", "208-02"]
    hplmnwact:
      - {plmn: "208-01", act: [eutran, gsm]}
    oplmnwact:
      - {plmn: "206-01", act: [eutran]}
    fplmn: ["208-10", "208-15", "208-20", "208-26", "208-88"]
    acc: [3]
    ki: 000102030405060708090a0b0c0d0e0f
    opc: 69d5c2eb2e2e624750541d3bbc692ba5
  international:
    imsi: "901709900000001"
    mnc_length: 2
    spn: {name: Orange}
    acc: [3]
    ki: 0f0e0d0c0b0a09080706050403020100
    opc: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
applet:
  priority: domestic
  table:
    - {plmn: "208-*", profile: domestic}
    - {default: international}
"""


def write(tmp_path, old=None, new=None, text=BASE):
    if old is not None:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "card.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text, fragment):
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


@pytest.mark.parametrize("name", bundled_profiles())
def test_every_bundled_profile_loads_and_builds(name):
    profile = load_profile(name)
    image = build_image(profile)
    assert isinstance(image, CardImage)
    paths = {f.path for f in image.files}
    # TS 31.102 §4.2 mandatory files (ECC, START-HFN, THRESHOLD, NETPAR included), TS 102 221 §13,
    # and what pySim-read reads in DF_TELECOM / DF_GSM (EF_SMSP, EF_LP, EF_ECC)
    for required in ("3F00", "3F00/2F00", "3F00/2FE2", "3F00/2F05", "3F00/2F06", "3F00/7F10",
                     "3F00/7F10/6F42", "3F00/7FF0", "3F00/7FF0/6F07", "3F00/7FF0/6FAD", "3F00/7FF0/6F46",
                     "3F00/7FF0/6F60", "3F00/7FF0/6FE3", "3F00/7FF0/6FE4",
                     "3F00/7FF0/6F61", "3F00/7FF0/6F62", "3F00/7FF0/6F7B", "3F00/7FF0/6F7E",
                     "3F00/7FF0/6F73", "3F00/7FF0/6F38", "3F00/7FF0/6FB7", "3F00/7FF0/6F5B",
                     "3F00/7FF0/6F5C", "3F00/7FF0/6FC4", "3F00/7FF0/5F3B/4F20", "3F00/7FF0/5F3B/4F52",
                     "3F00/7FF0/6F78", "3F00/7FF0/6F08", "3F00/7FF0/6F09", "3F00/7FF0/6F31",
                     "3F00/7FF0/6F05", "3F00/7FF0/6F06", "3F00/7F20", "3F00/7F20/6F07", "3F00/7F20/6F30",
                     "3F00/7F20/6F38", "3F00/7F20/6FAE", "3F00/7F20/6F20", "3F00/7F20/6F05",
                     "3F00/7F20/6FB7"):
        assert required in paths, (name, required)
    # TS 31.102 §4.2.8: a file whose service is off is not on the card
    for service, path in ((2, "3F00/7FF0/6F3B"), (21, "3F00/7FF0/6F40"), (35, "3F00/7FF0/6F57"),
                          (71, "3F00/7FF0/6FD9"), (34, "3F00/7FF0/6F56"), (17, "3F00/7FF0/6F3E")):
        assert (path in paths) == (service in profile.ust), (name, service, path)
    active = profile.active_profile
    files = {f.path: f for f in image.files}
    assert enc.decode_imsi(files["3F00/7FF0/6F07"].data) == active.imsi
    assert enc.decode_iccid(files["3F00/2FE2"].data) == profile.iccid
    assert enc.decode_spn(files["3F00/7FF0/6F46"].data)["name"] == active.spn.name
    assert len(active.spn.name) <= 13
    for sub in profile.imsi_profiles.values():
        assert enc.luhn_valid(profile.iccid) and sub.imsi.isdigit()


def test_reference_profile_contents():
    profile = load_profile("alphalink-orange")
    assert set(profile.imsi_profiles) == {"domestic", "international"}
    dom = profile.imsi_profiles["domestic"]
    assert (dom.mcc, dom.mnc, dom.hplmn) == ("208", "01", "208-01")
    assert isinstance(profile.applet, AppletConfig)
    assert profile.applet.priority == "domestic" and profile.applet.default == "international"
    assert [(e.pattern, e.profile) for e in profile.applet.table][:2] == [("208-*", "domestic"),
                                                                          ("206-01", "domestic")]
    assert profile.applet.refresh_qualifier == 0x00
    assert profile.pins["pin1"].value == b"0000\xff\xff\xff\xff" and profile.pins["pin1"].key_ref == 0x01
    assert profile.pins["pin2"].key_ref == 0x81
    assert profile.pins["adm1"].key_ref == 0x0A and profile.pins["adm1"].value == b"38383838"


def test_image_files_and_access_rules():
    image = build_image("alphalink-orange")
    files = {f.path: f for f in image.files}
    usim = files["3F00/7FF0"]
    assert usim.kind == "ADF" and usim.aid.startswith(bytes.fromhex("A0000000871002"))
    dir_rec = enc.decode_dir_record(files["3F00/2F00"].records[0])
    assert dir_rec["aid"] == usim.aid.hex().upper()
    imsi = files["3F00/7FF0/6F07"]
    assert (imsi.read, imsi.update, imsi.sfi) == ("PIN1", "ADM1", 7)
    assert files["3F00/7F20/6F07"].link == "3F00/7FF0/6F07"
    assert files["3F00/7F20/6F07"].data == imsi.data
    # the EF_ARR record each file references encodes that file's access conditions
    arr = files["3F00/7FF0/6F06"].records
    assert arr == files["3F00/2F06"].records
    for f in image.files:
        if f.kind != "EF":
            continue
        rules = enc.decode_arr_rule(arr[f.arr_record - 1])
        by_op = {op: r["condition"] for r in rules for op in r["ops"]}
        assert (by_op["read"], by_op["update"]) == (f.read, f.update), f.path
    assert [p.name for p in image.pins] == ["PIN1", "PIN2", "ADM1"]
    assert image.auth.ki == bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    assert image.atr == bytes.fromhex("3B9796801FC78031E073FE211BBF")


def test_profile_files_switch_to_international():
    profile = load_profile("alphalink-orange")
    image = build_image(profile)
    sizes = {f.path: len(f.data) for f in image.files if f.kind == "EF" and f.structure == "transparent"}
    new = profile_files(profile, "international")
    for path, data in new.items():
        assert sizes[path] == len(data), path
    assert enc.decode_imsi(new["3F00/7FF0/6F07"]) == "901709900000001"
    assert new["3F00/7F20/6F07"] == new["3F00/7FF0/6F07"]
    assert enc.decode_plmn_act_list(new["3F00/7FF0/6F61"])[0] == {"plmn": "262-01",
                                                                   "act": ["eutran", "utran", "gsm"]}
    assert enc.decode_plmn_list(new["3F00/7FF0/6F7B"]) == []
    assert enc.decode_plmn_list(new["3F00/7FF0/6FD9"]) == []
    assert enc.decode_plmn_list(new["3F00/7F20/6F30"])[:2] == ["262-01", "228-01"]
    expected = {"6F07", "6FAD", "6F46", "6FD9", "6F62", "6F61", "6F60", "6F7B", "6F78"}
    assert {p.rsplit("/", 1)[1] for p in new if p.startswith("3F00/7FF0/")} == expected
    back = profile_files(profile, "domestic")
    files = {f.path: f.data for f in image.files}
    assert all(files[p] == d for p, d in back.items())
    auth = profile_auth(profile, "international")
    assert auth.ki == bytes.fromhex("0f0e0d0c0b0a09080706050403020100")
    with pytest.raises(KeyError):
        profile_files(profile, "nowhere")


def test_single_profile_card_has_no_applet():
    profile = load_profile("alphalink-orange-domestic-only")
    assert profile.applet is None and list(profile.imsi_profiles) == ["domestic"]


def test_load_from_mapping_and_path(tmp_path):
    path = write(tmp_path)
    assert load_profile(path).name == "test-card"
    assert load_profile(str(path)).imsi_profiles["domestic"].fplmn[-1] == "208-88"
    import yaml
    mapping = yaml.safe_load(BASE)
    assert load_profile(mapping).iccid == "8933019900000000012"
    mapping["profiles"]["domestic"]["imsi"] = "20801"
    with pytest.raises(DataError, match="6 to 15 digits"):
        load_profile(mapping)


def test_activation_date_and_reference(tmp_path):
    text = BASE.replace("name: test-card\n",
                        "name: test-card\nsim_reference: CSL-SIM\nactivation_date: 2022-11-16\n")
    profile = load_profile(write(tmp_path, text=text))
    assert profile.activation_date == datetime.date(2022, 11, 16) and profile.sim_reference == "CSL-SIM"
    bad = BASE.replace("name: test-card\n", "name: test-card\nactivation_date: 16/11/2022\n")
    with pytest.raises(DataError) as exc:
        load_profile(write(tmp_path, text=bad))
    expected = "activation_date: '16/11/2022' is not a YYYY-MM-DD date"
    assert str(exc.value) == f"{tmp_path / 'card.yaml'}:2: {expected}"


UST = "ust: [19, 20, 21, 27, 33, 42, 43, 71, 85]"
ERRORS = [
    # (old, new, fragment of the offending line, message fragment)
    ('iccid: "8933019900000000012"', 'iccid: "8933019900000000013"', "iccid:",
     "wrong Luhn check digit 3, expected 2"),
    ('iccid: "8933019900000000012"', 'iccid: "89330199000000012"', "iccid:", "19 or 20"),
    ('imsi: "208019900000001"', 'imsi: "20801"', 'imsi: "20801"', "6 to 15 digits, got '20801'"),
    ('imsi: "208019900000001"', 'imsi: "20801990000000123"', "imsi: \"2080199000", "6 to 15 digits"),
    ("    mnc_length: 2\n    spn: {name: Orange}\n    ehplmn",
     "    mnc_length: 3\n    spn: {name: Orange}\n    ehplmn", "mnc_length: 3", "2-digit MNCs"),
    ('pin1: {value: "0000", puk: "12345678"}', 'pin1: {value: "00a0", puk: "12345678"}', "pin1:",
     "4 to 8 digits"),
    ('pin1: {value: "0000", puk: "12345678"}', 'pin1: {value: "0000", puk: "1234"}', "pin1:",
     "PUK is 8 digits"),
    ('adm1: {value: "38383838"}', 'adm1: {value: "3838383"}', "adm1:", "8 digits or 16 hex"),
    ("ki: 000102030405060708090a0b0c0d0e0f", "ki: 000102030405060708090a0b0c0d0e", "ki: 0001",
     "does not match"),
    ("spn: {name: Orange}\n    ehplmn", "spn: {name: Orange Business X}\n    ehplmn", "Orange Business",
     "has 17 characters, the electrical profile allows 13"),
    ("spn: {name: Orange}\n    ehplmn", "spn: {name: Orangeł}\n    ehplmn", "Orangeł", "GSM 7-bit"),
    ('ehplmn: ["208-01", "208-02"]', 'ehplmn: ["208-01", "20802"]', "ehplmn:", "does not match"),
    ("- {plmn: \"206-01\", act: [eutran]}", "- {plmn: \"206-01\", act: [lte]}", "act: [lte]", "lte"),
    ("ust: [19, 20, 21, 27, 33, 42, 43, 71, 85]", "ust: [19, 20, 21, 27, 33, 42, 43, 71, 137]", "ust:",
     "service 137 is outside 1..136"),
    ("- {default: international}", "- {default: nowhere}", "default: nowhere",
     "no IMSI profile named 'nowhere'"),
    ("priority: domestic", "priority: roaming", "priority: roaming", "no IMSI profile named 'roaming'"),
    ("atr: 3B9F96801FC78031A073BE21136743200718000001A5", "atr: 3B9F96801FC78031A073BE21136743200718000001A4",
     "atr:", "wrong TCK A4, expected A5"),
    ("atr: 3B9F96801FC78031A073BE21136743200718000001A5", "atr: 3B9F96801FC78031A073BE211367432007180000A5",
     "atr:", "T0 and the interface bytes announce"),
    ("- {plmn: \"208-01\", act: [eutran, gsm]}", "- {plmn: \"262-01\", act: [eutran, gsm]}", "262-01",
     "neither the HPLMN 208-01"),
    ('fplmn: ["208-10"', 'fplmn: ["208-02"', 'fplmn: ["208-02"', "home network 208-02 cannot be forbidden"),
    ("acc: [3]\n    ki: 0001", "acc: [10]\n    ki: 0001", "acc: [10]", "access class 10"),
    ('msisdn: "+33700000000001"', 'msisdn: "+33-7"', "msisdn:", "does not match"),
    ("name: test-card", "name: test-card\ncolour: blue", "colour:", "unknown key"),
    ("- {plmn: \"208-*\", profile: domestic}", "- {plmn: \"2080\", profile: domestic}", 'plmn: "2080"', None),
    # TS 31.102 §4.2.8: a profile that fills a file its EF_UST does not call for contradicts itself
    (UST, "ust: [19, 20, 21, 27, 33, 42, 43, 71, 85, 21]", "ust:", "service 21 is listed twice"),
    (UST, "ust: [19, 20, 21, 27, 33, 34, 42, 43, 71, 85]\nest: [3]", "est:",
     "est: service 3 (ACL) is activated while UST service 35 is not available: it cannot be enabled "
     "(TS 31.102 §4.2.47)"),
    (UST, "ust: [19, 20, 27, 33, 42, 43, 71, 85]", "msisdn:", "msisdn: EF_MSISDN needs UST service 21"),
    (UST, "ust: [19, 20, 21, 27, 33, 42, 43, 85]", "ehplmn:",
     "profiles/domestic/ehplmn: EF_EHPLMN needs UST service 71"),
    (UST, "ust: [19, 20, 21, 27, 33, 42, 71, 85]", "hplmnwact:",
     "profiles/domestic/hplmnwact: EF_HPLMNwAcT needs UST service 43"),
    ("name: test-card", "name: test-card\nfiles:\n  ADF_USIM/EF_GID1: A1", "ADF_USIM/EF_GID1",
     "files/ADF_USIM/EF_GID1: EF_GID1 needs UST service 17"),
    ("name: test-card", "name: test-card\nfiles:\n  DF_5GS/EF_Routing_Indicator: F0FFFFFF", "Routing",
     "files/DF_5GS/EF_Routing_Indicator: EF_Routing_Indicator needs UST service 124"),
    ("name: test-card", "name: test-card\nfiles:\n  ADF_USIM/EF_IMSI: '0829'", "EF_IMSI",
     "written from the profile's other keys"),
    ("name: test-card", "name: test-card\nfiles:\n  ADF_USIM/EF_NOPE: A1", "EF_NOPE", "unknown EF"),
    ("entries: {fplmn: 5}", "entries: {fplmn: 4}", "fplmn: [",
     "profiles/domestic/fplmn: 5 entries, EF_FPLMN holds 4 (entries/fplmn)"),
    ("entries: {fplmn: 5}", "entries: {fplmn: 3}", "entries:",
     "entries/fplmn: EF_FPLMN holds at least 4 entries (TS 31.102 §4.2.16)"),
    # without entries:, a list file holds what its default size in csim/ef.py holds
    ("entries: {fplmn: 5}\n", "", "fplmn: [",
     "profiles/domestic/fplmn: 5 entries, EF_FPLMN holds 4 (its default size; declare entries: {fplmn: N} "
     "for a larger file)"),
    ("name: test-card", "name: test-card\nfiles:\n  DF_GSM/EF_ECC: ['112', '911', '999', '110', '118', '17']",
     "DF_GSM/EF_ECC", "does not fit EF_ECC (3 to 15 bytes, TS 51.011 §10.3.27)"),
    # TS 31.102 §4.2.59: 'D' is the only non-digit an EF_OPL PLMN may hold
    (UST, "ust: [19, 20, 21, 27, 33, 42, 43, 45, 46, 71, 85]\nfiles:\n  ADF_USIM/EF_OPL:\n"
          "    - {plmn: \"2X8-01\", lac_min: 0, lac_max: 65534, pnn_record: 1}", "ADF_USIM/EF_OPL",
     "files/ADF_USIM/EF_OPL: does not fit EF_OPL (8 to 255 bytes, TS 31.102 §4.2.59): not a PLMN 'MCC-MNC' "
     "(3 digits or D"),
    (UST, "ust: [19, 20, 21, 27, 33, 42, 43, 45, 71, 85]\nfiles:\n  DF_5GS/EF_OPL5G:\n"
          "    - {plmn: \"208-01\", tac_min: 0, tac_max: 16777214, pnn_record: 1}", "DF_5GS/EF_OPL5G",
     "files/DF_5GS/EF_OPL5G: EF_OPL5G needs UST service 129"),
    (UST, "ust: [19, 20, 21, 27, 33, 42, 43, 45, 71, 85, 129]\nfiles:\n  DF_5GS/EF_OPL5G:\n"
          "    - {plmn: \"208-01\", tac_min: 0, tac_max: 16777216, pnn_record: 1}", "DF_5GS/EF_OPL5G",
     "does not fit EF_OPL5G (10 to 255 bytes, TS 31.102 §4.4.11.9)"),
]


@pytest.mark.parametrize("old, new, fragment, message", ERRORS, ids=[e[3] or e[1][:20] for e in ERRORS])
def test_errors_name_file_and_line(tmp_path, old, new, fragment, message):
    path = write(tmp_path, old, new)
    text = path.read_text(encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_profile(path)
    err = exc.value
    assert err.source == str(path)
    assert err.line == line_of(text, fragment), str(err)
    assert str(err).startswith(f"{path}:{err.line}: ")
    if message:
        assert message in err.message


def test_several_profiles_need_an_applet(tmp_path):
    text = BASE[:BASE.index("applet:")]
    with pytest.raises(DataError) as exc:
        load_profile(write(tmp_path, text=text))
    assert exc.value.line == line_of(text, "profiles:") and "applet" in exc.value.message


def test_default_must_be_last(tmp_path):
    path = write(tmp_path, "    - {default: international}\n",
                 "    - {default: international}\n    - {plmn: \"206-*\", profile: domestic}\n")
    with pytest.raises(DataError) as exc:
        load_profile(path)
    assert exc.value.line == line_of(path.read_text(), "206-*") and "last" in exc.value.message


def test_missing_file_and_bare_name():
    with pytest.raises(DataError, match="no such file"):
        load_profile("no-such-card")


@pytest.mark.parametrize("pattern, plmn, ok", [
    ("208-*", "208-01", True), ("208-*", "208-001", True), ("208-*", "206-01", False),
    ("206-01", "206-01", True), ("206-01", "206-10", False), ("3??-*", "310-260", True),
    ("2??-??", "262-01", True), ("2??-??", "262-001", False),
])
def test_plmn_patterns(pattern, plmn, ok):
    assert plmn_matches(pattern, plmn) is ok


def test_every_ef_of_the_image_decodes():
    image = build_image("alphalink-bouygues")
    for f in image.files:
        if f.kind != "EF":
            continue
        ef = efs.by_path(f.path)
        assert ef is not None, f.path
        value = efs.decode(ef, f.data if f.structure == "transparent" else f.records)
        assert value is not None or f.name in ("EF_MSISDN",), f.path
    spn = enc.decode_spn(next(f.data for f in image.files if f.path == "3F00/7FF0/6F46"))
    assert spn["name"] == "Bouygues Tel"


def test_reloading_a_file_gives_independent_copies(tmp_path):
    path = write(tmp_path)
    first = load_profile(path)
    fplmn = list(first.imsi_profiles[first.active].fplmn)
    first.imsi_profiles[first.active].fplmn.append("208-15")
    first.ust.append(99)
    second = load_profile(path)
    assert second.imsi_profiles[second.active].fplmn == fplmn
    assert 99 not in second.ust
    assert second == load_profile(path) and second is not load_profile(path)


def test_a_changed_file_is_read_again(tmp_path):
    path = write(tmp_path)
    assert load_profile(path).msisdn == "+33700000000001"
    text = path.read_text().replace("+33700000000001", "+33700000000002")
    path.write_text(text)
    assert load_profile(path).msisdn == "+33700000000002"


def test_image_follows_changes_made_to_a_loaded_profile(tmp_path):
    path = write(tmp_path)
    profile = load_profile(path)
    fplmn = profile.imsi_profiles[profile.active].fplmn
    before = next(f for f in build_image(profile).files if f.path == "3F00/7FF0/6F7B")
    assert enc.decode_plmn(before.data[:3]) == fplmn[0] != "208-15"
    fplmn[0] = "208-15"
    changed = next(f for f in build_image(profile).files if f.path == "3F00/7FF0/6F7B")
    assert enc.decode_plmn(changed.data[:3]) == "208-15"
    assert profile_files(profile, profile.active)["3F00/7FF0/6F7B"] == changed.data
    # an image handed out and modified does not leak into the next one
    image = build_image(profile)
    image.files[0].records.append(b"\x00")
    image.pins[0].attempts = 0
    again = build_image(profile)
    assert again.files[0].records == [] and again.pins[0].attempts == 3


def test_cards_built_from_one_file_share_no_state(tmp_path):
    from csim import Card

    path = write(tmp_path)
    one, two = Card.from_profile(path), Card.from_profile(path)
    imsi = two.read_file("3F00/7FF0/6F07")
    one.write_file("3F00/7FF0/6F07", bytes.fromhex("082980019900000099"))
    assert two.read_file("3F00/7FF0/6F07") == imsi
    assert Card.from_profile(path).read_file("3F00/7FF0/6F07") == imsi


def test_files_declared_with_their_service():
    """``files:`` fills EFs in their codec's shape; the service that calls for them is on."""
    text = BASE.replace("ust: [19, 20, 21, 27, 33, 42, 43, 71, 85]",
                        "ust: [12, 17, 19, 20, 21, 27, 33, 42, 43, 46, 71, 85, 122, 124]")
    text += """files:
  ADF_USIM/EF_GID1: A1B2
  ADF_USIM/EF_ECC:
    - {code: "112", alpha: Urgences, categories: []}
    - {code: "17", alpha: Police, categories: [police]}
  ADF_USIM/EF_OPL:
    - {plmn: "208-01", lac_min: 0, lac_max: 65534, pnn_record: 1}
  DF_GSM/EF_ECC: ["112", "15", "17", "18"]
"""
    image = build_image(load_profile(_to_mapping(text)))
    files = {f.path: f for f in image.files}
    assert files["3F00/7FF0/6F3E"].data == H("A1B2")
    ecc = files["3F00/7FF0/6FB7"]
    assert ecc.record_length == 12  # 3 code + 8 alpha ("Urgences") + 1 category, TS 31.102 §4.2.21
    assert ecc.records[1] == H("71FFFF") + b"Police" + H("FFFF01")
    assert files["3F00/7FF0/6FC6"].records == [H("02F810" "0000" "FFFE" "01")]
    assert files["3F00/7F20/6FB7"].data == H("11F2FF" "51FFFF" "71FFFF" "81FFFF")
    # DF_5GS with service 122/124: 5GS location and the SUCI files (TS 31.102 §4.4.11)
    for path in ("3F00/7FF0/5FC0", "3F00/7FF0/5FC0/4F01", "3F00/7FF0/5FC0/4F07", "3F00/7FF0/5FC0/4F0A",
                 "3F00/7FF0/6F42"):
        assert path in files, path
    assert "3F00/7FF0/5FC0/4F05" not in files  # 5GAUTHKEYS: service 123 is off


def _to_mapping(text):
    import yaml

    return yaml.safe_load(text)


@pytest.mark.parametrize("languages, lp", [("[fr, en]", "0301"), ("[de]", "00FF"), ("[fr, en, ar]", "0301")])
def test_ef_lp_follows_the_languages(tmp_path, languages, lp):
    """TS 51.011 §10.3.1: EF_LP holds the profile's languages as TS 23.038 §5 codes (fr 03, en 01, de 00)."""
    path = write(tmp_path, "name: test-card", f"name: test-card\nlanguages: {languages}")
    image = build_image(load_profile(path))
    assert next(f for f in image.files if f.path == "3F00/7F20/6F05").data == H(lp)


ISIM = """isim:
  impi: 208019900000001@ims.mnc001.mcc208.3gppnetwork.org
  impu: ["sip:+33700000000001@ims.mnc001.mcc208.3gppnetwork.org", "tel:+33700000000001"]
  domain: ims.mnc001.mcc208.3gppnetwork.org
  ist: [1]
  pcscf: [pcscf.ims.mnc001.mcc208.3gppnetwork.org, 192.168.12.34]
"""


def test_isim_listed_in_ef_dir(tmp_path):
    """TS 31.103 §4.2: ADF.ISIM with IMPI, IMPU, DOMAIN, AD, ARR, IST, P-CSCF; TS 102 221 §13.1: EF_DIR
    lists it after the USIM."""
    image = build_image(load_profile(write(tmp_path, text=BASE + ISIM)))
    files = {f.path: f for f in image.files}
    isim = files["3F00/7FF2"]
    assert isim.kind == "ADF" and isim.aid == H("A0000000871004FF33FF018900000001")
    assert enc.decode_dir_record(files["3F00/2F00"].records[1]) == {
        "aid": "A0000000871004FF33FF018900000001", "label": "ISIM"}
    impi = files["3F00/7FF2/6F02"].data
    assert impi[:2] == H("8031") and impi[2:].decode() == "208019900000001@ims.mnc001.mcc208.3gppnetwork.org"
    assert files["3F00/7FF2/6F04"].records[1].rstrip(b"\xff") == H("8013") + b"tel:+33700000000001"
    assert files["3F00/7FF2/6F07"].data == H("01")
    assert files["3F00/7FF2/6F09"].records[1].rstrip(b"\xff") == H("800501C0A80C22")
    for path in ("3F00/7FF2/6F03", "3F00/7FF2/6FAD", "3F00/7FF2/6F06"):
        assert path in files


def test_isim_pcscf_needs_its_service(tmp_path):
    path = write(tmp_path, text=BASE + ISIM.replace("ist: [1]", "ist: [2]"))
    with pytest.raises(DataError) as exc:
        load_profile(path)
    assert str(exc.value).endswith("isim/pcscf: EF_PCSCF needs IST service 1 or 5 (TS 31.103 §4.2.7)")


def test_entries_fix_the_size_of_list_files(tmp_path):
    """``entries:`` sets how many PLMNs a list file holds, as on a personalised card (3 bytes each)."""
    path = write(tmp_path, "entries: {fplmn: 5}", "entries: {fplmn: 6}")
    image = build_image(load_profile(path))
    sizes = {f.path: len(f.data) for f in image.files if f.structure == "transparent"}
    assert sizes["3F00/7FF0/6F7B"] == sizes["3F00/7F20/6F7B"] == 18
    assert sizes["3F00/7FF0/6F61"] == 40  # undeclared: EF_OPLMNwAcT's size in csim/ef.py, 8 entries


def test_a_mapping_is_validated_once_per_content_and_each_load_is_a_fresh_copy() -> None:
    """A profile given as a mapping (a package's card profile) is checked once per content: the
    same content again is a fresh, independent copy; other content, or invalid content, is
    checked (and refused) again."""
    import yaml

    from csim.profile import resolve_path

    doc = yaml.safe_load(resolve_path("csl-sim").read_text())
    first, second = load_profile(doc), load_profile(doc)
    assert first == second and first is not second
    first.imsi_profiles[first.active].fplmn.append("999-99")
    assert "999-99" not in load_profile(doc).imsi_profiles[second.active].fplmn
    doc["iccid"] = "not digits"
    for _ in range(2):
        with pytest.raises(DataError, match="iccid"):
            load_profile(doc)
