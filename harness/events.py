"""The run's event log: APDUs, registrations, refreshes, alerts, blocks, bills.

One :class:`EventLog` per run; scenarios assert on it, failures print its tail and the
report draws it. Events are cheap compiled records and the log itself is compiled
(:mod:`harness.uicc_link`), so logging stays off the hot path: ``log.record(kind, **fields)``
appends an :class:`Event`, ``log.time`` is the simulated clock (seconds).
"""

from __future__ import annotations

# every APDU exchanged is one record (harness.uicc_link)
from harness.uicc_link import Event, EventLog

__all__ = ["Event", "EventLog"]
