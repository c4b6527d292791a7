"""What the eUICC keeps across a power cycle (``Euicc.save`` / ``Euicc.load``): a downloaded,
enabled and nicknamed profile with its card (SQN), the notifications with their counter and the
signed ProfileInstallationResult, the default SM-DP+ address, the EID; saved only when an ES10
command or a profile command changed something."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from csim.euicc import Euicc, TestPki

from .test_bpp import ICCID, bound_package, installation_result, load
from .test_isdr import ORANGE, es10, iccid, open_isdr, tlv, tx

TID = "0102030405060708090A0B0C0D0E0F10"
NICKNAME = "mon eSIM"
DP_ADDRESS = "smdp.example.com"
# TS 35.208 test set 1, the keys of the package of test_bpp
RAND, AUTN = "23553CBE9637A89D218AE64DAE47BF35", "55F328B43577B9B94A9FFAC354DFAFB3"
AUTHENTICATE = "0088008122" + "10" + RAND + "10" + AUTN


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate()


def used(pki: TestPki) -> tuple[Euicc, bytes]:
    """An eUICC holding alphalink-orange into which a package was downloaded, then enabled,
    nicknamed, authenticated on; a default SM-DP+ set and the disable notification removed.
    Returns it and the signed ProfileInstallationResult's data."""
    euicc = Euicc.seeded(["alphalink-orange"], credentials=pki.euicc_credentials(pki.eid(9)))
    euicc.reset()
    open_isdr(euicc)
    _, raw, _ = installation_result(load(euicc, bound_package(euicc, pki, TID)))
    enable = tlv("BF31", tlv("A0", tlv("5A", iccid(ICCID))), "8101FF")
    assert es10(euicc, enable)[0].hex().upper() == "BF3103800100"
    assert es10(euicc, tlv("BF29", tlv("5A", iccid(ICCID)), tlv("90", NICKNAME.encode().hex())))[0].hex() \
        .upper() == "BF2903800100"
    assert es10(euicc, tlv("BF3F", tlv("80", DP_ADDRESS.encode().hex())))[0].hex().upper() == "BF3F03800100"
    # notifications: 1 install (to the session's SM-DP+), 2 disable of alphalink-orange; 2 is removed
    assert es10(euicc, tlv("BF30", "800102"))[0].hex().upper() == "BF3003800100"
    assert tx(euicc, "002000010831323334FFFFFFFF")[1] == 0x9000  # PIN1 of the package
    assert tx(euicc, "00A4000C027FF0")[1] == 0x9000
    assert tx(euicc, AUTHENTICATE)[1] == 0x612C  # accepted: the card's SQN moves on
    return euicc, raw


def reopened(euicc: Euicc, path: Path) -> Euicc:
    euicc.save(path)
    again = Euicc.load(path)
    again.reset()
    open_isdr(again)
    return again


def test_a_saved_euicc_comes_back_as_it_was(pki: TestPki, tmp_path: Path) -> None:
    euicc, raw = used(pki)
    requests = ["BF2D075C055A4F9F7090",
                "BF2D035C0190", "BF3C00", "BF2800", "BF3E035C015A"]
    before = [es10(euicc, r) for r in requests]
    again = reopened(euicc, tmp_path / "euicc.state")
    assert [es10(again, r) for r in requests] == before
    profiles, nicknames, addresses, notes, eid = (out.hex().upper() for out, _ in before)
    isdp = tlv("4F", "A0000005591010FFFFFFFF8900001100")
    assert tlv("5A", iccid(ICCID)) + isdp + tlv("9F70", "01") in profiles
    assert tlv("5A", iccid(ORANGE)) in profiles and tlv("9F70", "00") in profiles
    assert tlv("90", NICKNAME.encode().hex()) in nicknames
    assert tlv("80", DP_ADDRESS.encode().hex()).upper() in addresses
    assert notes.count(tlv("80", "01")) == 1 and tlv("80", "02") not in notes  # install kept, 2 removed
    assert again.isdr.credentials.eid in eid and again.isdr.credentials.eid == euicc.isdr.credentials.eid
    # the install notification is still the ProfileInstallationResult signed at download time
    out, _ = es10(again, tlv("BF2B", ""))
    assert raw.hex().upper() in out.hex().upper()
    # the enabled profile's card kept its SQN: the same AUTN again is a synchronisation failure
    assert tx(again, "002000010831323334FFFFFFFF")[1] == 0x9000
    assert tx(again, "00A4000C027FF0")[1] == 0x9000
    assert tx(again, AUTHENTICATE)[1] == 0x6110  # DC 0E AUTS
    # the notification counter goes on: enabling alphalink-orange again is notification 3, an
    # enable (the package's profile has no notification address: its disable queues none)
    assert es10(again, tlv("BF31", tlv("A0", tlv("5A", iccid(ORANGE))), "8101FF"))[0].hex().upper() \
        == "BF3103800100"
    out, _ = es10(again, "BF2800")
    assert tlv("80", "03") + tlv("81", "0640") in out.hex().upper()


def test_saved_only_when_something_kept_changed(pki: TestPki, tmp_path: Path) -> None:
    euicc, _ = used(pki)
    path = tmp_path / "euicc.state"
    euicc.save(path)
    first = os.stat(path)
    es10(euicc, "BF3E035C015A")  # GetEID
    es10(euicc, "BF2D035C015A")  # ListProfileInfo
    euicc.save(path)
    assert os.stat(path).st_ino == first.st_ino and os.stat(path).st_mtime_ns == first.st_mtime_ns
    assert tx(euicc, "00A4000C027FF0")[1] == 0x9000  # SELECT and READ BINARY on the profile's card
    assert tx(euicc, "00A4000C026F07")[1] == 0x9000
    assert tx(euicc, "00B0000009")[1] == 0x9000
    euicc.save(path)
    assert os.stat(path).st_ino == first.st_ino and os.stat(path).st_mtime_ns == first.st_mtime_ns
    es10(euicc, tlv("BF29", tlv("5A", iccid(ICCID)), tlv("90", b"autre".hex())))
    euicc.save(path)
    second = os.stat(path)
    assert second.st_ino != first.st_ino  # written again (a new file renamed over it)
    assert Euicc.load(path).isdr.profiles[1].nickname == "autre"
    assert tx(euicc, AUTHENTICATE)[1] == 0x6110  # a command to the profile's card (its SQN check)
    euicc.save(path)
    assert os.stat(path).st_ino != second.st_ino


@pytest.mark.parametrize("content, reason", [
    (b"", "Expecting value"),
    (b"[]", "format/version"),
    (b'{"format": "simharness-card", "version": 1}', "format/version"),
    (b'{"format": "simharness-euicc", "version": 1}', "missing or malformed 'credentials'"),
    (b"\xff\xfe garbage", "codec can't decode"),
])
def test_a_file_that_is_no_saved_euicc_says_so(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "euicc.state"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"^{path}: not a saved eUICC") as info:
        Euicc.load(path)
    assert reason in str(info.value)


def test_a_fifo_or_a_directory_as_the_saved_euicc_is_refused_without_reading(tmp_path: Path) -> None:
    """Read as a card state is: only a regular file (a FIFO would block the load for ever)."""
    fifo = tmp_path / "euicc.state"
    os.mkfifo(fifo)
    for path in (fifo, tmp_path):
        with pytest.raises(ValueError, match=f"^{path}: "):
            Euicc.load(path)
