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
import functools
import json
import re
from pathlib import Path
from typing import Any

import asn1tools

from csim import ef as efs

SPEC = asn1tools.compile_files(str(Path(__file__).with_name("saip.asn")), "der")

# ProfileElement CHOICE alternatives by their automatic tag number (§8.1)
PE_NAMES = [
    "header", "genericFileManagement", "pinCodes", "pukCodes", "akaParameter", "cdmaParameter",
    "securityDomain", "rfm", "application", "nonStandard", "end", "rfu1", "rfu2", "rfu3", "rfu4",
    "rfu5", "mf", "cd", "telecom", "usim", "opt-usim", "isim", "opt-isim", "phonebook", "gsm-access",
    "csim", "opt-csim", "eap", "df-5gs", "df-saip", "df-snpn", "df-5gprose", "iot", "opt-iot",
]
# the alternatives of ProfileElement in saip.asn
DECODED = {"header", "mf", "pinCodes", "pukCodes", "akaParameter", "usim", "opt-usim", "nonStandard", "end"}
# AlgoParameter.algorithmID (§8.6.3)
MILENAGE, TUAK, USIM_TEST_ALGORITHM = 1, 2, 3
# algorithmOptions of the GSMA TS.48 test profiles' usim-test-algorithm: the card answers the whole
# 128-bit XDOUT as RES (TS 34.108 §8.1.2.2), as libosmocore's osmo-auc-gen computes it; the TCA
# text for the other values (shorter RES) is not in the project's references, so they are refused
TEST_ALGORITHM_RES_128 = b"\x02"
# the USIM services whose files csim builds from a card profile's plain fields: service name
# table (19), PLMNwAcT (20), GSM access (27), OPLMNwAcT (42), HPLMNwAcT (43), EHPLMN (71), EPS
# mobility management (85); a package's other services are left out of the card's EF_UST
CARD_SERVICES = frozenset({19, 20, 27, 42, 43, 71, 85})
# the PLMN files a package carries for the card (TS 31.102 §4.2): Profile Element, its member,
# the csim EF, the card profile field and the USIM service that calls for the file (0: mandatory)
PLMN_FILES = (
    ("usim", "ef-fplmn", "EF_FPLMN", "fplmn", 0),
    ("usim", "ef-acc", "EF_ACC", "acc", 0),
    ("opt-usim", "ef-plmnwact", "EF_PLMNwAcT", "plmnwact", 20),
    ("opt-usim", "ef-oplmnwact", "EF_OPLMNwAcT", "oplmnwact", 42),
    ("opt-usim", "ef-hplmnwact", "EF_HPLMNwAcT", "hplmnwact", 43),
    ("opt-usim", "ef-ehplmn", "EF_EHPLMN", "ehplmn", 71),
)
OPT_USIM_TEMPLATE = "2.23.143.1.2.5"  # the optional USIM files template (§8.4)
# issuerID of the project's own nonStandard Profile Element (§8.9): a UUID-based OID (ITU-T X.667
# §6.3, arc 2.25, which needs no registration) minted for it. The element carries the roaming
# applet of a multi-IMSI card (its country table and the other IMSI profiles, as JSON in the card
# profile schema). Only csim reads it; another eUICC skips a nonStandard element it does not know.
ROAMING_APPLET_ISSUER = "2.25.291552342106049963616261189423896150515"
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


@functools.lru_cache(maxsize=256)
def _decode_element(tlv: bytes) -> dict[str, Any]:
    """One Profile Element's value, decoded once per content: the same package (a card profile's
    package downloaded again, a TS.48 test profile) repeats byte for byte, and the file system
    elements with their FCPs are most of an install's decoding time."""
    _, value = SPEC.decode("ProfileElement", tlv)
    return value


