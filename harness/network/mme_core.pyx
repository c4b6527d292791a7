# cython: language_level=3, annotation_typing=False
"""The network's per-registration work, compiled: subscriber and registration records, the
registration in progress, the AuC challenge and the attach / authentication procedures of
:class:`harness.network.mme.Network` (TS 24.301 §5.5.1 attach, §5.4.2 authentication).

:mod:`harness.network.mme` keeps the public classes and entry points; the functions here take the
network and its HSS as they are and touch only their documented state. Subscribers,
registrations and sessions refer to values and messages only, never back to themselves: the
garbage collector does not track them.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from csim.milenage cimport Milenage
from harness.network.auc cimport eps_vector
from harness.network.nas cimport (
    AttachAccept,
    AttachReject,
    AttachRequest,
    AuthenticationRequest,
    AuthenticationResponse,
    DetachRequest,
)
from harness.events cimport EventLog, record_event

import random

from csim.encoding import encode_plmn
from csim.milenage import Milenage as _Milenage
from harness.network.world import CAUSE_IMSI_UNKNOWN_IN_HLR, CAUSE_PLMN_NOT_ALLOWED, plmn_of_imsi

#: AMF with the "separation bit" set, required for E-UTRAN vectors (TS 33.401 §6.1.1)
AMF_EPS = b"\x80\x00"

cdef bytes _AMF_EPS = AMF_EPS
cdef int _IND_BITS = 5
cdef long long _SEQ_MAX = (1 << 43) - 1


@cython.no_gc
@cython.dataclasses.dataclass
cdef class Subscriber:
    """One subscription in the home HSS: keys and the AuC's sequence number (TS 33.102 §6.3.2)."""

    imsi: str
    ki: bytes
    opc: bytes
    mnc_length: int = 2
    sqn: int = 0  # last SQN used by the AuC (SEQ << 5 | IND)
    _mil: object = cython.dataclasses.field(default=None, init=False, repr=False, compare=False)

    @property
    def home_plmn(self) -> str:
        return plmn_of_imsi(self.imsi, self.mnc_length)

    @property
    def milenage(self):
        """The AuC's Milenage instance for K/OPc (key schedule built once, TS 35.206 §4.1)."""
        return _subscriber_milenage(self)


cdef inline object _get(object mapping, object key):
    """``mapping.get(key)``, at C level for a dict."""
    if type(mapping) is dict:
        return (<dict>mapping).get(key)
    return mapping.get(key)


cdef Subscriber _subscriber_of_row(tuple row):
    """``Subscriber(*row)`` for a profile row (IMSI, K, OPc, MNC length, SQN)."""
    cdef Subscriber sub = Subscriber.__new__(Subscriber)
    sub.imsi, sub.ki, sub.opc, sub.mnc_length, sub.sqn = row
    return sub


@cython.final
@cython.no_gc
cdef class _KeyPair:
    """K and OPc with their Milenage instance (the AES key schedule of K, TS 35.206 §4.1)."""

    cdef object ki
    cdef object opc
    cdef Milenage mil


cdef dict _milenages = {}  # K -> _KeyPair of its latest OPc: one AES key schedule per key pair


cdef Milenage _subscriber_milenage(Subscriber sub):
    """The Milenage instance of the subscriber's K and OPc, built once per key pair."""
    ki = sub.ki
    opc = sub.opc
    cdef _KeyPair pair = <_KeyPair>sub._mil if type(sub._mil) is _KeyPair else None
    if pair is not None and pair.ki is ki and pair.opc is opc:
        return pair.mil
    if pair is None or pair.ki != ki or pair.opc != opc:
        pair = _milenages.get(ki)
        if pair is None or pair.opc != opc:
            if len(_milenages) >= 1024:
                _milenages.clear()
            pair = _KeyPair.__new__(_KeyPair)
            pair.mil = _Milenage(ki, opc)
            pair.ki = ki
            pair.opc = opc
            _milenages[ki] = pair
    sub._mil = pair
    return pair.mil


@cython.no_gc
@cython.dataclasses.dataclass
cdef class Registration:
    """What the network knows of a registered subscriber."""

    imsi: str
    plmn: str
    rat: str
    area: int
    packet: bool
    roaming: bool


@cython.final
@cython.no_gc
cdef class Session:
    """A registration in progress: the request, the subscriber and the current challenge."""

    cdef public object request
    cdef public Subscriber subscriber
    cdef public bytes rand
    cdef public bytes xres
    cdef public bint packet
    cdef public bint roaming
    cdef public int attempts

    def __init__(self, request, Subscriber subscriber, tuple challenge, bint packet, bint roaming):
        self.request = request
        self.subscriber = subscriber
        self.rand = challenge[0]
        self.xres = challenge[2]
        self.packet = packet
        self.roaming = roaming
        self.attempts = 1


