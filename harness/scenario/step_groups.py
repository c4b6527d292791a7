"""Step groups of the scenario language (plan steps, data steps): which of a group's keys a step
uses, and the group's state for one run, kept on the run's session.

Each group module (:mod:`harness.scenario.plan_steps`, :mod:`harness.scenario.data_steps`) declares
its step kinds and its ``expect`` keys; the scenario loader asks it whether a scenario uses the group.
"""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Callable, Container, Mapping
from typing import Any, TypeVar

from csim.memo import once

T = TypeVar("T")


class LazyModule:
    """The attributes of module ``name``, imported on first use and then read as plain
    attributes (a step group loads its machinery only for scenarios that use it)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        value = getattr(importlib.import_module(self._name), attr)
        setattr(self, attr, value)  # modules are not reloaded: the next read is direct
        return value


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


class OfRun:
    """A group's state for one run, kept on the run's session (see :func:`run_context`).

    It refers back to its session weakly: the session owns its groups' state, so a run's
    objects are freed as soon as the run is dropped, not at the collector's next pass
    (bench/scenario_replay.py: with the back-reference strong, 72 collections a round of the
    bundled suite instead of 4).
    """

    def __init__(self, session: Any) -> None:
        self._session = weakref.ref(session)

    @property
    def session(self) -> Any:
        """The run's session (it outlives its groups' state)."""
        session = self._session()
        if session is None:
            raise ReferenceError("the run's session was dropped before its step group state")
        return session


def per_scenario(scn: Any, table: str, build: Callable[[Any], T]) -> T:
    """``build(scn)``: the immutable parts of a group's run state, made from the scenario
    (``table`` names the part), kept on the scenario for its next runs; the caller checks that
    what they were made from (profile, catalogue, operators) is unchanged.

    Kept (bench/scenario_replay.py, µs per step without -> with: data_connect 120 -> 99,
    consume 91 -> 78)."""
    parts = scn.__dict__.setdefault("_group_parts", {})
    return once(parts, table, lambda _: build(scn), 8)


def modem_view(modem: Any) -> Mapping[str, Any]:
    """The few observables of ``modem.status()`` the plan and data groups follow (power, card
    identity and state, serving PLMN, PS data, RAT, roaming), read from the modem's own attributes.

    A modem without them (a stand-in in tests) answers with its full ``status()``.
    """
    usim = getattr(modem, "usim", None)
    if usim is None:
        return modem.status()
    registered = modem.registered
    cell = modem.cell if registered else None
    return {
        "powered": modem.powered,
        "sim": modem.sim_state,
        "iccid": usim.iccid,
        "imsi": usim.imsi,
        "refresh_count": modem.refresh_count,
        "registered": registered,
        "data": modem.data_active,
        "rat": cell.rat if cell else None,
        "roaming": modem.roaming,
        "data_roaming": modem.config.data_roaming,
    }


def data_view(modem: Any) -> Mapping[str, Any]:
    """The ``registered``, ``data`` and ``rat`` entries of :func:`modem_view` alone: what a
    usage or a PDP/PDN activation needs from the device."""
    if getattr(modem, "usim", None) is None:
        return modem.status()
    registered = modem.registered
    cell = modem.cell if registered else None
    return {"registered": registered, "data": modem.data_active, "rat": cell.rat if cell else None}


def serving_plmn(modem: Any) -> str | None:
    """The PLMN the modem is registered on (``modem_view(modem)["registered"]``), read alone."""
    if getattr(modem, "usim", None) is None:
        return modem.status().get("registered")
    return modem.registered
