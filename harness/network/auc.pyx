# cython: language_level=3
"""The AuC's vector computation, compiled: an authentication vector (TS 33.102 §6.3.2) for
E-UTRAN (TS 33.401 §6.1.1) with the Milenage functions of :mod:`csim.milenage`.
"""

from libc.string cimport memcpy


cdef void eps_vector(Milenage mil, const unsigned char* r, uint64_t sqn, const unsigned char* a,
                     EpsVector* v) noexcept nogil:
    """AUTN, XRES, CK, IK and AK for a 16-byte RAND, SQN (48 bits) and a 2-byte AMF into ``v``:
    TEMP once, then OUT1 for MAC-A (f1) and OUT2..OUT4 for RES (f2), AK (f5), CK (f3) and IK (f4)
    (TS 35.206 §4.1); AUTN = SQN xor AK || AMF || MAC-A (TS 33.102 §6.3.2)."""
    cdef unsigned char sqn_b[6]
    cdef unsigned char temp[16]
    cdef unsigned char out1[16]
    cdef unsigned char out2[48]
    cdef int i
    for i in range(6):
        sqn_b[i] = (sqn >> (8 * (5 - i))) & 0xFF
    mil.temp(r, temp)
    mil.out1(temp, sqn_b, a, out1)
    mil.out234(temp, out2)
    memcpy(v.ak, out2, 6)
    for i in range(6):
        v.autn[i] = sqn_b[i] ^ out2[i]
    memcpy(v.autn + 6, a, 2)
    memcpy(v.autn + 8, out1, 8)
    memcpy(v.xres, out2 + 8, 8)
    memcpy(v.ck, out2 + 16, 16)
    memcpy(v.ik, out2 + 32, 16)
