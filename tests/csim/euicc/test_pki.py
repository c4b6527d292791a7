"""The test PKI: EID check digits (GSMA SGP.29 §2.2) on EIDs of real eUICCs, and the CI → EUM →
eUICC chain checked with ``cryptography``'s own verification."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from csim.euicc.pki import TestPki, der_signature, eid_check_digits, eid_valid, verify_chain

# EIDs printed by real eUICCs: pySim's recording of a sysmoEUICC1-C2T and the SGP.26 test eUICC
REAL_EIDS = ["89049044900000000000000000102355", "89049032123451234512345678901235"]


@pytest.mark.parametrize("eid", REAL_EIDS)
def test_check_digits_of_real_eids(eid: str) -> None:
    assert eid_valid(eid)
    assert eid_check_digits(eid[:30]) == eid[30:]


def test_a_wrong_digit_is_caught() -> None:
    assert not eid_valid("89049044900000000000000000102356")
    assert not eid_valid("8904904490000000000000000010235")
    with pytest.raises(ValueError):
        eid_check_digits("12")


@pytest.mark.parametrize("curve, oid", [("nist", "secp256r1"), ("brainpool", "brainpoolP256r1")])
def test_chain_on_each_curve(curve: str, oid: str) -> None:
    pki = TestPki.generate(curve)
    creds = pki.euicc_credentials(pki.eid(99))
    assert creds.euicc_cert.public_key().curve.name == oid
    # each certificate signed by the one above it
    creds.eum_cert.verify_directly_issued_by(creds.ci_cert)
    creds.euicc_cert.verify_directly_issued_by(creds.eum_cert)
    with pytest.raises((InvalidSignature, ValueError)):
        creds.euicc_cert.verify_directly_issued_by(creds.ci_cert)
    eid = creds.euicc_cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value
    assert eid == pki.eid(99) and eid_valid(eid) and eid.startswith(pki.eid_prefix)
    assert verify_chain(creds.euicc_cert, creds.eum_cert, creds.ci_cert) == eid
    policies = creds.euicc_cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["2.23.146.1.2.1.1"]


def test_signature_is_plain_r_s_verifiable_by_the_certificate_key() -> None:
    pki = TestPki.generate("brainpool")
    creds = pki.euicc_credentials(pki.eid(1))
    sig = creds.sign(b"tbs")
    assert len(sig) == 64
    key = creds.euicc_cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(der_signature(sig), b"tbs", ec.ECDSA(hashes.SHA256()))


def test_eid_outside_the_eum_range_is_refused() -> None:
    pki = TestPki.generate(eid_prefix="8904903212345")
    with pytest.raises(ValueError, match="outside the EUM range"):
        pki.euicc_credentials("89049044900000000000000000102355")


def test_write_puts_certificates_and_keys_on_disk(tmp_path) -> None:
    pki = TestPki.generate()
    names = sorted(p.name for p in pki.write(tmp_path))
    assert names == ["CI_nist.der", "CI_nist.pem", "CI_nist_key.pem", "EUM_nist.der", "EUM_nist.pem",
                     "EUM_nist_key.pem"]
    assert x509.load_der_x509_certificate((tmp_path / "CI_nist.der").read_bytes()) == pki.ci_cert


def test_credentials_load_from_files_and_refuse_a_foreign_chain(tmp_path) -> None:
    from csim.euicc.pki import EuiccCredentials, write_credentials

    pki = TestPki.generate("brainpool")
    creds = pki.euicc_credentials(pki.eid(12))
    pki.write(tmp_path)
    write_credentials(creds, tmp_path)
    files = [tmp_path / n for n in ("eUICC_brainpool.der", "eUICC_brainpool_key.pem", "EUM_brainpool.pem",
                                    "CI_brainpool.der")]
    loaded = EuiccCredentials.from_files(*files)
    assert (loaded.eid, loaded.curve, loaded.ci_pkid) == (creds.eid, "brainpool", creds.ci_pkid)
    other = TestPki.generate("brainpool")
    other.write(tmp_path / "other")
    with pytest.raises(InvalidSignature):
        EuiccCredentials.from_files(*files[:3], tmp_path / "other" / "CI_brainpool.der")


@pytest.mark.parametrize("curve", ["nist", "brainpool"])
def test_a_written_pki_loads_back_and_certifies_eids_of_its_range(tmp_path, curve: str) -> None:
    pki = TestPki.generate(curve, eid_prefix="8904903200000000")
    pki.write(tmp_path)
    loaded = TestPki.load(tmp_path, curve)
    assert loaded is not None and loaded.eid_prefix == "8904903200000000"
    creds = loaded.euicc_credentials(loaded.eid(5))
    # a certificate of the loaded EUM chains to the CI that was written, as another process sees it
    assert verify_chain(creds.euicc_cert, pki.eum_cert, pki.ci_cert) == pki.eid(5)
    assert TestPki.load(tmp_path, "brainpool" if curve == "nist" else "nist") is None
    (tmp_path / f"CI_{curve}_key.pem").write_text("not a key")
    with pytest.raises(ValueError, match=f"CI_{curve}_key.pem"):
        TestPki.load(tmp_path, curve)
