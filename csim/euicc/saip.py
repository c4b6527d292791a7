"""The TCA eUICC Profile Package (SIMalliance Interoperable Profile, "SAIP"): the Profile Elements
of an unprotected profile package (TCA eUICC Profile Package Interoperable Format §8), decoded
with ``asn1tools`` from ``saip.asn``, and turned into a csim card profile.

The package is a series of ProfileElement CHOICE values (§8.1), each a context-tagged TLV; they
are split by tag here, and those the card needs (header, PIN/PUK codes, AKA parameters, USIM)
decoded. What the card is built from: the ICCID of the header, the IMSI of the USIM's EF_IMSI
(TS 31.102 §4.2.2), K and OPc of the AKA parameters, PIN1/PIN2/ADM1 and their PUKs.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import asn1tools

SPEC = asn1tools.compile_files(str(Path(__file__).with_name("saip.asn")), "der")

# ProfileElement CHOICE alternatives by their automatic tag number (§8.1)
PE_NAMES = [
    "header", "genericFileManagement", "pinCodes", "pukCodes", "akaParameter", "cdmaParameter",
    "securityDomain", "rfm", "application", "nonStandard", "end", "rfu1", "rfu2", "rfu3", "rfu4",
    "rfu5", "mf", "cd", "telecom", "usim", "opt-usim", "isim", "opt-isim", "phonebook", "gsm-access",
    "csim", "opt-csim", "eap", "df-5gs", "df-saip", "df-snpn", "df-5gprose", "iot", "opt-iot",
]
DECODED = {"header": "ProfileHeader", "pinCodes": "PE-PINCodes", "pukCodes": "PE-PUKCodes",
           "akaParameter": "PE-AKAParameter", "usim": "PE-USIM"}
# AlgoParameter.algorithmID (§8.6.3)
MILENAGE, TUAK, USIM_TEST_ALGORITHM = 1, 2, 3
# the USIM services whose files csim builds from a card profile's plain fields: service name
# table (19), GSM access (27), EPS mobility management (85); a package's other services are
# left out of the card's EF_UST
CARD_SERVICES = frozenset({19, 27, 85})
# PINKeyReferenceValue / PUKKeyReferenceValue (§8.6.1-§8.6.2, TS 102 221 §9.5.1)
PIN1, PIN2, ADM1 = 0x01, 0x81, 0x0A


class PackageError(ValueError):
    """A package that cannot be installed (TCA §8: installFailedDueToPEProcessingError)."""


@dataclasses.dataclass
class ProfileElement:
    """One Profile Element: its CHOICE name, the TLV as received, and its value where decoded."""

    name: str
    der: bytes
    value: dict[str, Any] | None = None


def _split(data: bytes) -> list[tuple[int, bytes]]:
    """The top-level TLVs of ``data``: (context tag number, whole TLV) (X.690 §8.1.2-§8.1.3)."""
    out, i = [], 0
    while i < len(data):
        start = i
        first = data[i]
        if first & 0xC0 != 0x80:
            raise PackageError(f"byte {i}: tag {first:02X} is not a ProfileElement (context-specific)")
        number = first & 0x1F
        i += 1
        if number == 0x1F:
            number = 0
            while True:
                if i >= len(data):
                    raise PackageError(f"byte {start}: truncated tag")
                number = number << 7 | data[i] & 0x7F
                i += 1
                if not data[i - 1] & 0x80:
                    break
        if i >= len(data):
            raise PackageError(f"byte {start}: no length")
        length = data[i]
        i += 1
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[i:i + n], "big")
            i += n
        if i + length > len(data):
            raise PackageError(f"byte {start}: ProfileElement runs past the end of the package")
        i += length
        out.append((number, data[start:i]))
    return out


def decode(data: bytes) -> list[ProfileElement]:
    """The Profile Elements of an unprotected profile package (§8.1), the ones the card needs
    decoded. Raises :class:`PackageError`."""
    elements = []
    for number, tlv in _split(data):
        name = PE_NAMES[number] if number < len(PE_NAMES) else f"pe{number}"
        value = None
        if name in DECODED:
            # the CHOICE tag replaces the SEQUENCE tag (automatic tagging): decode as a SEQUENCE
            inner = b"\x30" + tlv[_tag_end(tlv):]
            try:
                value = SPEC.decode(DECODED[name], inner)
            except (asn1tools.DecodeError, ValueError) as exc:
                raise PackageError(f"ProfileElement {name}: {exc}") from exc
        elements.append(ProfileElement(name, tlv, value))
    if not elements or elements[0].name != "header":
        raise PackageError("the package does not start with a ProfileHeader (§8.2)")
    return elements


def _tag_end(tlv: bytes) -> int:
    i = 1
    if tlv[0] & 0x1F == 0x1F:
        while tlv[i] & 0x80:
            i += 1
        i += 1
    return i


def _first(elements: list[ProfileElement], name: str) -> dict[str, Any] | None:
    return next((e.value for e in elements if e.name == name), None)


def _file_content(file: list[tuple[str, Any]]) -> bytes:
    """The content given to a file of a template (§8.3.2): fillFileContent at fillFileOffset."""
    content, offset = bytearray(), 0
    for kind, value in file:
        if kind == "fillFileOffset":
            offset += value
        elif kind == "fillFileContent":
            content[offset:offset + len(value)] = value
            offset += len(value)
    return bytes(content)


def _imsi(ef: bytes) -> str:
    """EF_IMSI (TS 31.102 §4.2.2): length byte, then BCD digits with the parity nibble first."""
    if not ef or ef[0] == 0 or ef[0] > 8:
        raise PackageError("EF_IMSI holds no IMSI")
    digits = "".join(f"{b & 0x0F:x}{b >> 4:x}" for b in ef[1:1 + ef[0]])
    return digits[1:].rstrip("f")


def _services(table: bytes) -> frozenset[int]:
    """The services set in a service table (TS 31.102 §4.2.8: service n is bit (n-1) mod 8 of
    byte (n-1) div 8)."""
    return frozenset(n + 1 for n in range(len(table) * 8) if table[n // 8] >> (n % 8) & 1)


def _iccid(value: bytes) -> str:
    """The header's ICCID (§8.2): BCD digits, most significant first, 'F'-padded."""
    digits = value.hex().rstrip("f")
    if not digits.isdigit():
        raise PackageError(f"ProfileHeader iccid {value.hex()} is not BCD digits")
    return digits


