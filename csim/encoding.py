"""Encoders and decoders for the contents of SIM/USIM elementary files.

Plain Python, no I/O. Every decoder returns JSON-able data (str, int, bool, list, dict,
``None``); every encoder takes that same shape back, so ``encode(decode(x)) == x`` for
well-formed contents. Clause numbers refer to 3GPP TS 31.102 unless stated otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

# --------------------------------------------------------------------------- BCD helpers


def swap_bcd(digits: str, size: int | None = None) -> bytes:
    """Digits packed two per byte, low nibble first, ``F`` padded (TS 31.102 §4.2.2, TS 102 221 §13.2).

    ``digits`` may contain ``0-9`` and the hex filler ``f``/``F``; ``size`` pads with ``FF``.
    """
    text = digits.upper()
    if not re.fullmatch(r"[0-9A-F]*", text):
        raise ValueError(f"not BCD digits: {digits!r}")
    if len(text) % 2:
        text += "F"
    out = bytes(int(text[i + 1] + text[i], 16) for i in range(0, len(text), 2))
    if size is not None:
        if len(out) > size:
            raise ValueError(f"{digits!r} does not fit in {size} bytes")
        out += b"\xff" * (size - len(out))
    return out


def unswap_bcd(data: bytes) -> str:
    """Inverse of :func:`swap_bcd`: the digits up to the first ``F`` filler nibble."""
    out = []
    for b in data:
        for nib in (b & 0x0F, b >> 4):
            if nib == 0x0F:
                return "".join(out)
            out.append("0123456789ABCDE"[nib])
    return "".join(out)


# --------------------------------------------------------------------------- PLMN

_PLMN_RE = re.compile(r"^(\d{3})-(\d{2,3})$")
# TS 31.102 §4.2.59, §4.4.11.9: in EF_OPL / EF_OPL5G a BCD 'D' digit is a wild value
_WILD_PLMN_RE = re.compile(r"^([\dD]{3})-([\dD]{2,3})$")


def parse_plmn(plmn: str, wildcard: bool = False) -> tuple[str, str]:
    """Split ``"208-01"`` into ``("208", "01")``; raises ``ValueError`` on anything else. With
    ``wildcard``, a digit may be ``D`` (any digit, TS 31.102 §4.2.59): ``"214-0D"``."""
    text = plmn.upper() if wildcard and isinstance(plmn, str) else plmn
    m = (_WILD_PLMN_RE if wildcard else _PLMN_RE).match(text) if isinstance(text, str) else None
    if not m:
        digits = "digits or D" if wildcard else "digits"
        raise ValueError(f"not a PLMN 'MCC-MNC' (3 {digits}, dash, 2 or 3 {digits}): {plmn!r}")
    return m.group(1), m.group(2)


def plmn_matches(pattern: str, plmn: str) -> bool:
    """Whether the PLMN ``"214-03"`` is one the EF_OPL / EF_OPL5G entry ``pattern`` names, a
    ``D`` digit of the pattern standing for any digit (TS 31.102 §4.2.59, §4.4.11.9)."""
    if len(pattern) != len(plmn):
        return False
    return all(p == c or p == "D" for p, c in zip(pattern, plmn, strict=True))


def imsi_plmn(imsi: str, mnc_length: int) -> tuple[str, str]:
    """MCC and MNC of an IMSI: 3 digits, then ``mnc_length`` (EF_AD, TS 31.102 §4.2.18) digits,
    TS 23.003 §2.2."""
    return imsi[:3], imsi[3:3 + mnc_length]


def encode_plmn(plmn: str, wildcard: bool = False) -> bytes:
    """3-byte PLMN identity, TS 24.008 §10.5.1.3: MCC2|MCC1, MNC3|MCC3, MNC2|MNC1.

    ``encode_plmn("246-81") == bytes.fromhex("42F618")`` (TS 31.102 §4.2.16 example). With
    ``wildcard``, ``D`` digits are kept as the BCD value 'D' (TS 31.102 §4.2.59).
    """
    mcc, mnc = parse_plmn(plmn, wildcard)
    d = [int(c, 16) for c in mcc + mnc]
    mnc3 = d[5] if len(mnc) == 3 else 0x0F
    return bytes(((d[1] << 4) | d[0], (mnc3 << 4) | d[2], (d[4] << 4) | d[3]))


def decode_plmn(data: bytes, wildcard: bool = False) -> str | None:
    """Inverse of :func:`encode_plmn`; ``None`` for the unused entry ``FFFFFF``."""
    if len(data) != 3:
        raise ValueError("a PLMN is 3 bytes")
    if data == b"\xff\xff\xff":
        return None
    n = [data[0] & 0x0F, data[0] >> 4, data[1] & 0x0F, data[2] & 0x0F, data[2] >> 4, data[1] >> 4]
    digits = (*range(10), 0x0D) if wildcard else tuple(range(10))
    if any(d not in digits for d in n[:5]) or n[5] not in (*digits, 0x0F):
        raise ValueError(f"not a BCD PLMN: {data.hex().upper()}")
    text = "".join("0123456789ABCDEF"[d] for d in n)
    return f"{text[:3]}-{text[3:5]}{'' if n[5] == 0x0F else text[5]}"


def encode_plmn_list(plmns: Sequence[str | None], count: int) -> bytes:
    """``count`` 3-byte PLMN entries, unused ones ``FFFFFF`` (EF_FPLMN §4.2.16, EF_EHPLMN §4.2.84)."""
    if len(plmns) > count:
        raise ValueError(f"{len(plmns)} PLMNs do not fit in {count} entries")
    out = b"".join(b"\xff\xff\xff" if p is None else encode_plmn(p) for p in plmns)
    return out + b"\xff\xff\xff" * (count - len(plmns))


def decode_plmn_list(data: bytes) -> list[str | None]:
    """The entries of a PLMN list in order. ``FFFFFF`` is not a terminator (§4.2.16): an unused
    entry before a used one reads as ``None``; trailing unused entries are dropped."""
    out: list[str | None] = [decode_plmn(data[i:i + 3]) for i in range(0, len(data) - len(data) % 3, 3)]
    while out and out[-1] is None:
        out.pop()
    return out


# --------------------------------------------------------------------------- access technology

# TS 31.102 §4.2.5: byte 4 b8 UTRAN, b7 E-UTRAN (b6/b5 WB-S1/NB-S1), b4 NG-RAN;
# byte 5 b8 GSM (b3 GSM, b4 EC-GSM-IoT), b7 GSM COMPACT, b6 cdma2000 HRPD, b5 cdma2000 1xRTT.
ACT_BITS: dict[str, int] = {
    "ngran": 0x0800,
    "eutran": 0x4000,
    "eutran_wb": 0x6000,
    "eutran_nb": 0x5000,
    "utran": 0x8000,
    "gsm": 0x0084,
    "ec_gsm_iot": 0x0088,
    "gsm_compact": 0x0040,
    "cdma2000_hrpd": 0x0020,
    "cdma2000_1xrtt": 0x0010,
}
ACT_NAMES = tuple(ACT_BITS)


def encode_act(names: Iterable[str]) -> bytes:
    """2-byte access technology identifier (TS 31.102 §4.2.5)."""
    value = 0
    for name in names:
        if name not in ACT_BITS:
            raise ValueError(f"unknown access technology {name!r} (one of {', '.join(ACT_NAMES)})")
        value |= ACT_BITS[name]
    return value.to_bytes(2, "big")


def decode_act(data: bytes) -> list[str]:
    """Inverse of :func:`encode_act`; names in the order of :data:`ACT_BITS`."""
    v = int.from_bytes(data, "big")
    out = []
    if v & 0x0800:
        out.append("ngran")
    if v & 0x4000:
        wb, nb = v & 0x2000, v & 0x1000
        out.append("eutran_wb" if wb and not nb else "eutran_nb" if nb and not wb else "eutran")
    if v & 0x8000:
        out.append("utran")
    if v & 0x0080:
        if v & 0x0004 or not v & 0x0008:
            out.append("gsm")
        if v & 0x0008:
            out.append("ec_gsm_iot")
    for name in ("gsm_compact", "cdma2000_hrpd", "cdma2000_1xrtt"):
        if v & ACT_BITS[name]:
            out.append(name)
    return out


def encode_plmn_act_list(entries: Sequence[dict[str, Any] | None], count: int) -> bytes:
    """EF_PLMNwAcT / EF_OPLMNwAcT / EF_HPLMNwAcT (§4.2.5, §4.2.53, §4.2.54): ``count`` × 5 bytes.

    Each entry is ``{"plmn": "208-01", "act": ["eutran", ...]}``; unused entries ``FFFFFF0000``.
    """
    if len(entries) > count:
        raise ValueError(f"{len(entries)} PLMN/AcT entries do not fit in {count}")
    unused = b"\xff\xff\xff\x00\x00"
    out = b"".join(unused if e is None else encode_plmn(e["plmn"]) + encode_act(e.get("act", []))
                   for e in entries)
    return out + unused * (count - len(entries))


def decode_plmn_act_list(data: bytes) -> list[dict[str, Any] | None]:
    """The entries of a PLMN/AcT list in priority order; like :func:`decode_plmn_list`, an unused
    entry before a used one reads as ``None`` and trailing unused entries are dropped."""
    out: list[dict[str, Any] | None] = []
    for i in range(0, len(data) - len(data) % 5, 5):
        plmn = decode_plmn(data[i:i + 3])
        out.append(None if plmn is None else {"plmn": plmn, "act": decode_act(data[i + 3:i + 5])})
    while out and out[-1] is None:
        out.pop()
    return out


# --------------------------------------------------------------------------- IMSI / ICCID


def encode_imsi(imsi: str) -> bytes:
    """EF_IMSI, TS 31.102 §4.2.2: length byte, then digit 1 | parity | type 001, then swapped digits.

    ``encode_imsi("208011234567890") == bytes.fromhex("082980102143658709")``.
    """
    if not re.fullmatch(r"\d{6,15}", imsi or ""):
        raise ValueError(f"an IMSI is 6 to 15 digits: {imsi!r}")
    odd = len(imsi) % 2
    first = (int(imsi[0]) << 4) | (0x08 if odd else 0) | 0x01
    body = bytes([first]) + swap_bcd(imsi[1:])
    return (bytes([len(body)]) + body).ljust(9, b"\xff")


def decode_imsi(data: bytes) -> str | None:
    """Inverse of :func:`encode_imsi`; ``None`` for an erased file (length byte ``FF`` or 0)."""
    if len(data) < 2 or data[0] in (0x00, 0xFF):
        return None
    n = data[0]
    if n > len(data) - 1:
        raise ValueError(f"IMSI length byte {n} exceeds the file")
    first = data[1]
    if first & 0x07 != 0x01:
        raise ValueError(f"identity type {first & 0x07} is not IMSI")
    digits = str(first >> 4) + unswap_bcd(data[2:1 + n])
    odd = bool(first & 0x08)
    if (len(digits) % 2 == 1) != odd:
        raise ValueError("IMSI parity bit does not match the number of digits")
    return digits


def luhn_digit(digits: str) -> str:
    """The Luhn check digit to append to ``digits`` (ISO/IEC 7812-1 annex B, used by ITU-T E.118)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(digits: str) -> bool:
    """True when the last digit of ``digits`` is its Luhn check digit."""
    return len(digits) >= 2 and digits.isdigit() and luhn_digit(digits[:-1]) == digits[-1]


