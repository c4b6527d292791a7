# The fields of the messages, for the compiled modules that read or build them at C level
# (see harness/network/nas.pyx).

cdef class AttachRequest:
    cdef readonly object imsi
    cdef readonly object plmn
    cdef readonly object rat
    cdef readonly object area
    cdef readonly object cell_id
    cdef readonly object packet


cdef class AuthenticationRequest:
    cdef readonly object rand
    cdef readonly object autn
    cdef readonly object ksi


cdef class AuthenticationResponse:
    cdef readonly object res


cdef class AuthenticationFailure:
    cdef readonly object cause
    cdef readonly object auts


cdef class AuthenticationReject:
    pass


cdef class AttachAccept:
    cdef readonly object plmn
    cdef readonly object rat
    cdef readonly object area
    cdef readonly object tmsi
    cdef readonly object ptmsi
    cdef readonly object ptmsi_signature
    cdef readonly object guti
    cdef readonly object packet
    cdef readonly object roaming
    cdef readonly object equivalent_plmns


cdef class AttachReject:
    cdef readonly object cause


cdef class DetachRequest:
    cdef readonly object imsi
    cdef readonly object plmn
