"""Common mutual authentication and download preparation (GSMA SGP.22 §3.1.2, §3.1.3):
AuthenticateServer, PrepareDownload and CancelSession through the APDU interface, with the
SM-DP+ side (its signatures, its certificates from the test PKI) written out in the test and
every eUICC signature checked with ``cryptography``."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from csim.euicc import Euicc, TestPki
from csim.euicc.pki import ROLE_DP_AUTH, ROLE_DP_PB, TEST_DP_OID

from .test_isdr import es10, open_isdr, tlv

ADDRESS = b"testsmdpplus1.example.com".hex()


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return (r.to_bytes(32, "big") + s.to_bytes(32, "big")).hex()


def verify(cert: x509.Certificate, signature: bytes, data: bytes) -> None:
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(der, data, ec.ECDSA(hashes.SHA256()))


def parse(data: bytes) -> list[tuple[str, bytes, bytes]]:
    """The TLVs of ``data``: (tag hex, value, whole TLV)."""
    out, i = [], 0
    while i < len(data):
        start = i
        i += 1
        if data[start] & 0x1F == 0x1F:
            while data[i] & 0x80:
                i += 1
            i += 1
        tag = data[start:i].hex().upper()
        n = data[i]
        i += 1
        if n & 0x80:
            n, i = int.from_bytes(data[i:i + (n & 0x7F)], "big"), i + (n & 0x7F)
        out.append((tag, data[i:i + n], data[start:i + n]))
        i += n
    return out


def der(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.DER).hex()


@pytest.fixture(scope="module", params=["nist", "brainpool"])
def pki(request: pytest.FixtureRequest) -> TestPki:
    return TestPki.generate(request.param)


@pytest.fixture
def euicc(pki: TestPki) -> Euicc:
    card = Euicc.seeded(["alphalink-orange"], credentials=pki.euicc_credentials(pki.eid(3)))
    card.reset()
    open_isdr(card)
    return card


def challenge(card: Euicc) -> str:
    out, sw = es10(card, "BF2E00")
    assert sw == 0x9000
    (tag, value, _), = parse(out)
    (inner, chal, _), = parse(value)
    assert (tag, inner, len(chal)) == ("BF2E", "80", 16)
    return chal.hex()


def authenticate_request(pki: TestPki, card_challenge: str, tid: str, key=None, cert=None,
                         ci: str | None = None, corrupt: bool = False) -> tuple[str, str]:
    if key is None:
        key, cert = pki.dp_credentials(ROLE_DP_AUTH)
    server_challenge = os.urandom(16).hex()
    signed1 = tlv("30", tlv("80", tid), tlv("81", card_challenge), tlv("83", ADDRESS),
                  tlv("84", server_challenge))
    signature = sign(key, bytes.fromhex(signed1))
    if corrupt:
        signature = signature[:-2] + f"{int(signature[-2:], 16) ^ 1:02x}"
    ski = ci or pki.ci_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    matching = b"QR-G-5C-KR-1KQEVSK9".hex()
    ctx = tlv("A0", tlv("80", matching), tlv("A1", tlv("80", "35290611"), tlv("A1", "")))
    return tlv("BF38", signed1, tlv("5F37", signature), tlv("04", ski), der(cert), ctx), server_challenge


def test_authenticate_server(euicc: Euicc, pki: TestPki) -> None:
    tid = "0123456789ABCDEF0123456789ABCDEF"
    request, server_challenge = authenticate_request(pki, challenge(euicc), tid)
    out, sw = es10(euicc, request)
    assert sw == 0x9000
    (tag, body, _), = parse(out)
    (ok, content, _), = parse(body)
    assert (tag, ok) == ("BF38", "A0")  # authenticateResponseOk
    (t1, signed1, raw1), (t2, signature, _), (t3, _, euicc_der), (t4, _, eum_der) = parse(content)
    assert (t1, t2, t3, t4) == ("30", "5F37", "30", "30")
    fields = {t: v for t, v, _ in parse(signed1)}
    assert fields["80"].hex().upper() == tid and fields["84"].hex() == server_challenge
    assert fields["83"] == b"testsmdpplus1.example.com" and "BF22" in fields and "A0" in fields
    euicc_cert = x509.load_der_x509_certificate(euicc_der)
    eum_cert = x509.load_der_x509_certificate(eum_der)
    eum_cert.verify_directly_issued_by(pki.ci_cert)
    euicc_cert.verify_directly_issued_by(eum_cert)
    verify(euicc_cert, signature, raw1)


@pytest.mark.parametrize("case, code", [("corrupt", 2), ("challenge", 6), ("ci", 7), ("foreign", 1),
                                        ("role", 1)])
def test_authenticate_server_refusals(euicc: Euicc, pki: TestPki, case: str, code: int) -> None:
    chal = challenge(euicc)
    tid = "0102"
    if case == "corrupt":
        request, _ = authenticate_request(pki, chal, tid, corrupt=True)
    elif case == "challenge":
        request, _ = authenticate_request(pki, "00" * 16, tid)
    elif case == "ci":
        request, _ = authenticate_request(pki, chal, tid, ci="11" * 20)
    elif case == "foreign":  # a DPauth certificate from another CI
        foreign = TestPki.generate(pki.curve).dp_credentials(ROLE_DP_AUTH)
        request, _ = authenticate_request(pki, chal, tid, *foreign)
    else:  # a DPpb certificate where DPauth is due
        request, _ = authenticate_request(pki, chal, tid, *pki.dp_credentials(ROLE_DP_PB))
    out, sw = es10(euicc, request)
    assert out.hex().upper() == tlv("BF38", tlv("A1", tlv("80", tid), f"0201{code:02X}"))


def authenticated(euicc: Euicc, pki: TestPki, tid: str) -> bytes:
    request, _ = authenticate_request(pki, challenge(euicc), tid)
    out, _ = es10(euicc, request)
    (_, body, _), = parse(out)
    (_, content, _), = parse(body)
    return parse(content)[1][1]  # euiccSignature1


def prepare_request(pki: TestPki, tid: str, euicc_signature1: bytes, hash_cc: str | None,
                    key=None, cert=None) -> tuple[str, str]:
    if key is None:
        key, cert = pki.dp_credentials(ROLE_DP_PB)
    signed2 = tlv("30", tlv("80", tid), "0101" + ("FF" if hash_cc else "00"))
    signature = sign(key, bytes.fromhex(signed2 + tlv("5F37", euicc_signature1.hex())))
    parts = [signed2, tlv("5F37", signature)] + ([tlv("04", hash_cc)] if hash_cc else []) + [der(cert)]
    return tlv("BF21", *parts), signature


def test_prepare_download_with_confirmation_code(euicc: Euicc, pki: TestPki) -> None:
    tid = "A1A2A3A4A5A6A7A8"
    signature1 = authenticated(euicc, pki, tid)
    hash_cc = hashlib.sha256(hashlib.sha256(b"123456").digest() + bytes.fromhex(tid)).hexdigest()
    request, smdp_signature2 = prepare_request(pki, tid, signature1, hash_cc)
    out, sw = es10(euicc, request)
    assert sw == 0x9000
    (tag, body, _), = parse(out)
    (ok, content, _), = parse(body)
    assert (tag, ok) == ("BF21", "A0")
    (_, signed2, raw2), (_, signature2, _) = parse(content)
    fields = {t: v for t, v, _ in parse(signed2)}
    assert fields["80"].hex().upper() == tid and fields["04"].hex() == hash_cc
    otpk = fields["5F49"]
    assert len(otpk) == 65 and otpk[0] == 4  # an uncompressed point on the eUICC's curve
    ec.EllipticCurvePublicKey.from_encoded_point(pki.ci_cert.public_key().curve, otpk)
    creds = euicc.isdr.credentials
    verify(creds.euicc_cert, signature2, raw2 + bytes.fromhex(tlv("5F37", smdp_signature2)))


def test_prepare_download_refusals(euicc: Euicc, pki: TestPki) -> None:
    request, _ = prepare_request(pki, "01", b"\0" * 64, None)
    out, _ = es10(euicc, request)
    assert out.hex().upper() == tlv("BF21", tlv("A1", tlv("80", "01"), "020104"))  # noSessionContext
    signature1 = authenticated(euicc, pki, "01")
    request, _ = prepare_request(pki, "01", b"\0" * 64, None)  # signed over the wrong euiccSignature1
    out, _ = es10(euicc, request)
    assert out.hex().upper() == tlv("BF21", tlv("A1", tlv("80", "01"), "020102"))  # invalidSignature
    request, _ = prepare_request(pki, "02", signature1, None)
    out, _ = es10(euicc, request)
    assert out.hex().upper() == tlv("BF21", tlv("A1", tlv("80", "02"), "020105"))  # invalidTransactionId


def test_cancel_session(euicc: Euicc, pki: TestPki) -> None:
    authenticated(euicc, pki, "0A0B")
    out, _ = es10(euicc, tlv("BF41", tlv("80", "0A0C"), "810100"))
    assert out.hex().upper() == tlv("BF41", "810105")  # invalidTransactionId
    out, _ = es10(euicc, tlv("BF41", tlv("80", "0A0B"), "810100"))
    (tag, body, _), = parse(out)
    (ok, content, _), = parse(body)
    assert (tag, ok) == ("BF41", "A0")
    (_, signed, raw), (_, signature, _) = parse(content)
    fields = {t: v for t, v, _ in parse(signed)}
    assert fields["80"].hex().upper() == "0A0B" and fields["82"] == b"\0"  # endUserRejection
    oid = TEST_DP_OID.dotted_string.split(".")
    assert fields["81"][0] == 40 * int(oid[0]) + int(oid[1])
    verify(euicc.isdr.credentials.euicc_cert, signature, raw)
    out, _ = es10(euicc, tlv("BF41", tlv("80", "0A0B"), "810100"))
    assert out.hex().upper() == tlv("BF41", "810105")  # the session is gone
