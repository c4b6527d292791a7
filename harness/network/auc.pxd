from libc.stdint cimport uint64_t

from csim.milenage cimport Milenage


cdef tuple eps_autn_xres(Milenage mil, const unsigned char* rand, uint64_t sqn, const unsigned char* amf)
cdef void eps_vector(Milenage mil, const unsigned char* rand, uint64_t sqn, const unsigned char* amf,
                     unsigned char* autn, unsigned char* xres) noexcept nogil
