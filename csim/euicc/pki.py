"""The eUICC's certificates: the test PKI CI → EUM → eUICC (GSMA SGP.22 §4.5.2, SGP.26).

The CI signs the EUM certificate; the EUM certificate limits, by a name constraint, the EIDs its
eUICCs may carry (SGP.22 §4.5.2.1.0.2); the EUM signs the eUICC certificate, whose subject
serialNumber is the EID. Curves: NIST P-256 and brainpoolP256r1 (SGP.22 §2.6.5).
Signatures on the wire are the plain r ‖ s form of BSI TR-03111 (SGP.22 §2.6.4).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID

CURVES: dict[str, ec.EllipticCurve] = {"nist": ec.SECP256R1(), "brainpool": ec.BrainpoolP256R1()}
# SGP.22 §4.5.2.1: certificate policies of each role (id-rspRole = 2.23.146.1.2.1.x)
ROLE_CI = x509.ObjectIdentifier("2.23.146.1.2.1.0")
ROLE_EUICC = x509.ObjectIdentifier("2.23.146.1.2.1.1")
ROLE_EUM = x509.ObjectIdentifier("2.23.146.1.2.1.2")
ROLE_DP_AUTH = x509.ObjectIdentifier("2.23.146.1.2.1.4")
ROLE_DP_PB = x509.ObjectIdentifier("2.23.146.1.2.1.5")
# the test SM-DP+'s OID (its subjectAltName registeredID, SGP.22 §4.5.2.1.0.4): a UUID OID, ITU-T X.667
TEST_DP_OID = x509.ObjectIdentifier("2.25.201880337406395208404437498406925131869")
VALID_FROM = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
VALID_UNTIL = dt.datetime(2099, 12, 31, tzinfo=dt.UTC)


def eid_check_digits(eid30: str) -> str:
    """The two check digits of an EID (GSMA SGP.29 §2.2, ISO 7064 MOD 97-10, as an IBAN)."""
    if len(eid30) != 30 or not eid30.isdigit():
        raise ValueError(f"an EID without its check digits has 30 digits, got {eid30!r}")
    return f"{98 - int(eid30 + '00') % 97:02d}"


def eid_valid(eid: str) -> bool:
    """True when ``eid`` has 32 digits and its check digits are right (the number mod 97 is 1)."""
    return len(eid) == 32 and eid.isdigit() and int(eid) % 97 == 1


def raw_signature(der_signature: bytes) -> bytes:
    """ECDSA signature DER → r ‖ s (32 bytes each), BSI TR-03111 §5.2.1."""
    r, s = decode_dss_signature(der_signature)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def der_signature(raw: bytes) -> bytes:
    """ECDSA signature r ‖ s → DER, for ``cryptography``'s verify."""
    if len(raw) != 64:
        raise ValueError("an r ‖ s signature on a 256-bit curve has 64 bytes")
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def verify_signature(cert: x509.Certificate, signature: bytes, data: bytes) -> bool:
    """An r ‖ s ECDSA signature with SHA-256 (SGP.22 §2.6.5.1) of ``data`` by the key of ``cert``."""
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(der_signature(signature), data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def _name(org: str, common: str, serial: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
             x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if serial is not None:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    return x509.Name(attrs)


def _key(curve: str, seed: bytes | None, label: str) -> ec.EllipticCurvePrivateKey:
    """A fresh key, or with ``seed`` the key derived from SHA-256(seed ‖ label) (reproducible test
    PKIs: the same seed gives the same certificates, byte for byte)."""
    if seed is None:
        return ec.generate_private_key(CURVES[curve])
    digest = hashlib.sha256(seed + label.encode()).digest()
    return ec.derive_private_key(int.from_bytes(digest[:31], "big") + 1, CURVES[curve])  # < n of both curves


def one_time_key(curve: ec.EllipticCurve,
                 entropy: Callable[[int], bytes] = os.urandom) -> ec.EllipticCurvePrivateKey:
    """A one-time ECKA key pair (SGP.22 §2.6.4.1): fresh, or drawn from ``entropy`` when a
    reproducible run gives a seeded one."""
    if entropy is os.urandom:
        return ec.generate_private_key(curve)
    return ec.derive_private_key(int.from_bytes(entropy(31), "big") + 1, curve)  # < n of both curves


def _ski(key: ec.EllipticCurvePrivateKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


def _cert(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
          issuer_key: ec.EllipticCurvePrivateKey, role: x509.ObjectIdentifier, ca: bool,
          serial: int, constraints: x509.NameConstraints | None = None,
          extra: x509.ExtensionType | None = None) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(serial)
               .not_valid_before(VALID_FROM).not_valid_after(VALID_UNTIL)
               .add_extension(_ski(key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False)
               .add_extension(x509.CertificatePolicies([x509.PolicyInformation(role, None)]), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                            encipher_only=False, decipher_only=False), critical=True))
    if ca:
        basic = x509.BasicConstraints(ca=True, path_length=None if role == ROLE_CI else 0)
        builder = builder.add_extension(basic, critical=True)
    if constraints is not None:
        builder = builder.add_extension(constraints, critical=True)
    if extra is not None:
        builder = builder.add_extension(extra, critical=False)
    return builder.sign(issuer_key, hashes.SHA256(), ecdsa_deterministic=True)  # RFC 6979


@dataclasses.dataclass
class EuiccCredentials:
    """What the eUICC holds of the PKI: its key and certificate, the EUM certificate, and the CI
    certificate whose key identifier it announces (SGP.22 §2.6.5 euiccCiPKIdListForVerification)."""

    eid: str
    curve: str
    euicc_key: ec.EllipticCurvePrivateKey
    euicc_cert: x509.Certificate
    eum_cert: x509.Certificate
    ci_cert: x509.Certificate

    @property
    def ci_pkid(self) -> bytes:
        return self.ci_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest

    @classmethod
    def from_files(cls, euicc_cert: str | os.PathLike[str], euicc_key: str | os.PathLike[str],
                   eum_cert: str | os.PathLike[str], ci_cert: str | os.PathLike[str]) -> EuiccCredentials:
        """Credentials from certificate files (DER or PEM) and a PEM private key, e.g. another
        PKI's eUICC (SGP.26 test certificates); the chain and the EID range are checked."""
        certs = [_load_cert(Path(p)) for p in (euicc_cert, eum_cert, ci_cert)]
        key = serialization.load_pem_private_key(Path(euicc_key).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{euicc_key}: not an EC private key")
        curve = next((name for name, c in CURVES.items() if c.name == key.curve.name), None)
        if curve is None:
            raise ValueError(f"{euicc_key}: curve {key.curve.name} is neither P-256 nor brainpoolP256r1")
        eid = verify_chain(*certs)
        return cls(eid, curve, key, *certs)

    def sign(self, data: bytes) -> bytes:
        """ECDSA with SHA-256 by the eUICC key, r ‖ s (SGP.22 §2.6.4)."""
        return raw_signature(self.euicc_key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True)))


@dataclasses.dataclass
class TestPki:
    """A CI and an EUM of the project's own, able to certify eUICCs for EIDs in the EUM range."""

    __test__ = False  # not a pytest class

    curve: str
    ci_key: ec.EllipticCurvePrivateKey
    ci_cert: x509.Certificate
    eum_key: ec.EllipticCurvePrivateKey
    eum_cert: x509.Certificate
    eid_prefix: str
    seed: bytes | None = None

    @classmethod
    def generate(cls, curve: str = "nist", eid_prefix: str = "89049032123451234512",
                 seed: bytes | None = None) -> TestPki:
        """A fresh CI and EUM; the EUM may certify the EIDs that begin with ``eid_prefix``. With
        ``seed`` every key of this PKI is derived from it (the same certificates each time)."""
        if curve not in CURVES:
            raise ValueError(f"curve {curve!r}: one of {', '.join(CURVES)}")
        if not (eid_prefix.isdigit() and 8 <= len(eid_prefix) <= 30):
            raise ValueError(f"EID prefix {eid_prefix!r}: 8 to 30 digits")
        ci_key = _key(curve, seed, "CI")
        ci_name = _name("simharness test CI", "simharness test CI")
        ci_cert = _cert(ci_name, ci_key, ci_name, ci_key, ROLE_CI, True, 1)
        eum_key = _key(curve, seed, "EUM")
        eum_name = _name("simharness test EUM", "simharness test EUM")
        permitted = x509.DirectoryName(_name("simharness test EUM", "simharness test eUICC", eid_prefix))
        constraints = x509.NameConstraints(permitted_subtrees=[permitted], excluded_subtrees=None)
        eum_cert = _cert(eum_name, eum_key, ci_name, ci_key, ROLE_EUM, True, 2, constraints)
        return cls(curve, ci_key, ci_cert, eum_key, eum_cert, eid_prefix, seed)

    def eid(self, serial: int) -> str:
        """The EID number ``serial`` of this EUM's range, with its check digits."""
        body = self.eid_prefix + str(serial).zfill(30 - len(self.eid_prefix))
        if len(body) != 30:
            raise ValueError(f"serial {serial} does not fit the EUM range {self.eid_prefix}")
        return body + eid_check_digits(body)

    def euicc_credentials(self, eid: str) -> EuiccCredentials:
        """eUICC key and certificate for ``eid`` (SGP.22 §4.5.2.1.0.3), refused outside the EUM range."""
        if not eid_valid(eid):
            raise ValueError(f"EID {eid}: 32 digits with valid check digits (ISO 7064 MOD 97-10)")
        if not eid.startswith(self.eid_prefix):
            raise ValueError(f"EID {eid} is outside the EUM range {self.eid_prefix}")
        key = _key(self.curve, self.seed, f"eUICC {eid}")
        subject = _name("simharness test EUM", "simharness test eUICC", eid)
        cert = _cert(subject, key, self.eum_cert.subject, self.eum_key, ROLE_EUICC, False,
                     int(eid[-12:]) + 3)
        return EuiccCredentials(eid, self.curve, key, cert, self.eum_cert, self.ci_cert)

    def dp_credentials(self, role: x509.ObjectIdentifier, name: str = "testsmdpplus1.example.com",
                 ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """An SM-DP+ key and certificate signed by the CI: CERT.DPauth.ECDSA or CERT.DPpb.ECDSA
        (SGP.22 §4.5.2.1.0.4 / §4.5.2.1.0.5)."""
        if role not in (ROLE_DP_AUTH, ROLE_DP_PB):
            raise ValueError(f"{role.dotted_string} is not an SM-DP+ role")
        key = _key(self.curve, self.seed, f"{role.dotted_string} {name}")
        serial = 10 + int(role == ROLE_DP_PB)
        san = x509.SubjectAlternativeName([x509.DNSName(name), x509.RegisteredID(TEST_DP_OID)])
        return key, _cert(_name("simharness test SM-DP+", name), key, self.ci_cert.subject, self.ci_key,
                          role, False, serial, extra=san)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], curve: str = "nist") -> TestPki | None:
        """The PKI of ``curve`` that :meth:`write` put in ``directory``, or None when it holds none;
        ``ValueError`` naming the file when the files are there but are not such a PKI."""
        out = Path(directory)
        names = [out / f"{role}_{curve}{tail}" for role in ("CI", "EUM") for tail in (".pem", "_key.pem")]
        if not all(p.is_file() for p in names):
            return None
        ci_cert, ci_key, eum_cert, eum_key = (_read_pem(p) for p in names)
        try:
            eum_cert.verify_directly_issued_by(ci_cert)
            prefixes = eid_prefixes(eum_cert)
        except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound) as exc:
            raise ValueError(f"{names[2]}: not an EUM certificate of {names[0]} "
                             f"({exc or type(exc).__name__})") from None
        if not prefixes:
            raise ValueError(f"{names[2]}: no EID range (serialNumber name constraint)")
        return cls(curve, ci_key, ci_cert, eum_key, eum_cert, prefixes[0])

    def write(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write CI and EUM certificates (DER and PEM) and keys (PEM) to ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for role, key, cert in (("CI", self.ci_key, self.ci_cert), ("EUM", self.eum_key, self.eum_cert)):
            written += _write_pair(out, f"{role}_{self.curve}", key, cert)
        return written


def _read_pem(path: Path) -> Any:
    """A PEM certificate or EC private key; ``ValueError`` naming the file otherwise."""
    data = path.read_bytes()
    try:
        if b"PRIVATE KEY" in data:
            key = serialization.load_pem_private_key(data, password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError("not an EC private key")
            return key
        return x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _load_cert(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if data.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _write_pair(out: Path, stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> list[Path]:
    paths = [out / f"{stem}.der", out / f"{stem}.pem", out / f"{stem}_key.pem"]
    paths[0].write_bytes(cert.public_bytes(serialization.Encoding.DER))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def write_credentials(creds: EuiccCredentials, directory: str | os.PathLike[str]) -> list[Path]:
    """Write the eUICC certificate and key beside the PKI (``eUICC_<curve>.der`` ...)."""
    return _write_pair(Path(directory), f"eUICC_{creds.curve}", creds.euicc_key, creds.euicc_cert)


def policy(cert: x509.Certificate) -> str | None:
    """The certificate's role (SGP.22 §4.5.2.1: its single certificate policy), as a dotted OID."""
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return None
    return policies[0].policy_identifier.dotted_string if len(policies) else None


def dp_oid(cert: x509.Certificate) -> str | None:
    """The SM-DP+ OID of an SM-DP+ certificate: its subjectAltName registeredID."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    oids = san.get_values_for_type(x509.RegisteredID)
    return oids[0].dotted_string if oids else None


def eid_prefixes(eum_cert: x509.Certificate) -> list[str]:
    """The EID ranges an EUM certificate permits (SGP.22 §4.5.2.1.0.2: the serialNumber of its
    name constraints)."""
    nc = eum_cert.extensions.get_extension_for_class(x509.NameConstraints).value
    return [str(a.value) for sub in nc.permitted_subtrees or [] if isinstance(sub, x509.DirectoryName)
            for a in sub.value.get_attributes_for_oid(NameOID.SERIAL_NUMBER)]


def verify_chain(euicc_cert: x509.Certificate, eum_cert: x509.Certificate, ci_cert: x509.Certificate) -> str:
    """Check CI → EUM → eUICC signatures and that the EID lies in the EUM's range; returns the EID."""
    eum_cert.verify_directly_issued_by(ci_cert)
    euicc_cert.verify_directly_issued_by(eum_cert)
    eid = euicc_cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value
    prefixes = eid_prefixes(eum_cert)
    if not any(str(eid).startswith(str(p)) for p in prefixes):
        raise ValueError(f"EID {eid} is outside the EUM range {prefixes}")
    if not eid_valid(str(eid)):
        raise ValueError(f"EID {eid}: wrong check digits")
    return str(eid)
