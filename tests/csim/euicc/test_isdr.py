"""The eUICC through its APDU interface: ISD-R selection, STORE DATA chaining and the ES10
functions, with requests and responses written out as SGP.22 encodes them (§5.7, Annex H)."""

from __future__ import annotations

import pytest
from cryptography import x509

from csim.encoding import encode_iccid
from csim.euicc import Euicc, TestPki

ISDR = "A0000005591010FFFFFFFF8900000100"
ORANGE = "8933019900000000012"  # alphalink-orange
CSL = "8944079900000000024"  # csl-sim


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate()


@pytest.fixture
def euicc(pki: TestPki) -> Euicc:
    card = Euicc.seeded(["alphalink-orange", {"profile": "csl-sim", "nickname": "alarm", "class": "test"}],
                        credentials=pki.euicc_credentials(pki.eid(42)))
    card.reset()
    return card


def tx(card: Euicc, apdu: str) -> tuple[bytes, int]:
    r = card.transmit(bytes.fromhex(apdu))
    return r[:-2], int.from_bytes(r[-2:], "big")


def open_isdr(card: Euicc) -> int:
    data, sw = tx(card, "0070000001")
    assert sw == 0x9000
    channel = data[0]
    data, sw = tx(card, f"0{channel}A4040010{ISDR}")
    assert sw >> 8 == 0x61
    return channel


def es10(card: Euicc, request: str, channel: int = 1, block: int = 120) -> tuple[bytes, int]:
    """Send ``request`` as lpac does (CLA 8x, blocks of ``block`` bytes, P1 11/91, P2 the block
    number) and collect the answer with GET RESPONSE."""
    req = bytes.fromhex(request)
    blocks = [req[i:i + block] for i in range(0, len(req), block)]
    for n, chunk in enumerate(blocks):
        p1 = 0x91 if n == len(blocks) - 1 else 0x11
        resp = card.transmit(bytes([0x80 | channel, 0xE2, p1, n, len(chunk)]) + chunk)
        sw = int.from_bytes(resp[-2:], "big")
        if p1 == 0x11:
            assert sw == 0x9000
    out = b""
    while sw >> 8 == 0x61:
        resp = card.transmit(bytes([channel, 0xC0, 0, 0, sw & 0xFF]))
        out += resp[:-2]
        sw = int.from_bytes(resp[-2:], "big")
    return out, sw


def iccid(value: str) -> str:
    return encode_iccid(value).hex().upper()


def tlv(tag: str, *values: str) -> str:
    """A BER-TLV in hex (short or one-byte long form lengths), the test's own writing of X.690."""
    value = "".join(values).replace(" ", "")
    n = len(value) // 2
    length = f"{n:02X}" if n < 0x80 else f"81{n:02X}" if n < 0x100 else f"82{n:04X}"
    return f"{tag}{length}{value}".upper()


def test_select_isdr_on_a_logical_channel_gives_its_fci(euicc: Euicc) -> None:
    channel = open_isdr(euicc)
    data, sw = tx(euicc, f"0{channel}C0000000")
    assert sw == 0x9000
    assert data.hex().upper().startswith(f"6F188410{ISDR}")


def test_get_eid(euicc: Euicc, pki: TestPki) -> None:
    open_isdr(euicc)
    out, sw = es10(euicc, "BF3E035C015A")
    assert sw == 0x9000
    assert out.hex().upper() == "BF3E125A10" + pki.eid(42)


def test_get_eid_on_the_basic_channel_as_pysim_probes(euicc: Euicc, pki: TestPki) -> None:
    _, sw = tx(euicc, f"00A4040010{ISDR}")
    assert sw >> 8 == 0x61
    out, sw = es10(euicc, "BF3E035C015A", channel=0)
    assert out.hex().upper() == "BF3E125A10" + pki.eid(42)


def test_store_data_without_the_isdr_selected_goes_to_the_profile(euicc: Euicc) -> None:
    _, sw = tx(euicc, "80E2910006BF3E035C015A")
    assert sw == 0x6D00  # the USIM knows no STORE DATA


def test_euicc_info1_names_the_ci_key(euicc: Euicc, pki: TestPki) -> None:
    open_isdr(euicc)
    out, sw = es10(euicc, "BF2000")
    ski = pki.ci_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    # svn 2.2.2, verification and signing lists of one CI key identifier each
    lists = tlv("A9", tlv("04", ski)), tlv("AA", tlv("04", ski))
    assert out.hex().upper() == tlv("BF20", "8203020202", *lists)


def test_profile_list_with_a_tag_list(euicc: Euicc) -> None:
    open_isdr(euicc)
    out, sw = es10(euicc, "BF2D075C055A9F709095")
    assert sw == 0x9000
    first = tlv("E3", tlv("5A", iccid(ORANGE)), "9F700101", "950102")
    second = tlv("E3", tlv("5A", iccid(CSL)), "9F700100", tlv("90", b"alarm".hex()), "950100")
    assert out.hex().upper() == tlv("BF2D", tlv("A0", first, second))


