"""ES10b.LoadBoundProfilePackage (GSMA SGP.22 §5.7.6, §2.5.5) through the APDU interface.

The SM-DP+ side: ECDH and the X9.63 KDF written out here with ``cryptography``'s primitives
(SGP.22 §2.6.4.2), the SCP03t segments (AES-CBC, CMAC) made by the harness's SM-DP+
(:mod:`harness.network.smdp.binding`), the BPP's structure of §5.5 by hand: it binds a profile
package of the test's own (TLVs written by hand from the TCA eUICC Profile Package §8, AKA keys of
TS 35.208 test set 1) to the eUICC's one-time key. The eUICC's ProfileInstallationResult
signature is checked with ``cryptography`` against its certificate, over the bytes as received;
the installed profile answers AUTHENTICATE with the TS 35.208 test set 1 RES.
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from csim.euicc import Euicc, TestPki
from csim.euicc.pki import ROLE_DP_PB
from harness.network.smdp.binding import Scp03tSender

from .test_download import authenticated, parse, prepare_request, sign, verify
from .test_isdr import es10, iccid, open_isdr, tlv, tx

ICCID = "8949449999999990049"
K = "465b5ce8b199b49faa5f0a2ee238a6bc"  # TS 35.208 test set 1
OPC = "cd63cb71954a9f4e48a5994e37a02baf"


def header(n: int) -> str:
    return tlv("A0", tlv("81", f"{n:02X}"))  # PEHeader: identification


def profile_package(algorithm: int = 1, options: str = "00") -> bytes:
    """A profile package: ProfileHeader, USIM (EF_IMSI 001010123456063, EF_UST with service 19,
    EF_AD with a 2-digit MNC, the template's other mandatory files empty),
    PUK codes, PIN codes (PIN1, PIN2, ADM1), AKA parameters and the end."""
    imsi = "080910101032540636"  # length 8, then BCD with the parity nibble 9
    elements = [
        tlv("A0", tlv("80", "02"), tlv("81", "03"), tlv("83", "8949449999999990049F"),
            tlv("A5", "8100", "8400"), tlv("A6", "")),
        tlv("B3", header(2), tlv("81", "67810F010201"), tlv("A2", ""), tlv("A3", tlv("83", imsi)),
            tlv("A4", ""), tlv("A8", tlv("83", "000004")), "AD00", "AE00", "B200",
            tlv("B5", tlv("83", "00000002")), "B600"),
        tlv("A3", header(3), tlv("A1", tlv("30", tlv("80", "01"), tlv("81", "3131313131313131")),
                                 tlv("30", tlv("80", "0081"), tlv("81", "3232323232323232")))),
        tlv("A2", header(4), tlv("A1", tlv("A0",
            tlv("30", tlv("80", "01"), tlv("81", "31323334FFFFFFFF"), tlv("82", "01")),
            tlv("30", tlv("80", "0081"), tlv("81", "39393939FFFFFFFF"), tlv("82", "0081")),
            tlv("30", tlv("80", "0A"), tlv("81", "3535353535353535"))))),
        tlv("A4", header(5), tlv("A1", tlv("A1", tlv("80", f"{algorithm:02X}"), tlv("81", options),
                                           tlv("82", K), tlv("83", OPC)))),
        tlv("AA", header(6)),
    ]
    return bytes.fromhex("".join(elements))


class SmdpBinding(Scp03tSender):
    """The SM-DP+ side of SGP.22 §2.6.4: the session keys derived here with ``cryptography``'s X9.63
    KDF, then the segments C-MACed and enciphered by the harness's SM-DP+
    (:class:`harness.network.smdp.binding.Scp03tSender`)."""

    def __init__(self, secret: bytes, host_id: bytes, eid: bytes) -> None:
        info = bytes([0x88, 0x10, len(host_id)]) + host_id + bytes([len(eid)]) + eid
        out = X963KDF(algorithm=hashes.SHA256(), length=48, sharedinfo=info).derive(secret)
        super().__init__(out[16:32], out[32:], out[:16])

    def segment(self, tag: str, data: bytes, encrypt: bool = True) -> str:  # type: ignore[override]
        return super().segment(bytes.fromhex(tag), data, encrypt).hex().upper()


@pytest.fixture(scope="module", params=["nist", "brainpool"])
def pki(request: pytest.FixtureRequest) -> TestPki:
    return TestPki.generate(request.param)


@pytest.fixture
def euicc(pki: TestPki) -> Euicc:
    card = Euicc.seeded(["alphalink-orange"], credentials=pki.euicc_credentials(pki.eid(5)))
    card.reset()
    open_isdr(card)
    return card


def bound_package(euicc: Euicc, pki: TestPki, tid: str, *, replace_keys: bool = True,
                  corrupt: str = "", package: bytes | None = None, profile_iccid: str = ICCID) -> list[str]:
    """Authenticate, PrepareDownload, then the package's segments as lpac sends them (§2.5.5)."""
    dp_key, dp_cert = pki.dp_credentials(ROLE_DP_PB)
    signature1 = authenticated(euicc, pki, tid)
    request, _ = prepare_request(pki, tid, signature1, None, dp_key, dp_cert)
    out, _ = es10(euicc, request)
    (_, body, _), = parse(out)
    (_, content, _), = parse(body)
    euicc_otpk = {t: v for t, v, _ in parse(parse(content)[0][1])}["5F49"]
    curve = pki.ci_cert.public_key().curve
    otsk = ec.generate_private_key(curve)
    secret = otsk.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(curve, euicc_otpk))
    eid = bytes.fromhex(euicc.isdr.credentials.eid)
    keys = SmdpBinding(secret, b"host-id", eid)
    smdp_otpk = otsk.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint).hex()
    signed = "820101" + tlv("80", tid) + tlv("A6", "800188", "810110", tlv("84", b"host-id".hex())) \
        + tlv("5F49", smdp_otpk)
    signature = sign(dp_key, bytes.fromhex(signed + tlv("5F49", euicc_otpk.hex())))
    if corrupt == "signature":
        signature = signature[:-2] + f"{int(signature[-2:], 16) ^ 1:02X}"
    isc = tlv("BF23", signed, tlv("5F37", signature))
    configure = keys.segment("87", bytes.fromhex(tlv("BF24", "")))
    metadata = bytes.fromhex(tlv("BF25", tlv("5A", iccid(profile_iccid)), tlv("91", b"Test SP".hex()),
                                 tlv("92", b"Test profile".hex()), tlv("95", "00")))  # class test
    store = [keys.segment("88", metadata[:40], encrypt=False),
             keys.segment("88", metadata[40:], encrypt=False)]
    upp = profile_package() if package is None else package
    replace = ""
    if replace_keys:
        ppk_enc, ppk_mac, chain = os.urandom(16), os.urandom(16), os.urandom(16)
        rsk = tlv("BF26", tlv("80", chain.hex()), tlv("81", ppk_enc.hex()), tlv("82", ppk_mac.hex()))
        replace = keys.segment("87", bytes.fromhex(rsk))
        keys.s_enc, keys.s_mac, keys.chain, keys.counter = ppk_enc, ppk_mac, chain, 1
    elements = [keys.segment("86", upp[i:i + 200]) for i in range(0, len(upp), 200)]
    if corrupt == "mac":
        elements[-1] = elements[-1][:-2] + f"{int(elements[-1][-2:], 16) ^ 1:02X}"
    a0, a1, a3 = tlv("A0", configure), tlv("A1", *store), tlv("A3", *elements)
    a2 = tlv("A2", replace) if replace else ""
    whole = tlv("BF36", isc, a0, a1, a2, a3)

    def head(full: str, content: str) -> str:
        return full[:len(full) - len(content)]

    return [head(whole, isc + a0 + a1 + a2 + a3) + isc, a0, head(a1, "".join(store)), *store,
            *([a2] if a2 else []), head(a3, "".join(elements)), *elements]


