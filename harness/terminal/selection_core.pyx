# cython: language_level=3
"""Compiled parts of :mod:`harness.terminal.plmn_selection`: the identity test of candidate tuples for
its plan table and the random draw of item iv of an automatic-mode order (TS 23.122 §4.4.3.1.1)."""

#: orders kept per plan (one per distinct draw)
ORDERS_PER_PLAN = 32
cdef Py_ssize_t _ORDERS_PER_PLAN = ORDERS_PER_PLAN


def same_objects(tuple a, tuple b) -> bool:
    """True when ``a`` and ``b`` hold the very same objects in the same order."""
    cdef Py_ssize_t i, n = len(a)
    if len(b) != n:
        return False
    for i in range(n):
        if <void*>a[i] is not <void*>b[i]:
            return False
    return True


cpdef tuple shuffled(tuple items, rng):
    """``items`` shuffled by ``rng.shuffle`` (fewer than two items draw nothing)."""
    if len(items) < 2:
        return items
    cdef list x = list(items)
    rng.shuffle(x)
    return tuple(x)


cpdef tuple plan_order(plan, rng):
    """The order of a :class:`harness.terminal.plmn_selection._Plan` with item iv drawn from ``rng``
    (not None); orders already built are kept per draw in the plan."""
    cdef tuple drawn = shuffled(plan.plmns, rng)
    cdef dict orders = plan._orders
    hit = orders.get(drawn)
    if hit is None:
        hit = plan._build(drawn)
        if len(orders) < _ORDERS_PER_PLAN:
            orders[drawn] = hit
    return hit
