# cython: language_level=3, annotation_typing=False
"""NAS messages between terminal and network (TS 24.301 / TS 24.008), reduced to what the
simulation needs: immutable dataclasses (``dataclasses.fields``/``replace`` work on them), built
for every registration attempt, hence compiled. The annotations document the field types; like
those of a Python dataclass they are not enforced. Their fields hold values (strings, bytes,
numbers, tuples of strings), never containers that could lead back to a message: the garbage
collector does not track them.
"""

cimport cython


@cython.no_gc
@cython.dataclasses.dataclass(frozen=True)
cdef class AttachRequest:
    """Terminal -> network: register (EPS attach / location updating / registration)."""

    imsi: str
    plmn: str
    rat: str
    area: int
    cell_id: int = 0
    packet: bool = True  # attach for packet services as well


@cython.no_gc
@cython.dataclasses.dataclass(frozen=True)
cdef class AuthenticationRequest:
    """Network -> terminal: RAND and AUTN for the USIM (TS 24.301 §8.2.7)."""

    rand: bytes
    autn: bytes
    ksi: int = 0


@cython.no_gc
@cython.dataclasses.dataclass(frozen=True)
cdef class AuthenticationResponse:
    """Terminal -> network: RES computed by the USIM."""

    res: bytes


@cython.no_gc
@cython.dataclasses.dataclass(frozen=True)
cdef class AuthenticationFailure:
    """Terminal -> network: #20 MAC failure, or #21 synch failure with AUTS (TS 24.301 §8.2.5)."""

    cause: int
    auts: bytes | None = None


@cython.no_gc
@cython.dataclasses.dataclass(frozen=True)
cdef class AuthenticationReject:
    """Network -> terminal: the USIM is to be considered invalid (TS 24.301 §5.4.2.5)."""


@cython.no_gc
@cython.dataclasses.dataclass(frozen=True)
cdef class AttachAccept:
    """Network -> terminal: registered. Temporary identities for EF_LOCI/PSLOCI/EPSLOCI."""

    plmn: str
    rat: str
    area: int
    tmsi: bytes
    ptmsi: bytes
    ptmsi_signature: bytes
    guti: bytes
    packet: bool  # packet services allowed on this PLMN for this subscriber
    roaming: bool  # the network serves the subscriber as a visitor
    equivalent_plmns: tuple[str, ...] = ()


@cython.no_gc
@cython.dataclasses.dataclass(frozen=True)
cdef class AttachReject:
    """Network -> terminal: registration refused with a 3GPP cause (TS 24.301 §9.9.3.9)."""

    cause: int


@cython.no_gc
@cython.dataclasses.dataclass(frozen=True)
cdef class DetachRequest:
    """Terminal -> network: IMSI detach (switch off, REFRESH, profile change)."""

    imsi: str
    plmn: str
