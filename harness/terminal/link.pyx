# cython: language_level=3
"""The ME side of the ME-UICC link (TS 102 221 §7).

* :func:`transmit_t0`: one command through a raw ``apdu -> response`` exchange with the T=0
  procedure bytes handled (§7.3.1.1.4): ``6Cxx`` resends the command with the right Le,
  ``61xx`` (and GSM ``9Fxx``, TS 51.011 §9.4.1) is followed by GET RESPONSE until the data is
  complete, so callers see what a T=1 reader would give them.
* :class:`InProcessTransport`: the simulated card behind the transport interface; one ``apdu``
  event per command in the run's event log (:mod:`harness.events`).
* :class:`UiccLink`: what the terminal does over the link, SELECT by FID with the file size
  of the FCP remembered (§11.1.1), the READ BINARY loop (§11.1.3), UPDATE BINARY (§11.1.4),
  ENVELOPE / FETCH / TERMINAL RESPONSE (TS 102 221 §10.2, TS 102 223 §6). Any transport works;
  an exact :class:`InProcessTransport` is driven without Python method dispatch.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_SIZE

from csim.apdu cimport CardCore
from harness.events cimport record_apdu

_CORE_TRANSMIT = CardCore.transmit

cdef int _MEMO_LIMIT = 4096


# ====================================================================== T=0 (TS 102 221 §7.3.1.1.4)

cdef inline bint needs_procedure(const unsigned char* a, Py_ssize_t n, bytes resp):
    """``resp`` is a procedure status: 61xx, GSM 9Fxx, or 6Cxx to a case-2 command."""
    if PyBytes_GET_SIZE(resp) != 2:
        return False
    cdef unsigned char sw1 = (<const unsigned char*>PyBytes_AS_STRING(resp))[0]
    return sw1 == 0x61 or (sw1 == 0x9F and a[0] == 0xA0) or (sw1 == 0x6C and n == 5)


cdef inline bytes head(bytes value, Py_ssize_t n):
    """The first ``n`` bytes of ``value`` (response data without SW1 SW2)."""
    return PyBytes_FromStringAndSize(PyBytes_AS_STRING(value), n)


cdef inline bytes as_bytes(object value):
    return value if type(value) is bytes else bytes(value)


cdef inline bytes send(object raw, InProcessTransport via, bytes apdu):
    """One raw exchange: through ``via`` (the in-process card) when given, else ``raw(apdu)``."""
    if via is not None:
        return via.call(apdu)
    return as_bytes(raw(apdu))


cdef bytes complete(object raw, InProcessTransport via, bytes apdu, bytes resp):
    """Resend with the right Le on 6Cxx, GET RESPONSE on 61xx/9Fxx (data accumulated on 61xx)."""
    cdef const unsigned char* a = <const unsigned char*>PyBytes_AS_STRING(apdu)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(apdu)
    cdef const unsigned char* r = <const unsigned char*>PyBytes_AS_STRING(resp)
    cdef bytes data = b""
    cdef Py_ssize_t m
    # GET RESPONSE keeps the class: GSM A0, or 00 with the command's logical channel bits
    cdef unsigned char cla = 0xA0 if a[0] == 0xA0 else a[0] & 0x03
    if r[0] == 0x6C and n == 5:
        resp = send(raw, via, apdu[:4] + bytes((r[1],)))
    while PyBytes_GET_SIZE(resp) == 2:
        r = <const unsigned char*>PyBytes_AS_STRING(resp)
        if not (r[0] == 0x61 or (r[0] == 0x9F and a[0] == 0xA0)):
            break
        resp = send(raw, via, get_response_apdu(cla, r[1]))
        m = PyBytes_GET_SIZE(resp)
        if m >= 2 and (<const unsigned char*>PyBytes_AS_STRING(resp))[m - 2] == 0x61:
            data += head(resp, m - 2)
            resp = resp[m - 2:]
    return data + resp if data else resp


cpdef bytes transmit_t0(object raw, object apdu):
    """Run one command through ``raw(apdu) -> response`` handling 61xx/9Fxx and 6Cxx."""
    cdef bytes cmd = as_bytes(apdu)
    cdef bytes resp = as_bytes(raw(cmd))
    if needs_procedure(<const unsigned char*>PyBytes_AS_STRING(cmd), PyBytes_GET_SIZE(cmd), resp):
        return complete(raw, None, cmd, resp)
    return resp


# ====================================================================== in-process transport

cdef class InProcessTransport:
    """The simulated :class:`csim.Card` behind the transport interface."""

    def __init__(self, card, log=None, name="in-process"):
        self.card = card
        self.log = log
        self.name = name

    @property
    def card(self):
        return self._card

    @card.setter
    def card(self, card):
        self._card = card
        self._transmit = card.transmit
        # the core's own ``transmit`` (not overridden by a subclass or on the instance) is
        # reached at C level; any other card object through its Python method
        if (isinstance(card, CardCore) and getattr(type(card), "transmit", None) is _CORE_TRANSMIT
                and "transmit" not in getattr(card, "__dict__", ())):
            self._core = <CardCore>card
        else:
            self._core = None

    @property
    def log(self):
        return self._log

    @log.setter
    def log(self, log):
        self._log = log

    @property
    def atr(self):
        return bytes(self._card.atr)

    def transmit(self, apdu):
        """One command, T=0 procedure bytes handled, logged as an ``apdu`` event."""
        return self.exchange(as_bytes(apdu))

    cdef bytes call(self, bytes apdu):
        """One raw exchange with the card, no procedure handling and no record."""
        if self._core is not None:
            return self._core.respond(<const unsigned char*>PyBytes_AS_STRING(apdu), PyBytes_GET_SIZE(apdu))
        return as_bytes(self._transmit(apdu))

    cdef bytes exchange(self, bytes apdu):
        cdef bytes resp = self.call(apdu)
        if needs_procedure(<const unsigned char*>PyBytes_AS_STRING(apdu), PyBytes_GET_SIZE(apdu), resp):
            resp = complete(None, self, apdu, resp)
        if self._log is not None:
            record_apdu(self._log, apdu, resp)
        return resp

    def reset(self):
        atr = self._card.reset()
        if self._log is not None:
            self._log.record("reset", atr=atr)
        return atr

    def close(self):
        pass


# ====================================================================== the terminal's commands

cdef dict _select_apdus = {}
cdef dict _read_apdus = {}
cdef dict _fetch_apdus = {}
# Per FID, direct-mapped (slot = FID high byte XOR low byte): the FID as a Python int (the key
# of ``sizes`` and ``efs``) and its SELECT commands with P1 = 00, P2 = 04 (FCP returned) and
# P2 = 0C (no data), the terminal's most frequent commands
cdef int _slot_fid[256]
cdef list _slot_key = [None] * 256
cdef list _slot_fcp = [None] * 256
cdef list _slot_plain = [None] * 256
for _slot in range(256):
    _slot_fid[_slot] = -1


cdef bytes select_apdu(int fid, int p1, bint fcp):
    """SELECT by FID (TS 102 221 §11.1.1): P2 = 04 (FCP returned, Le = 00) or 0C (no data)."""
    cdef long key = (<long>fid) | (<long>p1) << 16 | (<long>fcp) << 24
    cdef object apdu = _select_apdus.get(key)
    cdef unsigned char a[8]
    if apdu is None:
        a[0] = 0x00
        a[1] = 0xA4
        a[2] = p1
        a[3] = 0x04 if fcp else 0x0C
        a[4] = 0x02
        a[5] = (fid >> 8) & 0xFF
        a[6] = fid & 0xFF
        a[7] = 0x00
        apdu = PyBytes_FromStringAndSize(<char*>a, 8 if fcp else 7)
        if len(_select_apdus) >= _MEMO_LIMIT:
            _select_apdus.clear()
        _select_apdus[key] = apdu
    return <bytes>apdu


cdef inline int fid_slot(int fid):
    """The table slot of ``fid`` (0000-FFFF), filled on first use or when another FID held it."""
    cdef int slot = (fid ^ (fid >> 8)) & 0xFF
    if _slot_fid[slot] != fid:
        _slot_key[slot] = fid
        _slot_fcp[slot] = select_apdu(fid, 0, True)
        _slot_plain[slot] = select_apdu(fid, 0, False)
        _slot_fid[slot] = fid
    return slot


cdef inline object fid_key(int fid):
    """``fid`` as the key of ``sizes`` / ``efs`` (one int object per FID in the table)."""
    if 0 <= fid <= 0xFFFF:
        return _slot_key[fid_slot(fid)]
    return fid


# GET RESPONSE with CLA 00 (basic channel), by Le
cdef list _get_responses = [None] * 256


cdef inline bytes get_response_apdu(unsigned char cla, unsigned char le):
    """GET RESPONSE (TS 102 221 §11.1.9) of ``le`` bytes."""
    cdef unsigned char a[5]
    cdef object apdu
    if cla == 0x00:
        apdu = _get_responses[le]
        if apdu is not None:
            return <bytes>apdu
    a[0] = cla
    a[1] = 0xC0
    a[2] = 0x00
    a[3] = 0x00
    a[4] = le
    apdu = PyBytes_FromStringAndSize(<char*>a, 5)
    if cla == 0x00:
        _get_responses[le] = apdu
    return <bytes>apdu


cdef list _first_reads = [None] * 257   # READ BINARY at offset 0, by length


cdef bytes read_binary_apdu(int offset, int n):
    """READ BINARY at ``offset`` for ``n`` bytes (TS 102 221 §11.1.3; Le = 00 means 256)."""
    cdef object apdu
    cdef unsigned char a[5]
    if offset == 0 and 0 <= n <= 256:
        apdu = _first_reads[n]
        if apdu is None:
            a[0] = 0x00
            a[1] = 0xB0
            a[2] = 0x00
            a[3] = 0x00
            a[4] = n & 0xFF
            apdu = _first_reads[n] = PyBytes_FromStringAndSize(<char*>a, 5)
        return <bytes>apdu
    cdef long key = (<long>offset) << 9 | n
    apdu = _read_apdus.get(key)
    if apdu is None:
        a[0] = 0x00
        a[1] = 0xB0
        a[2] = (offset >> 8) & 0xFF
        a[3] = offset & 0xFF
        a[4] = n & 0xFF
        apdu = PyBytes_FromStringAndSize(<char*>a, 5)
        if len(_read_apdus) >= _MEMO_LIMIT:
            _read_apdus.clear()
        _read_apdus[key] = apdu
    return <bytes>apdu


cdef bytes command_apdu(int cla, int ins, int p1, int p2, bytes data):
    """A case-3 command: header, Lc and the data field."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 5 + n)
    cdef unsigned char* o = <unsigned char*>PyBytes_AS_STRING(out)
    cdef const unsigned char* d = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t i
    o[0] = cla
    o[1] = ins
    o[2] = p1
    o[3] = p2
    o[4] = n & 0xFF
    for i in range(n):
        o[5 + i] = d[i]
    return out