#: RANDs of each seed's stream, shared by the HSSs of the process (a pure function of the seed)
cdef dict _rand_streams = {}
RAND_STREAM_LIMIT = 4096


cpdef object seeded_rand(object seed, Py_ssize_t k):
    """The ``k``-th 16-byte RAND of ``random.Random(seed)``, or None past the shared table."""
    cdef list rands = _seed_stream(seed, k)
    return rands[k] if rands is not None else None


cdef list _seed_stream(object seed, Py_ssize_t k):
    """The shared RANDs of ``seed``, drawn up to the ``k``-th at least; None past the table."""
    if k >= RAND_STREAM_LIMIT:
        return None
    stream = _rand_streams.get(seed)
    if stream is None:
        if len(_rand_streams) >= 64:
            _rand_streams.clear()
        stream = _rand_streams[seed] = (random.Random(seed), [])
    cdef list rands = (<tuple>stream)[1]
    if len(rands) <= k:
        rng = (<tuple>stream)[0]
        while len(rands) <= k:
            rands.append(rng.randbytes(16))
    return rands


cdef class AuC:
    """The state of an HSS and its authentication centre (see :class:`harness.network.mme.HSS`):
    subscribers by IMSI, the profile directory they come from, and the RAND source (a
    generator, or the seed's shared stream and how many RANDs it has given)."""

    cdef public dict _subscribers
    #: versions (mtime in ns) of profile files just read by the caller (see ``provision_sources``)
    cdef public object _checked
    cdef public object _rng
    cdef public object _seed
    cdef public Py_ssize_t _drawn  # RANDs taken from the seed's shared stream while ``_rng`` is unset
    cdef public object _directory
    cdef public bint _rescanned  # the directory was read again for an IMSI it did not list
    cdef public object resyncs
    cdef list _stream  # the shared RANDs of ``_seed`` (see :func:`seeded_rand`)

    def __init__(self, rng=None, *, seed=0x5EED):
        self._subscribers = {}
        self._checked = None
        self._rng = rng
        self._seed = seed
        self._drawn = 0
        self._directory = None
        self._rescanned = False
        self.resyncs = 0

    def lookup(self, imsi: str):
        """The subscriber of an IMSI (a :class:`Subscriber`), or None; subscribers of the profile
        directory are built on their first lookup."""
        return self.find(imsi)

    cdef object find(self, imsi):
        sub = self._subscribers.get(imsi)
        if sub is None and self._directory is not None:
            row = None
            checked = self._checked
            if checked:  # a profile file the caller has just read: its version is known
                hit = _get(self._directory._rows, imsi)
                if hit is not None:
                    known = _get(checked, (<tuple>hit)[1])
                    if known is not None and known == (<tuple>hit)[2]:
                        row = (<tuple>hit)[0]
            if row is None:
                row = self._directory.row(imsi, rescan=not self._rescanned, checked=checked)
            if row is None:
                self._rescanned = True
            else:  # the row's keys are bytes already
                sub = self._subscribers[imsi] = (_subscriber_of_row(<tuple>row) if type(row) is tuple
                                                 else Subscriber(*row))
        return sub

    cdef bytes next_rand(self):
        """The next RAND (TS 33.102 §6.3.2: generated by the AuC)."""
        cdef list stream
        cdef Py_ssize_t k
        if self._rng is None:
            k = self._drawn
            stream = self._stream
            if stream is not None and k < len(stream):  # the seed's RANDs, even if the table was cleared
                self._drawn = k + 1
                return <bytes>stream[k]
            stream = _seed_stream(self._seed, k)
            if stream is not None:
                self._drawn = k + 1
                self._stream = stream
                return <bytes>stream[k]
        return self.rng.randbytes(16)


cpdef object hss_rand(AuC hss):
    """The HSS's next RAND: the seed's shared stream while the HSS has no generator of its own."""
    return hss.next_rand()


cpdef object next_sqn(Subscriber sub):
    """SEQ + 1 with IND = 0 (TS 33.102 Annex C.3.2)."""
    cdef int overflow = 0
    cdef long long seq
    q = sub.sqn
    if type(q) is int:
        seq = PyLong_AsLongLongAndOverflow(q, &overflow)
        if not overflow and 0 <= seq:
            seq = (seq >> _IND_BITS) + 1
            if seq > _SEQ_MAX:
                raise ValueError(f"SEQ/IND out of range: {seq}/0")
            sub.sqn = seq << _IND_BITS
            return sub.sqn
    big = (q >> _IND_BITS) + 1
    if not 0 <= big <= _SEQ_MAX:
        raise ValueError(f"SEQ/IND out of range: {big}/0")
    sub.sqn = big << _IND_BITS
    return sub.sqn