def decode(data: bytes) -> list[ProfileElement]:
    """The Profile Elements of an unprotected profile package (§8.1), the ones the card needs
    decoded (values shared between packages holding the same element: not to be changed).
    Raises :class:`PackageError`."""
    elements = []
    for number, tlv in _split(data):
        name = PE_NAMES[number] if number < len(PE_NAMES) else f"pe{number}"
        value = None
        if name in DECODED:
            try:
                value = _decode_element(tlv)
            except (asn1tools.DecodeError, ValueError) as exc:
                raise PackageError(f"ProfileElement {name}: {exc}") from exc
        elements.append(ProfileElement(name, tlv, value))
    if not elements or elements[0].name != "header":
        raise PackageError("the package does not start with a ProfileHeader (§8.2)")
    return elements


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


def _mnc_length(ef_ad: bytes) -> int | None:
    """EF_AD (TS 31.102 §4.2.18): the length of the MNC in the IMSI, byte 4, 2 or 3."""
    if len(ef_ad) < 4:
        return None
    if ef_ad[3] & 0x0F not in (2, 3):
        raise PackageError(f"EF_AD gives an MNC of {ef_ad[3] & 0x0F} digits")
    return ef_ad[3] & 0x0F


def _iccid(value: bytes) -> str:
    """The header's ICCID (§8.2): BCD digits, most significant first, 'F'-padded."""
    digits = value.hex().rstrip("f")
    if not digits.isdigit():
        raise PackageError(f"ProfileHeader iccid {value.hex()} is not BCD digits")
    return digits


def _code(value: bytes) -> str:
    """A PIN/PUK value (TS 102 221 §9.5.1): ASCII digits padded with 'FF'."""
    code = value.rstrip(b"\xff")
    if not code.isdigit():
        raise PackageError(f"PIN/PUK value {value.hex()} is not digits")
    return code.decode("ascii")


@dataclasses.dataclass
class Subscription:
    """What a package gives the card: identities, AKA keys and access codes."""

    iccid: str
    imsi: str
    algorithm: int
    algorithm_options: bytes
    key: bytes
    opc: bytes
    pins: dict[int, tuple[bytes, int | None]]  # key reference: (value, its PUK's key reference)
    puks: dict[int, str]
    services: tuple[str, ...]
    ust: frozenset[int]  # the USIM services of EF_UST (TS 31.102 §4.2.8)
    mnc_length: int | None  # EF_AD byte 4 (TS 31.102 §4.2.18), None where the package sets no EF_AD
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)  # PLMN_FILES given content, by EF
    hpplmn: bytes = b""  # EF_HPPLMN (TS 31.102 §4.2.6)
    roaming: dict[str, Any] | None = None  # the ROAMING_APPLET_ISSUER element's content


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
    pins: dict[int, tuple[bytes, int | None]] = {}
    for pe in (e.value for e in elements if e.name == "pinCodes" and e.value is not None):
        kind, configs = pe["pinCodes"]
        if kind == "pinconfig":
            for c in configs:
                pins.setdefault(c["keyReference"], (c["pinValue"], c.get("unblockingPINReference")))
    puks: dict[int, str] = {}
    for pe in (e.value for e in elements if e.name == "pukCodes" and e.value is not None):
        for c in pe["pukCodes"]:
            puks.setdefault(c["keyReference"], _code(c["pukValue"]))
    holders = {"usim": usim, "opt-usim": _first(elements, "opt-usim") or {}}
    files = {ef: _file_content(holders[pe][member]) for pe, member, ef, _, _ in PLMN_FILES
             if _file_content(holders[pe].get(member, []))}
    roaming = None
    for pe in (e.value for e in elements if e.name == "nonStandard" and e.value is not None):
        if pe["issuerID"] == ROAMING_APPLET_ISSUER:
            try:
                roaming = json.loads(pe["content"])
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise PackageError(f"the roaming applet element ({ROAMING_APPLET_ISSUER}): {exc}") from exc
    return Subscription(
        iccid=_iccid(header["iccid"]), imsi=_imsi(_file_content(usim["ef-imsi"])),
        algorithm=algo["algorithmID"], algorithm_options=algo["algorithmOptions"], key=algo["key"],
        opc=algo["opc"], pins=pins, puks=puks,
        services=tuple(header["eUICC-Mandatory-services"]), ust=_services(_file_content(usim["ef-ust"])),
        mnc_length=_mnc_length(_file_content(usim.get("ef-ad", []))), files=files,
        hpplmn=_file_content(usim.get("ef-hpplmn", [])), roaming=roaming)