def test_profile_list_search_by_profile_class(euicc: Euicc) -> None:
    open_isdr(euicc)
    out, _ = es10(euicc, "BF2D0BA00395010 05C045A9F7095".replace(" ", ""))
    body = tlv("E3", tlv("5A", iccid(CSL)), "9F700100", "950100")
    assert out.hex().upper() == tlv("BF2D", tlv("A0", body))


def test_profile_list_with_an_unknown_tag_is_an_error(euicc: Euicc) -> None:
    open_isdr(euicc)
    out, _ = es10(euicc, "BF2D035C0177")
    assert out.hex().upper() == "BF2D03810101"  # profileInfoListError incorrectInputValues


def enable(card: Euicc, which: str) -> str:
    return es10(card, f"BF3111A00C5A0A{iccid(which)}8101FF")[0].hex().upper()


def disable(card: Euicc, which: str) -> str:
    return es10(card, f"BF3211A00C5A0A{iccid(which)}8101FF")[0].hex().upper()


def delete(card: Euicc, which: str) -> str:
    return es10(card, f"BF330C5A0A{iccid(which)}")[0].hex().upper()


def test_enable_disable_delete_result_codes(euicc: Euicc) -> None:
    open_isdr(euicc)
    assert enable(euicc, ORANGE) == "BF3103800102"  # profileNotInDisabledState
    assert enable(euicc, "8900000000000000001") == "BF3103800101"  # iccidOrAidNotFound
    assert disable(euicc, CSL) == "BF3203800102"  # profileNotInEnabledState
    assert delete(euicc, ORANGE) == "BF3303800102"  # profileNotInDisabledState
    assert enable(euicc, CSL) == "BF3103800100"
    assert delete(euicc, ORANGE) == "BF3303800100"
    assert delete(euicc, ORANGE) == "BF3303800101"
    assert disable(euicc, CSL) == "BF3203800100"


def test_enable_by_isdp_aid_switches_the_card_answering_the_terminal(euicc: Euicc) -> None:
    open_isdr(euicc)
    out, _ = es10(euicc, "BF3116A0114F10A0000005591010FFFFFFFF89000011008101FF")
    assert out.hex().upper() == "BF3103800100"
    # the basic channel now reaches the CSL card: EF.ICCID holds its ICCID
    _, sw = tx(euicc, "00A40004022FE2")
    assert sw >> 8 == 0x61
    data, sw = tx(euicc, "00B000000A")
    assert data.hex().upper() == iccid(CSL)


def test_no_profile_enabled_refuses_the_file_system(euicc: Euicc) -> None:
    open_isdr(euicc)
    assert disable(euicc, ORANGE) == "BF3203800100"
    _, sw = tx(euicc, "00A40004023F00")
    assert sw == 0x6A82


def test_policy_rules_ppr1_and_ppr2(pki: TestPki) -> None:
    card = Euicc.seeded([{"profile": "alphalink-orange", "ppr": [1, 2]}, "csl-sim"],
                        credentials=pki.euicc_credentials(pki.eid(7)))
    card.reset()
    open_isdr(card)
    assert disable(card, ORANGE) == "BF3203800103"  # disallowedByPolicy
    assert enable(card, CSL) == "BF3103800103"
    assert delete(card, CSL) == "BF3303800100"


def test_set_nickname(euicc: Euicc) -> None:
    open_isdr(euicc)
    name = "Téléphone pro".encode().hex().upper()
    out, _ = es10(euicc, tlv("BF29", tlv("5A", iccid(ORANGE)), tlv("90", name)))
    assert out.hex().upper() == "BF2903800100"
    out, _ = es10(euicc, "BF2D035C0190")
    infos = tlv("E3", tlv("90", name)), tlv("E3", tlv("90", b"alarm".hex()))
    assert out.hex().upper() == tlv("BF2D", tlv("A0", *infos))
    too_long = ("é" * 33).encode().hex().upper()  # 33 characters, 66 bytes
    out, _ = es10(euicc, tlv("BF29", tlv("5A", iccid(ORANGE)), tlv("90", too_long)))
    assert out.hex().upper() == "BF290380017F"
    out, _ = es10(euicc, tlv("BF29", tlv("5A", iccid("8900000000000000001")), "9000"))
    assert out.hex().upper() == "BF2903800101"  # iccidNotFound