cdef bytes _vector(AuC hss, Subscriber sub, unsigned char* autn, unsigned char* xres):
    """RAND of a fresh EPS authentication vector with the next SQN; its AUTN (16 bytes) and
    XRES (8 bytes) into ``autn`` and ``xres`` (TS 33.401 §6.1.1; AUTN = SQN xor AK || AMF ||
    MAC-A, TS 33.102 §6.3.2)."""
    cdef uint64_t sqn = next_sqn(sub)
    cdef bytes rand = hss.next_rand()
    if len(rand) != 16:
        raise ValueError("RAND is 16 bytes")
    eps_vector(_subscriber_milenage(sub), rand, sqn, _AMF_EPS, autn, xres)
    return rand


cpdef tuple challenge(AuC hss, Subscriber sub):
    """(RAND, AUTN, XRES) of a fresh EPS authentication vector with the next SQN
    (TS 33.401 §6.1.1; AUTN = SQN xor AK || AMF || MAC-A, TS 33.102 §6.3.2)."""
    cdef unsigned char autn[16]
    cdef unsigned char xres[8]
    rand = _vector(hss, sub, autn, xres)
    return rand, autn[:16], xres[:8]


cdef dict _guti_heads = {}


cpdef bytes guti_head(str plmn):
    """The GUTI bytes before the M-TMSI, the same for every subscriber of a PLMN
    (TS 24.301 §9.9.3.12: length, identity type GUTI, PLMN, MME group ID, MME code)."""
    head = _guti_heads.get(plmn)
    if head is None:
        if len(_guti_heads) >= 256:
            _guti_heads.clear()
        head = _guti_heads[plmn] = b"\x0b\xf6" + encode_plmn(plmn) + b"\x80\x01" + b"\x01"
    return <bytes>head


