"""The card image: the file tree, PINs and keys a :class:`csim.Card` is built from.

A profile (``fixtures/cards/*.yaml``) is turned into a :class:`CardImage` by
:mod:`csim.profile`; the card core builds its file system from it, and ``card.save()``
writes the current state back in the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Access condition codes, per file and operation (TS 102 221 §9; compact form of EF_ARR rules)
ALW, PIN1, PIN2, ADM1, NEV = "ALW", "PIN1", "PIN2", "ADM1", "NEV"
ACCESS_CONDITIONS = (ALW, PIN1, PIN2, ADM1, NEV)


@dataclass
class FileSpec:
    """One file of the tree.

    ``path`` is the FIDs from the MF in hex joined by ``/``: ``"3F00"``, ``"3F00/2FE2"``,
    ``"3F00/7FF0"`` (ADF.USIM, which also has ``aid``), ``"3F00/7FF0/6F07"``,
    ``"3F00/7F20/6F07"`` (DF_GSM). ``link`` names another EF whose storage this one shares
    (DF_GSM files that mirror ADF.USIM files, as real cards link them).
    """

    path: str
    kind: str  # "MF" | "DF" | "ADF" | "EF"
    name: str  # "MF", "DF_TELECOM", "ADF_USIM", "EF_IMSI"...
    structure: str = "transparent"  # EF: "transparent" | "linear" | "cyclic"
    data: bytes = b""  # transparent EF contents
    records: list[bytes] = field(default_factory=list)  # linear fixed / cyclic EF records
    record_length: int = 0
    sfi: int | None = None
    read: str = ALW  # access condition to READ / SEARCH
    update: str = ADM1  # access condition to UPDATE
    arr_record: int = 1  # EF_ARR record referenced by the FCP (tag 8B)
    aid: bytes = b""  # ADF only
    link: str | None = None
    lcsi: int = 0x05  # operational, activated

    @property
    def fid(self) -> int:
        return int(self.path.rsplit("/", 1)[-1], 16)


@dataclass
class PinSpec:
    """A PIN (or ADM key) and its unblock key. TS 102 221 §9.5."""

    name: str  # "PIN1" | "PIN2" | "ADM1"
    key_ref: int  # 0x01 PIN1 (global), 0x81 PIN2 (local), 0x0A ADM1
    value: bytes  # 8 bytes, ASCII digits padded with FF
    puk: bytes | None = None  # 8 bytes, or None (ADM keys have no PUK)
    attempts: int = 3
    max_attempts: int = 3
    puk_attempts: int = 10
    max_puk_attempts: int = 10
    enabled: bool = True


@dataclass
class AuthSpec:
    """Subscriber keys of one IMSI profile (Milenage, TS 35.206, or the 3GPP test algorithm,
    TS 34.108 §8.1.2). SQN state per TS 33.102 Annex C."""

    ki: bytes
    opc: bytes
    sqn: int = 0  # highest SEQ accepted so far (48-bit SQN = SEQ << 5 | IND)
    sqn_array: list[int] = field(default_factory=list)  # per-IND SEQ values (32 entries)
    algorithm: str = "milenage"  # or "usim-test-algorithm" (csim.milenage.ALGORITHMS)


@dataclass
class CardImage:
    atr: bytes
    files: list[FileSpec]
    pins: list[PinSpec]
    auth: AuthSpec | None  # keys of the active profile