def card_profile(elements: list[ProfileElement], name: str, spn: str) -> dict[str, Any]:
    """A csim card profile (``fixtures/cards`` schema) for the package: PIN1 (key reference '01'),
    PIN2 ('81') with the PUKs their unblockingPINReference names (§8.6.1-§8.6.2), ADM1 ('0A').
    Raises :class:`PackageError` for what the card profile cannot hold."""
    sub = subscription(elements)
    if sub.algorithm not in (MILENAGE, USIM_TEST_ALGORITHM) or len(sub.key) != 16:
        raise PackageError(f"AKA algorithm {sub.algorithm} with a {len(sub.key)}-byte key: csim has "
                           "Milenage (TS 35.206) and the 3GPP test algorithm (TS 34.108 §8.1.2) with "
                           "128-bit keys only")
    if sub.algorithm == USIM_TEST_ALGORITHM and sub.algorithm_options != TEST_ALGORITHM_RES_128:
        raise PackageError(f"usim-test-algorithm with algorithmOptions {sub.algorithm_options.hex()}: csim's "
                           "test algorithm answers a 128-bit RES (algorithmOptions 02, as in the TS.48 test "
                           "profiles); other RES lengths are not supported")
    if sub.mnc_length is None:
        raise PackageError("the package has no EF_AD: the MNC length of its IMSI is not known")
    if 19 not in sub.ust:
        raise PackageError("EF_UST lacks service 19 (service provider name): csim's card profile needs it")
    for ref, what in ((PIN1, "PIN1"), (PIN2, "PIN2"), (ADM1, "ADM1")):
        if ref not in sub.pins:
            raise PackageError(f"the package sets no {what} (key reference {ref:02X})")
    # the test algorithm ignores OPc (§8.6.3): the card profile carries a zero one
    opc = sub.opc if sub.algorithm == MILENAGE and len(sub.opc) == 16 else bytes(16)

    def pin(ref: int) -> dict[str, str]:
        value, puk = sub.pins[ref]
        if puk is None or puk not in sub.puks:
            raise PackageError(f"PIN {ref:02X} has no PUK in the package")
        return {"value": _code(value), "puk": sub.puks[puk]}

    main: dict[str, Any] = {
        "imsi": sub.imsi, "mnc_length": sub.mnc_length, "spn": {"name": spn or name},
        "ki": sub.key.hex(), "opc": opc.hex(),
        "algorithm": "milenage" if sub.algorithm == MILENAGE else "usim-test-algorithm",
    }
    for _, _, ef_name, field, service in PLMN_FILES:
        content = sub.files.get(ef_name)
        if content is not None and (not service or service in sub.ust):
            value = efs.get(f"ADF_USIM/{ef_name}").decode(content)
            value = [v for v in value if v is not None]
            if value:
                main[field] = value
    doc: dict[str, Any] = {
        "ust": sorted(sub.ust & CARD_SERVICES),
        "name": re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "esim",
        "atr": "3B9F96801FC78031A073BE21136743200718000001A5", "iccid": sub.iccid,
        "pins": {
            "pin1": pin(PIN1), "pin2": pin(PIN2), "adm1": {"value": sub.pins[ADM1][0].hex()},
        },
        "profiles": {"main": main},
    }
    if sub.hpplmn:
        doc["hplmn_search_minutes"] = efs.get("ADF_USIM/EF_HPPLMN").decode(sub.hpplmn)["minutes"]
    if sub.roaming is not None:
        try:
            others = dict(sub.roaming["profiles"])
            doc["profiles"] = {sub.roaming["active"]: main, **others}
            doc["applet"] = sub.roaming["applet"]
        except (KeyError, TypeError) as exc:
            raise PackageError(f"the roaming applet element ({ROAMING_APPLET_ISSUER}) lacks {exc}") from exc
    return doc


