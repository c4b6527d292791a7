"""Subscriber keys for the HSS when the card is in a reader (``--keys FILE``).

A YAML list of ``{imsi, ki, opc, mnc_length?, sqn?}`` (``harness/schema/keys.schema.json``),
read through :func:`csim.yamlsrc.load`, so a mistake reads ``file:line: what is wrong``::

    - imsi: "208019876543210"
      ki: 000102030405060708090A0B0C0D0E0F
      opc: 0F0E0D0C0B0A09080706050403020100

K and OPc are the Milenage inputs of TS 35.206; the HSS computes vectors with them
(TS 33.102 §6.3.2) and resynchronises SQN from the card's AUTS (§6.3.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from csim.yamlsrc import DataError, load, load_schema
from harness.paths import SCHEMAS


@dataclass(frozen=True)
class SubscriberKeys:
    imsi: str
    ki: bytes
    opc: bytes
    mnc_length: int = 2
    sqn: int = 0

    def __repr__(self) -> str:  # keys never appear in a log or a report
        return f"SubscriberKeys(imsi={self.imsi!r}, ki=<hidden>, opc=<hidden>)"


def load_keys(path: str | Path) -> list[SubscriberKeys]:
    """The keys of a keys file, checked against its schema; one entry per IMSI."""
    doc = load(path, load_schema(SCHEMAS / "keys.schema.json"))
    out: dict[str, SubscriberKeys] = {}
    for i, entry in enumerate(doc):
        imsi = str(entry["imsi"])
        if imsi in out:
            raise DataError(str(path), doc.line_of(i), f"IMSI {imsi} is listed twice")
        out[imsi] = SubscriberKeys(imsi, bytes.fromhex(entry["ki"]), bytes.fromhex(entry["opc"]),
                                   int(entry.get("mnc_length", 2)), int(entry.get("sqn", 0)))
    return list(out.values())
