# cython: language_level=3
"""C-level interface of :mod:`harness.terminal.selection_core` (used by :mod:`harness.terminal.modem_core`)."""

cpdef tuple shuffled(tuple items, rng)
cpdef tuple plan_order(plan, rng)
