# cython: language_level=3
"""Fleet rater: the data/voice/SMS rating hot path of :mod:`harness.plans` over C arrays.

A :class:`Fleet` holds, per line (one contiguous C struct), the five meters (limit, used, alert mask, fired mask,
exhausted/throttled flags) and, per zone, a chain of up to two links (meter, mode, weight),
exactly as :mod:`harness.plans.enforcement` builds them; :meth:`Fleet.rate` walks usage records
given as typed memoryviews (line index, zone, kind, amount) and returns the alerts, blocks and
throttling events packed in one ``array('q')``: ``record << 8 | code << 4 | meter``.
Codes: 0 = alert 80 %, 1 = alert 100 %, 2 = block, 3 = throttle (reduced throughput).
Kinds: 0 = data (bytes), 1 = voice (seconds), 2 = SMS (count).
"""

from cpython.array cimport array, clone, resize_smart
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

from array import array as _pyarray

DEF NZ = 5          # zones
DEF NM = 5          # meters
DEF NL = 2          # links per chain
DEF F_EXHAUSTED = 1
DEF F_THROTTLED = 2

cdef int THRESH[2]
THRESH[0] = 80
THRESH[1] = 100

SERVICE_VOICE = 1
SERVICE_SMS = 2
SERVICE_ROAMING = 4


ctypedef struct Link:
    int64_t weight
    int8_t meter           # -1: no link
    int8_t mode            # 0 BLOCK, 1 OVERFLOW, 2 THROTTLE

ctypedef struct Meter:
    int64_t limit
    int64_t used
    uint8_t alerts
    uint8_t fired
    uint8_t flags

ctypedef struct LineState:     # one line, contiguous: chains, meters and counters share cache lines
    Link links[NZ][NL]
    Meter meters[NM]
    int64_t counters[NZ][3]    # accepted data bytes, voice seconds, SMS per zone
    int64_t rejected[3]
    uint8_t services


