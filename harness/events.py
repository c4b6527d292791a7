"""The run's event log: APDUs, registrations, refreshes, alerts, blocks, bills.

One :class:`EventLog` per run; scenarios assert on it, failures print its tail and the
report draws it. Events are cheap compiled records so logging stays off the hot path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# the record itself is a compiled class: every APDU exchanged is one (harness.uicc_link)
from harness.uicc_link import Event, apdu_event

__all__ = ["Event", "EventLog"]


class EventLog:
    """Append-only, ordered log of :class:`Event` with a simulated clock."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self.time: float = 0.0

    def record(self, kind: str, **data: Any) -> Event:
        events = self._events
        ev = Event(len(events), self.time, kind, data)
        events.append(ev)
        return ev

    def record_apdu(self, command: bytes, response: bytes) -> Event:
        """An ``apdu`` event (``command``, ``response``): the transports' per-command record."""
        return apdu_event(self, command, response)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, index: int) -> Event:
        return self._events[index]

    def of_kind(self, *kinds: str, since: int = 0) -> list[Event]:
        return [e for e in self._events[since:] if e.kind in kinds]

    def tail(self, n: int = 20, kinds: tuple[str, ...] | None = None) -> list[Event]:
        events = self._events if kinds is None else [e for e in self._events if e.kind in kinds]
        return events[-n:]

    def mark(self) -> int:
        """A position to pass as ``since=`` to look only at what happens next."""
        return len(self._events)