def load(euicc: Euicc, segments: list[str]) -> bytes:
    """Each segment as one ES10b STORE DATA sequence; the ISD-R answers only the last (or the first
    refused one)."""
    for n, seg in enumerate(segments):
        out, sw = es10(euicc, seg)
        assert sw == 0x9000
        if out:
            return out
        assert n < len(segments) - 1, "the last segment got no ProfileInstallationResult"
    return b""


def installation_result(out: bytes) -> tuple[dict[str, bytes], bytes, bytes]:
    """ProfileInstallationResult (BF37): the fields of its data, the data TLV as received, the
    signature."""
    (tag, body, _), = parse(out)
    assert tag == "BF37"
    (t1, data, raw), (t2, signature, _) = parse(body)
    assert (t1, t2) == ("BF27", "5F37")
    return {t: v for t, v, _ in parse(data)}, raw, signature


@pytest.mark.parametrize("replace_keys", [True, False])
def test_download_installs_the_profile_and_signs_the_result(euicc: Euicc, pki: TestPki,
                                                            replace_keys: bool) -> None:
    tid = "11223344556677881122334455667788"
    out = load(euicc, bound_package(euicc, pki, tid, replace_keys=replace_keys))
    fields, raw, signature = installation_result(out)
    verify(euicc.isdr.credentials.euicc_cert, signature, raw)  # SGP.22 §5.7.6 euiccSignPIR
    assert fields["80"].hex().upper() == tid
    assert "A0" in {t for t, _, _ in parse(fields["A2"])}  # finalResult: successResult
    (_, success, _), = parse(fields["A2"])
    aid = {t: v for t, v, _ in parse(success)}["4F"]
    assert aid.hex().upper() == "A0000005591010FFFFFFFF8900001100"
    # the profile is listed, disabled, with its metadata; the install notification is pending
    out, _ = es10(euicc, tlv("BF2D", tlv("5C", "5A9F709295")))
    assert iccid(ICCID) in out.hex().upper() and b"Test profile" in out
    out, _ = es10(euicc, tlv("BF28", ""))
    assert out.hex().upper().count(tlv("81", "0780")) == 1  # profileManagementOperation: install
    # RetrieveNotificationsList gives the ProfileInstallationResult itself
    out, _ = es10(euicc, tlv("BF2B", ""))
    assert bytes.fromhex(raw.hex()) in out and out.hex().upper().find("BF37") > 0
    # enabled, the profile's USIM answers AUTHENTICATE with its keys (TS 35.208 test set 1)
    out, _ = es10(euicc, tlv("BF31", tlv("A0", tlv("5A", iccid(ICCID))), "8101FF"))
    assert out.hex().upper() == tlv("BF31", "800100")
    card = euicc.card
    assert card is not None and card.profile.iccid == ICCID
    assert tx(euicc, "002000010831323334FFFFFFFF")[1] == 0x9000  # PIN1 of the package
    assert tx(euicc, "00A4000C027FF0")[1] == 0x9000  # ADF.USIM
    autn = "55F328B43577B9B94A9FFAC354DFAFB3"
    _, sw = tx(euicc, "0088008122" + "10" + "23553CBE9637A89D218AE64DAE47BF35" + "10" + autn)
    assert sw == 0x612C  # RES, CK, IK; no Kc, as the package's EF_UST has no service 27
    data, sw = tx(euicc, "00C000002C")
    assert sw == 0x9000 and data[:10].hex() == "db08a54211d5e3ba50bf"


