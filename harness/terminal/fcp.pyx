# cython: language_level=3
"""The FCP template a UICC returns to SELECT (TS 102 221 §11.1.1.3, §11.1.1.4).

:func:`parse_fcp` decodes the data objects the terminal uses: the file descriptor (structure,
record length and count), the file identifier, the DF name (AID) of an ADF, the file size,
the life cycle status and the PIN status template DO. The link reads the same decoding at C
level (:c:func:`decode`, :c:func:`fields_length`) for the file size at a first SELECT.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE


cdef inline Py_ssize_t tlv(const unsigned char* d, Py_ssize_t i, Py_ssize_t end, int* tag,
                           Py_ssize_t* length) noexcept:
    """The offset of the value of the one-byte-tag BER-TLV object at ``i`` (short, 81 or 82
    length, ISO/IEC 7816-4 §5.2.2), its tag and length cut to what ``end`` leaves; -1 when no
    object starts at ``i``."""
    cdef Py_ssize_t n, width, k
    if i + 1 >= end:
        return -1
    tag[0] = d[i]
    n = d[i + 1]
    i += 2
    if n == 0x81 or n == 0x82:
        width = n - 0x80
        n = 0
        for k in range(width):
            if i + k < end:
                n = n << 8 | d[i + k]
        i += width
    length[0] = max(0, min(n, end - i))
    return i


cdef bint decode(const unsigned char* d, Py_ssize_t n, Fields* f) noexcept:
    """The data objects of the FCP template (tag 62, TS 102 221 §11.1.1.3) in ``d``; False
    (every field absent) when it is not one. A repeated object counts as its last occurrence."""
    cdef Py_ssize_t i, at, end, length, k
    cdef int tag
    cdef const unsigned char* v
    f.structure = 0
    f.size = f.record_length = f.record_count = f.fid = f.lcs = -1
    f.df_name_at = f.df_name_len = f.pins_at = f.pins_len = -1
    if n < 1 or d[0] != 0x62:
        return False
    at = tlv(d, 0, n, &tag, &length)
    if at < 0:
        return False
    i, end = at, at + length
    while True:
        at = tlv(d, i, end, &tag, &length)
        if at < 0:
            break
        v = d + at
        if tag == 0x82 and length:
            # file descriptor byte (§11.1.1.4.3 Table 11.5): b6-b4 = 111 is a DF/ADF (b3-b1 =
            # 000) or a BER-TLV EF (001); else b3-b1 give the structure of a working EF
            if v[0] & 0x38 == 0x38:
                f.structure = BER_TLV if v[0] & 0x07 == 0x01 else DF
            else:
                f.structure = v[0] & 0x07 if v[0] & 0x07 in (1, 2, 6) else 0
            if length >= 5:
                f.record_length = v[2] << 8 | v[3]
                f.record_count = v[4]
        elif tag == 0x80 and length:
            f.size = 0
            for k in range(length):
                f.size = f.size << 8 | v[k]
        elif tag == 0x83 and length == 2:
            f.fid = v[0] << 8 | v[1]
        elif tag == 0x84:
            f.df_name_at, f.df_name_len = at, length
        elif tag == 0x8A and length:
            f.lcs = v[0]
        elif tag == 0xC6:
            f.pins_at, f.pins_len = at, length
        i = at + length
    return True


cdef Py_ssize_t fields_length(const Fields* f) noexcept:
    """What one READ covers: the size of a transparent EF, the record length of a record EF;
    -1 when the FCP gives none."""
    return f.record_length if f.structure == 2 or f.structure == 6 else f.size


cdef tuple pin_status(const unsigned char* d, Py_ssize_t n):
    """The PIN status template DO (tag C6, TS 102 221 §9.5.2, §11.1.1.4.10).

    ``(key reference, enabled, usage qualifier or None)`` for every key reference in the order
    listed. The PS_DO (tag 90) holds one bit per key reference, b8 of its first byte for the
    first one listed; a bit set means the PIN is enabled. A usage qualifier (tag 95) applies to
    the key reference that follows it.
    """
    cdef const unsigned char* ps_do = NULL
    cdef Py_ssize_t ps_len = 0, i = 0, at, length, j
    cdef int tag, usage = -1
    cdef list refs = []
    while True:
        at = tlv(d, i, n, &tag, &length)
        if at < 0:
            break
        if tag == 0x90:
            ps_do, ps_len = d + at, length
        elif tag == 0x95 and length:
            usage = d[at]
        elif tag == 0x83 and length:
            j = len(refs)
            enabled = j // 8 < ps_len and ps_do[j // 8] & (0x80 >> (j % 8)) != 0
            refs.append((d[at], enabled, None if usage < 0 else usage))
            usage = -1
        i = at + length
    return tuple(refs)


cdef object _optional(Py_ssize_t value):
    return None if value < 0 else value


cdef dict _STRUCTURES = {1: "transparent", 2: "linear_fixed", 6: "cyclic", BER_TLV: "ber_tlv", DF: "df"}


cdef class Fcp:
    """The data objects of a FCP template the terminal uses (absent ones are None).

    ``structure``: transparent | linear_fixed | cyclic | ber_tlv | df; ``size``: tag 80, the
    file size; ``record_length``, ``record_count``: tag 82, of a linear fixed or cyclic EF;
    ``fid``: tag 83; ``df_name``: tag 84, the AID of an ADF; ``lcs``: tag 8A, the life cycle
    status integer; ``pin_status``: tag C6, ``(key reference, enabled, usage qualifier)``.
    """

    def __init__(self, structure: str | None = None, size: int | None = None,
                 record_length: int | None = None, record_count: int | None = None,
                 fid: int | None = None, df_name: bytes | None = None, lcs: int | None = None,
                 pin_status: tuple | None = None):
        self.structure = structure
        self.size = size
        self.record_length = record_length
        self.record_count = record_count
        self.fid = fid
        self.df_name = df_name
        self.lcs = lcs
        self.pin_status = pin_status

    @property
    def length(self) -> int | None:
        """What one READ covers: the size of a transparent EF, the record length of a record EF."""
        if self.structure == "linear_fixed" or self.structure == "cyclic":
            return self.record_length
        return self.size

    def _fields(self) -> tuple:
        return (self.structure, self.size, self.record_length, self.record_count, self.fid,
                self.df_name, self.lcs, self.pin_status)

    def __eq__(self, other):
        if not isinstance(other, Fcp):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self):
        return hash(self._fields())

    def __reduce__(self):
        return Fcp, self._fields()

    def __repr__(self) -> str:
        names = ("structure", "size", "record_length", "record_count", "fid", "df_name", "lcs",
                 "pin_status")
        return "Fcp(" + ", ".join(f"{k}={v!r}" for k, v in zip(names, self._fields())) + ")"


cpdef Fcp parse_fcp(object data):
    """The FCP template (tag 62) of a SELECT response (TS 102 221 §11.1.1.3); an empty
    :class:`Fcp` when ``data`` is not one."""
    cdef bytes raw = data if type(data) is bytes else bytes(data)
    cdef const unsigned char* d = <const unsigned char*>PyBytes_AS_STRING(raw)
    cdef Fields f
    cdef Fcp out = Fcp.__new__(Fcp)
    if not decode(d, PyBytes_GET_SIZE(raw), &f):
        return out
    out.structure = _STRUCTURES.get(f.structure)
    out.size = _optional(f.size)
    out.record_length = _optional(f.record_length)
    out.record_count = _optional(f.record_count)
    out.fid = _optional(f.fid)
    out.lcs = _optional(f.lcs)
    if f.df_name_at >= 0:
        out.df_name = PyBytes_FromStringAndSize(<const char*>d + f.df_name_at, f.df_name_len)
    if f.pins_at >= 0:
        out.pin_status = pin_status(d + f.pins_at, f.pins_len)
    return out
