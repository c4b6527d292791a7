"""The TCA eUICC Profile Package (csim.euicc.saip): every bundled card profile made into a
package and installed back into a card with the same identities, keys and codes; what a card
cannot hold is refused with the reason."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from csim.euicc import saip
from csim.profile import load_profile

from .test_bpp import profile_package

CARDS = sorted(p.stem for p in (Path(__file__).parents[3] / "fixtures" / "cards").glob("*.yaml"))


@pytest.mark.parametrize("name", CARDS)
def test_every_bundled_card_profile_makes_a_package_and_back(name: str) -> None:
    """Identities, keys, codes, the PLMN lists of the USIM and optional USIM files, HPPLMN, and a
    multi-IMSI card's roaming applet with its other IMSI profiles come back as they went."""
    profile = load_profile(name)
    package = saip.encode(profile)
    elements = saip.decode(package)
    names = [e.name for e in elements]
    assert names[:3] == ["header", "mf", "usim"] and names[-1] == "end"
    assert ("nonStandard" in names) == (profile.applet is not None)
    card = saip.card_for(elements, name, "spn")
    back = card.profile
    assert back.iccid == profile.iccid and back.applet == profile.applet
    assert back.hplmn_search_minutes == profile.hplmn_search_minutes
    assert set(back.ust) == set(profile.ust) & saip.CARD_SERVICES
    # a single-IMSI card's subscription has no name in a package: it comes back as "main"
    names = {profile.active: back.active} if profile.applet is None else {k: k for k in profile.imsi_profiles}
    assert sorted(back.imsi_profiles) == sorted(names.values())
    for key, was in profile.imsi_profiles.items():
        now = back.imsi_profiles[names[key]]
        if key == profile.active:
            # the active SPN is StoreMetadata's (here "spn")
            now = dataclasses.replace(now, spn=was.spn, name=was.name)
        assert now == was, key
    for pin in ("pin1", "pin2", "adm1"):
        assert (back.pins[pin].value, back.pins[pin].puk) == (profile.pins[pin].value, profile.pins[pin].puk)


