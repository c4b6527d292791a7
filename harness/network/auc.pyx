# cython: language_level=3
"""The AuC's per-registration computation, compiled: AUTN and XRES of an EPS authentication
vector (TS 33.102 §6.3.2, TS 33.401 §6.1.1) with the Milenage functions of :mod:`csim.milenage`.
"""

from libc.string cimport memcpy


def eps_challenge(Milenage mil not None, rand, uint64_t sqn, amf) -> tuple:
    """(AUTN, XRES) for RAND and SQN: AUTN = SQN xor AK || AMF || MAC-A (f1), XRES = f2,
    AK = f5 (TS 33.102 §6.3.2, TS 35.206 §4.1). RAND and AMF are bytes-like."""
    cdef bytes rand_b = rand if type(rand) is bytes else bytes(rand)
    cdef bytes amf_b = amf if type(amf) is bytes else bytes(amf)
    if len(rand_b) != 16 or len(amf_b) != 2:
        raise ValueError("RAND is 16 bytes and AMF 2 bytes")
    if sqn >> 48:
        raise ValueError(f"SQN out of range (48 bits): {sqn}")
    return eps_autn_xres(mil, rand_b, sqn, amf_b)


cdef tuple eps_autn_xres(Milenage mil, const unsigned char* r, uint64_t sqn, const unsigned char* a):
    """(AUTN, XRES) of :func:`eps_challenge` from a 16-byte RAND, SQN (48 bits) and a 2-byte AMF."""
    cdef unsigned char autn[16]
    cdef unsigned char res[8]
    eps_vector(mil, r, sqn, a, autn, res)
    return autn[:16], res[:8]


cdef void eps_vector(Milenage mil, const unsigned char* r, uint64_t sqn, const unsigned char* a,
                     unsigned char* autn, unsigned char* xres) noexcept nogil:
    """AUTN (16 bytes) and XRES (8 bytes) of :func:`eps_challenge` into ``autn`` and ``xres``:
    TEMP once, then OUT1 for MAC-A and OUT2 for XRES and AK (TS 35.206 §4.1)."""
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
    for i in range(6):
        autn[i] = sqn_b[i] ^ out2[i]  # SQN xor AK (f5)
    memcpy(autn + 6, a, 2)
    memcpy(autn + 8, out1, 8)  # MAC-A (f1)
    memcpy(xres, out2 + 8, 8)  # RES (f2)
