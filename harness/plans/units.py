"""Quantities used by plans: data volumes, durations, money.

Volumes are whole bytes with decimal multiples (1 GB = 1000 MB = 10^9 bytes), the way
operators count envelopes ("Go"/"Mo" in the French documents are the same units).
"""

from __future__ import annotations

import re

from csim.memo import once

_VOLUME = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([kKMGT]?)(?:[bBoO]|i?[bB])?\s*$")
_FACTOR = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}

KB = 10**3
MB = 10**6
GB = 10**9
TB = 10**12


def parse_volume(value: int | str) -> int:
    """``"24GB"``, ``"500 Mo"``, ``"1To"``, ``"10MB"`` or a byte count -> bytes."""
    if isinstance(value, bool):
        raise ValueError(f"not a data volume: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"negative data volume: {value}")
        return value
    if isinstance(value, str):
        return once(_volumes, value, _parse_volume, 1024)
    return _parse_volume(value)


#: volume text -> bytes, parsed once
# consume 242k -> 231k, order_recharge 87k -> 80k instructions/step (with clock, zones, catalogue)
_volumes: dict[str, int] = {}


def _parse_volume(value: object) -> int:
    m = _VOLUME.match(str(value))
    if not m:
        raise ValueError(f"not a data volume: {value!r} (expected e.g. 500MB, 24GB, 1TB)")
    number = float(m.group(1).replace(",", "."))
    return int(round(number * _FACTOR[m.group(2)]))


def format_volume(nbytes: int) -> str:
    """Bytes -> the shortest exact decimal unit (``30000000000`` -> ``"30GB"``, 0 -> ``"0MB"``)."""
    if nbytes == 0:
        return "0MB"
    for unit, factor in (("TB", TB), ("GB", GB), ("MB", MB), ("kB", KB)):
        if nbytes and nbytes % factor == 0:
            return f"{nbytes // factor}{unit}"
    if nbytes >= MB:
        return f"{nbytes / GB:.3f}GB" if nbytes >= GB else f"{nbytes / MB:.3f}MB"
    return f"{nbytes}B"


def euros(value: float) -> float:
    """Round an amount to the cent (half away from zero)."""
    cents = abs(value) * 100 + 1e-9
    rounded = int(cents + 0.5) / 100
    return rounded if value >= 0 else -rounded
