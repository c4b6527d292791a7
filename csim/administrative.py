"""Administrative commands on the card's file tree, ETSI TS 102 222: CREATE FILE (§6.3),
DELETE FILE (§6.4) and RESIZE FILE (§6.10).

Each function takes the card's current :class:`csim.image.CardImage` (``Card.snapshot()``), the
current DF's path and the command data, and returns the changed image with the path of the file
that becomes current, or the status word of a refusal (TS 102 221 §10.2.1). The card rebuilds its
file tree from the returned image (:meth:`csim.card.Card.administer`).
"""

from __future__ import annotations

import dataclasses

from csim import encoding as enc
from csim.image import ADM1, CardImage, FileSpec

SW_WRONG_LENGTH = 0x6700
SW_CONDITIONS = 0x6985
SW_BAD_DATA = 0x6A80
SW_NOT_FOUND = 0x6A82
SW_NO_MEMORY = 0x6A84
SW_FILE_EXISTS = 0x6A89
SW_NAME_EXISTS = 0x6A8A

MEMORY = 0x10000  # bytes of EF storage, as the FCP's "available memory" (tag 83 in A5) counts
RESERVED_FIDS = (0x3F00, 0x7FFF, 0xFFFF)  # TS 102 221 §8.3
STRUCTURES = {0x01: "transparent", 0x02: "linear", 0x06: "cyclic"}  # TS 102 221 §11.1.1.4.3

Result = tuple[CardImage, str | None] | int


def tlvs(data: bytes) -> dict[int, bytes] | None:
    """The data objects of a BER-TLV list with one-byte tags (TS 102 221 §11.1.1.3); ``None`` when
    the lengths do not add up."""
    out: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            return None
        tag, n, i = data[i], data[i + 1], i + 2
        if n == 0x81:
            if i >= len(data):
                return None
            n, i = data[i], i + 1
        elif n > 0x80:
            return None
        if i + n > len(data):
            return None
        out[tag] = data[i:i + n]
        i += n
    return out


def fcp_template(data: bytes) -> dict[int, bytes] | None:
    """The data objects of an FCP template (tag 62) that fills the whole command data."""
    outer = tlvs(data)
    if outer is None or set(outer) != {0x62}:
        return None
    return tlvs(outer[0x62])