def encode_iccid(iccid: str) -> bytes:
    """EF_ICCID, TS 102 221 §13.2: 10 bytes of swapped BCD, ``F`` padded (ITU-T E.118)."""
    if not re.fullmatch(r"\d{18,20}", iccid or ""):
        raise ValueError(f"an ICCID is 18 to 20 digits: {iccid!r}")
    return swap_bcd(iccid, 10)


def decode_iccid(data: bytes) -> str:
    """Inverse of :func:`encode_iccid`."""
    return unswap_bcd(data)


# --------------------------------------------------------------------------- GSM 7-bit alphabet

# TS 23.038 §6.2.1: the GSM 7 bit default alphabet (0x1B is the escape to the extension table)
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# TS 23.038 §6.2.1.1: default alphabet extension table
GSM7_EXTENSION = {"\x0c": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
                  "]": 0x3E, "|": 0x40, "€": 0x65}
_GSM7_INDEX = {ch: i for i, ch in enumerate(GSM7_BASIC) if i != 0x1B}
_GSM7_EXT_REVERSE = {v: k for k, v in GSM7_EXTENSION.items()}


def gsm7_encode(text: str) -> bytes:
    """Unpacked GSM 7-bit default alphabet, one septet per byte with b8 = 0 (TS 23.038 §6.2.1).

    Raises ``ValueError`` naming the first character the alphabet cannot represent.
    """
    out = bytearray()
    for ch in text:
        if ch in _GSM7_INDEX:
            out.append(_GSM7_INDEX[ch])
        elif ch in GSM7_EXTENSION:
            out += bytes((0x1B, GSM7_EXTENSION[ch]))
        else:
            raise ValueError(f"character {ch!r} is not in the GSM 7-bit default alphabet")
    return bytes(out)


def gsm7_decode(data: bytes) -> str:
    """Inverse of :func:`gsm7_encode`; stops at the first ``FF`` filler byte."""
    out = []
    escape = False
    for b in data:
        if b == 0xFF:
            break
        b &= 0x7F
        if escape:
            out.append(_GSM7_EXT_REVERSE.get(b, " "))
            escape = False
        elif b == 0x1B:
            escape = True
        else:
            out.append(GSM7_BASIC[b])
    return "".join(out)


def gsm7_encodable(text: str) -> bool:
    try:
        gsm7_encode(text)
    except ValueError:
        return False
    return True


