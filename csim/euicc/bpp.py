"""ES10b.LoadBoundProfilePackage taken as a stream (GSMA SGP.22 §5.7.6, §2.5.5): the bound
profile package (§2.5.4) reaches the ISD-R as separate STORE DATA commands — BF36 header with
InitialiseSecureChannel, A0 with ConfigureISDP, A1 header and each '88' of StoreMetadata, A2 with
ReplaceSessionKeys (optional), A3 header and each '86' of the protected profile package — and is
checked and deciphered segment by segment (§2.6.4, :mod:`csim.euicc.bsp`)."""

from __future__ import annotations

import dataclasses
from typing import Any

import asn1tools
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from csim.euicc.bsp import KEY_TYPE_AES, Scp03t, Scp03tError, session_keys, shared_secret, verify_signature
from csim.euicc.pki import der_signature

# ErrorResult.bppCommandId, SGP.22 §5.7.6
INITIALISE_SECURE_CHANNEL, CONFIGURE_ISDP, STORE_METADATA, REPLACE_SESSION_KEYS, LOAD_PROFILE_ELEMENTS = \
    0, 1, 2, 4, 5
# ErrorResult.errorReason, SGP.22 §5.7.6
INCORRECT_INPUT_VALUES, INVALID_SIGNATURE, INVALID_TRANSACTION_ID, UNSUPPORTED_CRT_VALUES = 1, 2, 3, 4
UNSUPPORTED_REMOTE_OPERATION_TYPE, UNSUPPORTED_PROFILE_CLASS = 5, 6
SCP03T_STRUCTURE_ERROR, SCP03T_SECURITY_ERROR = 7, 8
ICCID_ALREADY_EXISTS, PE_PROCESSING_ERROR, PPR_NOT_ALLOWED = 9, 12, 15

CONTAINERS = {b"\xbf\x36", b"\xa0", b"\xa1", b"\xa2", b"\xa3"}


class BppFailure(Exception):
    """The package is refused: the ErrorResult of the ProfileInstallationResult (SGP.22 §5.7.6)."""

    def __init__(self, command: int, reason: int, why: str) -> None:
        super().__init__(why)
        self.command = command
        self.reason = reason


@dataclasses.dataclass
class Loaded:
    """A package received whole: its metadata (StoreMetadataRequest), ConfigureISDP and the
    unprotected profile package (the Profile Elements, TCA eUICC Profile Package §2)."""

    configure: dict[str, Any]
    metadata: dict[str, Any]
    profile_package: bytes


def _tag_length(data: bytes, i: int) -> tuple[bytes, int, int]:
    """(tag, length, index of the value) of the BER-TLV at ``data[i]`` (X.690 §8.1.2-§8.1.3)."""
    start = i
    if data[i] & 0x1F == 0x1F:
        i += 1
        while data[i] & 0x80:
            i += 1
    i += 1
    tag = data[start:i]
    first = data[i]
    if first & 0x80:
        n = first & 0x7F
        length = int.from_bytes(data[i + 1:i + 1 + n], "big")
        i += 1 + n
    else:
        length = first
        i += 1
    return tag, length, i