def test_the_ts48_package_files_reach_the_card() -> None:
    """osmo-smdpp's TS.48 package (TS48V2-SAIP2-1-BERTLV-UNIQUE) sets EF_ACC to access class 0 and
    empty PLMN selectors: the installed card holds them (read back by EF path, TS 31.102 §4.2)."""
    upp = Path(__file__).parents[3].parent / "shared" / "oracles"
    if not (upp / "pysim-597f1e0398.tar.gz").is_file():
        pytest.skip("no osmo-smdpp test profiles here (../shared/oracles)")
    import tarfile

    with tarfile.open(upp / "pysim-597f1e0398.tar.gz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("upp/TS48V2-SAIP2-1-BERTLV-UNIQUE.der"))
        package = tar.extractfile(member).read()
    card = saip.card_for(saip.decode(package), "ts48", "OsmocomSPN")
    assert card.read_file("3F00/7FF0/6F78") == bytes.fromhex("0001")  # EF_ACC: class 0
    assert card.profile.active_profile.acc == [0]
    assert card.profile.active_profile.plmnwact == [] and card.profile.active_profile.oplmnwact == []


def test_the_hand_written_package_decodes() -> None:
    sub = saip.subscription(saip.decode(profile_package()))
    assert (sub.iccid, sub.imsi, sub.mnc_length) == ("8949449999999990049", "001010123456063", 2)
    assert sub.algorithm == saip.MILENAGE and sub.key.hex() == "465b5ce8b199b49faa5f0a2ee238a6bc"
    assert sub.pins[saip.PIN1] == (b"1234\xff\xff\xff\xff", 1) and sub.puks[1] == "11111111"
    assert 19 in sub.ust and sub.services == ("usim", "milenage")


def test_a_test_algorithm_profile_answers_authenticate() -> None:
    """A package keyed for TS 34.108 §8.1.2's test algorithm (algorithmOptions 02, as the TS.48
    profiles) installs a card that answers AUTHENTICATE with it: the vector is osmo-auc-gen's
    (libosmocore 1.7.0, ``-3 -a XOR -k 465b..bc -s 96 -f 8000 -r 2d7e..36``: SQN 64)."""
    package = profile_package(algorithm=saip.USIM_TEST_ALGORITHM, options="02")
    card = saip.card_for(saip.decode(package), "t", "spn")
    assert card.auth.algorithm_name == "usim-test-algorithm"
    assert card.transmit(bytes.fromhex("002000010831323334FFFFFFFF"))[-2:] == b"\x90\x00"  # PIN1
    assert card.transmit(bytes.fromhex("00A4000C027FF0"))[-2:] == b"\x90\x00"  # ADF.USIM
    authenticate = bytes.fromhex("0088008122" + "10" + "2d7e8b4f1a93c6e05b17f2a4c8d9e036"
                                 + "10" + "a7ab0a727fb180006b25d7a7ab4af27f")
    assert card.transmit(authenticate) == b"\x61\x34"
    assert card.transmit(bytes.fromhex("00C0000034")) == bytes.fromhex(
        "DB10" "6b25d7a7ab0a727ff148f88a2ae1468a"  # RES
        "10" "25d7a7ab0a727ff148f88a2ae1468a6b"  # CK
        "10" "d7a7ab0a727ff148f88a2ae1468a6b25"  # IK
        "9000")


def test_a_test_algorithm_profile_with_another_res_length_is_refused() -> None:
    package = profile_package(algorithm=saip.USIM_TEST_ALGORITHM, options="00")
    with pytest.raises(saip.PackageError, match="algorithmOptions 00.*128-bit RES"):
        saip.card_for(saip.decode(package), "t", "spn")


@pytest.mark.parametrize("data, reason", [
    (b"\x30\x00", "is not a ProfileElement"),
    (bytes.fromhex("A0050101"), "runs past the end"),
    (bytes.fromhex("AA05A003810101"), "does not start with a ProfileHeader"),
    (bytes.fromhex("A0030101FF"), "ProfileElement header"),
])
def test_malformed_packages_are_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(saip.PackageError, match=reason):
        saip.decode(data)


def _select_fcp(card: object, path: str) -> dict[int, bytes]:
    """The FCP the card answers SELECT with (TS 102 221 §11.1.1): by path from the MF, the MF by
    its FID; 61xx then GET RESPONSE."""
    from csim.administrative import fcp_template

    fids = path.split("/")[1:]
    apdu = ("00A4000402" + "3F00") if not fids else ("00A40804" + f"{2 * len(fids):02X}" + "".join(fids))
    sw = card.transmit(bytes.fromhex(apdu))
    assert sw[0] == 0x61, (path, sw.hex())
    answer = card.transmit(bytes.fromhex("00C00000") + sw[1:])
    assert answer[-2:] == b"\x90\x00", (path, answer.hex())
    fcp = fcp_template(answer[:-2])
    assert fcp is not None, path
    return fcp


@pytest.mark.parametrize("name", CARDS)
def test_the_package_fcps_are_the_cards(name: str) -> None:
    """Every file of the MF, USIM and optional USIM elements carries the FCP (TCA §8.3.2) the card
    the profile makes answers SELECT with (TS 102 221 §11.1.1.4): descriptor and record length,
    FID, DF name, size, SFI, EF_ARR record. The card's other files are not in the package."""
    from csim import Card

    profile = load_profile(name)
    card = Card.from_profile(profile)
    values = {e.name: e.value for e in saip.decode(saip.encode(profile))}
    written = 0
    for pe, parent in (("mf", "3F00"), ("usim", "3F00/7FF0"), ("opt-usim", "3F00/7FF0")):
        for member, file in values.get(pe, {}).items():
            if not isinstance(file, list) or file == [("doNotCreate", None)]:
                continue
            (fcp,) = [v for k, v in file if k == "fileDescriptor"]
            fid = fcp["fileID"].hex().upper()
            path = parent if member in ("mf", "adf-usim") else f"{parent}/{fid}"
            answer = _select_fcp(card, path)
            assert answer[0x83] == fcp["fileID"], member
            assert answer[0x8B] == fcp["securityAttributesReferenced"], member
            if member in ("mf", "adf-usim"):
                assert answer[0x82][0] == fcp["fileDescriptor"][0] and answer.get(0x84) == fcp.get("dfName")
                continue
            # the card's descriptor, data coding, record length (and number of records, which the
            # package's efFileSize gives instead)
            assert fcp["fileDescriptor"] == answer[0x82][:4], member
            assert int.from_bytes(fcp["efFileSize"], "big") == int.from_bytes(answer[0x80], "big"), member
            sfi = answer.get(0x88, b"")
            assert fcp["shortEFID"] == (sfi if sfi[:1] != b"\x00" else b""), member
            written += 1
    assert written >= 15


def test_every_ts48_package_of_osmo_smdpp_installs() -> None:
    """The GSMA TS.48 test profiles of osmo-smdpp's upp folder (TS.48 v1 to v5, with and without
    BER-TLV files): their FCPs decode, and each installs into a card with its IMSI."""
    upp = Path(__file__).parents[3].parent / "shared" / "oracles"
    if not (upp / "pysim-597f1e0398.tar.gz").is_file():
        pytest.skip("no osmo-smdpp test profiles here (../shared/oracles)")
    import tarfile

    installed = []
    with tarfile.open(upp / "pysim-597f1e0398.tar.gz") as tar:
        for member in tar.getmembers():
            if "/smdpp-data/upp/" in member.name and member.name.endswith(".der"):
                card = saip.card_for(saip.decode(tar.extractfile(member).read()), "ts48", "OsmocomSPN")
                installed.append(card.profile.active_profile.imsi)
    assert len(installed) >= 30 and set(installed) == {"001010123456063"}
