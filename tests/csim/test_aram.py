"""The ARA-M applet (GlobalPlatform SE Access Control, GPD_SPE_013 v1.1) through APDUs: selection by
AID on any channel, GET DATA of the rules, STORE DATA to add and delete them.

Command bytes are written out as GPD_SPE_013 codes them (Tables 5-2, 5-4, 6-3 to 6-9)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csim import Card
from csim.profile import load_profile
from csim.yamlsrc import DataError

DEMO = Path(__file__).parents[1] / "data" / "cards" / "demo-suci-aram.yaml"
H = bytes.fromhex
SELECT_ARAM = H("00A4040409A00000015141434C0000")
# REF-AR-DO: REF-DO (AID-REF-DO FFFFFFFFFFBB, DeviceAppID-REF-DO of 20 bytes), AR-DO (APDU always,
# NFC always, PERM 0000000000000004)
RULE_BB = H("E232" "E11E" "4F06FFFFFFFFFFBB" "C114AA6872F28B340B2345678905D5C2BBD5A04F0BDD"
            "E310" "D00101" "D10101" "DB080000000000000004")
# the demo card's rule, as the profile declares it (aid FFFFFFFFFFAA, APDU never, NFC never)
RULE_AA = H("E232" "E11E" "4F06FFFFFFFFFFAA" "C114AA6872787654334567840DE535C2BBD5A04F0BAA"
            "E310" "D00100" "D10100" "DB080000000000000004")


def apdu(card: Card, hexstr: str | bytes) -> tuple[bytes, int]:
    """One command as a T=0 terminal runs it (6Cxx: again with that Le; 61xx: GET RESPONSE)."""
    cmd = H(hexstr) if isinstance(hexstr, str) else hexstr
    r = card.transmit(cmd)
    if r[-2] == 0x6C:
        r = card.transmit(cmd[:4] + r[-1:])
    if r[-2] == 0x61:
        r = card.transmit(bytes([cmd[0] & 0x03, 0xC0, 0, 0, r[-1]]))
    return r[:-2], int.from_bytes(r[-2:], "big")


def store(card: Card, do: bytes, cla: int = 0x80) -> int:
    return apdu(card, bytes([cla, 0xE2, 0x90, 0x00, len(do)]) + do)[1]


@pytest.fixture
def card() -> Card:
    card = Card.from_profile(DEMO)
    assert apdu(card, SELECT_ARAM) == (b"", 0x9000)
    return card


def test_get_all_lists_the_profile_rules(card):
    assert apdu(card, "80CAFF4000") == (H("FF4034") + RULE_AA, 0x9000)


def test_store_then_get_all_newest_first(card):
    assert store(card, H("F034") + RULE_BB) == 0x9000
    data, sw = apdu(card, "80CAFF4000")
    assert sw == 0x9000 and data == H("FF4068") + RULE_BB + RULE_AA


def test_delete_all_leaves_an_empty_response_all_ref_ar_do(card):
    assert store(card, H("F100")) == 0x9000
    assert apdu(card, "80CAFF4000") == (H("FF4000"), 0x9000)


def test_delete_by_aid_ref_do_and_by_ref_ar_do(card):
    store(card, H("F034") + RULE_BB)
    assert store(card, H("F1084F06FFFFFFFFFFAA")) == 0x9000
    assert apdu(card, "80CAFF4000")[0] == H("FF4034") + RULE_BB
    assert store(card, H("F1084F06FFFFFFFFFFAA")) == 0x6A88  # nothing left to delete
    assert store(card, H("F134") + RULE_BB) == 0x9000
    assert apdu(card, "80CAFF4000")[0] == H("FF4000")


def test_a_second_rule_for_the_same_ref_do_conflicts(card):
    assert store(card, H("F034") + RULE_AA) == 0x6A89


@pytest.mark.parametrize("do", [
    "F003E201FF",                              # not a REF-AR-DO's content
    "F00AE208E306D00101D10101",                # no REF-DO
    "F016E214E10C4F03FFFFFFC10500112233 44E303D00101".replace(" ", ""),  # 3-byte AID, 5-byte hash
    "F5",                                      # truncated TLV
])
def test_malformed_store_data_is_refused(card, do):
    assert store(card, H(do)) == 0x6A80
    assert apdu(card, "80CAFF4000")[0] == H("FF4034") + RULE_AA


def test_refresh_tag_changes_with_the_rules(card):
    tag, sw = apdu(card, "80CADF2000")
    assert sw == 0x9000 and tag[:3] == H("DF2008") and len(tag) == 11
    assert apdu(card, "80CADF2000")[0] == tag
    store(card, H("F100"))
    assert apdu(card, "80CADF2000")[0] != tag


def test_config_gives_the_interface_version(card):
    # Device-Config-DO with the device interface version 0.0.1, as pySim sends it
    assert apdu(card, "80CADF2107E405E603000001") == (H("DF2107E505E603010100"), 0x9000)


def test_long_responses_continue_with_get_data_next(card):
    rules = []
    for k in range(6):
        rule = bytearray(RULE_BB)
        rule[10] = k  # AID FFFFFFFF00BB .. FFFFFFFF05BB
        rules.append(bytes(rule))
        assert store(card, H("F034") + bytes(rule)) == 0x9000
    first, sw = apdu(card, "80CAFF4000")
    assert sw == 0x9000 and len(first) == 255
    rest, sw = apdu(card, "80CAFF6000")
    whole = first + rest
    body = b"".join(reversed(rules)) + RULE_AA
    assert whole == H("FF4082") + len(body).to_bytes(2, "big") + body


def test_other_commands_go_to_the_applet(card):
    assert apdu(card, "00B0000001")[1] == 0x6E00  # CLA 00 on the ARA-M
    assert apdu(card, "80F2000000")[1] == 0x6D00  # STATUS is no ARA-M command
    assert apdu(card, "80CAFF41 00".replace(" ", ""))[1] == 0x6A88


def test_file_system_back_after_selecting_an_application_with_one(card):
    assert apdu(card, "00A4040C07A0000000871002")[1] == 0x9000
    assert apdu(card, "00A4000C026F07")[1] == 0x9000
    assert apdu(card, "80CAFF4000")[1] == 0x6D00  # the USIM knows no GET DATA


def test_aram_on_a_logical_channel_keeps_channel_0(card):
    card.reset()
    assert apdu(card, "00A4040C07A0000000871002")[1] == 0x9000
    assert apdu(card, "0070000001") == (b"\x01", 0x9000)
    assert apdu(card, "01A4040409A00000015141434C0000")[1] == 0x9000
    assert store(card, H("F100"), cla=0x81) == 0x9000
    assert apdu(card, "81CAFF4000") == (H("FF4000"), 0x9000)
    assert apdu(card, "00A4000C026F07")[1] == 0x9000  # channel 0 still in the USIM
    assert apdu(card, "0070800100")[1] == 0x9000


def test_rules_survive_save_and_load(card, tmp_path):
    store(card, H("F034") + RULE_BB)
    card.save(tmp_path / "card.state")
    again = Card.load(tmp_path / "card.state")
    apdu(again, SELECT_ARAM)
    assert apdu(again, "80CAFF4000")[0] == H("FF4068") + RULE_BB + RULE_AA


def test_a_card_without_aram_section_has_no_aram():
    card = Card.from_profile("simalarm-2")
    assert apdu(card, SELECT_ARAM)[1] == 0x6A82


def test_a_bad_rule_in_the_profile_is_refused_with_its_line(tmp_path):
    doc = yaml.safe_load(DEMO.read_text())
    doc["aram"]["rules"][0]["device_app_id"] = "AA68"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(DataError) as exc:
        load_profile(path)
    assert "aram/rules/0: a DeviceAppID-REF-DO holds 0, 20 or 32 bytes (Table 6-4)" in str(exc.value)
    assert f"{path}:" in str(exc.value)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=150)
@given(st.lists(st.tuples(st.sampled_from([0x80, 0x81, 0x00, 0x84]),
                          st.sampled_from([0xCA, 0xE2, 0xA4, 0xC0, 0x78]),
                          st.integers(0, 255), st.integers(0, 255), st.binary(max_size=80)),
                min_size=1, max_size=25))
def test_random_commands_to_the_aram_leave_a_working_card(cmds):
    """Any command on the ARA-M's channel gets SW1 SW2 (6X but 60, or 9X); the rules stay well formed
    and the USIM is still reachable."""
    card = Card.from_profile(DEMO)
    apdu(card, SELECT_ARAM)
    for cla, ins, p1, p2, data in cmds:
        cmd = bytes([cla, ins, p1, p2, len(data)]) + data if data else bytes([cla, ins, p1, p2, 0])
        r = card.transmit(cmd)
        assert len(r) >= 2 and r[-2] >> 4 in (6, 9) and r[-2] != 0x60
    apdu(card, SELECT_ARAM)
    data, sw = apdu(card, "80CAFF4000")
    assert sw == 0x9000 and data[:2] == H("FF40")
    assert apdu(card, "00A4040C07A0000000871002")[1] == 0x9000
    assert apdu(card, "00A4000C026F07")[1] == 0x9000
    assert apdu(card, "00B0000009")[0] == card.read_file("3F00/7FF0/6F07")
