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
  files by path from the MF (SELECT, READ BINARY / RECORD, VERIFY PIN: what the readers and
  the data session use), ENVELOPE / FETCH / TERMINAL RESPONSE (TS 102 221 §10.2, TS 102 223
  §6). Any transport works; an exact :class:`InProcessTransport` is driven without Python
  method dispatch.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE

from csim.apdu cimport CardCore
from harness.events cimport record_apdu
from harness.terminal.fcp cimport Fcp, Fields, decode, fields_length, parse_fcp

from csim import encoding as enc
from csim.memo import once
from harness.terminal.errors import CardCommandError

_CORE_TRANSMIT = CardCore.transmit


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

USIM_AID_PREFIX = bytes.fromhex("A0000000871002")  # TS 101 220 Annex E: 3GPP RID + USIM app code


cdef bytes short_apdu(unsigned char cla, unsigned char ins, unsigned char p1, unsigned char p2,
                      unsigned char p3):
    """A command of header and P3 only: case 1 or case 2 (P3 = Le, 00 means 256)."""
    cdef unsigned char a[5]
    a[0] = cla
    a[1] = ins
    a[2] = p1
    a[3] = p2
    a[4] = p3
    return PyBytes_FromStringAndSize(<char*>a, 5)


cdef inline bytes get_response_apdu(unsigned char cla, unsigned char le):
    """GET RESPONSE (TS 102 221 §11.1.9) of ``le`` bytes."""
    return short_apdu(cla, 0xC0, 0x00, 0x00, le)


cdef inline bytes read_record_apdu(int n, int length):
    """READ RECORD ``n`` in absolute mode (TS 102 221 §11.1.5), Le the record length (00 when
    the FCP gives none)."""
    return short_apdu(0x00, 0xB2, n, 0x04, max(length, 0) & 0xFF)


cdef bytes select_apdu(int fid, int p1, bint fcp):
    """SELECT by FID (TS 102 221 §11.1.1): P2 = 04 (FCP returned, Le = 00) or 0C (no data)."""
    cdef unsigned char a[8]
    a[0] = 0x00
    a[1] = 0xA4
    a[2] = p1
    a[3] = 0x04 if fcp else 0x0C
    a[4] = 0x02
    a[5] = (fid >> 8) & 0xFF
    a[6] = fid & 0xFF
    a[7] = 0x00
    return PyBytes_FromStringAndSize(<char*>a, 8 if fcp else 7)


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


cdef inline int status_word(bytes resp):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(resp)
    cdef const unsigned char* r = <const unsigned char*>PyBytes_AS_STRING(resp)
    if n < 2:
        return -1
    return r[n - 2] << 8 | r[n - 1]


cdef inline bytes response_data(bytes resp):
    """The response data without SW1 SW2."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(resp)
    return head(resp, n - 2) if n > 2 else b""


cdef object _SW_OK = 0x9000     # the usual status word, one int object for every response


cdef inline bint ok(int sw):
    """Normal ending: 9000, or 91xx (a proactive command pending, TS 102 221 §10.2.1.1)."""
    return sw == 0x9000 or (sw >> 8) == 0x91


def normal_ending(sw: int) -> bool:
    """9000, or 91xx: a normal ending with a proactive command pending (TS 102 221 §10.2.1.1)."""
    return ok(sw)


cdef tuple split_path(str path):
    """The FIDs of a csim path (``"3F00/7FF0/6F07"``), from the MF down."""
    fids = [int(p, 16) for p in path.strip("/").split("/") if p]
    return (0x3F00,) + tuple(fids[1:] if fids and fids[0] == 0x3F00 else fids)


cdef tuple EF_DIR_PATH = (0x3F00, 0x2F00)   # EF_DIR under the MF (TS 102 221 §13.1)


def usim_aid_of(record: bytes) -> bytes | None:
    """The AID of an EF_DIR record (application template, TS 102 221 §13.1) when it is a
    USIM's (TS 101 220 Annex E), else None."""
    rec = enc.decode_dir_record(record)
    aid = bytes.fromhex(rec["aid"]) if rec and rec.get("aid") else None
    return aid if aid and aid.startswith(USIM_AID_PREFIX) else None


#: the USIM AID of each EF_DIR record read (b"" for another application's): decoding the record
#: at every UICC activation is 3.7 % of a power_on (callgrind, 120 power_ons: 38.7M -> 37.3M Ir)
cdef dict _usim_aids = {}


def _usim_aid_or_empty(record: bytes) -> bytes:
    return usim_aid_of(record) or b""


