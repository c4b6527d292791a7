"""The Subscription Concealed Identifier: SUPI concealment with ECIES (3GPP TS 33.501 §6.12.2,
Annex C) and the SUCI as the USIM returns it to GET IDENTITY (TS 31.102 §7.5).

Protection schemes (TS 33.501 Annex C.1, C.3.4):

- ``0`` null scheme: the scheme output is the MSIN itself;
- ``1`` ECIES Profile A: X25519, ANSI X9.63 KDF with SHA-256 (SharedInfo1 = the ephemeral public
  key), AES-128 in CTR mode with the KDF's ICB, HMAC-SHA-256 truncated to 8 bytes;
- ``2`` ECIES Profile B: the same on secp256r1 with a compressed ephemeral public key (33 bytes).

The scheme input is the MSIN in BCD, digits swapped in each byte, ``F`` filling an odd last byte
(TS 33.501 §C.3.2). The SUCI (TS 24.501 §9.11.3.4, octets 4 onward): SUPI format IMSI and type
SUCI (``01``), MCC/MNC, routing indicator, protection scheme identifier, home network public key
identifier, scheme output.
"""

from __future__ import annotations

from dataclasses import dataclass
from hmac import compare_digest

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from csim import encoding as enc

NULL_SCHEME, PROFILE_A, PROFILE_B = 0, 1, 2
ENC_KEY_LEN, ICB_LEN, MAC_KEY_LEN, MAC_LEN = 16, 16, 32, 8  # TS 33.501 §C.3.4.1, §C.3.4.2
EPHEMERAL_LEN = {PROFILE_A: 32, PROFILE_B: 33}


class SuciError(ValueError):
    """SUCI calculation information the USIM cannot use (no key for the scheme, a bad key, a
    tampered scheme output)."""


@dataclass(frozen=True)
class EciesKeys:
    """The keying data of TS 33.501 §C.3.4: encryption key, initial counter block, MAC key."""

    enc_key: bytes
    icb: bytes
    mac_key: bytes


def msin_bcd(msin: str) -> bytes:
    """The scheme input of an IMSI-type SUPI, TS 33.501 §C.3.2: the MSIN in swapped BCD."""
    if not msin.isdigit():
        raise SuciError(f"an MSIN is digits: {msin!r}")
    return enc.swap_bcd(msin)


def keying_data(shared_secret: bytes, ephemeral_public: bytes) -> EciesKeys:
    """ANSI X9.63 KDF with SHA-256 over the shared secret, SharedInfo1 the ephemeral public key
    (TS 33.501 §C.3.4.1): EK the leftmost 16 bytes, ICB the next 16, MK the rightmost 32."""
    k = X963KDF(algorithm=hashes.SHA256(), length=ENC_KEY_LEN + ICB_LEN + MAC_KEY_LEN,
                sharedinfo=ephemeral_public).derive(shared_secret)
    return EciesKeys(k[:ENC_KEY_LEN], k[ENC_KEY_LEN:ENC_KEY_LEN + ICB_LEN], k[ENC_KEY_LEN + ICB_LEN:])


def _mac(keys: EciesKeys, ciphertext: bytes) -> bytes:
    h = hmac.HMAC(keys.mac_key, hashes.SHA256())
    h.update(ciphertext)
    return h.finalize()[:MAC_LEN]


def _ctr(keys: EciesKeys, data: bytes) -> bytes:
    ctx = Cipher(algorithms.AES(keys.enc_key), modes.CTR(keys.icb)).encryptor()
    return ctx.update(data) + ctx.finalize()


def _p256_public(key: bytes) -> ec.EllipticCurvePublicKey:
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    except ValueError:
        raise SuciError("not a secp256r1 public key (SEC 1 point, compressed 02/03 or uncompressed 04)") \
            from None


def shared_secret(scheme: int, private_key: bytes, public_key: bytes) -> bytes:
    """The ECDH shared secret of Profile A (X25519, RFC 7748) or Profile B (secp256r1 cofactor
    Diffie-Hellman, the x coordinate) between a private key and the other side's public key."""
    if scheme == PROFILE_A:
        if len(public_key) != 32 or len(private_key) != 32:
            raise SuciError("Profile A keys are 32-byte X25519 keys")
        priv = x25519.X25519PrivateKey.from_private_bytes(private_key)
        try:
            return priv.exchange(x25519.X25519PublicKey.from_public_bytes(public_key))
        except ValueError:  # an all-zero shared secret: a small-order public key
            raise SuciError("Profile A public key of small order") from None
    if scheme == PROFILE_B:
        if len(private_key) != 32:
            raise SuciError("a Profile B private key is 32 bytes")
        priv_b = ec.derive_private_key(int.from_bytes(private_key, "big"), ec.SECP256R1())
        return priv_b.exchange(ec.ECDH(), _p256_public(public_key))
    raise SuciError(f"protection scheme {scheme} is not an ECIES profile of TS 33.501 Annex C.3")


def ephemeral_public_key(scheme: int, private_key: bytes) -> bytes:
    """The ephemeral public key as it goes in the scheme output: 32 bytes (A), compressed (B)."""
    if scheme == PROFILE_A:
        return x25519.X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw)
    priv = ec.derive_private_key(int.from_bytes(private_key, "big"), ec.SECP256R1())
    return priv.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


