"""USIM AUTHENTICATE (TS 31.102 §7.1.2) driven by pySim-shell's ``authenticate`` on a served card.

The card is a bundled profile whose subscriber keys are replaced by a 3GPP TS 35.208 §4.3 test
set; the expected RES, CK and IK are the values the specification prints for that set, so the
check depends on neither csim's Milenage nor pySim's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "fixtures" / "cards" / "csl-sim.yaml"  # PIN1 disabled, UST service 27 (GSM access)

# 3GPP TS 35.208 §4.3, test sets 1 and 2: inputs, then f1 (MAC-A), f2 (RES), f3 (CK), f4 (IK), f5 (AK).
TEST_SETS = {
    "ts35208-set1": dict(
        k="465b5ce8b199b49faa5f0a2ee238a6bc", rand="23553cbe9637a89d218ae64dae47bf35",
        sqn="ff9bb4d0b607", amf="b9b9", opc="cd63cb71954a9f4e48a5994e37a02baf",
        mac_a="4a9ffac354dfafb3", res="a54211d5e3ba50bf", ck="b40ba9a3c58b2a05bbf0d987b21bf8cb",
        ik="f769bcd751044604127672711c6d3441", ak="aa689c648370"),
    "ts35208-set2": dict(
        k="0396eb317b6d1c36f19c1c84cd6ffd16", rand="c00d603103dcee52c4478119494202e8",
        sqn="fd8eef40df7d", amf="af17", opc="53c15671c60a4b731c55b4a441c0bde2",
        mac_a="5df5b31807e258b0", res="d3a628ed988620f0", ck="58c433ff7a7082acd424220f2b67c556",
        ik="21a8c1f929702adb3e738488b9f5c5da", ak="c47783995f72"),
}


def _xor(*parts: str) -> str:
    out = bytes(len(bytes.fromhex(parts[0])))
    for part in parts:
        out = bytes(a ^ b for a, b in zip(out, bytes.fromhex(part), strict=True))
    return out.hex()


def _autn(v: dict[str, str]) -> str:
    """AUTN = (SQN xor AK) || AMF || MAC-A, TS 33.102 §6.3.2."""
    return _xor(v["sqn"], v["ak"]) + v["amf"] + v["mac_a"]


def _kc(v: dict[str, str]) -> str:
    """Kc = CK1 xor CK2 xor IK1 xor IK2 (conversion function c3, TS 33.102 §6.8.1.2)."""
    ck, ik = v["ck"], v["ik"]
    return _xor(ck[:16], ck[16:], ik[:16], ik[16:])


def test_kc_of_set_1_is_the_gsm_test_vector() -> None:
    """c3 above gives TS 55.205's GSM test set 1 Kc for TS 35.208 set 1 (facts.md §1.2)."""
    assert _kc(TEST_SETS["ts35208-set1"]) == "eae4be823af9a08b"


@pytest.mark.parametrize("name", list(TEST_SETS))
def test_authenticate_gives_the_specification_res_ck_ik(name: str, oracle_reader: Any,
                                                        tmp_path: Path) -> None:
    from csim import Card
    from csim.profile import load_profile

    v = TEST_SETS[name]
    doc = yaml.safe_load(BASE.read_text())
    for sub in doc["profiles"].values():
        sub.update(ki=v["k"], opc=v["opc"])
    profile = load_profile(doc)
    assert 27 in profile.ust
    answer = oracle_reader.shell_json(profile, ["select ADF.USIM", f"authenticate {v['rand']} {_autn(v)}"],
                                      tmp_path, card=Card.from_profile(profile))
    assert answer == {"successful_3g_authentication": {
        "res": v["res"], "ck": v["ck"], "ik": v["ik"], "kc": _kc(v)}}