def _code(value: bytes) -> str:
    """A PIN/PUK value (TS 102 221 §9.5.1): ASCII digits padded with 'FF'."""
    return value.rstrip(b"\xff").decode("ascii", "replace")


@dataclasses.dataclass
class Subscription:
    """What a package gives the card: identities, AKA keys and access codes."""

    iccid: str
    imsi: str
    algorithm: int
    key: bytes
    opc: bytes
    pins: dict[int, tuple[str, int | None]]  # key reference: (value, its PUK's key reference)
    puks: dict[int, str]
    services: tuple[str, ...]
    ust: frozenset[int]  # the USIM services of EF_UST (TS 31.102 §4.2.8)


def subscription(elements: list[ProfileElement]) -> Subscription:
    """The identities, AKA parameters and codes of a decoded package."""
    header = _first(elements, "header")
    assert header is not None
    usim = _first(elements, "usim")
    if usim is None:
        raise PackageError("the package has no USIM ProfileElement (§8.4); the card needs one")
    aka = _first(elements, "akaParameter")
    if aka is None:
        raise PackageError("the package has no akaParameter ProfileElement (§8.6.3)")
    kind, algo = aka["algoConfiguration"]
    if kind != "algoParameter":
        raise PackageError("akaParameter maps its keys from another application: not supported")
    pins: dict[int, tuple[str, int | None]] = {}
    for pe in (e.value for e in elements if e.name == "pinCodes" and e.value is not None):
        kind, configs = pe["pinCodes"]
        if kind == "pinconfig":
            for c in configs:
                pins.setdefault(c["keyReference"], (_code(c["pinValue"]), c.get("unblockingPINReference")))
    puks: dict[int, str] = {}
    for pe in (e.value for e in elements if e.name == "pukCodes" and e.value is not None):
        for c in pe["pukCodes"]:
            puks.setdefault(c["keyReference"], _code(c["pukValue"]))
    return Subscription(
        iccid=_iccid(header["iccid"]), imsi=_imsi(_file_content(usim["ef-imsi"])),
        algorithm=algo["algorithmID"], key=algo["key"], opc=algo["opc"], pins=pins, puks=puks,
        services=tuple(header["eUICC-Mandatory-services"]), ust=_services(_file_content(usim["ef-ust"])))


