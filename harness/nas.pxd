# The fields of the messages the network core reads at C level (see harness/nas.pyx).

cdef class AttachRequest:
    cdef readonly object imsi
    cdef readonly object plmn
    cdef readonly object rat
    cdef readonly object area
    cdef readonly object cell_id
    cdef readonly object packet


cdef class AuthenticationResponse:
    cdef readonly object res


cdef class DetachRequest:
    cdef readonly object imsi
    cdef readonly object plmn
