"""Bridge from engine lines to the Cython fleet rater (:class:`harness.plans.rating.Fleet`)."""

from __future__ import annotations

from collections.abc import Sequence

from harness.plans.rating import SERVICE_ROAMING, SERVICE_SMS, SERVICE_VOICE, Fleet

from .engine import Line


def services_mask(line: Line) -> int:
    """Voice / SMS / roaming permissions of a line, as the rater's bit mask."""
    mask = 0
    if "voice" in line.offer.services and line.active:
        mask |= SERVICE_VOICE
    if "sms" in line.offer.services and line.active:
        mask |= SERVICE_SMS
    if line.offer.roaming:
        mask |= SERVICE_ROAMING
    return mask


def fleet_of(lines: Sequence[Line]) -> Fleet:
    """A :class:`Fleet` whose line ``i`` has the meters, chains and state of ``lines[i]``."""
    fleet = Fleet(len(lines))
    first: dict[int, int] = {}
    for i, line in enumerate(lines):
        src = first.setdefault(id(line), i)
        if src == i:
            fleet.load_policy(i, line.policy, services_mask(line))
        else:
            fleet.copy_line(i, src)
    return fleet