def encode_alpha(text: str, size: int, ucs2: bool = False) -> bytes:
    """Alpha field of SIM files (TS 31.102 annex A / TS 102 221 annex A): GSM 7-bit when possible
    and ``ucs2`` is false, otherwise UCS2 with the ``80`` prefix; ``FF`` padded to ``size``."""
    try:
        if ucs2:
            raise ValueError("UCS2 asked for")
        raw = gsm7_encode(text)
    except ValueError:
        raw = b"\x80" + text.encode("utf-16-be")
    if len(raw) > size:
        raise ValueError(f"{text!r} needs {len(raw)} bytes, the field holds {size}")
    return raw + b"\xff" * (size - len(raw))


def decode_alpha(data: bytes) -> str:
    """Inverse of :func:`encode_alpha` (GSM 7-bit unpacked or UCS2 ``80`` coding)."""
    if data[:1] == b"\x80":
        body = data[1:]
        chars = []
        for i in range(0, len(body) - 1, 2):
            if body[i:i + 2] == b"\xff\xff":
                break
            chars.append(body[i:i + 2].decode("utf-16-be"))
        return "".join(chars)
    return gsm7_decode(data)


# --------------------------------------------------------------------------- SPN


def encode_spn(name: str, display_plmn_on_home: bool = True, display_spn_when_roaming: bool = True,
               size: int = 17, ucs2: bool = False) -> bytes:
    """EF_SPN, TS 31.102 §4.2.12: display condition byte then the name (16 bytes).

    b1 = 1: display of the registered PLMN name required on the HPLMN/SPDI PLMNs;
    b2 = 0: display of the SPN required when not on the HPLMN/SPDI PLMNs. ``ucs2`` keeps the
    name in UCS2 (annex A, ``80`` coding) even where GSM 7-bit could hold it.
    """
    cond = (0x01 if display_plmn_on_home else 0x00) | (0x00 if display_spn_when_roaming else 0x02)
    return bytes([cond]) + encode_alpha(name, size - 1, ucs2)


def decode_spn(data: bytes) -> dict[str, Any]:
    """Inverse of :func:`encode_spn`; ``"ucs2": True`` only for a name in UCS2."""
    cond = data[0]
    out: dict[str, Any] = {
        "name": decode_alpha(data[1:]),
        "display_plmn_on_home": bool(cond & 0x01),
        "display_spn_when_roaming": not cond & 0x02,
    }
    if data[1:2] == b"\x80":
        out["ucs2"] = True
    return out


# --------------------------------------------------------------------------- MSISDN

# TON (b7..b5) and NPI (b4..b1) of the TON/NPI byte, TS 24.008 §10.5.4.7
TON_NAMES = {0: "unknown", 1: "international", 2: "national", 3: "network_specific", 4: "subscriber",
             5: "alphanumeric", 6: "abbreviated"}
NPI_NAMES = {0: "unknown", 1: "isdn", 3: "data", 4: "telex", 8: "national", 9: "private"}


def encode_msisdn(number: str | None, alpha: str = "", record_length: int = 28, ton: str | None = None,
                  npi: str = "isdn") -> bytes:
    """One EF_MSISDN / EF_ADN record, TS 31.102 §4.2.26 (X = ``record_length`` - 14).

    ``number`` is ``+E.164`` (TON international) or digits with ``ton`` (default ``unknown``);
    the TON/NPI byte is TS 24.008 §10.5.4.7 (b8 = 1). ``None`` gives an empty record (all ``FF``).
    """
    x = record_length - 14
    if x < 0:
        raise ValueError("an MSISDN record is at least 14 bytes")
    if number is None:
        return b"\xff" * record_length
    international = number.startswith("+")
    digits = number[1:] if international else number
    if not re.fullmatch(r"[0-9*#]{1,20}", digits):
        raise ValueError(f"not a dialling number: {number!r}")
    bcd = swap_bcd(digits.replace("*", "A").replace("#", "B"))
    if len(bcd) > 10:
        raise ValueError(f"{number!r} has more than 20 digits")
    ton = ton or ("international" if international else "unknown")
    if international != (ton == "international"):
        raise ValueError(f"{number!r}: a leading '+' goes with TON international, not {ton}")
    ton_npi = 0x80 | _code(TON_NAMES, ton, "type of number") << 4 | _code(NPI_NAMES, npi, "numbering plan")
    return (encode_alpha(alpha, x) + bytes([len(bcd) + 1, ton_npi]) + bcd.ljust(10, b"\xff")
            + b"\xff\xff")


def _code(table: dict[int, str], name: str, what: str) -> int:
    for code, n in table.items():
        if n == name:
            return code
    raise ValueError(f"unknown {what} {name!r} (one of {', '.join(table.values())})")


def decode_msisdn(data: bytes) -> dict[str, Any] | None:
    """Inverse of :func:`encode_msisdn`; ``None`` for an empty record."""
    x = len(data) - 14
    body = data[x:]
    if body[0] in (0x00, 0xFF):
        return None
    n, ton_npi = body[0], body[1]
    digits = unswap_bcd(body[2:1 + n]).replace("A", "*").replace("B", "#")
    ton = (ton_npi >> 4) & 0x07
    return {
        "alpha": decode_alpha(data[:x]) if x else "",
        "number": ("+" if ton == 1 else "") + digits,
        "ton": TON_NAMES.get(ton, str(ton)),
        "npi": NPI_NAMES.get(ton_npi & 0x0F, str(ton_npi & 0x0F)),
    }


# --------------------------------------------------------------------------- ACC, service tables


def encode_acc(classes: Iterable[int]) -> bytes:
    """EF_ACC, TS 31.102 §4.2.15: byte 1 b8..b1 = classes 15..8, byte 2 b8..b1 = classes 7..0."""
    v = 0
    for c in classes:
        if not 0 <= c <= 15:
            raise ValueError(f"access class {c} is not 0..15")
        v |= 1 << c
    return v.to_bytes(2, "big")


def decode_acc(data: bytes) -> list[int]:
    v = int.from_bytes(data[:2], "big")
    return [c for c in range(16) if v >> c & 1]