cdef class UiccLink:
    """The terminal's commands to the UICC over a :class:`~harness.terminal.transport.Transport`.

    ``sizes`` maps a FID to the size taken from its FCP at the first SELECT (later SELECTs ask
    for no data, P2 = 0C); ``efs`` maps a FID to the contents last read or written.
    The path API (:meth:`select_path`, :meth:`read_binary`, :meth:`read_record`,
    :meth:`read_records`) raises :class:`~harness.terminal.errors.CardCommandError` on an
    error status word.
    """

    def __init__(self, transport, dict sizes=None, dict efs=None):
        self.transport = transport
        self.direct = transport if type(transport) is InProcessTransport else None
        self.sizes = sizes if sizes is not None else {}
        self.efs = efs if efs is not None else {}
        self.aid = None

    cdef bytes xfer(self, bytes apdu):
        if self.direct is not None:
            return self.direct.exchange(apdu)
        return as_bytes(self.transport.transmit(apdu))

    cdef bytes checked(self, bytes apdu, int* sw):
        """The response data of a command when it ends normally, else None with ``sw`` set."""
        cdef bytes resp = self.xfer(apdu)
        sw[0] = status_word(resp)
        return response_data(resp) if ok(sw[0]) else None

    cpdef bytes transmit(self, bytes apdu):
        """The complete response (data + SW1 SW2) to one command."""
        return self.xfer(apdu)

    cpdef tuple tx(self, bytes apdu):
        """``(response data, status word)`` of one command."""
        cdef bytes resp = self.xfer(apdu)
        cdef int sw = status_word(resp)
        return response_data(resp), _SW_OK if sw == 0x9000 else sw

    cpdef int sw(self, bytes apdu):
        """The status word only (commands whose response data the terminal does not use)."""
        return status_word(self.xfer(apdu))

    # -- by FID in the current DF (the modem)

    cpdef Py_ssize_t select(self, int fid, int p1=0):
        """SELECT by FID; the file size (transparent) or record length, -1 if absent."""
        cdef object key = fid
        cdef object known = self.sizes.get(key)
        cdef bytes resp
        cdef Fields f
        cdef Py_ssize_t size = 0
        if known is not None:
            return <Py_ssize_t>known if ok(status_word(self.xfer(select_apdu(fid, p1, False)))) else -1
        resp = self.xfer(select_apdu(fid, p1, True))
        if not ok(status_word(resp)):
            return -1
        if decode(<const unsigned char*>PyBytes_AS_STRING(resp), PyBytes_GET_SIZE(resp) - 2, &f):
            size = max(fields_length(&f), 0)
        self.sizes[key] = size
        return size

    cdef bytes binary(self, Py_ssize_t size, int* sw):
        """READ BINARY loop over ``size`` bytes of the current EF (TS 102 221 §11.1.3), 256 at a
        time (Le = 00); None with ``sw`` set when the card refuses or the loop cannot advance."""
        cdef Py_ssize_t got = 0, n, chunk
        cdef bytes resp
        cdef bytes out = b""
        sw[0] = 0x9000
        while got < size:
            chunk = min(256, size - got)
            resp = self.xfer(short_apdu(0x00, 0xB0, (got >> 8) & 0xFF, got & 0xFF, chunk & 0xFF))
            sw[0] = status_word(resp)
            n = PyBytes_GET_SIZE(resp)
            if not ok(sw[0]) or n == 2:
                return None  # refused, or no data and a normal ending: the loop could not advance
            out = head(resp, n - 2) if got == 0 else out + head(resp, n - 2)
            got = PyBytes_GET_SIZE(out)
        return out

    cpdef object read(self, int fid, int p1=0):
        """SELECT + READ BINARY of a transparent EF; None if absent or not readable."""
        cdef Py_ssize_t size = self.select(fid, p1)
        cdef int sw
        if size <= 0:
            return None
        out = self.binary(size, &sw)
        if out is not None:
            self.efs[fid] = out
        return out

    cpdef tuple read_each(self, tuple fids):
        """:meth:`read` of each file in turn; their contents (None for an absent file)."""
        cdef Py_ssize_t i, n = len(fids)
        cdef list out = [None] * n
        for i in range(n):
            out[i] = self.read(fids[i], 0)
        return tuple(out)

    cpdef tuple read_records_of(self, int fid):
        """SELECT by FID with the FCP, then every record of the linear fixed EF (TS 102 221
        §11.1.5); empty when the file is absent, a record the card refuses ends the list."""
        cdef bytes resp = self.xfer(select_apdu(fid, 0, True))
        cdef Fields f
        cdef int n, sw
        cdef list out = []
        if not ok(status_word(resp)):
            return ()
        if not decode(<const unsigned char*>PyBytes_AS_STRING(resp), PyBytes_GET_SIZE(resp) - 2, &f):
            return ()
        for n in range(1, max(f.record_count, 0) + 1):
            record = self.checked(read_record_apdu(n, f.record_length), &sw)
            if record is None:
                break
            out.append(record)
        return tuple(out)

    cpdef int update(self, int fid, bytes data):
        """UPDATE BINARY (TS 102 221 §11.1.4) when the contents change.

        Returns the status word (9000 without any command when the contents are already
        those), or -1 when the file cannot be selected.
        """
        cdef int sw
        if self.efs.get(fid) == data:
            return 0x9000
        if self.select(fid, 0) <= 0:
            return -1
        sw = status_word(self.xfer(command_apdu(0x00, 0xD6, 0x00, 0x00, data)))
        if ok(sw):
            self.efs[fid] = data
        return sw

    # -- by path from the MF (readers, the data session)

    cpdef bytes usim_aid(self):
        """The USIM AID from EF_DIR (TS 102 221 §13.1), read once per link (:meth:`forget_aid`
        at a UICC activation) up to the first USIM record; the 3GPP RID and USIM application
        code (right-truncated selection, §11.1.1.2) when EF_DIR lists none."""
        cdef Fields f
        cdef int n, sw
        if self.aid is not None:
            return self.aid
        aid = USIM_AID_PREFIX
        data = self.walk(EF_DIR_PATH, None)
        if data is not None and decode(<const unsigned char*>PyBytes_AS_STRING(data),
                                       PyBytes_GET_SIZE(data), &f):
            for n in range(1, f.record_count + 1):
                record = self.checked(read_record_apdu(n, f.record_length), &sw)
                if record is None:
                    break
                found = once(_usim_aids, record, _usim_aid_or_empty)
                if found:
                    aid = found
                    break
        self.aid = aid
        return aid

    cpdef void forget_aid(self):
        """Read EF_DIR again at the next :meth:`usim_aid` (a UICC activation, TS 102 221 §6)."""
        self.aid = None

    cdef bytes walk(self, tuple fids, str path):
        """SELECT each file of ``fids`` from the MF down (TS 102 221 §8.4.1, §11.1.1), the last
        one with its FCP returned (the response data). An error status word raises
        CardCommandError naming ``path``, or gives None when ``path`` is None.

        ``7FF0`` is ADF.USIM, selected by the USIM AID of EF_DIR (:meth:`usim_aid`).
        """
        cdef Py_ssize_t i, last = len(fids) - 1
        cdef int fid, sw
        cdef bytes data = b""
        cdef bytes aid = self.usim_aid() if 0x7FF0 in fids else None  # EF_DIR read first
        cdef bytes apdu
        for i in range(last + 1):
            fid = fids[i]
            if fid == 0x7FF0:
                apdu = command_apdu(0x00, 0xA4, 0x04, 0x04 if i == last else 0x0C, aid)
                data = self.checked(apdu + b"\x00" if i == last else apdu, &sw)
            else:
                data = self.checked(select_apdu(fid, 0, i == last), &sw)
            if data is None:
                if path is None:
                    return None
                raise CardCommandError("SELECT ADF.USIM" if fid == 0x7FF0 else f"SELECT {fid:04X}", sw)
        return data

    def select_path(self, path: str) -> Fcp:
        """SELECT each file of ``path`` from the MF down (TS 102 221 §8.4.1, §11.1.1); the FCP of
        the last one (the others are selected with no data returned).

        ``7FF0`` is ADF.USIM, selected by the USIM AID of EF_DIR (:meth:`usim_aid`).
        """
        return parse_fcp(self.walk(split_path(path), path))

    cdef bint select_fields(self, str path, Fields* f) except -1:
        """:meth:`select_path` with the FCP decoded into ``f``."""
        cdef bytes data = self.walk(split_path(path), path)
        decode(<const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), f)
        return True

    def read_binary(self, path: str) -> bytes:
        """The whole contents of the transparent EF at ``path`` (READ BINARY, TS 102 221 §11.1.3)."""
        cdef int sw
        cdef Fields f
        self.select_fields(path, &f)
        out = self.binary(max(f.size, 0), &sw)
        if out is None:
            raise CardCommandError(f"READ BINARY {path}", sw)
        return out

    cdef bytes record(self, int n, int length, str path):
        """READ RECORD ``n`` of the current EF, absolute mode (TS 102 221 §11.1.5)."""
        cdef int sw
        cdef bytes data = self.checked(read_record_apdu(n, length), &sw)
        if data is None:
            raise CardCommandError(f"READ RECORD {n} of {path}", sw)
        return data

    def read_record(self, path: str, n: int) -> bytes:
        """Record ``n`` of the linear fixed or cyclic EF at ``path``."""
        cdef Fields f
        self.select_fields(path, &f)
        return self.record(n, f.record_length, path)

    def read_records(self, path: str) -> list:
        """Every record of the linear fixed or cyclic EF at ``path`` (the count from its FCP)."""
        cdef Fields f
        cdef int n
        self.select_fields(path, &f)
        return [self.record(n, f.record_length, path) for n in range(1, f.record_count + 1)]

    def verify_pin(self, pin: bytes, reference: int = 0x01) -> int:
        """VERIFY PIN (TS 102 221 §11.1.9), the PIN padded with FF to 8 bytes; the status word."""
        return status_word(self.xfer(command_apdu(0x00, 0x20, 0x00, reference, bytes(pin).ljust(8, b"\xff"))))

    # -- toolkit

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
        return self.tx(short_apdu(0x80, 0x12, 0x00, 0x00, length & 0xFF))