def new_ephemeral_key(scheme: int) -> bytes:
    """A fresh ephemeral private key for ``scheme`` (TS 33.501 §C.3.2: one per SUCI)."""
    if scheme == PROFILE_A:
        return x25519.X25519PrivateKey.generate().private_bytes_raw()
    return ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")


def conceal(scheme: int, home_public_key: bytes, scheme_input: bytes,
            ephemeral_private_key: bytes | None = None) -> bytes:
    """The scheme output of TS 33.501 §C.3.2 (UE side): ephemeral public key ‖ ciphertext ‖ MAC
    tag for the ECIES profiles, the input itself for the null scheme. ``ephemeral_private_key``
    is drawn afresh unless given (the Annex C.4 test data give one)."""
    if scheme == NULL_SCHEME:
        return scheme_input
    if not scheme_input:
        raise SuciError("empty scheme input")
    eph = ephemeral_private_key if ephemeral_private_key is not None else new_ephemeral_key(scheme)
    eph_public = ephemeral_public_key(scheme, eph)
    keys = keying_data(shared_secret(scheme, eph, home_public_key), eph_public)
    ciphertext = _ctr(keys, scheme_input)
    return eph_public + ciphertext + _mac(keys, ciphertext)


def deconceal(scheme: int, home_private_key: bytes, scheme_output: bytes) -> bytes:
    """The home network's side, TS 33.501 §C.3.3: the scheme input back from a scheme output;
    :class:`SuciError` when the MAC tag does not verify."""
    if scheme == NULL_SCHEME:
        return scheme_output
    n = EPHEMERAL_LEN.get(scheme)
    if n is None:
        raise SuciError(f"protection scheme {scheme} is not an ECIES profile of TS 33.501 Annex C.3")
    if len(scheme_output) <= n + MAC_LEN:
        raise SuciError("scheme output too short for an ephemeral key, a ciphertext and a MAC tag")
    if scheme == PROFILE_B and scheme_output[0] not in (0x02, 0x03):
        raise SuciError("Profile B ephemeral public key not compressed (TS 33.501 §C.3.4.2)")
    eph_public, ciphertext, tag = scheme_output[:n], scheme_output[n:-MAC_LEN], scheme_output[-MAC_LEN:]
    keys = keying_data(shared_secret(scheme, home_private_key, eph_public), eph_public)
    if not compare_digest(_mac(keys, ciphertext), tag):
        raise SuciError("MAC tag verification failed")
    return _ctr(keys, ciphertext)


def suci(imsi: str, mnc_length: int, routing_indicator: bytes, calc_info: dict,
         ephemeral_private_key: bytes | None = None) -> bytes:
    """The SUCI of an IMSI-type SUPI, TS 24.501 §9.11.3.4 octets 4 onward (TS 31.102 §7.5.2):
    concealed with the highest-priority scheme of ``calc_info`` (EF_SUCI_Calc_Info decoded by
    :func:`csim.encoding.decode_suci_calc_info`, TS 31.102 §4.4.11.8) and the key its key index
    names (1 = the first key of the list). ``routing_indicator`` is bytes 1-2 of
    EF_Routing_Indicator (TS 31.102 §4.4.11.11), the same BCD coding as octets 8-9."""
    schemes = calc_info.get("prot_scheme_id_list") or []
    if not schemes:
        raise SuciError("EF_SUCI_Calc_Info lists no protection scheme")
    first = min(schemes, key=lambda e: e["priority"])
    scheme, index = first["identifier"], first["key_index"]
    if scheme not in (NULL_SCHEME, PROFILE_A, PROFILE_B):
        raise SuciError(f"protection scheme {scheme} is not supported (null, A and B are)")
    mcc, mnc = enc.imsi_plmn(imsi, mnc_length)
    msin = imsi[3 + mnc_length:]
    key_id = 0
    key = b""
    if scheme != NULL_SCHEME:
        keys = calc_info.get("hnet_pubkey_list") or []
        if not 1 <= index <= len(keys):
            raise SuciError(f"key index {index}: EF_SUCI_Calc_Info lists {len(keys)} home network keys")
        key_id = keys[index - 1]["hnet_pubkey_identifier"]
        key = bytes.fromhex(keys[index - 1]["hnet_pubkey"])
    output = conceal(scheme, key, msin_bcd(msin), ephemeral_private_key)
    return (b"\x01" + enc.encode_plmn(f"{mcc}-{mnc}") + bytes(routing_indicator[:2])
            + bytes([scheme, key_id]) + output)


def parse_suci(value: bytes) -> dict:
    """The fields of a SUCI (:func:`suci`'s output): ``plmn``, ``routing_indicator`` (the two
    bytes), ``scheme``, ``key_id``, ``scheme_output``."""
    if len(value) < 9 or value[0] != 0x01:
        raise SuciError("not the SUCI of an IMSI (SUPI format 0, identity type SUCI)")
    return {"plmn": enc.decode_plmn(value[1:4]), "routing_indicator": value[4:6], "scheme": value[6] & 0x0F,
            "key_id": value[7], "scheme_output": value[8:]}
