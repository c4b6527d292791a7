"""Bounded tables of values computed once per distinct input (the values are immutable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")

#: entries a table holds unless its user says otherwise
LIMIT = 4096


def remember(table: dict[_K, _V], key: _K, value: _V, limit: int = LIMIT) -> _V:
    """Store ``value`` under ``key`` and return it.

    A full table (``limit`` entries) is emptied in place first, never replaced: other modules
    may hold the same dict and look values up in it directly.
    """
    if len(table) >= limit:
        table.clear()
    table[key] = value
    return value


def once(table: dict[_K, _V], key: _K, compute: Callable[[_K], _V], limit: int = LIMIT) -> _V:
    """``compute(key)``, looked up in ``table`` first and remembered there (a failure is not)."""
    value = table.get(key)
    if value is None:
        value = remember(table, key, compute(key), limit)
    return value
