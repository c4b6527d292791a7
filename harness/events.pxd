# cython: language_level=3
"""C-level interface of :mod:`harness.events` for the compiled modules that log."""


cdef class Event:
    cdef public Py_ssize_t seq       # position in the log
    cdef public object time
    cdef public object kind
    cdef object _data           # the fields; built on first use for an APDU record
    cdef object _command
    cdef object _response


cdef class EventLog:
    cdef public list _events
    cdef public object time


cdef Event record_event(object log, object kind, dict data)
cdef void record_apdu(object log, bytes command, bytes response)
