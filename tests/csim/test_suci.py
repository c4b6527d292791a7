"""SUPI concealment (TS 33.501 Annex C) checked against the test data of TS 33.501 Annex C.4, and
GET IDENTITY (TS 31.102 §7.5) of a card whose USIM calculates the SUCI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from csim import Card, suci
from csim.profile import load_profile

DATA = Path(__file__).parent / "data"
C4 = yaml.safe_load((DATA / "ts33501_annex_c4.yaml").read_text())
DEMO = Path(__file__).parents[1] / "data" / "cards" / "demo-suci-aram.yaml"
H = bytes.fromhex
PROFILES = list(C4["profiles"])


@pytest.mark.parametrize("name", PROFILES)
def test_annex_c4_shared_key_and_keying_data(name):
    v = C4["profiles"][name]
    eph = suci.ephemeral_public_key(v["scheme"], H(v["ephemeral_private_key"]))
    assert eph == H(v["ephemeral_public_key"])
    shared = suci.shared_secret(v["scheme"], H(v["ephemeral_private_key"]), H(v["home_public_key"]))
    assert shared == H(v["shared_key"])
    # the home network reaches the same secret from its private key and the ephemeral public key
    assert suci.shared_secret(v["scheme"], H(v["home_private_key"]), H(v["ephemeral_public_key"])) == shared
    keys = suci.keying_data(shared, H(v["ephemeral_public_key"]))
    assert (keys.enc_key, keys.icb, keys.mac_key) == (H(v["enc_key"]), H(v["icb"]), H(v["mac_key"]))


@pytest.mark.parametrize("name", PROFILES)
def test_annex_c4_scheme_output(name):
    v = C4["profiles"][name]
    scheme_input = suci.msin_bcd(C4["msin"])
    assert scheme_input == H(C4["scheme_input"])
    out = suci.conceal(v["scheme"], H(v["home_public_key"]), scheme_input, H(v["ephemeral_private_key"]))
    assert out == H(v["scheme_output"])
    n = len(H(v["ephemeral_public_key"]))
    assert (out[n:-8], out[-8:]) == (H(v["ciphertext"]), H(v["mac_tag"]))
    assert suci.deconceal(v["scheme"], H(v["home_private_key"]), H(v["scheme_output"])) == scheme_input


def test_annex_c4_profile_b_uncompressed_home_key_gives_the_same_output():
    v = C4["profiles"]["B"]
    out = suci.conceal(2, H(v["home_public_key_uncompressed"]), H(C4["scheme_input"]),
                       H(v["ephemeral_private_key"]))
    assert out == H(v["scheme_output"])


@pytest.mark.parametrize("name", PROFILES)
def test_a_tampered_scheme_output_fails_the_mac(name):
    v = C4["profiles"][name]
    out = bytearray(H(v["scheme_output"]))
    out[-9] ^= 0x01  # last ciphertext byte
    with pytest.raises(suci.SuciError, match="MAC"):
        suci.deconceal(v["scheme"], H(v["home_private_key"]), bytes(out))


def test_fresh_ephemeral_keys_give_fresh_outputs():
    v = C4["profiles"]["A"]
    outs = {suci.conceal(1, H(v["home_public_key"]), H(C4["scheme_input"])) for _ in range(3)}
    assert len(outs) == 3
    assert all(suci.deconceal(1, H(v["home_private_key"]), o) == H(C4["scheme_input"]) for o in outs)


def test_bad_home_keys_are_refused():
    with pytest.raises(suci.SuciError):
        suci.conceal(2, H("05" + "11" * 32), b"\x21")
    with pytest.raises(suci.SuciError):
        suci.conceal(1, b"\x00" * 32, b"\x21")  # small-order X25519 point
    with pytest.raises(suci.SuciError):
        suci.conceal(1, H(C4["profiles"]["A"]["home_public_key"]), b"")


# --------------------------------------------------------------------------- GET IDENTITY

def _doc() -> dict[str, Any]:
    return yaml.safe_load(DEMO.read_text())


def _card(doc: dict[str, Any] | None = None) -> Card:
    card = Card.from_profile(load_profile(doc if doc is not None else DEMO))
    card.transmit(H("00A4040C07A0000000871002"))
    return card


def get_identity(card: Card, p2: int = 0x01) -> tuple[bytes, int]:
    """GET IDENTITY as a T=0 terminal sends it: Le 00, then again with the Le of a 6Cxx."""
    r = card.transmit(bytes([0x80, 0x78, 0x00, p2, 0x00]))
    if r[-2] == 0x6C:
        r = card.transmit(bytes([0x80, 0x78, 0x00, p2, r[-1]]))
    return r[:-2], int.from_bytes(r[-2:], "big")


def test_get_identity_conceals_the_profile_imsi_with_the_first_scheme():
    """TS 31.102 §7.5.2: 'A1' SUCI TLV; TS 24.501 §9.11.3.4 octets 4 to 11, then a Profile B output
    (scheme 2 has priority 0 in the demo card's EF_SUCI_Calc_Info) that the home network's key opens."""
    doc = _doc()
    data, sw = get_identity(_card())
    assert sw == 0x9000
    assert data[0] == 0xA1 and data[1] == len(data) - 2 == 54
    fields = suci.parse_suci(data[2:])
    imsi = doc["profiles"]["home"]["imsi"]
    assert fields["plmn"] == f"{imsi[:3]}-{imsi[3:5]}"
    assert fields["routing_indicator"] == H(doc["files"]["DF_5GS/EF_Routing_Indicator"])[:2]
    assert (fields["scheme"], fields["key_id"]) == (2, 27)
    msin = suci.deconceal(2, H(C4["profiles"]["B"]["home_private_key"]), fields["scheme_output"])
    assert msin == suci.msin_bcd(imsi[5:])


def test_each_get_identity_is_a_fresh_suci():
    card = _card()
    assert get_identity(card)[0] != get_identity(card)[0]


def test_suci_follows_the_calc_info_file():
    """The null scheme first: the scheme output is the MSIN itself and the key identifier 0."""
    doc = _doc()
    doc["files"]["DF_5GS/EF_SUCI_Calc_Info"]["prot_scheme_id_list"] = [
        {"priority": 0, "identifier": 0, "key_index": 0}]
    data, sw = get_identity(_card(doc))
    fields = suci.parse_suci(data[2:])
    assert sw == 0x9000 and (fields["scheme"], fields["key_id"]) == (0, 0)
    assert fields["scheme_output"] == suci.msin_bcd(doc["profiles"]["home"]["imsi"][5:])


def test_profile_a_when_it_comes_first():
    doc = _doc()
    doc["files"]["DF_5GS/EF_SUCI_Calc_Info"]["prot_scheme_id_list"] = [
        {"priority": 0, "identifier": 1, "key_index": 2}]
    data, _ = get_identity(_card(doc))
    fields = suci.parse_suci(data[2:])
    assert (fields["scheme"], fields["key_id"]) == (1, 30)
    msin = suci.deconceal(1, H(C4["profiles"]["A"]["home_private_key"]), fields["scheme_output"])
    assert msin == suci.msin_bcd(doc["profiles"]["home"]["imsi"][5:])


@pytest.mark.parametrize("ust, sw", [([124], 0x6985), ([125], 0x6985)])
def test_get_identity_needs_services_124_and_125(ust, sw):
    doc = _doc()
    doc["ust"] = [s for s in doc["ust"] if s not in (124, 125)] + ust
    if 124 not in ust:
        doc.pop("files")
    assert get_identity(_card(doc))[1] == sw


def test_get_identity_status_words():
    card = _card()
    assert get_identity(card, p2=0x02)[1] == 0x6A86  # SUCI 5G NSWO context: not supported
    assert card.transmit(H("8078000101FF"))[-2:] == H("6700")  # no command data
    assert card.transmit(H("0078000100"))[-2:] == H("6E00")  # CLA 8X only
    card.reset()
    assert get_identity(card)[1] == 0x6985  # no application selected yet
    card.transmit(H("00A4040C07A0000000871004"))
    assert get_identity(card)[1] == 0x6985  # the ISIM is no USIM


def test_get_identity_needs_pin1():
    doc = _doc()
    doc["pins"]["pin1"]["enabled"] = True
    card = _card(doc)
    assert get_identity(card)[1] == 0x6982
    assert card.transmit(H("0020000108") + b"0000\xff\xff\xff\xff") == H("9000")
    assert get_identity(card)[1] == 0x9000


def test_broken_calc_info_is_a_technical_problem():
    """Key index 3 of a list of two keys: the card cannot calculate a SUCI (6F00)."""
    doc = _doc()
    doc["files"]["DF_5GS/EF_SUCI_Calc_Info"]["prot_scheme_id_list"] = [
        {"priority": 0, "identifier": 2, "key_index": 3}]
    assert get_identity(_card(doc))[1] == 0x6F00


def test_a_shorter_calc_info_written_over_a_longer_one():
    """UPDATE BINARY of a list with Profile A first and one key, over the demo card's longer file:
    the old tail after the key list is not read (pySim's update_binary_decoded leaves it so)."""
    card = _card()
    key = H(C4["profiles"]["A"]["home_public_key"])
    new = H("A0040101 0000".replace(" ", "")) + H("A125" "80011E" "8120") + key
    assert card.transmit(H("0020000A08") + b"87654321") == H("9000")
    assert card.transmit(H("00A4000C025FC0")) == H("9000")
    assert card.transmit(H("00A4000C024F07")) == H("9000")
    assert card.transmit(bytes([0x00, 0xD6, 0x00, 0x00, len(new)]) + new) == H("9000")
    data, sw = get_identity(card)
    fields = suci.parse_suci(data[2:])
    assert sw == 0x9000 and (fields["scheme"], fields["key_id"]) == (1, 30)