cdef Py_ssize_t parse_fcp_size(const unsigned char* f, Py_ssize_t n) noexcept:
    """File size (tag 80) or record length (tag 82) from a FCP template (TS 102 221 §11.1.1.4)."""
    cdef Py_ssize_t i, end, j, tag, k, record = 0, value
    if n < 2 or f[0] != 0x62:
        return 0
    i = 2
    end = min(n, 2 + f[1])
    while i + 1 < end:
        tag = f[i]
        k = f[i + 1]
        if tag == 0x80 and k >= 1:
            value = 0
            for j in range(i + 2, min(i + 2 + k, n)):
                value = value << 8 | f[j]
            return value
        if tag == 0x82 and k >= 5 and i + 6 <= n:
            record = f[i + 4] << 8 | f[i + 5]
        i += 2 + k
    return record


cpdef Py_ssize_t fcp_size(bytes fcp):
    """File size or record length of a FCP (a few byte reads: cheaper than any memo)."""
    return parse_fcp_size(<const unsigned char*>PyBytes_AS_STRING(fcp), PyBytes_GET_SIZE(fcp))


cdef inline int status_word(bytes resp):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(resp)
    cdef const unsigned char* r = <const unsigned char*>PyBytes_AS_STRING(resp)
    if n < 2:
        return -1
    return r[n - 2] << 8 | r[n - 1]


