# cython: language_level=3
"""C-level interface of :mod:`harness.terminal.link` for other compiled modules of the terminal."""

from csim.apdu cimport CardCore
from harness.terminal.fcp cimport Fields


cdef class InProcessTransport:
    cdef object _card
    cdef object _transmit               # the card's bound ``transmit``, taken once per card
    cdef CardCore _core                 # the card when its ``transmit`` is the core's own
    cdef object _log
    cdef public object name

    cdef bytes call(self, bytes apdu)
    cdef bytes exchange(self, bytes apdu)


cdef class UiccLink:
    cdef readonly object transport
    cdef InProcessTransport direct      # the transport when it is exactly an InProcessTransport
    cdef public dict sizes
    cdef public dict efs
    cdef public bytes aid               # the USIM AID found in EF_DIR (path API)

    cdef bytes xfer(self, bytes apdu)
    cdef bytes checked(self, bytes apdu, int* sw)
    cdef bytes binary(self, Py_ssize_t size, int* sw)
    cdef bytes walk(self, tuple fids, str path)
    cdef bint select_fields(self, str path, Fields* f) except -1
    cdef bytes record(self, int n, int length, str path)
    cpdef bytes usim_aid(self)
    cpdef void forget_aid(self)
    cpdef bytes transmit(self, bytes apdu)
    cpdef tuple tx(self, bytes apdu)
    cpdef int sw(self, bytes apdu)
    cpdef Py_ssize_t select(self, int fid, int p1=*)
    cpdef object read(self, int fid, int p1=*)
    cpdef tuple read_each(self, tuple fids)
    cpdef tuple read_records_of(self, int fid)
    cpdef int update(self, int fid, bytes data)
    cpdef int envelope(self, bytes data)
    cpdef int terminal_response(self, bytes data)
    cpdef int terminal_profile(self, bytes data)
    cpdef tuple fetch(self, int length)