def create(image: CardImage, df: str, data: bytes) -> Result:
    """CREATE FILE, TS 102 222 §6.3: a DF, an ADF (tag 84) or a transparent, linear fixed or
    cyclic EF under the current DF, from its FCP (82 descriptor, 83 FID, 80 size of an EF, 88 SFI,
    8B referenced EF_ARR record). The new file is filled with FF and becomes current."""
    fcp = fcp_template(data)
    if fcp is None or not fcp.get(0x82) or len(fcp.get(0x83, b"")) != 2:
        return SW_BAD_DATA
    fid = int.from_bytes(fcp[0x83], "big")
    if fid in RESERVED_FIDS or _child(image, df, fid) is not None or _fid(df) == fid:
        return SW_FILE_EXISTS if fid not in RESERVED_FIDS else SW_BAD_DATA
    desc = fcp[0x82]
    path = f"{df}/{fid:04X}"
    read, update, arr_record = _access(image, df, fcp.get(0x8B))
    if desc[0] & 0x38 == 0x38:                        # DF or ADF
        aid = fcp.get(0x84, b"")
        if len(aid) > 16 or any(f.kind == "ADF" and f.aid == aid for f in image.files if aid):
            return SW_NAME_EXISTS if aid else SW_BAD_DATA
        spec = FileSpec(path, "ADF" if aid else "DF", f"{'ADF' if aid else 'DF'}_{fid:04X}",
                        aid=aid, arr_record=arr_record, read=read, update=update)
        return _with(image, [*image.files, spec]), path
    structure = STRUCTURES.get(desc[0] & 0x07)
    size = int.from_bytes(fcp.get(0x80, b""), "big")
    if structure is None or desc[0] & 0x38 or 0x80 not in fcp:
        return SW_BAD_DATA
    sfi = _sfi(fcp.get(0x88), fid)
    if sfi is None or any(f.sfi == sfi for f in _children(image, df)):
        return SW_BAD_DATA
    spec = FileSpec(path, "EF", f"EF_{fid:04X}", structure=structure, sfi=sfi or None, read=read,
                    update=update, arr_record=arr_record)
    if structure == "transparent":
        spec.data = b"\xff" * size
    else:
        if len(desc) < 5:
            return SW_BAD_DATA
        rec_len = int.from_bytes(desc[2:4], "big")
        if not 1 <= rec_len <= 255 or size % rec_len or not 1 <= size // rec_len <= 254 \
                or desc[4] != size // rec_len:
            return SW_BAD_DATA
        spec.record_length = rec_len
        spec.records = [b"\xff" * rec_len] * (size // rec_len)
    if _used(image) + size >= MEMORY or size > 0x7FFF:
        return SW_NO_MEMORY
    return _with(image, [*image.files, spec]), path


def delete(image: CardImage, df: str, data: bytes) -> Result:
    """DELETE FILE, TS 102 222 §6.4: the file with this FID under the current DF, and all under it
    when it is a DF. A file whose storage other files share (DF_GSM links) is not deleted (6985)."""
    if len(data) != 2:
        return SW_WRONG_LENGTH
    target = _child(image, df, int.from_bytes(data, "big"))
    if target is None:
        return SW_NOT_FOUND
    gone = {f.path.upper() for f in image.files if _under(f.path, target.path)}
    if any(f.link and f.link.upper() in gone and f.path.upper() not in gone for f in image.files):
        return SW_CONDITIONS
    return _with(image, [f for f in image.files if f.path.upper() not in gone]), None


def resize(image: CardImage, df: str, data: bytes) -> Result:
    """RESIZE FILE, TS 102 222 §6.10: new size (tag 80) of an EF under the current DF named by its
    FID (tag 83); a transparent EF is cut or extended with FF, a record EF loses or gains whole
    records at the end. A DF's total size (tag 81) is accepted and changes nothing here."""
    fcp = fcp_template(data)
    if fcp is None or len(fcp.get(0x83, b"")) != 2:
        return SW_BAD_DATA
    fid = int.from_bytes(fcp[0x83], "big")
    target = _child(image, df, fid)
    if target is None:
        return SW_NOT_FOUND
    if target.kind != "EF":
        return (image, None) if 0x81 in fcp else SW_BAD_DATA
    if 0x80 not in fcp or target.link or any(
            f.link and f.link.upper() == target.path.upper() for f in image.files):
        return SW_BAD_DATA if 0x80 not in fcp else SW_CONDITIONS
    size = int.from_bytes(fcp[0x80], "big")
    new = dataclasses.replace(target)
    if target.structure == "transparent":
        old = len(target.data)
        new.data = target.data[:size] + b"\xff" * (size - len(target.data))
    else:
        rl = target.record_length
        old = rl * len(target.records)
        if size % rl or not 1 <= size // rl <= 254:
            return SW_BAD_DATA
        n = size // rl
        new.records = list(target.records[:n]) + [b"\xff" * rl] * (n - len(target.records))
    if size > 0x7FFF or _used(image) - old + size >= MEMORY:
        return SW_NO_MEMORY
    return _with(image, [new if f is target else f for f in image.files]), None


def _with(image: CardImage, files: list[FileSpec]) -> CardImage:
    return dataclasses.replace(image, files=files)


def _fid(path: str) -> int:
    return int(path.rsplit("/", 1)[-1], 16)


def _under(path: str, top: str) -> bool:
    p, t = path.upper(), top.upper()
    return p == t or p.startswith(t + "/")


def _children(image: CardImage, df: str) -> list[FileSpec]:
    return [f for f in image.files if f.path.upper().rsplit("/", 1)[0] == df.upper() and "/" in f.path]


def _child(image: CardImage, df: str, fid: int) -> FileSpec | None:
    return next((f for f in _children(image, df) if f.fid == fid), None)


def _used(image: CardImage) -> int:
    return sum(len(f.data) + sum(len(r) for r in f.records) for f in image.files
               if f.kind == "EF" and not f.link)


def _sfi(tag88: bytes | None, fid: int) -> int | None:
    """SFI of a new EF, TS 102 221 §11.1.1.4.8: tag 88 absent, the FID's five low bits; empty, no
    SFI (0 here); one byte, its five high bits. ``None`` when malformed."""
    if tag88 is None:
        return fid & 0x1F if fid & 0x1F != 0x1F else 0
    if len(tag88) == 0:
        return 0
    if len(tag88) != 1 or tag88[0] & 0x07 or tag88[0] >> 3 in (0, 0x1F):
        return None
    return tag88[0] >> 3


def _access(image: CardImage, df: str, tag8b: bytes | None) -> tuple[str, str, int]:
    """READ and UPDATE conditions of a new file from the EF_ARR record its tag 8B names (TS 102 221
    §9.2.4), looked up in the DF and up the tree as the card does; ADM1 for both when the record
    is missing or its rule is not one of ours."""
    if tag8b is None or len(tag8b) != 3:
        return ADM1, ADM1, 1
    arr_fid, rec = int.from_bytes(tag8b[:2], "big"), tag8b[2]
    here = df
    while True:
        arr = _child(image, here, arr_fid)
        if arr is not None and arr.kind == "EF" and arr.structure != "transparent":
            break
        if "/" not in here:
            return ADM1, ADM1, rec or 1
        here = here.rsplit("/", 1)[0]
    records = arr.records
    if arr.link:
        linked = next((f for f in image.files if f.path.upper() == arr.link.upper()), None)
        records = linked.records if linked is not None else []
    if not 1 <= rec <= len(records):
        return ADM1, ADM1, rec or 1
    by_op = {op: r["condition"] for r in enc.decode_arr_rule(records[rec - 1]) for op in r["ops"]}
    known = ("ALW", "PIN1", "PIN2", "ADM1", "NEV")
    read = by_op.get("read", ADM1)
    update = by_op.get("update", ADM1)
    return (read if read in known else ADM1), (update if update in known else ADM1), rec
