"""pySim-shell's ``get_identity`` (TS 31.102 §7.5) and ``aram_*`` commands (GPD_SPE_013) on the served
demo card (``tests/data/cards/demo-suci-aram.yaml``).

The SUCI pySim prints is opened with the home network private key of TS 33.501 Annex C.4 (the
card holds only the public key) and must hide the IMSI the profile YAML declares; EF_SUCI_Calc_Info
written by pySim's own encoder must decide the scheme; the rules pySim decodes from GET DATA must
be the YAML's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tests" / "data" / "cards" / "demo-suci-aram.yaml"
C4 = yaml.safe_load((ROOT / "tests" / "csim" / "data" / "ts33501_annex_c4.yaml").read_text())


def _suci(run: Any) -> bytes:
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    found = re.findall(r"SUCI TLV Data Object: ([0-9a-fA-F]+)", run.stdout)
    assert found, run.stdout[-3000:]
    return bytes.fromhex(found[-1])


def _opens_to_the_yaml_imsi(value: bytes, doc: dict[str, Any], scheme: int, key_id: int, name: str) -> None:
    from csim import suci

    imsi = doc["profiles"]["home"]["imsi"]
    mnc = doc["profiles"]["home"]["mnc_length"]
    # TS 24.501 §9.11.3.4 octets 4-11: SUPI format IMSI + type SUCI, PLMN (001-01 packs to 00 F1 10),
    # routing indicator as EF_Routing_Indicator holds it, scheme, key identifier
    assert imsi[:5] == "00101" and mnc == 2
    routing = bytes.fromhex(doc["files"]["DF_5GS/EF_Routing_Indicator"])[:2]
    assert value[:8] == bytes.fromhex("0100F110") + routing + bytes([scheme, key_id])
    private = bytes.fromhex(C4["profiles"][name]["home_private_key"])
    assert suci.deconceal(scheme, private, value[8:]) == suci.msin_bcd(imsi[3 + mnc:])


def test_pysim_get_identity_hides_the_profile_imsi(oracle_reader: Any, tmp_path: Path) -> None:
    from csim.profile import load_profile

    doc = yaml.safe_load(DEMO.read_text())
    run = oracle_reader.shell(load_profile(DEMO), ["select ADF.USIM", "get_identity"], tmp_path)
    value = _suci(run)
    assert len(value) == 54  # Profile B: 8 + 33 + 5 + 8
    _opens_to_the_yaml_imsi(value, doc, 2, 27, "B")


def test_calc_info_written_by_pysim_decides_the_scheme(oracle_reader: Any, tmp_path: Path) -> None:
    """pySim encodes EF_SUCI_Calc_Info with Profile A first (key 30); the next SUCI uses it."""
    from csim.profile import load_profile

    doc = yaml.safe_load(DEMO.read_text())
    info = doc["files"]["DF_5GS/EF_SUCI_Calc_Info"]
    info = {"prot_scheme_id_list": [{"priority": 0, "identifier": 1, "key_index": 2},
                                    {"priority": 1, "identifier": 0, "key_index": 0}],
            "hnet_pubkey_list": info["hnet_pubkey_list"]}
    run = oracle_reader.shell(load_profile(DEMO), [
        f"verify_adm {doc['pins']['adm1']['value']}",
        "select MF/ADF.USIM/DF.5GS/EF.SUCI_Calc_Info",
        f"update_binary_decoded '{json.dumps(info)}'",
        "select ADF.USIM", "get_identity"], tmp_path)
    value = _suci(run)
    assert len(value) == 53  # Profile A: 8 + 32 + 5 + 8
    _opens_to_the_yaml_imsi(value, doc, 1, 30, "A")


def test_pysim_decodes_the_profile_access_rules(oracle_reader: Any, tmp_path: Path) -> None:
    from csim.profile import load_profile

    rule = yaml.safe_load(DEMO.read_text())["aram"]["rules"][0]
    answer = oracle_reader.shell_json(load_profile(DEMO), ["select ADF.ARA-M", "aram_get_all"], tmp_path)
    assert answer == [{"response_all_ref_ar_do": [{"ref_ar_do": [
        {"ref_do": [{"aid_ref_do": rule["aid"].lower()},
                    {"dev_app_id_ref_do": rule["device_app_id"].lower()}]},
        {"ar_do": [{"apdu_ar_do": {"generic_access_rule": rule["apdu"]}},
                   {"nfc_ar_do": {"nfc_event_access_rule": rule["nfc"]}},
                   {"perm_ar_do": {"permissions": rule["permissions"]}}]}]}]}]