def card_for(elements: list[ProfileElement], name: str, spn: str) -> Any:
    """The csim card a package installs to, keyed for Milenage or the 3GPP test algorithm
    (TS 34.108 §8.1.2) as its akaParameter says."""
    return card_and_profile(elements, name, spn)[0]


def card_and_profile(elements: list[ProfileElement], name: str, spn: str) -> tuple[Any, dict[str, Any]]:
    """:func:`card_for` and the :func:`card_profile` the card is made from."""
    from csim.card import Card

    try:
        profile = card_profile(elements, name, spn)
        card = Card.from_profile(profile)
    except (ValueError, KeyError) as exc:
        if isinstance(exc, PackageError):
            raise
        raise PackageError(f"the package makes no valid card profile: {exc}") from exc
    return card, profile


# the USIM template of the TCA specification (§8.4, joint-iso-itu-t(2) international-organizations(23)
# tca(143) euicc-profile(1) template(2) uicc-usim(4)); EF contents below fill its files
USIM_TEMPLATE = "2.23.143.1.2.4"
MF_TEMPLATE = "2.23.143.1.2.1"  # the MF template (§8.3)
# the directories of the card whose files :func:`encode` writes, with their Profile Elements: the
# MF (§8.3), the ADF of the USIM and its files in the USIM template (created by default) and in
# the optional USIM template (created only where named), §8.4
MF_PATH, USIM_PATH = efs.DIRECTORIES["MF"], efs.DIRECTORIES["ADF_USIM"]
# an EF's file descriptor byte by its structure (TS 102 221 §11.1.1.4.3)
DESCRIPTORS = {"transparent": 0x41, "linear": 0x42, "cyclic": 0x46}


def _members(pe: str) -> dict[str, str]:
    """The File members of a Profile Element's type, by their lower-case name."""
    members = SPEC.types[pe].type.root_members
    return {m.name.lower(): m.name for m in members if m.name.startswith(("ef-", "adf-"))}


MF_MEMBERS, USIM_MEMBERS, OPT_USIM_MEMBERS = _members("PE-MF"), _members("PE-USIM"), _members("PE-OPT-USIM")


def _member(name: str) -> str:
    """The template member name of a csim EF (``EF_START_HFN`` -> ``ef-start-hfn``)."""
    return "ef-" + name[3:].lower().replace("_", "-")


