"""The SM-DP+ side of profile binding (GSMA SGP.22 §2.5.4, §2.6.4, §5.5): the one-time key pair,
the session keys of the BPP security protocol, and the bound profile package — InitialiseSecureChannel
signed with CERT.DPpb's key, then ConfigureISDP, StoreMetadata and the profile package as SCP03t
segments (C-MAC over the MAC chaining value, AES-CBC with the counter-derived ICV, GP Amd D §6.2.6).

The session keys come from :func:`csim.euicc.bsp.session_keys` (the X9.63 KDF of §2.6.4.2, one
implementation for both ends); the segment protection here is the sending side of SCP03t.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import cmac, hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from csim.euicc.bpp import children
from csim.euicc.bsp import KEY_TYPE_AES, MAC_LENGTH, ber_length, session_keys, tlv
from csim.euicc.isdr import SPEC
from csim.euicc.pki import one_time_key, raw_signature

KEY_LENGTH = 16  # AES-128 (SGP.22 §2.6.4.1)
SEGMENT = 1008  # plaintext bytes of one '86' segment: 1024 bytes once padded and enciphered


class Scp03tSender:
    """One SCP03t key set as the SM-DP+ uses it: every segment numbered (ICV counter) and
    chained by its C-MAC (SGP.22 §2.6.4.3-§2.6.4.5)."""

    def __init__(self, s_enc: bytes, s_mac: bytes, mac_chaining: bytes) -> None:
        self.s_enc = s_enc
        self.s_mac = s_mac
        self.chain = mac_chaining
        self.counter = 1

    def segment(self, tag: bytes, data: bytes, encrypt: bool = True) -> bytes:
        """``tag`` ‖ length ‖ data (enciphered unless ``encrypt`` is False) ‖ C-MAC."""
        if encrypt:
            padded = data + b"\x80" + bytes(-(len(data) + 1) % 16)  # ISO/IEC 9797-1 method 2
            block = Cipher(algorithms.AES(self.s_enc), modes.ECB()).encryptor()  # noqa: S305 (one block: the ICV)
            icv = block.update(self.counter.to_bytes(16, "big")) + block.finalize()
            cbc = Cipher(algorithms.AES(self.s_enc), modes.CBC(icv)).encryptor()
            data = cbc.update(padded) + cbc.finalize()
        self.counter += 1
        head = tag + ber_length(len(data) + MAC_LENGTH)
        mac = cmac.CMAC(algorithms.AES(self.s_mac))
        mac.update(self.chain + head + data)
        self.chain = mac.finalize()
        return head + data + self.chain[:MAC_LENGTH]


def point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def bind(
    *,
    transaction_id: bytes,
    euicc_otpk: bytes,
    eid: str,
    dp_pb_key: ec.EllipticCurvePrivateKey,
    metadata: dict[str, Any],
    package: bytes,
    host_id: bytes = b"simharness",
    entropy: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """The bound profile package (SGP.22 §2.5.4) of ``package`` for the eUICC whose one-time key is
    ``euicc_otpk``: a fresh otSK.DP.ECKA, ECKA and the KDF (§2.6.4.2), InitialiseSecureChannel signed
    over its first four elements ‖ otPK.EUICC.ECKA (§5.5.1), then the protected segments."""
    curve = dp_pb_key.curve
    otsk = one_time_key(curve, entropy)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, euicc_otpk)
    secret = otsk.exchange(ec.ECDH(), peer)
    s_enc, s_mac, chain = session_keys(secret, KEY_TYPE_AES, KEY_LENGTH, host_id, bytes.fromhex(eid))
    keys = Scp03tSender(s_enc, s_mac, chain)
    isc: dict[str, Any] = {
        "remoteOpId": 1,
        "transactionId": transaction_id,
        "controlRefTemplate": {
            "keyType": bytes([KEY_TYPE_AES]),
            "keyLen": bytes([KEY_LENGTH]),
            "hostId": host_id,
        },
        "smdpOtpk": point(otsk.public_key()),
        "smdpSign": bytes(64),
    }
    signed = b"".join(children(SPEC.encode("InitialiseSecureChannelRequest", isc))[:4])
    signed += tlv(b"\x5f\x49", euicc_otpk)
    isc["smdpSign"] = raw_signature(
        dp_pb_key.sign(signed, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    )
    configure = tlv(b"\xa0", keys.segment(b"\x87", SPEC.encode("ConfigureISDPRequest", {})))
    store = SPEC.encode("StoreMetadataRequest", metadata)
    metadata_segments = b"".join(
        keys.segment(b"\x88", store[i : i + SEGMENT], encrypt=False) for i in range(0, len(store), SEGMENT)
    )
    elements = b"".join(
        keys.segment(b"\x86", package[i : i + SEGMENT]) for i in range(0, len(package), SEGMENT)
    )
    return tlv(
        b"\xbf\x36",
        SPEC.encode("InitialiseSecureChannelRequest", isc)
        + configure
        + tlv(b"\xa1", metadata_segments)
        + tlv(b"\xa3", elements),
    )


__all__ = ["Scp03tSender", "bind", "point", "tlv"]