class BoundProfilePackageLoad:
    """The eUICC side of one package download, fed one STORE DATA payload at a time."""

    def __init__(self, spec: Any, *, transaction_id: bytes, otsk: ec.EllipticCurvePrivateKey,
                 dp_pb: x509.Certificate, eid: bytes, euicc_otpk: bytes) -> None:
        self.spec = spec
        self.transaction_id = transaction_id
        self.otsk = otsk
        self.dp_pb = dp_pb
        self.eid = eid
        self.euicc_otpk = euicc_otpk
        self.container = b""  # the sequence the next TLVs belong to
        self.remaining = 0  # bytes left of the A3 sequence
        self.keys: Scp03t | None = None
        self.configure: dict[str, Any] | None = None
        self.metadata_blocks = bytearray()
        self.metadata: dict[str, Any] | None = None
        self.profile_package = bytearray()

    def feed(self, data: bytes) -> Loaded | None:
        """One segment; the whole package once its last '86' is in, else None. Raises
        :class:`BppFailure`."""
        i = 0
        try:
            while i < len(data):
                tag, length, value = _tag_length(data, i)
                if tag in CONTAINERS:
                    self._open(tag, length)
                    i = value
                    continue
                end = value + length
                if end > len(data):
                    raise BppFailure(self._command(), SCP03T_STRUCTURE_ERROR, "a TLV runs past its segment")
                done = self._element(tag, data[i:end])
                i = end
                if done is not None:
                    return done
        except IndexError as exc:
            raise BppFailure(self._command(), SCP03T_STRUCTURE_ERROR, "truncated TLV") from exc
        return None

    def _command(self) -> int:
        return {b"\xa0": CONFIGURE_ISDP, b"\xa1": STORE_METADATA, b"\xa2": REPLACE_SESSION_KEYS,
                b"\xa3": LOAD_PROFILE_ELEMENTS}.get(self.container, INITIALISE_SECURE_CHANNEL)

    def _open(self, tag: bytes, length: int) -> None:
        order = [b"\xbf\x36", b"\xa0", b"\xa1", b"\xa2", b"\xa3"]
        in_order = order.index(tag) > order.index(self.container) if self.container else tag == b"\xbf\x36"
        if not in_order:
            raise BppFailure(self._command(), SCP03T_STRUCTURE_ERROR,
                             f"sequence {tag.hex().upper()} out of order")
        if self.container == b"\xa1":
            self._store_metadata()
        if tag != b"\xbf\x36" and self.keys is None:
            raise BppFailure(INITIALISE_SECURE_CHANNEL, SCP03T_STRUCTURE_ERROR, "no InitialiseSecureChannel")
        if tag in (b"\xa1", b"\xa2", b"\xa3") and self.configure is None:
            raise BppFailure(CONFIGURE_ISDP, SCP03T_STRUCTURE_ERROR, "no ConfigureISDP")
        self.container = tag
        if tag == b"\xa3":
            if self.metadata is None:
                raise BppFailure(STORE_METADATA, SCP03T_STRUCTURE_ERROR, "no StoreMetadata")
            self.remaining = length

    def _element(self, tag: bytes, tlv: bytes) -> Loaded | None:
        where = self.container
        if where == b"\xbf\x36" and tag == b"\xbf\x23":
            self._initialise_secure_channel(tlv)
        elif where == b"\xa0" and tag == b"\x87":
            self.configure = self._decode(CONFIGURE_ISDP, "ConfigureISDPRequest", self._unwrap(tlv))
        elif where == b"\xa1" and tag == b"\x88":
            self.metadata_blocks += self._unwrap(tlv, mac_only=True)
        elif where == b"\xa2" and tag == b"\x87":
            rsk = self._decode(REPLACE_SESSION_KEYS, "ReplaceSessionKeysRequest", self._unwrap(tlv))
            # SGP.22 §5.5.4: the profile elements come under the PPK keys, a fresh counter and the
            # given initial MAC chaining value
            self.keys = Scp03t(rsk["ppkEnc"], rsk["ppkCmac"], rsk["initialMacChainingValue"])
        elif where == b"\xa3" and tag == b"\x86":
            self.profile_package += self._unwrap(tlv)
            self.remaining -= len(tlv)
            if self.remaining <= 0:
                assert self.configure is not None and self.metadata is not None
                return Loaded(self.configure, self.metadata, bytes(self.profile_package))
        else:
            raise BppFailure(self._command(), SCP03T_STRUCTURE_ERROR,
                             f"unexpected {tag.hex().upper()} in {where.hex().upper() or 'nothing'}")
        return None

    def _unwrap(self, tlv: bytes, mac_only: bool = False) -> bytes:
        assert self.keys is not None
        try:
            return self.keys.unwrap_mac_only(tlv) if mac_only else self.keys.unwrap(tlv)
        except Scp03tError as exc:
            reason = SCP03T_SECURITY_ERROR if exc.security else SCP03T_STRUCTURE_ERROR
            raise BppFailure(self._command(), reason, str(exc)) from exc

    def _decode(self, command: int, type_name: str, data: bytes) -> dict[str, Any]:
        try:
            return self.spec.decode(type_name, data)
        except (asn1tools.DecodeError, ValueError) as exc:
            raise BppFailure(command, INCORRECT_INPUT_VALUES, f"{type_name}: {exc}") from exc

    def _store_metadata(self) -> None:
        self.metadata = self._decode(STORE_METADATA, "StoreMetadataRequest", bytes(self.metadata_blocks))

    def _initialise_secure_channel(self, tlv: bytes) -> None:
        """SGP.22 §5.5.1: check remoteOpId, transactionId, the CRT and the SM-DP+ signature (CERT.DPpb)
        over remoteOpId ‖ transactionId ‖ controlRefTemplate ‖ smdpOtpk ‖ otPK.EUICC.ECKA; derive the
        session keys (§2.6.4.2)."""
        req = self._decode(INITIALISE_SECURE_CHANNEL, "InitialiseSecureChannelRequest", tlv)
        if req["remoteOpId"] != 1:
            raise BppFailure(INITIALISE_SECURE_CHANNEL, UNSUPPORTED_REMOTE_OPERATION_TYPE, "remoteOpId")
        if req["transactionId"] != self.transaction_id:
            raise BppFailure(INITIALISE_SECURE_CHANNEL, INVALID_TRANSACTION_ID, "transactionId")
        crt = req["controlRefTemplate"]
        if crt["keyType"] != bytes([KEY_TYPE_AES]) or crt["keyLen"] != b"\x10":
            raise BppFailure(INITIALISE_SECURE_CHANNEL, UNSUPPORTED_CRT_VALUES, "only AES-128 keys")
        signed = b"".join(children(tlv)[:4]) + b"\x5f\x49" + bytes([len(self.euicc_otpk)]) + self.euicc_otpk
        key = self.dp_pb.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        if not verify_signature(key, der_signature(req["smdpSign"]), signed):
            raise BppFailure(INITIALISE_SECURE_CHANNEL, INVALID_SIGNATURE, "smdpSign")
        try:
            secret = shared_secret(self.otsk, req["smdpOtpk"])
        except ValueError as exc:
            raise BppFailure(INITIALISE_SECURE_CHANNEL, INCORRECT_INPUT_VALUES, f"smdpOtpk: {exc}") from exc
        self.keys = Scp03t(*session_keys(secret, KEY_TYPE_AES, 16, crt["hostId"], self.eid))


def children(tlv: bytes) -> list[bytes]:
    """The encoded elements inside a constructed TLV, as received (what a signature covers)."""
    _, length, i = _tag_length(tlv, 0)
    end, out = i + length, []
    while i < end:
        start = i
        _, length, i = _tag_length(tlv, i)
        i += length
        out.append(tlv[start:i])
    return out


__all__ = ["BoundProfilePackageLoad", "BppFailure", "Loaded"]
