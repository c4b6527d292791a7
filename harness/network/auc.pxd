from libc.stdint cimport uint64_t

from csim.milenage cimport Milenage


ctypedef struct EpsVector:
    unsigned char autn[16]  # SQN xor AK || AMF || MAC-A
    unsigned char xres[8]
    unsigned char ck[16]
    unsigned char ik[16]
    unsigned char ak[6]


cdef void eps_vector(Milenage mil, const unsigned char* rand, uint64_t sqn, const unsigned char* amf,
                     EpsVector* v) noexcept nogil
