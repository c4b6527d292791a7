"""The scenario language's step groups, in one registry.

A step group is a module that declares its step kinds (``ACTIONS``: kind -> action), its
``expect`` keys (``EXPECT``) with the function that checks them (``check``), and, for groups a
scenario opts into, ``uses(scenario)`` and ``check_scenario(scenario, document)`` that the
loader calls. The terminal's steps come first, then the plans', the data sessions', the lines' and
the eSIM's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from harness.scenario import data_steps, esim_steps, line_steps, plan_steps, terminal_steps

GROUPS: tuple[ModuleType, ...] = (terminal_steps, plan_steps, data_steps, line_steps, esim_steps)

#: step kind -> action (``action(session, args) -> mismatches or None``)
ACTIONS: dict[str, Callable[..., Any]] = {k: a for g in GROUPS for k, a in g.ACTIONS.items()}
#: every step kind a scenario may use
STEP_KINDS: tuple[str, ...] = (*ACTIONS, "expect")
#: ``expect`` key of a step group -> the group that checks it
GROUP_EXPECT: dict[str, ModuleType] = {k: g for g in GROUPS for k in g.EXPECT}


def check_scenario(scn: Any, doc: Mapping[str, Any]) -> None:
    """Each group the scenario uses checks what it needs of the scenario (fixtures, settings)."""
    for group in GROUPS:
        uses = getattr(group, "uses", None)
        if uses is not None and uses(scn):
            group.check_scenario(scn, doc)
