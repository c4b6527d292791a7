"""Step groups of the scenario language (plan steps, data steps): which of a group's keys a step
uses, and the group's state for one run, kept on the run's session.

Each group module (:mod:`harness.plan_steps`, :mod:`harness.data_steps`) declares its step kinds
and its ``expect`` keys; the scenario loader asks it whether a scenario uses the group.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def group_key(step: Any, kinds: Container[str], expect: Container[str]) -> str | None:
    """The step's kind when it is one of ``kinds``; for an ``expect`` step, its first key among
    ``expect``; otherwise None."""
    if step.kind in kinds:
        return step.kind
    if step.kind == "expect" and isinstance(step.args, Mapping):
        return next((k for k in step.args if k in expect), None)
    return None


def run_context(session: Any, attr: str, build: Callable[[Any], T]) -> T:
    """The group's context stored as ``attr`` on the run's session, built by ``build(session)``
    on first use."""
    ctx = getattr(session, attr, None)
    if ctx is None:
        ctx = build(session)
        setattr(session, attr, ctx)
    return ctx