def _fcp(spec: Any, arr: int, pins: list[int]) -> dict[str, Any]:
    """The fileDescriptor (§8.3.2) of a file of the card image: the FCP the card answers SELECT
    with (TS 102 221 §11.1.1.4): descriptor, FID, AID, EF_ARR record (file and record number),
    size, SFI, and for a directory the key references of its PIN status template."""
    fcp: dict[str, Any] = {"fileID": int(spec.path.rsplit("/", 1)[-1], 16).to_bytes(2, "big"),
                           "securityAttributesReferenced": arr.to_bytes(2, "big") + bytes([spec.arr_record])}
    if spec.lcsi != 0x05:
        fcp["lcsi"] = bytes([spec.lcsi])
    if spec.kind != "EF":
        fcp["fileDescriptor"] = b"\x78\x21"
        fcp["pinStatusTemplateDO"] = bytes(pins)
        if spec.kind == "ADF":
            fcp["dfName"] = spec.aid
        return fcp
    if spec.structure == "transparent":
        fcp["fileDescriptor"] = bytes([DESCRIPTORS["transparent"], 0x21])
        size = len(spec.data)
    else:
        record = spec.record_length.to_bytes(2, "big")
        fcp["fileDescriptor"] = bytes([DESCRIPTORS[spec.structure], 0x21]) + record
        size = spec.record_length * len(spec.records)
    fcp["efFileSize"] = size.to_bytes(max(1, (size.bit_length() + 7) // 8), "big")
    fcp["shortEFID"] = bytes([spec.sfi << 3]) if spec.sfi else b""
    return fcp


def _template_file(spec: Any, arr: int, pins: list[int]) -> list[tuple[str, Any]]:
    """A template member (§8.3.2): the file's FCP, then its whole content (a record EF's records
    one after the other)."""
    content = spec.data if spec.kind == "EF" and spec.structure == "transparent" else b"".join(spec.records)
    return [("fileDescriptor", _fcp(spec, arr, pins)), *_file(content)]


def _file(content: bytes) -> list[tuple[str, Any]]:
    return [("fillFileContent", content)] if content else []


def _file_system(profile: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The members of the MF, USIM and OPT-USIM Profile Elements (§8.3-§8.4) for the card image
    of ``profile``: each file of the MF and of ADF.USIM with its FCP and content. A file of the
    USIM template that the card has not is doNotCreate; the optional USIM files are named only
    where the card has them."""
    from csim.profile import build_image

    image = build_image(profile)
    pins = [p.key_ref for p in image.pins]
    global_pins = [ref for ref in pins if ref < 0x80]  # TS 102 221 §9.5.1: local PINs only in an ADF
    by_path = {f.path: f for f in image.files}

    def arr_of(parent: str) -> int:
        """The EF_ARR a file under ``parent`` refers to: the nearest one up the tree (§8.3.2)."""
        while parent:
            for fid in (0x6F06, 0x2F06):
                if f"{parent}/{fid:04X}" in by_path:
                    return fid
            parent = parent.rpartition("/")[0]
        return 0x2F06

    mf: dict[str, Any] = {"mf": _template_file(by_path[MF_PATH], arr_of(MF_PATH), global_pins)}
    adf = by_path[USIM_PATH]
    usim: dict[str, Any] = {"adf-usim": _template_file(adf, arr_of(MF_PATH), pins)}
    opt_usim: dict[str, Any] = {}
    for spec in image.files:
        parent, _, _ = spec.path.rpartition("/")
        if spec.kind != "EF" or parent not in (MF_PATH, USIM_PATH):
            continue
        member = _member(spec.name)
        if parent == MF_PATH and member in MF_MEMBERS:
            mf[member] = _template_file(spec, arr_of(parent), pins)
        elif parent == USIM_PATH and member in USIM_MEMBERS:
            usim[USIM_MEMBERS[member]] = _template_file(spec, arr_of(parent), pins)
        elif parent == USIM_PATH and member in OPT_USIM_MEMBERS:
            opt_usim[OPT_USIM_MEMBERS[member]] = _template_file(spec, arr_of(parent), pins)
    for member in USIM_MEMBERS.values():
        usim.setdefault(member, [("doNotCreate", None)])
    return mf, usim, opt_usim


def _roaming_applet(profile: Any) -> dict[str, Any]:
    """The content of the ROAMING_APPLET_ISSUER element: the applet section of the card profile
    and its IMSI profiles other than the active one, in the card profile schema."""
    applet = profile.applet
    table = [{"plmn": e.pattern, "profile": e.profile} for e in applet.table]
    if applet.default is not None:
        table.append({"default": applet.default})

    def imsi_profile(p: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {"imsi": p.imsi, "mnc_length": p.mnc_length, "spn": p.spn.as_value(),
                               "ki": bytes(p.ki).hex(), "opc": bytes(p.opc).hex(), "sqn": p.sqn,
                               "algorithm": p.algorithm}
        lists = {"ehplmn": list(p.ehplmn), "fplmn": list(p.fplmn), "acc": list(p.acc),
                 **{k: [e.as_value() for e in getattr(p, k)] for k in ("hplmnwact", "oplmnwact", "plmnwact")}}
        return {**doc, **{k: v for k, v in lists.items() if v}}

    return {"active": profile.active,
            "applet": {"priority": applet.priority, "refresh": applet.refresh, "table": table},
            "profiles": {name: imsi_profile(p) for name, p in profile.imsi_profiles.items()
                         if name != profile.active}}


def encode(profile: Any) -> bytes:
    """A profile package (§8) for a csim card profile (``csim.profile.load_profile``): its header
    (ICCID, services USIM and the AKA algorithm), the MF and ADF.USIM of the card with their FCPs
    (§8.3.2) and contents (the USIM's AID as the ADF's dfName, EF_DIR, EF_ARR, EF_IMSI, EF_UST...
    of the active subscription), the optional USIM files the card has, PIN1/PIN2/ADM1 with their
    PUKs, the AKA algorithm and keys, the roaming applet of a multi-IMSI card (the project's
    nonStandard element ROAMING_APPLET_ISSUER), and the end. The card's other directories
    (DF_TELECOM, DF_GSM, the DFs in ADF.USIM, ADF.ISIM) and CAT applets other than the roaming
    applet are not in it; :func:`card_profile` reads back the identities, keys, codes and PLMN
    lists."""
    sub = profile.imsi_profiles[profile.active]
    pins = profile.pins
    iccid = profile.iccid + "f" * (len(profile.iccid) % 2)
    mf, usim, opt_usim = _file_system(profile)
    test = sub.algorithm == "usim-test-algorithm"
    templates = [MF_TEMPLATE, USIM_TEMPLATE, *([OPT_USIM_TEMPLATE] if opt_usim else [])]
    elements: list[tuple[str, dict[str, Any]]] = [
        ("header", {"major-version": 2, "minor-version": 3, "profileType": f"simharness {profile.name}",
                    "iccid": bytes.fromhex(iccid),
                    "eUICC-Mandatory-services": {"usim": None,
                                                 "usim-test-algorithm" if test else "milenage": None},
                    "eUICC-Mandatory-GFSTEList": templates}),
        ("mf", {"mf-header": {"identification": 1}, "templateID": MF_TEMPLATE, **mf}),
        ("usim", {"usim-header": {"identification": 2}, "templateID": USIM_TEMPLATE, **usim}),
        *([("opt-usim", {"optusim-header": {"identification": 7}, "templateID": OPT_USIM_TEMPLATE,
                         **opt_usim})] if opt_usim else []),
        ("pukCodes", {"puk-Header": {"identification": 3}, "pukCodes": [
            {"keyReference": 1, "pukValue": pins["pin1"].puk.ljust(8, b"\xff")},
            {"keyReference": 0x81, "pukValue": pins["pin2"].puk.ljust(8, b"\xff")}]}),
        ("pinCodes", {"pin-Header": {"identification": 4}, "pinCodes": ("pinconfig", [
            {"keyReference": PIN1, "pinValue": pins["pin1"].value, "unblockingPINReference": 1},
            {"keyReference": PIN2, "pinValue": pins["pin2"].value, "unblockingPINReference": 0x81},
            {"keyReference": ADM1,
             "pinValue": pins["adm1"].value.ljust(8, b"\xff")}])}),
        ("akaParameter", {"aka-header": {"identification": 5}, "algoConfiguration": ("algoParameter", {
            "algorithmID": USIM_TEST_ALGORITHM if test else MILENAGE,
            "algorithmOptions": TEST_ALGORITHM_RES_128 if test else b"\x00", "key": bytes(sub.ki),
            "opc": bytes(sub.opc)})}),
        *([("nonStandard", {"nonStandard-header": {"identification": 8}, "issuerID": ROAMING_APPLET_ISSUER,
                            "content": json.dumps(_roaming_applet(profile)).encode()})]
          if profile.applet is not None else []),
        ("end", {"end-header": {"identification": 6}}),
    ]
    return b"".join(SPEC.encode("ProfileElement", element) for element in elements)


__all__ = ["PackageError", "ProfileElement", "Subscription", "card_for", "card_profile", "decode", "encode",
           "subscription"]