cdef inline void _put_be(unsigned char* buf, uint64_t v, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        buf[i] = (v >> (8 * (n - 1 - i))) & 0xFF


cdef inline bytes _be(uint64_t v, int n):
    cdef unsigned char buf[8]
    _put_be(buf, v, n)
    return PyBytes_FromStringAndSize(<char*>buf, n)


cdef bytes _guti(str plmn, uint64_t m_tmsi):
    """The GUTI of an M-TMSI in a PLMN: :func:`guti_head` then the M-TMSI (TS 24.301 §9.9.3.12)."""
    cdef bytes head = guti_head(plmn)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(head)
    cdef bytes guti = PyBytes_FromStringAndSize(NULL, n + 4)
    cdef unsigned char* out = <unsigned char*>PyBytes_AS_STRING(guti)
    memcpy(out, PyBytes_AS_STRING(head), n)
    _put_be(out + n, m_tmsi, 4)
    return guti


cdef class NetworkCore:
    """The state of :class:`harness.network.mme.Network` its procedures read on every message: the
    world, the event log, the HSS, the registrations, the registrations in progress by IMSI and
    the number of registrations accepted so far."""

    cdef public object world
    cdef public object log
    cdef public AuC hss
    cdef public dict registrations
    cdef public dict _sessions
    cdef public object _counter

    def __cinit__(self, *args, **kwargs):
        self._counter = 0


cdef void _record(object log, str kind, dict data) except *:
    """An event in the network's log: at C level into an exact :class:`EventLog`."""
    if type(log) is EventLog:
        record_event(log, kind, data)
    else:
        log.record(kind, **data)


cdef AuthenticationRequest _auth_request(rand, autn):
    """``AuthenticationRequest(rand, autn)`` (TS 24.301 §8.2.7), KSI 0."""
    cdef AuthenticationRequest msg = AuthenticationRequest.__new__(AuthenticationRequest)
    msg.rand = rand
    msg.autn = autn
    msg.ksi = 0
    return msg


def attach(NetworkCore net, AttachRequest req not None):
    """See :func:`_attach`."""
    return _attach(net, req)


cdef object _attach(NetworkCore net, AttachRequest req):
    """An AttachRequest: admission by the visited PLMN, then a challenge from the home AuC
    (TS 24.301 §5.5.1.2.2, §5.4.2.2) or an AttachReject."""
    imsi = req.imsi
    cdef dict sessions = net._sessions
    sessions.pop(imsi, None)
    net.registrations.pop(imsi, None)
    world = net.world
    op = _get(world.operators, req.plmn)
    rat = req.rat
    if op is None or rat not in op.rats:
        return _reject(net, req, CAUSE_PLMN_NOT_ALLOWED)
    cdef AuC hss = net.hss
    sub = hss.find(imsi)
    area = req.area
    # the visited PLMN's roaming decision, a pure function of the world and the request
    decision = _get(world.memo, ("admission", op.plmn, imsi,
                                 sub.mnc_length if sub is not None else None, rat, area))
    if decision is None:
        decision = net._admission(op, imsi, sub, rat, area)
    if not decision.accepted:
        return _reject(net, req, decision.cause or CAUSE_PLMN_NOT_ALLOWED)
    if sub is None:
        return _reject(net, req, CAUSE_IMSI_UNKNOWN_IN_HLR)
    cdef Session s = Session.__new__(Session)
    cdef unsigned char autn[16]
    cdef unsigned char xres[8]
    if type(hss) is _hss_class:
        s.rand = _vector(hss, <Subscriber>sub, autn, xres)
        s.xres = xres[:8]
        msg = _auth_request(s.rand, autn[:16])
    else:
        chal = <tuple?>hss.challenge(sub)
        s.rand = chal[0]
        s.xres = chal[2]
        msg = _auth_request(chal[0], chal[1])
    s.request = req
    s.subscriber = sub
    s.packet = req.packet and decision.data
    s.roaming = not decision.home
    s.attempts = 1
    sessions[imsi] = s
    return msg


cdef object _hss_class = None  # harness.network.mme.HSS, whose challenge is :func:`challenge`


def set_hss_class(cls) -> None:
    """The HSS class whose ``challenge`` is :func:`challenge` (its subclasses are called)."""
    global _hss_class
    _hss_class = cls


def reject(NetworkCore net, AttachRequest req not None, cause) -> AttachReject:
    """An AttachReject with ``cause`` (TS 24.301 §5.5.1.2.5), logged."""
    return _reject(net, req, cause)


cdef AttachReject _reject(NetworkCore net, AttachRequest req, cause):
    log = net.log
    if log is not None:
        _record(log, "network_reject", {"imsi": req.imsi, "plmn": req.plmn, "cause": cause})
    cdef AttachReject msg = AttachReject.__new__(AttachReject)
    msg.cause = cause
    return msg


def accept(NetworkCore net, Session s):
    """RES matched: the subscriber is registered; the AttachAccept with its temporary identities
    (TMSI, P-TMSI and signature, GUTI) numbered per network (TS 24.301 §5.5.1.2.4)."""
    cdef AttachRequest req = s.request
    imsi = req.imsi
    del net._sessions[imsi]
    n = net._counter + 1
    if not 0 <= n <= 0xFFFFFFFF:
        raise OverflowError(f"registration number out of range: {n}")
    net._counter = n
    cdef uint64_t c = n
    plmn = req.plmn
    rat = req.rat
    area = req.area
    packet = s.packet
    roaming = s.roaming
    cdef Registration reg = Registration.__new__(Registration)
    reg.imsi = imsi
    reg.plmn = plmn
    reg.rat = rat
    reg.area = area
    reg.packet = packet
    reg.roaming = roaming
    net.registrations[imsi] = reg
    log = net.log
    if log is not None:
        _record(log, "network_attach",
                {"imsi": imsi, "plmn": plmn, "rat": rat, "roaming": roaming, "packet": packet})
    op = _get(net.world.operators, plmn)
    cdef AttachAccept msg = AttachAccept.__new__(AttachAccept)
    msg.plmn = plmn
    msg.rat = rat
    msg.area = area
    cdef uint64_t tmsi = c & <uint64_t>0xFFFFFFFF
    msg.tmsi = _be(tmsi, 4)
    msg.ptmsi = _be(<uint64_t>0xC0000000 | tmsi, 4)
    msg.ptmsi_signature = _be(c & <uint64_t>0xFFFFFF, 3)
    msg.guti = _guti(plmn, tmsi)
    msg.packet = packet
    msg.roaming = roaming
    msg.equivalent_plmns = op.equivalent if op else ()
    return msg


def receive(NetworkCore net, msg, imsi=None):
    """Handle one terminal message. Authentication messages carry no IMSI: pass the sender's.

    :meth:`harness.network.mme.Network.receive`: the messages of a registration here, others
    (authentication failure, subclasses of the messages) through the network's own methods."""
    kind = type(msg)
    cdef Session s
    if kind is AttachRequest:
        return _attach(net, <AttachRequest>msg)
    if kind is AuthenticationResponse:
        s = net._sessions.get(imsi) if imsi is not None else None
        if s is None:
            raise LookupError(f"no registration in progress for IMSI {imsi}")
        res = (<AuthenticationResponse>msg).res
        if (res if type(res) is bytes else bytes(res)) != s.xres:
            # TS 24.301 §5.4.2.4: RES mismatch -> authentication reject
            return net._auth_reject(s, "RES mismatch")
        return accept(net, s)
    if kind is DetachRequest:
        imsi = (<DetachRequest>msg).imsi
        net._sessions.pop(imsi, None)
        net.registrations.pop(imsi, None)
        return None
    return net._receive_other(msg, imsi)