def failure(out: bytes) -> tuple[int, int]:
    fields, raw, signature = installation_result(out)
    (tag, error, _), = parse(fields["A2"])
    assert tag == "A1"  # finalResult: errorResult
    values = [v for _, v, _ in parse(error)]
    return values[0][0], values[1][0]


def test_a_wrong_smdp_signature_is_refused_at_initialise_secure_channel(euicc: Euicc, pki: TestPki) -> None:
    out = load(euicc, bound_package(euicc, pki, "0A", corrupt="signature"))
    assert failure(out) == (0, 2)  # initialiseSecureChannel, invalidSignature
    assert len(euicc.isdr.profiles) == 1


def test_a_wrong_mac_is_refused_at_the_profile_elements(euicc: Euicc, pki: TestPki) -> None:
    out = load(euicc, bound_package(euicc, pki, "0B", corrupt="mac"))
    assert failure(out) == (5, 8)  # loadProfileElements, scp03tSecurityError
    assert len(euicc.isdr.profiles) == 1


def test_a_package_the_card_cannot_hold_is_a_pe_processing_error(euicc: Euicc, pki: TestPki) -> None:
    out = load(euicc, bound_package(euicc, pki, "0C", package=profile_package()[:-5] + b"\xaa\x05"))
    assert failure(out) == (5, 12)  # installFailedDueToPEProcessingError
    assert len(euicc.isdr.profiles) == 1


def test_the_same_iccid_twice_is_refused(euicc: Euicc, pki: TestPki) -> None:
    load(euicc, bound_package(euicc, pki, "0D"))
    out = load(euicc, bound_package(euicc, pki, "0E"))
    assert failure(out) == (2, 9)  # storeMetadata, iccidAlreadyExistsOnEuicc


def test_a_downloaded_profile_with_the_roaming_applet_switches_imsi_france_to_germany(pki: TestPki) -> None:
    """The bundled multi-IMSI card alphalink-orange made into a package (its roaming applet in the
    project's nonStandard element), downloaded, enabled: the modem's journey FR → BE → DE runs as
    on the physical card (the AlphaLink mobile reference, "Paramétrage du roaming"): domestic IMSI
    in France and on Proximus in Belgium, the international IMSI after REFRESH in Germany."""
    from harness.events import EventLog

    from csim.euicc import saip
    from csim.profile import load_profile
    from harness.network.world import World
    from harness.terminal.modem import Modem, ModemConfig
    from harness.terminal.transport import InProcessTransport

    euicc = Euicc.seeded(["csl-sim"], credentials=pki.euicc_credentials(pki.eid(6)))
    euicc.reset()
    open_isdr(euicc)
    orange = "8933019900000000012"
    package = saip.encode(load_profile("alphalink-orange"))
    out = load(euicc, bound_package(euicc, pki, "99" * 16, package=package, profile_iccid=orange))
    assert "A0" in {t for t, _, _ in parse(installation_result(out)[0]["A2"])}  # successResult
    assert es10(euicc, tlv("BF31", tlv("A0", tlv("5A", iccid(orange))), "8101FF"))[0].hex().upper() \
        == tlv("BF31", "800100")
    log = EventLog()
    modem = Modem(InProcessTransport(euicc, log), World.load("europe"), log=log,
                  config=ModemConfig(pin="0000"))
    modem.power_on(country="FR")
    seen = [(modem.status()["registered"], modem.status()["imsi"])]
    for country in ("BE", "DE"):
        modem.move(country=country)
        seen.append((modem.status()["registered"], modem.status()["imsi"]))
    domestic, international = "208019900000001", "901709900000001"
    assert seen == [("208-01", domestic), ("206-01", domestic), ("262-01", international)]
    assert [e["imsi"] for e in log.of_kind("profile_switch")] == ["901709900000001"]