cdef class Fleet:
    """Per-line meters, chains and counters for ``n`` lines, in one C array of line states."""

    cdef readonly Py_ssize_t n
    cdef LineState* lines

    def __cinit__(self, Py_ssize_t n):
        if n < 0:
            raise ValueError("negative fleet size")
        self.n = n
        self.lines = <LineState*>calloc(n if n > 0 else 1, sizeof(LineState))
        if not self.lines:
            raise MemoryError()
        cdef Py_ssize_t i, z, k
        for i in range(n):
            for z in range(NZ):
                for k in range(NL):
                    self.lines[i].links[z][k].meter = -1

    def __dealloc__(self):
        free(self.lines)

    @staticmethod
    def bytes_per_line():
        return sizeof(LineState)

    def load_policy(self, Py_ssize_t i, policy, int services):
        """Copy a :class:`harness.plans.enforcement.Policy` (and its meters' state) into line ``i``."""
        if i < 0 or i >= self.n:
            raise IndexError(i)
        cdef LineState* ls = &self.lines[i]
        cdef Py_ssize_t mi, z, k
        for mi, m in enumerate(policy.meters):
            ls.meters[mi].limit = m.limit
            ls.meters[mi].used = m.used
            ls.meters[mi].alerts = m.alerts
            ls.meters[mi].fired = m.fired
            ls.meters[mi].flags = (F_EXHAUSTED if m.exhausted else 0) | (F_THROTTLED if m.throttled else 0)
        for z in range(NZ):
            chain = policy.chains[z]
            if len(chain) > NL:
                raise ValueError("a chain has at most two links")
            for k in range(NL):
                if k < len(chain):
                    ls.links[z][k].meter = chain[k][0]
                    ls.links[z][k].mode = chain[k][1]
                    ls.links[z][k].weight = chain[k][2]
                else:
                    ls.links[z][k].meter = -1
        ls.services = services

    def copy_line(self, Py_ssize_t dst, Py_ssize_t src):
        """Give line ``dst`` the exact state of line ``src``."""
        if not (0 <= dst < self.n and 0 <= src < self.n):
            raise IndexError((dst, src))
        memcpy(&self.lines[dst], &self.lines[src], sizeof(LineState))

    def meter(self, Py_ssize_t i, int mi):
        """``(limit, used, exhausted, throttled)`` of meter ``mi`` of line ``i``."""
        if i < 0 or i >= self.n or mi < 0 or mi >= NM:
            raise IndexError((i, mi))
        cdef Meter* m = &self.lines[i].meters[mi]
        return (m.limit, m.used, bool(m.flags & F_EXHAUSTED), bool(m.flags & F_THROTTLED))

    def counter(self, Py_ssize_t i, int zone, int kind):
        if i < 0 or i >= self.n or zone < 0 or zone >= NZ or kind < 0 or kind > 2:
            raise IndexError((i, zone, kind))
        return self.lines[i].counters[zone][kind]

    def rejected_of(self, Py_ssize_t i, int kind):
        if i < 0 or i >= self.n or kind < 0 or kind > 2:
            raise IndexError((i, kind))
        return self.lines[i].rejected[kind]

    def rate(self, const int32_t[::1] line, const int8_t[::1] zone, const int8_t[::1] kind,
             const int64_t[::1] amount, int64_t first_record=0):
        """Rate the records in order; return the packed events as ``array('q')``."""
        cdef Py_ssize_t n = line.shape[0]
        if zone.shape[0] != n or kind.shape[0] != n or amount.shape[0] != n:
            raise ValueError("record arrays differ in length")
        cdef array out = clone(_pyarray("q"), 1024, False)
        cdef Py_ssize_t nev = 0
        cdef Py_ssize_t r, li, z, k
        cdef int mi, mode, kd
        cdef int64_t remaining, take, room, w, rec
        cdef LineState* ls
        cdef Meter* m
        for r in range(n):
            li = line[r]
            z = zone[r]
            kd = kind[r]
            if li < 0 or li >= self.n or z < 0 or z >= NZ or kd < 0 or kd > 2 or amount[r] < 0:
                raise ValueError(f"bad record {r}: line {li}, zone {z}, kind {kd}, amount {amount[r]}")
            rec = first_record + r
            ls = &self.lines[li]
            if kd != 0:
                if not (ls.services & kd) or (z != 0 and not (ls.services & SERVICE_ROAMING)):
                    ls.rejected[kd] += amount[r]
                else:
                    ls.counters[z][kd] += amount[r]
                continue
            remaining = amount[r]
            for k in range(NL):
                mi = ls.links[z][k].meter
                if mi < 0:
                    break
                mode = ls.links[z][k].mode
                w = ls.links[z][k].weight
                m = &ls.meters[mi]
                if mode == 2:  # THROTTLE
                    m.used += remaining * w
                    ls.counters[z][0] += remaining
                    remaining = 0
                    _alerts(m, rec, mi, out, &nev)
                    if not (m.flags & F_THROTTLED) and m.used >= m.limit:
                        m.flags |= F_THROTTLED
                        _push(out, &nev, (rec << 8) | (3 << 4) | mi)
                    break
                room = m.limit - m.used
                if room < 0:
                    room = 0
                take = room // w
                if take > remaining:
                    take = remaining
                m.used += take * w
                ls.counters[z][0] += take
                remaining -= take
                if mode == 0 and m.limit - m.used < w:  # BLOCK, exhausted
                    if m.used < m.limit:
                        m.used = m.limit
                    _alerts(m, rec, mi, out, &nev)
                    if not (m.flags & F_EXHAUSTED):
                        m.flags |= F_EXHAUSTED
                        _push(out, &nev, (rec << 8) | (2 << 4) | mi)
                    break
                _alerts(m, rec, mi, out, &nev)
                if remaining == 0:
                    break
            if remaining:
                ls.rejected[0] += remaining
        resize_smart(out, nev)
        return out


cdef inline void _alerts(Meter* m, int64_t rec, int mi, array out, Py_ssize_t* nev):
    cdef int bit
    if m.limit <= 0 or m.alerts == m.fired:
        return
    for bit in range(2):
        if (m.alerts >> bit) & 1 and not (m.fired >> bit) & 1 and m.used * 100 >= THRESH[bit] * m.limit:
            m.fired |= (1 << bit)
            _push(out, nev, (rec << 8) | (bit << 4) | mi)


cdef inline void _push(array out, Py_ssize_t* nev, int64_t value):
    if nev[0] >= len(out):
        resize_smart(out, 2 * len(out))
    out.data.as_longlongs[nev[0]] = value
    nev[0] += 1


def unpack_events(events):
    """Packed events -> ``[(record, code, meter), ...]``."""
    return [(int(v) >> 8, (int(v) >> 4) & 0xF, int(v) & 0xF) for v in events]