def card_profile(elements: list[ProfileElement], name: str, spn: str) -> dict[str, Any]:
    """A csim card profile (``fixtures/cards`` schema) for the package: PIN1 (key reference '01'),
    PIN2 ('81') with the PUKs their unblockingPINReference names (§8.6.1-§8.6.2), ADM1 ('0A').
    Raises :class:`PackageError` for what the card profile cannot hold."""
    sub = subscription(elements)
    if sub.algorithm not in (MILENAGE, USIM_TEST_ALGORITHM) or len(sub.key) != 16:
        raise PackageError(f"AKA algorithm {sub.algorithm} with a {len(sub.key)}-byte key: csim has "
                           "Milenage (TS 35.206) with 128-bit keys only")
    if 19 not in sub.ust:
        raise PackageError("EF_UST lacks service 19 (service provider name): csim's card profile needs it")
    for ref, what in ((PIN1, "PIN1"), (PIN2, "PIN2"), (ADM1, "ADM1")):
        if ref not in sub.pins:
            raise PackageError(f"the package sets no {what} (key reference {ref:02X})")
    # the test algorithm ignores OPc (§8.6.3); the card is keyed with K and a zero OPc and its
    # AUTHENTICATE is switched off by the installer (see card_for)
    opc = sub.opc if sub.algorithm == MILENAGE and len(sub.opc) == 16 else bytes(16)

    def pin(ref: int) -> dict[str, str]:
        value, puk = sub.pins[ref]
        if puk is None or puk not in sub.puks:
            raise PackageError(f"PIN {ref:02X} has no PUK in the package")
        return {"value": value, "puk": sub.puks[puk]}

    return {
        "ust": sorted(sub.ust & CARD_SERVICES),
        "name": re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "esim",
        "atr": "3B9F96801FC78031A073BE21136743200718000001A5", "iccid": sub.iccid,
        "pins": {
            "pin1": pin(PIN1), "pin2": pin(PIN2), "adm1": {"value": sub.pins[ADM1][0]},
        },
        "profiles": {"main": {
            "imsi": sub.imsi, "mnc_length": 2, "spn": {"name": spn or name},
            "ki": sub.key.hex(), "opc": opc.hex(),
        }},
    }


def card_for(elements: list[ProfileElement], name: str, spn: str) -> Any:
    """The csim card a package installs to. A profile keyed for the 3GPP test algorithm (TS 34.108
    §8.1.2) gets a card that refuses AUTHENTICATE: csim computes Milenage only."""
    from csim.card import Card

    try:
        card = Card.from_profile(card_profile(elements, name, spn))
    except (ValueError, KeyError) as exc:
        if isinstance(exc, PackageError):
            raise
        raise PackageError(f"the package makes no valid card profile: {exc}") from exc
    if subscription(elements).algorithm == USIM_TEST_ALGORITHM:
        card.auth = None
    return card


__all__ = ["PackageError", "ProfileElement", "Subscription", "card_for", "card_profile", "decode",
           "subscription"]
