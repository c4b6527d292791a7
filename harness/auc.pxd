from libc.stdint cimport uint64_t

from csim.milenage cimport Milenage


cdef tuple eps_autn_xres(Milenage mil, const unsigned char* rand, uint64_t sqn, const unsigned char* amf)
