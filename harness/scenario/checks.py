"""What expectations compare with: mismatches, hex and status-word patterns, EF names.

Every step group's checks (:mod:`harness.scenario.expectations`, the plan and data steps)
report :class:`Mismatch` records built with these helpers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Instruction bytes by name (ISO/IEC 7816-4 §5, TS 102 221 §10.1.2, TS 102 223 §6).
INS_NAMES = {
    "SELECT": 0xA4, "STATUS": 0xF2, "READ BINARY": 0xB0, "UPDATE BINARY": 0xD6,
    "READ RECORD": 0xB2, "UPDATE RECORD": 0xDC, "SEARCH RECORD": 0xA2, "INCREASE": 0x32,
    "VERIFY": 0x20, "VERIFY PIN": 0x20, "CHANGE PIN": 0x24, "DISABLE PIN": 0x26, "ENABLE PIN": 0x28,
    "UNBLOCK PIN": 0x2C, "DEACTIVATE FILE": 0x04, "ACTIVATE FILE": 0x44, "AUTHENTICATE": 0x88,
    "GET CHALLENGE": 0x84, "TERMINAL PROFILE": 0x10, "ENVELOPE": 0xC2, "FETCH": 0x12,
    "TERMINAL RESPONSE": 0x14, "MANAGE CHANNEL": 0x70, "GET RESPONSE": 0xC0,
}
_HEX_CLEAN = re.compile(r"\s+")
_EF_PATH = re.compile(r"^[0-9A-Fa-f]{4}(/[0-9A-Fa-f]{4})*$")


@dataclass(slots=True)
class Mismatch:
    key: str
    expected: Any
    actual: Any
    line: int | None = None


def clean_hex(text: str) -> str:
    return _HEX_CLEAN.sub("", str(text)).upper()


def sw_matches(pattern: str, sw: bytes) -> bool:
    """``9000`` / ``91XX`` / ``6?82``: X and ? match any nibble."""
    actual = sw.hex().upper()
    pat = clean_hex(pattern)
    return len(pat) == 4 and all(p in "X?" or p == a for p, a in zip(pat, actual, strict=True))


def hex_matches(pattern: str, data: bytes) -> bool:
    """Exact hex match where ``..`` stands for any byte."""
    pat = clean_hex(pattern)
    actual = data.hex().upper()
    if len(pat) != len(actual):
        return False
    return all(p == "." or p == a for p, a in zip(pat, actual, strict=True))


def hex_prefix_match(pattern: str, data: bytes) -> bool:
    """EF contents match when the pattern matches the start and the rest is FF padding."""
    pat = clean_hex(pattern)
    n = len(pat) // 2
    if n > len(data):
        return False
    head, rest = data[:n], data[n:]
    return hex_matches(pat, head) and all(b == 0xFF for b in rest)


def ins_of(spec: str) -> int:
    key = str(spec).upper().replace("_", " ").strip()
    if key in INS_NAMES:
        return INS_NAMES[key]
    return int(key, 16)


def count_ok(spec: Mapping[str, Any], n: int) -> bool:
    """``n`` satisfies the spec's ``count`` / ``min`` / ``max`` (at least one by default)."""
    if "count" in spec:
        return n == spec["count"]
    hi = spec.get("max")
    return n >= spec.get("min", 1 if "max" not in spec else 0) and (hi is None or n <= hi)


def count_check(key: str, spec: Mapping[str, Any], n: int, line: int | None) -> Mismatch | None:
    if count_ok(spec, n):
        return None
    if "count" in spec:
        return Mismatch(key, f"count == {spec['count']}", n, line)
    lo = spec.get("min", 1 if "max" not in spec else 0)
    hi = spec.get("max")
    want = f"count >= {lo}" if hi is None else f"{lo} <= count <= {hi}"
    return Mismatch(key, want, n, line)


def same(expected: Any, actual: Any) -> bool:
    kind = type(actual)
    if kind is not bytes and kind is not bytearray and expected == actual:
        return True  # equal values match (True == 1 included, as below)
    if isinstance(actual, bytes | bytearray):
        return isinstance(expected, str) and clean_hex(expected) == bytes(actual).hex().upper()
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual or expected == actual
    if expected == actual:
        return True
    if isinstance(actual, list | tuple) and isinstance(expected, list):
        return len(actual) == len(expected) and all(
            same(e, a) for e, a in zip(expected, actual, strict=True))
    return actual is not None and str(expected) == str(actual)



def ef_path(name: str) -> str | None:
    """The path of an EF given by path (``3F00/7FF0/6F07``), key (``ADF_USIM/EF_IMSI``) or
    name (``EF_IMSI`` or ``IMSI``; the ADF.USIM file when DF_GSM has one of the same name)."""
    if _EF_PATH.match(name):
        return name.upper()
    spec = ef_spec(name)
    return spec.path if spec is not None else None


def ef_spec(name: str) -> Any:
    """The EF table entry for a path, key or name (``csim.ef``)."""
    from csim import ef as eftable

    if _EF_PATH.match(name):
        return eftable.by_path(name)
    if "/" in name:
        try:
            return eftable.get(name)
        except KeyError:
            return None
    key = name.upper()
    if not key.startswith("EF_"):
        key = "EF_" + key
    matches = [e for e in eftable.all_efs() if e.name.upper() == key]
    matches.sort(key=lambda e: e.parent != "ADF_USIM")
    return matches[0] if matches else None