def encode_service_table(services: Iterable[int], size: int) -> bytes:
    """EF_UST / EF_EST (§4.2.8, §4.2.47): service n is bit (n-1) % 8 of byte (n-1) // 8."""
    out = bytearray(size)
    for n in services:
        if not 1 <= n <= size * 8:
            raise ValueError(f"service {n} does not fit a {size}-byte table")
        out[(n - 1) // 8] |= 1 << ((n - 1) % 8)
    return bytes(out)


def decode_service_table(data: bytes) -> list[int]:
    return [i * 8 + b + 1 for i, byte in enumerate(data) for b in range(8) if byte >> b & 1]


def encode_sst(services: Iterable[int], size: int) -> bytes:
    """EF_SST, TS 51.011 §10.3.7: two bits per service (b1 allocated, b2 activated), 4 per byte."""
    out = bytearray(size)
    for n in services:
        if not 1 <= n <= size * 4:
            raise ValueError(f"service {n} does not fit a {size}-byte SST")
        out[(n - 1) // 4] |= 0x03 << (2 * ((n - 1) % 4))
    return bytes(out)


def decode_sst(data: bytes) -> list[int]:
    """Services both allocated and activated."""
    return [i * 4 + k + 1 for i, byte in enumerate(data) for k in range(4) if (byte >> (2 * k)) & 3 == 3]


# --------------------------------------------------------------------------- EF_AD

UE_MODES = {0x00: "normal", 0x80: "type_approval", 0x01: "normal_specific", 0x81: "type_approval_specific",
            0x02: "maintenance", 0x04: "cell_test"}
_UE_MODE_CODES = {v: k for k, v in UE_MODES.items()}


# TS 31.102 §4.2.18 bytes 2-3 (additional information): b1..b4 of byte 3
AD_FLAGS = {0x0001: "ciphering_indicator", 0x0002: "csg_display_control", 0x0004: "prose_services",
            0x0008: "extended_drx"}


def encode_ad(value: dict[str, Any], size: int = 4) -> bytes:
    """EF_AD, TS 31.102 §4.2.18 / TS 51.011 §10.3.18: UE operation mode, additional information
    (bytes 2-3: the :data:`AD_FLAGS`, other bits as ``additional_info_rfu``), byte 4 low nibble the
    number of MNC digits in the IMSI (absent from a 3-byte file: ``mnc_length`` ``None``), then
    ``extensions`` (hex) from byte 5 on."""
    mnc_length = value.get("mnc_length")
    if mnc_length not in (2, 3, None):
        raise ValueError("MNC length is 2 or 3")
    ue_mode = value.get("ue_mode", "normal")
    if ue_mode not in _UE_MODE_CODES:
        raise ValueError(f"unknown UE operation mode {ue_mode!r}")
    info = int(value.get("additional_info_rfu", "0000"), 16)
    info |= sum(bit for bit, name in AD_FLAGS.items() if value.get(name))
    out = bytes([_UE_MODE_CODES[ue_mode]]) + info.to_bytes(2, "big")
    if mnc_length is not None:
        out += bytes([mnc_length]) + bytes.fromhex(value.get("extensions", ""))
    if len(out) > size:
        raise ValueError(f"EF_AD needs {len(out)} bytes, the file holds {size}")
    return out + b"\xff" * (size - len(out))


def decode_ad(data: bytes) -> dict[str, Any]:
    """Inverse of :func:`encode_ad`; flags and RFU bits appear only when set."""
    info = int.from_bytes(data[1:3], "big")
    out: dict[str, Any] = {"ue_mode": UE_MODES.get(data[0], f"{data[0]:02X}"),
                           "ciphering_indicator": bool(info & 0x0001)}
    out.update({name: True for bit, name in AD_FLAGS.items() if info & bit and bit != 0x0001})
    if info & ~0x000F:
        out["additional_info_rfu"] = f"{info & ~0x000F:04X}"
    out["mnc_length"] = data[3] & 0x0F if len(data) >= 4 else None
    if len(data) > 4 and data[4:].rstrip(b"\xff"):
        out["extensions"] = data[4:].hex().upper()
    return out


# --------------------------------------------------------------------------- LOCI / PSLOCI / EPSLOCI

LU_STATUS = {0: "updated", 1: "not_updated", 2: "plmn_not_allowed", 3: "la_not_allowed"}
RAU_STATUS = {0: "updated", 1: "not_updated", 2: "plmn_not_allowed", 3: "ra_not_allowed"}
EPS_STATUS = {0: "updated", 1: "not_updated", 2: "roaming_not_allowed"}


def _status_code(table: dict[int, str], name: str) -> int:
    for code, n in table.items():
        if n == name:
            return code
    raise ValueError(f"unknown update status {name!r} (one of {', '.join(table.values())})")


def _opt_hex(value: str | None, size: int) -> bytes:
    if value is None:
        return b"\xff" * size
    raw = bytes.fromhex(value)
    if len(raw) != size:
        raise ValueError(f"{value!r} is not {size} bytes")
    return raw


def _hex_or_none(data: bytes) -> str | None:
    return None if all(b == 0xFF for b in data) else data.hex().upper()


def _plmn_field(plmn: str | None) -> bytes:
    return b"\xff\xff\xff" if plmn is None else encode_plmn(plmn)


def _plmn_lenient(data: bytes) -> str | None:
    """A PLMN inside a location file; an erased value (any FF in MCC) reads as ``None``."""
    try:
        return decode_plmn(data)
    except ValueError:
        return None


def encode_loci(value: dict[str, Any]) -> bytes:
    """EF_LOCI, TS 31.102 §4.2.17: TMSI(4) ‖ LAI(PLMN 3, LAC 2) ‖ RFU(1) ‖ location update status(1)."""
    return (_opt_hex(value.get("tmsi"), 4) + _plmn_field(value.get("plmn"))
            + int(value.get("lac", 0)).to_bytes(2, "big") + bytes([value.get("rfu", 0xFF)])
            + bytes([_status_code(LU_STATUS, value.get("status", "not_updated"))]))


def decode_loci(data: bytes) -> dict[str, Any]:
    return {
        "tmsi": _hex_or_none(data[0:4]),
        "plmn": _plmn_lenient(data[4:7]),
        "lac": int.from_bytes(data[7:9], "big"),
        "rfu": data[9],
        "status": LU_STATUS.get(data[10] & 0x07, f"{data[10]:02X}"),
    }


def encode_psloci(value: dict[str, Any]) -> bytes:
    """EF_PSLOCI, TS 31.102 §4.2.23: P-TMSI(4) ‖ P-TMSI signature(3) ‖ RAI(PLMN 3, LAC 2, RAC 1) ‖
    routing area update status(1)."""
    return (_opt_hex(value.get("ptmsi"), 4) + _opt_hex(value.get("ptmsi_signature"), 3)
            + _plmn_field(value.get("plmn")) + int(value.get("lac", 0)).to_bytes(2, "big")
            + bytes([value.get("rac", 0)])
            + bytes([_status_code(RAU_STATUS, value.get("status", "not_updated"))]))


def decode_psloci(data: bytes) -> dict[str, Any]:
    return {
        "ptmsi": _hex_or_none(data[0:4]),
        "ptmsi_signature": _hex_or_none(data[4:7]),
        "plmn": _plmn_lenient(data[7:10]),
        "lac": int.from_bytes(data[10:12], "big"),
        "rac": data[12],
        "status": RAU_STATUS.get(data[13] & 0x07, f"{data[13]:02X}"),
    }


def encode_epsloci(value: dict[str, Any]) -> bytes:
    """EF_EPSLOCI, TS 31.102 §4.2.91: GUTI(12) ‖ last visited registered TAI(PLMN 3, TAC 2) ‖
    EPS update status(1)."""
    return (_opt_hex(value.get("guti"), 12) + _plmn_field(value.get("plmn"))
            + int(value.get("tac", 0)).to_bytes(2, "big")
            + bytes([_status_code(EPS_STATUS, value.get("status", "not_updated"))]))


def decode_epsloci(data: bytes) -> dict[str, Any]:
    return {
        "guti": _hex_or_none(data[0:12]),
        "plmn": _plmn_lenient(data[12:15]),
        "tac": int.from_bytes(data[15:17], "big"),
        "status": EPS_STATUS.get(data[17] & 0x07, f"{data[17]:02X}"),
    }


# --------------------------------------------------------------------------- ACL, EF_DIR


def encode_apn(apn: str) -> bytes:
    """APN in label format, TS 23.003 §9.1: each dot-separated label prefixed by its length."""
    if apn == "":
        return b""
    out = bytearray()
    for label in apn.split("."):
        raw = label.encode("ascii")
        if not 1 <= len(raw) <= 63:
            raise ValueError(f"APN label {label!r} must be 1..63 characters")
        out += bytes([len(raw)]) + raw
    return bytes(out)


def decode_apn(data: bytes) -> str:
    labels, i = [], 0
    while i < len(data):
        n = data[i]
        labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return ".".join(labels)


def encode_acl(apns: Sequence[str], size: int) -> bytes:
    """EF_ACL, TS 31.102 §4.2.48: number of APNs, then ``DD`` TLVs (``DD 00`` = network provided APN)."""
    out = bytearray([len(apns)])
    for apn in apns:
        raw = encode_apn(apn)
        out += bytes([0xDD, len(raw)]) + raw
    if len(out) > size:
        raise ValueError(f"the APN list needs {len(out)} bytes, EF_ACL holds {size}")
    return bytes(out) + b"\xff" * (size - len(out))


def decode_acl(data: bytes) -> list[str]:
    count, i, out = data[0], 1, []
    if count == 0xFF:
        return []
    while len(out) < count and i + 1 < len(data) and data[i] == 0xDD:
        n = data[i + 1]
        out.append(decode_apn(data[i + 2:i + 2 + n]))
        i += 2 + n
    return out


def encode_dir_record(aid: bytes, label: str, record_length: int, other: str = "") -> bytes:
    """EF_DIR record, TS 102 221 §13.1: application template ``61`` {``4F`` AID, ``50`` label, then
    ``other`` (hex of further data objects, the discretionary template ``73`` say)}."""
    lab = label.encode("utf-8")
    inner = bytes([0x4F, len(aid)]) + aid + bytes([0x50, len(lab)]) + lab + bytes.fromhex(other)
    rec = bytes([0x61, len(inner)]) + inner
    if len(rec) > record_length:
        raise ValueError(f"application template needs {len(rec)} bytes, record is {record_length}")
    return rec + b"\xff" * (record_length - len(rec))


def decode_dir_record(data: bytes) -> dict[str, Any] | None:
    """Inverse of :func:`encode_dir_record`; ``other`` only when the template holds more objects."""
    if not data or data[0] != 0x61:
        return None
    end = 2 + data[1]
    i, out = 2, {"aid": None, "label": None}
    other = b""
    while i + 1 < end:
        tag, n = data[i], data[i + 1]
        value = data[i + 2:i + 2 + n]
        if tag == 0x4F:
            out["aid"] = value.hex().upper()
        elif tag == 0x50:
            out["label"] = value.decode("utf-8", "replace")
        else:
            other += data[i:i + 2 + n]
        i += 2 + n
    if other:
        out["other"] = other.hex().upper()
    return out


# --------------------------------------------------------------------------- small files


def encode_hpplmn(minutes: int) -> bytes:
    """EF_HPPLMN, TS 31.102 §4.2.6: higher priority PLMN search period, n × 6 minutes (0 = none)."""
    if minutes % 6 or not 0 <= minutes <= 6 * 255:
        raise ValueError("the HPLMN search period is a multiple of 6 minutes")
    return bytes([minutes // 6])


def decode_hpplmn(data: bytes) -> dict[str, int]:
    return {"minutes": data[0] * 6}


def encode_languages(codes: Sequence[str], size: int) -> bytes:
    """EF_LI (§4.2.1) / EF_PL (TS 102 221 §13.5): ISO 639 alpha-2 codes, 2 bytes each, ``FF`` padded."""
    out = bytearray()
    for code in codes:
        if not re.fullmatch(r"[a-z]{2}", code):
            raise ValueError(f"not an ISO 639 two-letter language code: {code!r}")
        out += code.encode("ascii")
    if len(out) > size:
        raise ValueError(f"{len(codes)} languages do not fit in {size} bytes")
    return bytes(out) + b"\xff" * (size - len(out))


def decode_languages(data: bytes) -> list[str]:
    out = []
    for i in range(0, len(data) - 1, 2):
        pair = data[i:i + 2]
        if pair != b"\xff\xff":
            out.append(pair.decode("ascii", "replace"))
    return out


def encode_keys(value: dict[str, Any]) -> bytes:
    """EF_KEYS / EF_KEYSPS, TS 31.102 §4.2.9: KSI(1, ``07`` = no key) ‖ CK(16) ‖ IK(16)."""
    return bytes([value.get("ksi", 7)]) + _opt_hex(value.get("ck"), 16) + _opt_hex(value.get("ik"), 16)


def decode_keys(data: bytes) -> dict[str, Any]:
    return {"ksi": data[0] & 0x07, "ck": _hex_or_none(data[1:17]), "ik": _hex_or_none(data[17:33])}


def encode_kc(value: dict[str, Any]) -> bytes:
    """EF_Kc / EF_KcGPRS, TS 51.011 §10.3.13: Kc(8) ‖ CKSN(1, ``07`` = no key)."""
    return _opt_hex(value.get("kc"), 8) + bytes([value.get("cksn", 7)])


def decode_kc(data: bytes) -> dict[str, Any]:
    return {"kc": _hex_or_none(data[0:8]), "cksn": data[8] & 0x07}


PHASES = {0x00: "phase1", 0x02: "phase2", 0x03: "phase2+"}


def encode_phase(phase: str) -> bytes:
    """EF_Phase, TS 51.011 §10.3.19."""
    for code, name in PHASES.items():
        if name == phase:
            return bytes([code])
    raise ValueError(f"unknown phase {phase!r}")


def decode_phase(data: bytes) -> str:
    return PHASES.get(data[0], f"{data[0]:02X}")


def encode_ehplmnpi(indication: str) -> bytes:
    """EF_EHPLMNPI, TS 31.102 §4.2.85."""
    codes = {"none": 0, "highest": 1, "all": 2}
    return bytes([codes[indication]])


def decode_ehplmnpi(data: bytes) -> str:
    return {0: "none", 1: "highest", 2: "all"}.get(data[0], f"{data[0]:02X}")


# --------------------------------------------------------------------------- EF_ARR

KEY_REFS = {"PIN1": 0x01, "PIN2": 0x81, "ADM1": 0x0A}
_KEY_NAMES = {v: k for k, v in KEY_REFS.items()}
# access mode byte of an EF, TS 102 221 §9.3 / ISO/IEC 7816-4 table 17
AM_READ, AM_UPDATE, AM_DEACTIVATE, AM_ACTIVATE = 0x01, 0x02, 0x08, 0x10
_AM_NAMES = ((AM_READ, "read"), (AM_UPDATE, "update"), (0x04, "write"), (AM_DEACTIVATE, "deactivate"),
             (AM_ACTIVATE, "activate"), (0x20, "terminate"), (0x40, "delete"))


def _sc_do(condition: str) -> bytes:
    if condition == "ALW":
        return b"\x90\x00"
    if condition == "NEV":
        return b"\x97\x00"
    if condition not in KEY_REFS:
        raise ValueError(f"unknown access condition {condition!r}")
    return bytes((0xA4, 0x06, 0x83, 0x01, KEY_REFS[condition], 0x95, 0x01, 0x08))


def encode_arr_rule(rules: Sequence[dict[str, Any]], record_length: int) -> bytes:
    """One EF_ARR record in expanded format, TS 102 221 §9.2.4: an AM_DO, ``80`` access mode byte
    (``ops``) or ``84`` command header INS (``ins``), then its SC_DO (``90 00`` always, ``97 00``
    never, ``A4 {83 key reference, 95 08}`` user verification)."""
    out = bytearray()
    for rule in rules:
        if "ins" in rule:
            out += bytes((0x84, 0x01, rule["ins"])) + _sc_do(rule["condition"])
            continue
        mode = 0
        for op in rule["ops"]:
            mode |= next(bit for bit, name in _AM_NAMES if name == op)
        out += bytes((0x80, 0x01, mode)) + _sc_do(rule["condition"])
    if len(out) > record_length:
        raise ValueError(f"access rule needs {len(out)} bytes, record is {record_length}")
    return bytes(out) + b"\xff" * (record_length - len(out))


def decode_arr_rule(data: bytes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    i = 0
    while i + 1 < len(data) and data[i] in (0x80, 0x84):
        am_tag, mode = data[i], data[i + 2]
        i += 2 + data[i + 1]
        tag, n = data[i], data[i + 1]
        body = data[i + 2:i + 2 + n]
        i += 2 + n
        if tag == 0x90:
            cond = "ALW"
        elif tag == 0x97:
            cond = "NEV"
        elif tag == 0xA4 and len(body) >= 3 and body[0] == 0x83:
            cond = _KEY_NAMES.get(body[2], f"key {body[2]:02X}")
        else:
            cond = f"{tag:02X}"
        if am_tag == 0x84:
            out.append({"ins": mode, "condition": cond})
        else:
            out.append({"ops": [name for bit, name in _AM_NAMES if mode & bit], "condition": cond})
    return out


# --------------------------------------------------------------------------- emergency call codes

# TS 24.008 §10.5.4.33 emergency service category value, b1..b7
ECC_CATEGORIES = {0x01: "police", 0x02: "ambulance", 0x04: "fire_brigade", 0x08: "marine_guard",
                  0x10: "mountain_rescue", 0x20: "manual_ecall", 0x40: "automatic_ecall"}


def encode_ecc_record(value: dict[str, Any] | None, record_length: int) -> bytes:
    """One EF_ECC record of ADF.USIM, TS 31.102 §4.2.21: emergency call code (3 bytes BCD),
    alpha identifier (``record_length`` - 4 bytes), emergency service category (1 byte)."""
    if value is None:
        return b"\xff" * record_length
    code = swap_bcd(value["code"], 3)
    category = 0
    for name in value.get("categories", []):
        category |= _code(ECC_CATEGORIES, name, "emergency service category")
    return code + encode_alpha(value.get("alpha", ""), record_length - 4) + bytes([category])


def decode_ecc_record(data: bytes) -> dict[str, Any] | None:
    """Inverse of :func:`encode_ecc_record`; ``None`` for an unused record."""
    if data[:3] == b"\xff\xff\xff":
        return None
    return {"code": unswap_bcd(data[:3]), "alpha": decode_alpha(data[3:-1]),
            "categories": [name for bit, name in ECC_CATEGORIES.items() if data[-1] & bit]}


def encode_gsm_ecc(codes: Sequence[str], size: int) -> bytes:
    """EF_ECC of DF_GSM, TS 51.011 §10.3.27: up to 5 emergency call codes of 3 bytes BCD."""
    if 3 * len(codes) > size:
        raise ValueError(f"{len(codes)} emergency call codes do not fit in {size} bytes")
    return b"".join(swap_bcd(c, 3) for c in codes) + b"\xff" * (size - 3 * len(codes))


def decode_gsm_ecc(data: bytes) -> list[str]:
    return [unswap_bcd(data[i:i + 3]) for i in range(0, len(data) - 2, 3) if data[i:i + 3] != b"\xff\xff\xff"]


# --------------------------------------------------------------------------- START-HFN, THRESHOLD


def encode_start_hfn(value: dict[str, int]) -> bytes:
    """EF_START-HFN, TS 31.102 §4.2.51: START-CS (3 bytes) ‖ START-PS (3 bytes), TS 33.102 §6.4.8."""
    return value["start_cs"].to_bytes(3, "big") + value["start_ps"].to_bytes(3, "big")


def decode_start_hfn(data: bytes) -> dict[str, int]:
    return {"start_cs": int.from_bytes(data[0:3], "big"), "start_ps": int.from_bytes(data[3:6], "big")}


def encode_threshold(value: dict[str, int]) -> bytes:
    """EF_THRESHOLD, TS 31.102 §4.2.52: the maximum value of START-CS / START-PS (3 bytes)."""
    return value["max_start"].to_bytes(3, "big")


def decode_threshold(data: bytes) -> dict[str, int]:
    return {"max_start": int.from_bytes(data[0:3], "big")}


# --------------------------------------------------------------------------- EF_LP, EF_OPL

# TS 23.038 §5: language codes of the CBS data coding scheme (group 0000), as EF_LP stores them
GSM_LANGUAGES = {"de": 0x00, "en": 0x01, "it": 0x02, "fr": 0x03, "es": 0x04, "nl": 0x05, "sv": 0x06,
                 "da": 0x07, "pt": 0x08, "fi": 0x09, "no": 0x0A, "el": 0x0B, "tr": 0x0C, "hu": 0x0D,
                 "pl": 0x0E}
_GSM_LANGUAGE_NAMES = {v: k for k, v in GSM_LANGUAGES.items()}


def gsm_languages(codes: Iterable[str]) -> list[str]:
    """The ISO 639 codes among ``codes`` that EF_LP can hold (:data:`GSM_LANGUAGES`), in order."""
    return [c for c in codes if c in GSM_LANGUAGES]


def encode_lp(codes: Sequence[str], size: int) -> bytes:
    """EF_LP, TS 51.011 §10.3.1: one byte per language (TS 23.038 §5 codes), ``FF`` padded. A code
    is an ISO 639 name of :data:`GSM_LANGUAGES` or two hex digits."""
    raw = bytes(GSM_LANGUAGES[c] if c in GSM_LANGUAGES else int(c, 16) for c in codes)
    if len(raw) > size:
        raise ValueError(f"{len(codes)} languages do not fit in {size} bytes")
    return raw + b"\xff" * (size - len(raw))


def decode_lp(data: bytes) -> list[str]:
    return [_GSM_LANGUAGE_NAMES.get(b, f"{b:02X}") for b in data if b != 0xFF]


def _encode_plmn_range(value: dict[str, Any] | None, record_length: int, width: int, low: str,
                       high: str) -> bytes:
    """PLMN (3, 'D' wild digits) ‖ area code range (``width`` + ``width`` bytes) ‖ PNN record
    number (1), ``FF`` padded: an EF_OPL or EF_OPL5G record."""
    if value is None:
        return b"\xff" * record_length
    raw = (encode_plmn(value["plmn"], wildcard=True) + int(value[low]).to_bytes(width, "big")
           + int(value[high]).to_bytes(width, "big") + bytes([value["pnn_record"]]))
    if len(raw) > record_length:
        raise ValueError(f"an entry is {len(raw)} bytes, a record holds {record_length}")
    return raw + b"\xff" * (record_length - len(raw))


def _decode_plmn_range(data: bytes, width: int, low: str, high: str) -> dict[str, Any] | None:
    if data[:3] == b"\xff\xff\xff":
        return None
    return {"plmn": decode_plmn(data[:3], wildcard=True), low: int.from_bytes(data[3:3 + width], "big"),
            high: int.from_bytes(data[3 + width:3 + 2 * width], "big"), "pnn_record": data[3 + 2 * width]}


def encode_opl_record(value: dict[str, Any] | None, record_length: int) -> bytes:
    """One EF_OPL record, TS 31.102 §4.2.59: PLMN (3; a 'D' digit matches any digit) ‖ LAC/TAC
    range (2 + 2; 0000-FFFE is the whole PLMN) ‖ PNN record number (1)."""
    return _encode_plmn_range(value, record_length, 2, "lac_min", "lac_max")


def decode_opl_record(data: bytes) -> dict[str, Any] | None:
    """Inverse of :func:`encode_opl_record`; None for an unused record."""
    return _decode_plmn_range(data, 2, "lac_min", "lac_max")


def encode_opl5g_record(value: dict[str, Any] | None, record_length: int) -> bytes:
    """One EF_OPL5G record, TS 31.102 §4.4.11.9: PLMN (3; a 'D' digit matches any digit) ‖ 5GS
    TAC range (3 + 3; 000000-FFFFFE is the whole PLMN) ‖ PNN record number (1)."""
    return _encode_plmn_range(value, record_length, 3, "tac_min", "tac_max")


def decode_opl5g_record(data: bytes) -> dict[str, Any] | None:
    """Inverse of :func:`encode_opl5g_record`; None for an unused record."""
    return _decode_plmn_range(data, 3, "tac_min", "tac_max")


def gsm7_pack(septets: bytes) -> bytes:
    """Septets packed 8 to 7 bytes, the first in the low bits (TS 23.038 §6.1.2.1.1)."""
    acc = bits = 0
    out = bytearray()
    for s in septets:
        acc |= (s & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


def gsm7_unpack(data: bytes, count: int) -> bytes:
    """The first ``count`` septets of packed ``data`` (inverse of :func:`gsm7_pack`)."""
    value = int.from_bytes(data, "little")
    return bytes((value >> (7 * i)) & 0x7F for i in range(count))


def encode_network_name(name: str) -> bytes:
    """Network name contents, TS 24.008 §10.5.3.5a octets 3..n: ext 1, coding scheme (000 GSM 7-bit
    default alphabet packed, 001 UCS2 big-endian), no country initials, spare bits of the last octet;
    then the text."""
    try:
        septets = gsm7_encode(name)
    except ValueError:
        return b"\x90" + name.encode("utf-16-be")
    spare = (8 - (7 * len(septets)) % 8) % 8
    return bytes([0x80 | spare]) + gsm7_pack(septets)


def decode_network_name(data: bytes) -> str:
    """Inverse of :func:`encode_network_name`."""
    scheme, spare = (data[0] >> 4) & 0x07, data[0] & 0x07
    text = data[1:]
    if scheme == 1:
        return text[: len(text) // 2 * 2].decode("utf-16-be")
    if scheme != 0:
        raise ValueError(f"network name coding scheme {scheme} (TS 24.008 §10.5.3.5a: 0 or 1)")
    return gsm7_decode(gsm7_unpack(text, (8 * len(text) - spare) // 7))


def encode_pnn_record(value: dict[str, Any] | None, record_length: int) -> bytes:
    """One EF_PNN record, TS 31.102 §4.2.58: full name (tag 43), optional short name (tag 45) as network
    name IEs of TS 24.008 §10.5.3.5a, optional PLMN additional information (tag 80, hex); ``FF`` padded."""
    if value is None:
        return b"\xff" * record_length
    raw = b""
    for tag, text in ((0x43, value["full"]), (0x45, value.get("short"))):
        if text is not None:
            body = encode_network_name(text)
            raw += bytes([tag, len(body)]) + body
    info = bytes.fromhex(value.get("info") or "")
    if info:
        raw += bytes([0x80, len(info)]) + info
    if len(raw) > record_length:
        raise ValueError(f"the names need {len(raw)} bytes, a record holds {record_length}")
    return raw + b"\xff" * (record_length - len(raw))


def decode_pnn_record(data: bytes) -> dict[str, Any] | None:
    """Inverse of :func:`encode_pnn_record`; None for an unused record."""
    out: dict[str, Any] = {}
    i = 0
    while i + 2 <= len(data) and data[i] != 0xFF:
        tag, n = data[i], data[i + 1]
        body = data[i + 2:i + 2 + n]
        if tag == 0x43:
            out["full"] = decode_network_name(body)
        elif tag == 0x45:
            out["short"] = decode_network_name(body)
        elif tag == 0x80:
            out["info"] = body.hex().upper()
        i += 2 + n
    return out if "full" in out else None


def encode_spdi(plmns: Sequence[str], size: int) -> bytes:
    """EF_SPDI, TS 31.102 §4.2.66: tag A3 holding tag 80 with the service provider PLMN list."""
    body = b"".join(encode_plmn(p) for p in plmns)
    raw = bytes([0xA3, len(body) + 2, 0x80, len(body)]) + body
    if len(raw) > size:
        raise ValueError(f"{len(plmns)} PLMNs need {len(raw)} bytes, the file holds {size}")
    return raw + b"\xff" * (size - len(raw))


def decode_spdi(data: bytes) -> list[str]:
    """Inverse of :func:`encode_spdi` (unused ``FFFFFF`` entries left out)."""
    if len(data) < 4 or data[0] != 0xA3 or data[2] != 0x80:
        return []
    body = data[4:4 + data[3]]
    return [p for p in (decode_plmn(body[i:i + 3]) for i in range(0, len(body) - 2, 3)) if p]


# --------------------------------------------------------------------------- DF_5GS


def encode_5gs_loci(value: dict[str, Any]) -> bytes:
    """EF_5GS3GPPLOCI / EF_5GSN3GPPLOCI, TS 31.102 §4.4.11.2: 5G-GUTI (13) ‖ last visited registered
    TAI (PLMN 3, TAC 3) ‖ 5GS update status (1, TS 24.501 §5.1.3.2.2)."""
    return (_opt_hex(value.get("guti"), 13) + _plmn_field(value.get("plmn"))
            + int(value.get("tac", 0)).to_bytes(3, "big")
            + bytes([_status_code(EPS_STATUS, value.get("status", "not_updated"))]))


def decode_5gs_loci(data: bytes) -> dict[str, Any]:
    return {
        "guti": _hex_or_none(data[0:13]),
        "plmn": _plmn_lenient(data[13:16]),
        "tac": int.from_bytes(data[16:19], "big"),
        "status": EPS_STATUS.get(data[19] & 0x07, f"{data[19]:02X}"),
    }


PROTECTION_SCHEMES = {0: "null", 1: "A", 2: "B"}  # TS 33.501 Annex C.1, C.3.4


def _tlv(tag: int, value: bytes) -> bytes:
    if len(value) > 0xFF:
        raise ValueError(f"a TLV of {len(value)} bytes does not fit")
    return bytes([tag]) + (bytes([0x81]) if len(value) > 0x7F else b"") + bytes([len(value)]) + value


def _tlvs(data: bytes, last: int | None = None) -> list[tuple[int, bytes]]:
    """One-byte tag BER-TLVs up to the first ``FF`` padding byte (lengths up to ``81 xx``), or up to
    the TLV of tag ``last``."""
    out: list[tuple[int, bytes]] = []
    k = 0
    while k < len(data) and data[k] != 0xFF and not (out and out[-1][0] == last):
        if k + 2 > len(data):
            raise ValueError(f"truncated TLV at byte {k}")
        tag, n, k = data[k], data[k + 1], k + 2
        if n == 0x81:
            if k >= len(data):
                raise ValueError("truncated TLV length")
            n, k = data[k], k + 1
        elif n > 0x7F:
            raise ValueError(f"TLV length form {n:02X} not used here")
        if k + n > len(data):
            raise ValueError(f"TLV {tag:02X} runs past the end of the file")
        out.append((tag, data[k:k + n]))
        k += n
    return out


def encode_suci_calc_info(value: dict[str, Any], size: int) -> bytes:
    """EF_SUCI_Calc_Info, TS 31.102 §4.4.11.8: the protection scheme identifier list (tag A0: scheme
    identifier and key index per entry, highest priority first) and the home network public key
    list (tag A1: key identifier 80, key 81 per key; left out when empty). Shape of pySim's
    ``EF_SUCI_Calc_Info``: ``{prot_scheme_id_list: [{priority, identifier, key_index}],
    hnet_pubkey_list: [{hnet_pubkey_identifier, hnet_pubkey}]}``."""
    schemes = sorted(value.get("prot_scheme_id_list", []), key=lambda e: int(e["priority"]))
    out = _tlv(0xA0, b"".join(bytes([int(e["identifier"]), int(e["key_index"])]) for e in schemes))
    keys = value.get("hnet_pubkey_list", [])
    if keys:
        out += _tlv(0xA1, b"".join(
            _tlv(0x80, bytes([int(k["hnet_pubkey_identifier"])]))
            + _tlv(0x81, bytes.fromhex(k["hnet_pubkey"])) for k in keys))
    if len(out) > size:
        raise ValueError(f"EF_SUCI_Calc_Info needs {len(out)} bytes, the file holds {size}")
    return out + b"\xff" * (size - len(out))


def decode_suci_calc_info(data: bytes) -> dict[str, Any]:
    """Inverse of :func:`encode_suci_calc_info`; ``ValueError`` for a malformed file. What follows
    the key list is not read: a terminal writing a shorter list over a longer one (pySim's
    ``update_binary_decoded``) leaves the old tail there."""
    schemes: list[dict[str, int]] = []
    keys: list[dict[str, Any]] = []
    for tag, value in _tlvs(data, last=0xA1):
        if tag == 0xA0:
            if len(value) % 2:
                raise ValueError("protection scheme identifier list of an odd length")
            schemes = [{"priority": n, "identifier": value[2 * n], "key_index": value[2 * n + 1]}
                       for n in range(len(value) // 2)]
        elif tag == 0xA1:
            pending: int | None = None
            for inner, v in _tlvs(value):
                if inner == 0x80 and len(v) == 1:
                    pending = v[0]
                elif inner == 0x81 and pending is not None:
                    keys.append({"hnet_pubkey_identifier": pending, "hnet_pubkey": v.hex().upper()})
                    pending = None
                else:
                    raise ValueError(f"home network public key list: unexpected tag {inner:02X}")
    return {"prot_scheme_id_list": schemes, "hnet_pubkey_list": keys}


# --------------------------------------------------------------------------- ISIM, TS 31.103


def encode_ims_text(text: str, size: int) -> bytes:
    """EF_IMPI / EF_DOMAIN / EF_IMPU record, TS 31.103 §4.2.2-§4.2.4: a ``80`` TLV holding the NAI,
    domain name or SIP URI in UTF-8, ``FF`` padded."""
    raw = text.encode("utf-8")
    if len(raw) > 127:
        raise ValueError(f"{text!r} is longer than 127 bytes")
    out = bytes([0x80, len(raw)]) + raw
    if len(out) > size:
        raise ValueError(f"{text!r} needs {len(out)} bytes, the file holds {size}")
    return out + b"\xff" * (size - len(out))


def decode_ims_text(data: bytes) -> str | None:
    if data[:1] != b"\x80":
        return None
    return data[2:2 + data[1]].decode("utf-8", "replace")


PCSCF_TYPES = {0x00: "fqdn", 0x01: "ipv4", 0x02: "ipv6"}


def encode_pcscf(value: dict[str, str] | None, record_length: int) -> bytes:
    """One EF_P-CSCF record, TS 31.103 §4.2.8: ``80`` TLV {address type (00 FQDN, 01 IPv4, 02 IPv6),
    address}."""
    import ipaddress

    if value is None:
        return b"\xff" * record_length
    kind = _code(PCSCF_TYPES, value["type"], "P-CSCF address type")
    raw = value["address"].encode("ascii") if kind == 0 else ipaddress.ip_address(value["address"]).packed
    out = bytes([0x80, len(raw) + 1, kind]) + raw
    if len(out) > record_length:
        raise ValueError(f"P-CSCF {value['address']!r} needs {len(out)} bytes, "
                         f"the record holds {record_length}")
    return out + b"\xff" * (record_length - len(out))


def decode_pcscf(data: bytes) -> dict[str, str] | None:
    import ipaddress

    if data[:1] != b"\x80":
        return None
    kind, raw = data[2], data[3:2 + data[1]]
    address = raw.decode("ascii", "replace") if kind == 0 else str(ipaddress.ip_address(raw))
    return {"address": address, "type": PCSCF_TYPES.get(kind, f"{kind:02X}")}
