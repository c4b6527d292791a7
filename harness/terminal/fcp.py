"""The FCP template a UICC returns to SELECT (TS 102 221 §11.1.1.3, §11.1.1.4).

:func:`parse_fcp` decodes the data objects the terminal uses: the file descriptor (structure,
record length and count), the file identifier, the DF name (AID) of an ADF, the file size,
the life cycle status and the PIN status template DO.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from csim.memo import once

# structure of a working EF: b3-b1 of the file descriptor byte (TS 102 221 §11.1.1.4.3)
_STRUCTURES = {1: "transparent", 2: "linear_fixed", 6: "cyclic"}

PinStatus = tuple[tuple[int, bool, "int | None"], ...]


@dataclass(frozen=True, slots=True)
class Fcp:
    """The data objects of a FCP template the terminal uses (absent ones are None)."""

    structure: str | None = None          # transparent | linear_fixed | cyclic | ber_tlv | df
    size: int | None = None               # tag 80: file size (bytes of data)
    record_length: int | None = None      # tag 82: record length of a linear fixed or cyclic EF
    record_count: int | None = None       # tag 82: number of records
    fid: int | None = None                # tag 83
    df_name: bytes | None = None          # tag 84: AID of an ADF
    lcs: int | None = None                # tag 8A: life cycle status integer
    pin_status: PinStatus | None = None   # tag C6: (key reference, enabled, usage qualifier)

    @property
    def length(self) -> int | None:
        """What one READ covers: the size of a transparent EF, the record length of a record EF."""
        if self.structure in ("linear_fixed", "cyclic"):
            return self.record_length
        return self.size


def tlvs(data: bytes) -> Iterator[tuple[int, bytes]]:
    """One-byte-tag BER-TLV objects with short, 81 or 82 lengths (TS 102 221 §11.1.1.3,
    ISO/IEC 7816-4 §5.2.2)."""
    i, end = 0, len(data)
    while i + 1 < end:
        tag, n = data[i], data[i + 1]
        i += 2
        if n in (0x81, 0x82):
            width = n - 0x80
            n = int.from_bytes(data[i:i + width], "big")
            i += width
        yield tag, data[i:i + n]
        i += n


def _structure(descriptor: int) -> str | None:
    """Structure of the file from its file descriptor byte (TS 102 221 §11.1.1.4.3 Table 11.5):
    b6-b4 = 111 is a DF/ADF (b3-b1 = 000) or a BER-TLV EF (b3-b1 = 001), else a working EF."""
    if descriptor & 0x38 == 0x38:
        return "ber_tlv" if descriptor & 0x07 == 0x01 else "df"
    return _STRUCTURES.get(descriptor & 0x07)


def pin_status(template: bytes) -> PinStatus:
    """The PIN status template DO (tag C6, TS 102 221 §9.5.2, §11.1.1.4.10).

    ``(key reference, enabled, usage qualifier or None)`` for every key reference in the order
    listed. The PS_DO (tag 90) holds one bit per key reference, b8 of its first byte for the
    first one listed; a bit set means the PIN is enabled. A usage qualifier (tag 95) applies to
    the key reference that follows it.
    """
    ps_do, usage = b"", None
    refs: list[tuple[int, bool, int | None]] = []
    for tag, value in tlvs(template):
        if tag == 0x90:
            ps_do = value
        elif tag == 0x95 and value:
            usage = value[0]
        elif tag == 0x83 and value:
            j = len(refs)
            enabled = j // 8 < len(ps_do) and bool(ps_do[j // 8] & (0x80 >> (j % 8)))
            refs.append((value[0], enabled, usage))
            usage = None
    return tuple(refs)


#: decoded templates (a :class:`Fcp` is immutable): the terminal selects the same few files at
#: every activation (bench/scenario_replay.py: power_on steps twice as long without it)
_decoded: dict[bytes, Fcp] = {}


def parse_fcp(data: bytes) -> Fcp:
    """The FCP template (tag 62) of a SELECT response (TS 102 221 §11.1.1.3); an empty
    :class:`Fcp` when ``data`` is not one."""
    return once(_decoded, bytes(data), _decode, 512)


def _decode(data: bytes) -> Fcp:
    if data[:1] != b"\x62":
        return Fcp()
    body = next(tlvs(data))[1]
    structure = size = record_length = record_count = fid = df_name = lcs = pins = None
    for tag, value in tlvs(body):
        if tag == 0x82 and value:
            structure = _structure(value[0])
            if len(value) >= 5:
                record_length = value[2] << 8 | value[3]
                record_count = value[4]
        elif tag == 0x80 and value:
            size = int.from_bytes(value, "big")
        elif tag == 0x83 and len(value) == 2:
            fid = value[0] << 8 | value[1]
        elif tag == 0x84:
            df_name = bytes(value)
        elif tag == 0x8A and value:
            lcs = value[0]
        elif tag == 0xC6:
            pins = pin_status(value)
    return Fcp(structure, size, record_length, record_count, fid, df_name, lcs, pins)