def test_notifications_sequence_numbers_and_removal(euicc: Euicc) -> None:
    open_isdr(euicc)
    enable(euicc, CSL)  # disables ORANGE, enables CSL
    out, _ = es10(euicc, "BF2800")
    addr = b"testsmdpplus1.example.com".hex().upper()
    # seqNumber, one NotificationEvent bit (disable = bit 2, enable = bit 1), address, ICCID
    first = tlv("BF2F", "800101", "81020520", tlv("0C", addr), tlv("5A", iccid(ORANGE)))
    second = tlv("BF2F", "800102", "81020640", tlv("0C", addr), tlv("5A", iccid(CSL)))
    assert out.hex().upper() == tlv("BF28", tlv("A0", first, second))
    out, _ = es10(euicc, "BF2804810206 40".replace(" ", ""))  # enable notifications only
    assert out.hex().upper() == tlv("BF28", tlv("A0", second))
    assert es10(euicc, "BF3003800101")[0].hex().upper() == "BF3003800100"
    assert es10(euicc, "BF3003800101")[0].hex().upper() == "BF3003800101"  # nothingToDelete


def test_memory_reset_options(euicc: Euicc) -> None:
    open_isdr(euicc)
    # resetDefaultSmdpAddress with no default address: nothing to delete
    assert es10(euicc, "BF340482020520")[0].hex().upper() == "BF3403800101"
    # deleteFieldLoadedTestProfiles: the CSL test profile goes
    assert es10(euicc, "BF340482020640")[0].hex().upper() == "BF3403800100"
    out, _ = es10(euicc, "BF2D035C015A")
    assert out.hex().upper() == tlv("BF2D", tlv("A0", tlv("E3", tlv("5A", iccid(ORANGE)))))
    assert es10(euicc, "BF340482020640")[0].hex().upper() == "BF3403800101"


def test_default_dp_address(euicc: Euicc) -> None:
    open_isdr(euicc)
    addr = b"smdp.example.com".hex().upper()
    assert es10(euicc, tlv("BF3F", tlv("80", addr)))[0].hex().upper() == "BF3F03800100"
    root = b"lpa.ds.gsma.com".hex().upper()
    assert es10(euicc, "BF3C00")[0].hex().upper() == tlv("BF3C", tlv("80", addr), tlv("81", root))


def test_a_long_request_spans_several_blocks(euicc: Euicc) -> None:
    open_isdr(euicc)
    name = ("x" * 64).encode().hex().upper()
    out, _ = es10(euicc, tlv("BF29", tlv("5A", iccid(ORANGE)), tlv("90", name)), block=30)
    assert out.hex().upper() == "BF2903800100"


def test_a_long_response_is_chained_by_61xx(euicc: Euicc) -> None:
    open_isdr(euicc)
    enable(euicc, CSL)
    out, sw = es10(euicc, "BF2B00")  # two signed notifications, each with two certificates
    assert sw == 0x9000 and len(out) > 512
    assert out[:2].hex().upper() == "BF2B"


def test_unknown_function_and_malformed_request(euicc: Euicc) -> None:
    open_isdr(euicc)
    assert es10(euicc, "BF7F00")[1] == 0x6A88
    assert es10(euicc, "BF3E035C")[1] == 0x6A80


def test_closing_the_channel_deselects_the_isdr(euicc: Euicc) -> None:
    channel = open_isdr(euicc)
    _, sw = tx(euicc, f"007080{channel:02X}")
    assert sw == 0x9000
    _, sw = tx(euicc, f"8{channel}E2910006BF3E035C015A")
    assert sw == 0x6881


def test_enable_with_refresh_flag_raises_refresh_uicc_reset(euicc: Euicc) -> None:
    _, sw = tx(euicc, "801000000AFFFFFFFFFFFFFFFFFFFF")  # TERMINAL PROFILE (the roaming applet answers 91xx)
    assert sw == 0x9000 or sw >> 8 == 0x91
    open_isdr(euicc)
    assert enable(euicc, CSL) == "BF3103800100"
    _, sw = tx(euicc, "80F2000C")  # STATUS (no data) on the basic channel: a proactive command waits
    assert sw >> 8 == 0x91
    data, sw = tx(euicc, f"80120000{sw & 0xFF:02X}")  # FETCH
    # REFRESH, command details: number 1, type 01, qualifier 04 'UICC reset' (TS 102 223 §8.6)
    assert data.hex().upper().startswith("D0098103010104")


def test_enable_without_refresh_flag_is_silent(euicc: Euicc) -> None:
    tx(euicc, "801000000AFFFFFFFFFFFFFFFFFFFF")
    open_isdr(euicc)
    assert es10(euicc, f"BF3111A00C5A0A{iccid(CSL)}810100")[0].hex().upper() == "BF3103800100"
    _, sw = tx(euicc, "80F2000C")
    assert sw >> 8 != 0x91


def test_switching_during_a_proactive_session_is_cat_busy(euicc: Euicc) -> None:
    tx(euicc, "801000000AFFFFFFFFFFFFFFFFFFFF")
    open_isdr(euicc)
    enable(euicc, CSL)
    _, sw = tx(euicc, "80F2000C")
    tx(euicc, f"80120000{sw & 0xFF:02X}")  # the REFRESH is fetched, its TERMINAL RESPONSE not sent
    assert enable(euicc, ORANGE) == "BF3103800105"  # catBusy
    assert disable(euicc, CSL) == "BF3203800105"
