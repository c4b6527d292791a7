"""Read and decode the subscriber files of the card under test (TS 31.102 §4.2, TS 102 221 §13.2).

Runs against whatever card the hil plugin provides: a physical card (``--reader``) or the
simulated card served through pcscd + vpcd.  With an expected profile (``--expect-profile``,
implicit for the served card) every value is also compared with it.
"""

import re

import pytest

from csim.encoding import luhn_valid
from harness.readers.pcsc import expected_from_profile, read_ef

pytestmark = pytest.mark.hil


@pytest.fixture(scope="module")
def expected(hil_target):
    return expected_from_profile(hil_target.profile_path) if hil_target.profile_path else {}


def _needs_pin(hil_target):
    if hil_target.pin1 is None:
        pytest.skip("PIN1 unknown: set SIMHARNESS_PIN1 to read PIN-protected files")


def test_atr_is_a_uicc_atr(hil_target):
    atr = hil_target.transport.atr
    assert atr[0] in (0x3B, 0x3F)  # TS 102 221 §6.3: direct or inverse convention
    assert 2 <= len(atr) <= 33


def test_iccid(hil_link, expected):
    iccid = read_ef(hil_link, "MF/EF_ICCID")
    assert re.fullmatch(r"89\d{16,18}", iccid), iccid  # ITU-T E.118: telecom MII 89
    assert luhn_valid(iccid)
    if "iccid" in expected:
        assert iccid == expected["iccid"]


def test_imsi_and_mnc_length(hil_target, hil_link, expected):
    _needs_pin(hil_target)
    imsi = read_ef(hil_link, "ADF_USIM/EF_IMSI")
    ad = read_ef(hil_link, "ADF_USIM/EF_AD")
    assert re.fullmatch(r"\d{6,15}", imsi), imsi
    assert ad["mnc_length"] in (2, 3)
    if "imsi" in expected:
        assert imsi == expected["imsi"]
        assert ad["mnc_length"] == expected["mnc_length"]


def test_spn(hil_link, expected):
    spn = read_ef(hil_link, "ADF_USIM/EF_SPN")
    assert isinstance(spn["name"], str) and len(spn["name"]) <= 16
    if "spn" in expected:
        assert spn["name"] == expected["spn"]


@pytest.mark.parametrize("name,key", [
    ("ehplmn", "ADF_USIM/EF_EHPLMN"),
    ("hplmnwact", "ADF_USIM/EF_HPLMNwAcT"),
    ("oplmnwact", "ADF_USIM/EF_OPLMNwAcT"),
    ("plmnwact", "ADF_USIM/EF_PLMNwAcT"),
])
def test_plmn_lists(hil_target, hil_link, expected, name, key):
    _needs_pin(hil_target)
    entries = read_ef(hil_link, key)
    plmns = [e["plmn"] if isinstance(e, dict) else e for e in entries]
    assert all(re.fullmatch(r"\d{3}-\d{2,3}", p) for p in plmns), plmns
    if name in expected:
        assert plmns == expected[name]


def test_fplmn(hil_target, hil_link, expected):
    _needs_pin(hil_target)
    fplmn = read_ef(hil_link, "ADF_USIM/EF_FPLMN")
    assert all(re.fullmatch(r"\d{3}-\d{2,3}", p) for p in fplmn)
    if "fplmn" in expected:
        assert fplmn == expected["fplmn"]


def test_loci(hil_target, hil_link):
    _needs_pin(hil_target)
    loci = read_ef(hil_link, "ADF_USIM/EF_LOCI")
    assert loci["status"] in ("updated", "not_updated", "plmn_not_allowed", "la_not_allowed")
    assert loci["plmn"] is None or re.fullmatch(r"\d{3}-\d{2,3}", loci["plmn"])
    if loci["status"] == "not_updated":
        assert loci["tmsi"] is None or isinstance(loci["tmsi"], str)


def test_msisdn(hil_target, hil_link, expected):
    _needs_pin(hil_target)
    records = read_ef(hil_link, "ADF_USIM/EF_MSISDN")
    numbers = [r["number"] for r in records if r]
    assert all(re.fullmatch(r"\+?[0-9*#]{1,20}", n) for n in numbers)
    if "msisdn" in expected:
        assert numbers[0] == expected["msisdn"]


def test_ust(hil_target, hil_link, expected):
    _needs_pin(hil_target)
    services = read_ef(hil_link, "ADF_USIM/EF_UST")
    assert services == sorted(services) and all(n >= 1 for n in services)
    if "ust" in expected:
        assert services == expected["ust"]
