# cython: language_level=3
"""Fleet rater: the data/voice/SMS rating hot path of :mod:`harness.plans` over C arrays.

A :class:`Fleet` holds, per line, the five meters (limit, used, alert mask, fired mask,
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


cdef class Fleet:
    """Per-line meters, chains and counters for ``n`` lines, in C arrays."""

    cdef readonly Py_ssize_t n
    cdef int64_t* limit
    cdef int64_t* used
    cdef uint8_t* alerts
    cdef uint8_t* fired
    cdef uint8_t* flags
    cdef int8_t* link_meter
    cdef int8_t* link_mode
    cdef int64_t* link_weight
    cdef uint8_t* services
    cdef int64_t* counters      # [line][zone][kind]: accepted data bytes, voice seconds, SMS
    cdef int64_t* rejected      # [line][kind]

    def __cinit__(self, Py_ssize_t n):
        if n < 0:
            raise ValueError("negative fleet size")
        self.n = n
        cdef Py_ssize_t m = n if n > 0 else 1
        self.limit = <int64_t*>calloc(m * NM, sizeof(int64_t))
        self.used = <int64_t*>calloc(m * NM, sizeof(int64_t))
        self.alerts = <uint8_t*>calloc(m * NM, sizeof(uint8_t))
        self.fired = <uint8_t*>calloc(m * NM, sizeof(uint8_t))
        self.flags = <uint8_t*>calloc(m * NM, sizeof(uint8_t))
        self.link_meter = <int8_t*>calloc(m * NZ * NL, sizeof(int8_t))
        self.link_mode = <int8_t*>calloc(m * NZ * NL, sizeof(int8_t))
        self.link_weight = <int64_t*>calloc(m * NZ * NL, sizeof(int64_t))
        self.services = <uint8_t*>calloc(m, sizeof(uint8_t))
        self.counters = <int64_t*>calloc(m * NZ * 3, sizeof(int64_t))
        self.rejected = <int64_t*>calloc(m * 3, sizeof(int64_t))
        if (not self.limit or not self.used or not self.alerts or not self.fired or not self.flags
                or not self.link_meter or not self.link_mode or not self.link_weight or not self.services
                or not self.counters or not self.rejected):
            raise MemoryError()
        cdef Py_ssize_t i
        for i in range(m * NZ * NL):
            self.link_meter[i] = -1

    def __dealloc__(self):
        free(self.limit); free(self.used); free(self.alerts); free(self.fired); free(self.flags)
        free(self.link_meter); free(self.link_mode); free(self.link_weight); free(self.services)
        free(self.counters); free(self.rejected)

    def load_policy(self, Py_ssize_t i, policy, int services):
        """Copy a :class:`harness.plans.enforcement.Policy` (and its meters' state) into line ``i``."""
        if i < 0 or i >= self.n:
            raise IndexError(i)
        cdef Py_ssize_t mi, z, k
        for mi, m in enumerate(policy.meters):
            self.limit[i * NM + mi] = m.limit
            self.used[i * NM + mi] = m.used
            self.alerts[i * NM + mi] = m.alerts
            self.fired[i * NM + mi] = m.fired
            self.flags[i * NM + mi] = (F_EXHAUSTED if m.exhausted else 0) | (F_THROTTLED if m.throttled else 0)
        for z in range(NZ):
            chain = policy.chains[z]
            if len(chain) > NL:
                raise ValueError("a chain has at most two links")
            for k in range(NL):
                if k < len(chain):
                    self.link_meter[(i * NZ + z) * NL + k] = chain[k][0]
                    self.link_mode[(i * NZ + z) * NL + k] = chain[k][1]
                    self.link_weight[(i * NZ + z) * NL + k] = chain[k][2]
                else:
                    self.link_meter[(i * NZ + z) * NL + k] = -1
        self.services[i] = services

    def meter(self, Py_ssize_t i, int mi):
        """``(limit, used, exhausted, throttled)`` of meter ``mi`` of line ``i``."""
        if i < 0 or i >= self.n or mi < 0 or mi >= NM:
            raise IndexError((i, mi))
        cdef uint8_t f = self.flags[i * NM + mi]
        return (self.limit[i * NM + mi], self.used[i * NM + mi], bool(f & F_EXHAUSTED), bool(f & F_THROTTLED))

    def counter(self, Py_ssize_t i, int zone, int kind):
        if i < 0 or i >= self.n or zone < 0 or zone >= NZ or kind < 0 or kind > 2:
            raise IndexError((i, zone, kind))
        return self.counters[(i * NZ + zone) * 3 + kind]

    def rejected_of(self, Py_ssize_t i, int kind):
        if i < 0 or i >= self.n or kind < 0 or kind > 2:
            raise IndexError((i, kind))
        return self.rejected[i * 3 + kind]

    cdef inline void _alerts(self, Py_ssize_t slot, int64_t rec, int mi, array out, Py_ssize_t* nev):
        cdef int bit
        cdef int64_t lim = self.limit[slot]
        if lim <= 0:
            return
        for bit in range(2):
            if (self.alerts[slot] >> bit) & 1 and not (self.fired[slot] >> bit) & 1 \
                    and self.used[slot] * 100 >= THRESH[bit] * lim:
                self.fired[slot] |= (1 << bit)
                _push(out, nev, (rec << 8) | (bit << 4) | mi)

    def rate(self, const int32_t[::1] line, const int8_t[::1] zone, const int8_t[::1] kind,
             const int64_t[::1] amount, int64_t first_record=0):
        """Rate the records in order; return the packed events as ``array('q')``."""
        cdef Py_ssize_t n = line.shape[0]
        if zone.shape[0] != n or kind.shape[0] != n or amount.shape[0] != n:
            raise ValueError("record arrays differ in length")
        cdef array out = clone(_pyarray("q"), 1024, False)
        cdef Py_ssize_t nev = 0
        cdef Py_ssize_t r, li, z, k, base, slot
        cdef int mi, mode
        cdef int64_t remaining, take, room, w, rec
        cdef int kd
        for r in range(n):
            li = line[r]
            z = zone[r]
            kd = kind[r]
            if li < 0 or li >= self.n or z < 0 or z >= NZ or kd < 0 or kd > 2 or amount[r] < 0:
                raise ValueError(f"bad record {r}: line {li}, zone {z}, kind {kd}, amount {amount[r]}")
            rec = first_record + r
            if kd != 0:
                if not (self.services[li] & kd) or (z != 0 and not (self.services[li] & SERVICE_ROAMING)):
                    self.rejected[li * 3 + kd] += amount[r]
                else:
                    self.counters[(li * NZ + z) * 3 + kd] += amount[r]
                continue
            remaining = amount[r]
            base = (li * NZ + z) * NL
            for k in range(NL):
                mi = self.link_meter[base + k]
                if mi < 0:
                    break
                mode = self.link_mode[base + k]
                w = self.link_weight[base + k]
                slot = li * NM + mi
                if mode == 2:  # THROTTLE
                    self.used[slot] += remaining * w
                    self.counters[(li * NZ + z) * 3] += remaining
                    remaining = 0
                    self._alerts(slot, rec, mi, out, &nev)
                    if not (self.flags[slot] & F_THROTTLED) and self.used[slot] >= self.limit[slot]:
                        self.flags[slot] |= F_THROTTLED
                        _push(out, &nev, (rec << 8) | (3 << 4) | mi)
                    break
                room = self.limit[slot] - self.used[slot]
                if room < 0:
                    room = 0
                take = room // w
                if take > remaining:
                    take = remaining
                self.used[slot] += take * w
                self.counters[(li * NZ + z) * 3] += take
                remaining -= take
                if mode == 0 and self.limit[slot] - self.used[slot] < w:  # BLOCK, exhausted
                    if self.used[slot] < self.limit[slot]:
                        self.used[slot] = self.limit[slot]
                    self._alerts(slot, rec, mi, out, &nev)
                    if not (self.flags[slot] & F_EXHAUSTED):
                        self.flags[slot] |= F_EXHAUSTED
                        _push(out, &nev, (rec << 8) | (2 << 4) | mi)
                    break
                self._alerts(slot, rec, mi, out, &nev)
                if remaining == 0:
                    break
            if remaining:
                self.rejected[li * 3] += remaining
        resize_smart(out, nev)
        return out


cdef inline void _push(array out, Py_ssize_t* nev, int64_t value):
    if nev[0] >= len(out):
        resize_smart(out, 2 * len(out))
    out.data.as_longlongs[nev[0]] = value
    nev[0] += 1


def unpack_events(events):
    """Packed events -> ``[(record, code, meter), ...]``."""
    return [(int(v) >> 8, (int(v) >> 4) & 0xF, int(v) & 0xF) for v in events]
