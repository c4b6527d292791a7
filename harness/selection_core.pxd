# cython: language_level=3
"""C-level interface of :mod:`harness.selection_core` (used by :mod:`harness.modem_core`)."""

cpdef tuple shuffled(tuple items, rng)
cpdef tuple plan_order(plan, rng)
