"""The BPP security protocol, eUICC side (GSMA SGP.22 §2.6.4, §5.5): session keys agreed by ECKA
with the one-time keys and the X9.63 KDF (§2.6.4.2, Annex G), and the SCP03t segments of a bound
profile package checked and deciphered: AES-CBC with a counter-derived ICV and CMAC with the MAC
chaining value (§2.6.4.3-§2.6.4.5, GlobalPlatform Amendment D §6.2.6)."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import cmac, hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

KEY_TYPE_AES = 0x88  # GlobalPlatform Card Specification Table 11-16
MAC_LENGTH = 8  # SGP.22 §2.6.4.5: the C-MAC is the first 8 bytes of the AES-CMAC


class Scp03tError(ValueError):
    """A segment that fails its MAC or is not well formed (SGP.22 §5.7.6 scp03tSecurityError /
    scp03tStructureError)."""

    def __init__(self, reason: str, security: bool) -> None:
        super().__init__(reason)
        self.security = security


def _lv(value: bytes) -> bytes:
    return ber_length(len(value)) + value


def tlv(tag: bytes, value: bytes) -> bytes:
    """A BER-TLV with a definite length in the shortest form (X.690 §8.1.3)."""
    return tag + ber_length(len(value)) + value


def ber_length(n: int) -> bytes:
    """BER length octets (X.690 §8.1.3)."""
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def shared_secret(otsk: ec.EllipticCurvePrivateKey, smdp_otpk: bytes) -> bytes:
    """ECKA (BSI TR-03111 §4.3.1): the x coordinate of otSK.EUICC.ECKA × otPK.DP.ECKA."""
    peer = ec.EllipticCurvePublicKey.from_encoded_point(otsk.curve, smdp_otpk)
    return otsk.exchange(ec.ECDH(), peer)


def session_keys(secret: bytes, key_type: int, key_length: int, host_id: bytes,
                 eid: bytes) -> tuple[bytes, bytes, bytes]:
    """SGP.22 §2.6.4.2: X9.63 KDF with SHA-256 over the shared secret, SharedInfo = keyType ‖
    keyLength ‖ hostID-LV ‖ EID-LV; output initial MAC chaining value ‖ S-ENC ‖ S-MAC.
    Returns (S-ENC, S-MAC, initial MAC chaining value)."""
    info = bytes([key_type, key_length]) + _lv(host_id) + _lv(eid)
    out = X963KDF(algorithm=hashes.SHA256(), length=3 * key_length, sharedinfo=info).derive(secret)
    n = key_length
    return out[n:2 * n], out[2 * n:], out[:n]


class Scp03t:
    """One SCP03t key set with its block counter and MAC chaining value (SGP.22 §2.6.4.3)."""

    def __init__(self, s_enc: bytes, s_mac: bytes, mac_chaining: bytes) -> None:
        self.s_enc = s_enc
        self.s_mac = s_mac
        self.mac_chaining = mac_chaining
        self.counter = 1  # SGP.22 §2.6.4.4: the first block is numbered 1

    def _unmac(self, segment: bytes) -> bytes:
        """Check the C-MAC of one TLV segment (tag, length, data, MAC); return the data.
        The MAC covers the chaining value ‖ tag ‖ length ‖ data; the full CMAC becomes the next
        chaining value (SGP.22 §2.6.4.5)."""
        if len(segment) < 2:
            raise Scp03tError("segment too short", security=False)
        i = 1
        first = segment[i]
        if first & 0x80:
            i += 1 + (first & 0x7F)
            length = int.from_bytes(segment[2:i], "big")
        else:
            i += 1
            length = first
        if length != len(segment) - i or length < MAC_LENGTH:
            raise Scp03tError(f"segment length {length} does not fit its {len(segment)} bytes",
                              security=False)
        body, mac = segment[:-MAC_LENGTH], segment[-MAC_LENGTH:]
        c = cmac.CMAC(algorithms.AES(self.s_mac))
        c.update(self.mac_chaining + body)
        full = c.finalize()
        if full[:MAC_LENGTH] != mac:
            raise Scp03tError("C-MAC does not match", security=True)
        self.mac_chaining = full
        return body[i:]

    def _icv(self) -> bytes:
        """SGP.22 §2.6.4.4: ICV = AES(S-ENC, counter left-padded to a block); the counter counts
        every segment, MAC-only ones included."""
        block = self.counter.to_bytes(16, "big")
        self.counter += 1
        # one block: AES in ECB mode is the plain block cipher here
        enc = Cipher(algorithms.AES(self.s_enc), modes.ECB()).encryptor()  # noqa: S305
        return enc.update(block) + enc.finalize()

    def unwrap(self, segment: bytes) -> bytes:
        """A segment protected by C-MAC and encryption (tags '86', '87'): its plaintext, the
        '80 00…' padding removed (ISO/IEC 9797-1 method 2)."""
        data = self._unmac(segment)
        if not data or len(data) % 16:
            raise Scp03tError("ciphertext is not a whole number of AES blocks", security=True)
        dec = Cipher(algorithms.AES(self.s_enc), modes.CBC(self._icv())).decryptor()
        plain = (dec.update(data) + dec.finalize()).rstrip(b"\x00")
        if not plain.endswith(b"\x80"):
            raise Scp03tError("padding is not '80 00…'", security=True)
        return plain[:-1]

    def unwrap_mac_only(self, segment: bytes) -> bytes:
        """A segment protected by C-MAC only (tag '88', StoreMetadata): its data."""
        data = self._unmac(segment)
        self.counter += 1
        return data


def verify_signature(key: ec.EllipticCurvePublicKey, der_sig: bytes, data: bytes) -> bool:
    try:
        key.verify(der_sig, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


__all__ = ["KEY_TYPE_AES", "Scp03t", "Scp03tError", "session_keys", "shared_secret"]
