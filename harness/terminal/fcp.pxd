# cython: language_level=3
"""C-level interface of :mod:`harness.terminal.fcp` for the link."""


cdef struct Fields:
    # the data objects found in a FCP template; -1 (offsets, lengths, values) when absent
    int structure                       # b3-b1 of the descriptor, DF or BER_TLV below
    Py_ssize_t size                     # tag 80
    int record_length                   # tag 82
    int record_count
    int fid                             # tag 83
    Py_ssize_t df_name_at, df_name_len  # tag 84, within the template
    int lcs                             # tag 8A
    Py_ssize_t pins_at, pins_len        # tag C6, within the template


cdef enum:
    DF = 0x38                           # structure codes beyond the working EF ones (1, 2, 6)
    BER_TLV = 0x39


cdef class Fcp:
    cdef readonly object structure
    cdef readonly object size
    cdef readonly object record_length
    cdef readonly object record_count
    cdef readonly object fid
    cdef readonly object df_name
    cdef readonly object lcs
    cdef readonly object pin_status


cdef bint decode(const unsigned char* d, Py_ssize_t n, Fields* f) noexcept
cdef Py_ssize_t fields_length(const Fields* f) noexcept
cpdef Fcp parse_fcp(object data)
