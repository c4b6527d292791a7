# cython: language_level=3
"""Identity test of candidate tuples for the PLMN selection plan table (:mod:`harness.plmn_selection`)."""


def same_objects(tuple a, tuple b) -> bool:
    """True when ``a`` and ``b`` hold the very same objects in the same order."""
    cdef Py_ssize_t i, n = len(a)
    if len(b) != n:
        return False
    for i in range(n):
        if <void*>a[i] is not <void*>b[i]:
            return False
    return True