cdef object _SW_OK = 0x9000     # the usual status word, one int object for every response


cdef inline bint ok(int sw):
    """Normal ending: 9000, or 91xx (a proactive command pending, TS 102 221 §10.2.1.1)."""
    return sw == 0x9000 or (sw >> 8) == 0x91


cdef class UiccLink:
    """The terminal's commands to the UICC over a :class:`~harness.terminal.transport.Transport`.

    ``sizes`` maps a FID to the size taken from its FCP at the first SELECT (later SELECTs ask
    for no data, P2 = 0C); ``efs`` maps a FID to the contents last read or written.
    """

    def __init__(self, transport, dict sizes=None, dict efs=None):
        self.transport = transport
        self.direct = transport if type(transport) is InProcessTransport else None
        self.sizes = sizes if sizes is not None else {}
        self.efs = efs if efs is not None else {}

    cdef bytes xfer(self, bytes apdu):
        if self.direct is not None:
            return self.direct.exchange(apdu)
        return as_bytes(self.transport.transmit(apdu))

    cpdef bytes transmit(self, bytes apdu):
        """The complete response (data + SW1 SW2) to one command."""
        return self.xfer(apdu)

    cpdef tuple tx(self, bytes apdu):
        """``(response data, status word)`` of one command."""
        cdef bytes resp = self.xfer(apdu)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(resp)
        cdef int sw = status_word(resp)
        return head(resp, n - 2) if n > 2 else b"", _SW_OK if sw == 0x9000 else sw

    cpdef int sw(self, bytes apdu):
        """The status word only (commands whose response data the terminal does not use)."""
        return status_word(self.xfer(apdu))

    cpdef Py_ssize_t select(self, int fid, int p1=0):
        """SELECT by FID; the file size (transparent) or record length, -1 if absent."""
        cdef int slot = fid_slot(fid) if 0 <= fid <= 0xFFFF and p1 == 0 else -1
        cdef object key = _slot_key[slot] if slot >= 0 else fid
        cdef object known = self.sizes.get(key)
        cdef bytes resp
        cdef int sw
        cdef Py_ssize_t size
        if known is not None:
            resp = self.xfer(<bytes>_slot_plain[slot] if slot >= 0 else select_apdu(fid, p1, False))
            return <Py_ssize_t>known if status_word(resp) == 0x9000 else -1
        resp = self.xfer(<bytes>_slot_fcp[slot] if slot >= 0 else select_apdu(fid, p1, True))
        sw = status_word(resp)
        if (sw >> 8) != 0x91 and sw != 0x9000:
            return -1
        size = parse_fcp_size(<const unsigned char*>PyBytes_AS_STRING(resp), PyBytes_GET_SIZE(resp) - 2)
        self.sizes[key] = size
        return size

    cpdef object read(self, int fid, int p1=0):
        """SELECT + READ BINARY of a transparent EF; None if absent or not readable."""
        cdef Py_ssize_t size = self.select(fid, p1), got = 0, n, chunk
        cdef bytes resp
        cdef bytes out = b""
        cdef int sw
        if size <= 0:
            return None
        while got < size:
            chunk = min(256, size - got)
            resp = self.xfer(read_binary_apdu(got, chunk))
            sw = status_word(resp)
            if not ok(sw):
                return None
            n = PyBytes_GET_SIZE(resp)
            if n == 2:
                return None  # no data and a normal ending: the loop could not advance
            out = head(resp, n - 2) if got == 0 else out + head(resp, n - 2)
            got = PyBytes_GET_SIZE(out)
        self.efs[fid_key(fid)] = out
        return out

    cpdef tuple read_each(self, tuple fids):
        """:meth:`read` of each file in turn; their contents (None for an absent file)."""
        cdef Py_ssize_t i, n = len(fids)
        cdef list out = [None] * n
        for i in range(n):
            out[i] = self.read(fids[i], 0)
        return tuple(out)

    cpdef int update(self, int fid, bytes data):
        """UPDATE BINARY (TS 102 221 §11.1.4) when the contents change.

        Returns the status word (9000 without any command when the contents are already
        those), or -1 when the file cannot be selected.
        """
        cdef int sw
        cdef object key = fid_key(fid)
        if self.efs.get(key) == data:
            return 0x9000
        if self.select(fid, 0) <= 0:
            return -1
        sw = status_word(self.xfer(command_apdu(0x00, 0xD6, 0x00, 0x00, data)))
        if ok(sw):
            self.efs[key] = data
        return sw

    cpdef int envelope(self, bytes data):
        """ENVELOPE (TS 102 221 §10.2.2, TS 102 223 §7); the status word."""
        return status_word(self.xfer(command_apdu(0x80, 0xC2, 0x00, 0x00, data)))

    cpdef int terminal_response(self, bytes data):
        """TERMINAL RESPONSE (TS 102 221 §10.2.4, TS 102 223 §6.8); the status word."""
        return status_word(self.xfer(command_apdu(0x80, 0x14, 0x00, 0x00, data)))

    cpdef int terminal_profile(self, bytes data):
        """TERMINAL PROFILE (TS 102 221 §10.2.1, TS 102 223 §5.2); the status word."""
        return status_word(self.xfer(command_apdu(0x80, 0x10, 0x00, 0x00, data)))

    cpdef tuple fetch(self, int length):
        """FETCH the pending proactive command of ``length`` bytes (SW 91xx, TS 102 221 §10.2.3)."""
        cdef object apdu = _fetch_apdus.get(length)
        cdef unsigned char a[5]
        if apdu is None:
            a[0] = 0x80
            a[1] = 0x12
            a[2] = 0x00
            a[3] = 0x00
            a[4] = length & 0xFF
            apdu = PyBytes_FromStringAndSize(<char*>a, 5)
            _fetch_apdus[length] = apdu
        return self.tx(<bytes>apdu)
