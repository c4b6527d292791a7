"""Simulated clock: scenario steps say ``advance: 3d`` or ``at: 2026-03-01T00:00``.

Time is kept as a naive UTC :class:`datetime` so month boundaries, the recharge delay and
the 3-day SMS suspension replay deterministically. The clock also drives the run's
:class:`~harness.events.EventLog` time (seconds since the clock's origin).
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

from csim.memo import once
from harness.events import EventLog

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|min|m|s)")
_UNIT = {"w": 604800, "d": 86400, "h": 3600, "min": 60, "m": 60, "s": 1}


#: duration text -> timedelta (both immutable), parsed once
# wait 54k -> 41k, advance 90k -> 77k instructions/step (with units, zones, catalogue)
_durations: dict[str, timedelta] = {}


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """``"3d"``, ``"30min"``, ``"1h30min"``, ``"90s"`` or seconds -> :class:`timedelta`."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"negative duration: {value}")
        return timedelta(seconds=value)
    if isinstance(value, str):
        return once(_durations, value, _parse_duration, 1024)
    return _parse_duration(value)


def _parse_duration(value: object) -> timedelta:
    text = str(value).replace(" ", "")
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise ValueError(f"not a duration: {value!r} (expected e.g. 3d, 2h, 30min, 90s)")
    return timedelta(seconds=total)


def parse_instant(value: str | datetime) -> datetime:
    """``"2026-03-01T00:00"`` (or with seconds, or a date alone) -> :class:`datetime`."""
    if isinstance(value, datetime):
        return value if value.tzinfo is None else value.replace(tzinfo=None)
    if isinstance(value, str):
        return once(_instants, value, _parse_instant, 1024)
    return _parse_instant(value)


#: instant text -> naive datetime (both immutable), parsed once
# at 157k -> 133k instructions/step (with units, zones, catalogue)
_instants: dict[str, datetime] = {}


def _parse_instant(value: object) -> datetime:
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError:
        raise ValueError(f"not a date/time: {value!r} (expected e.g. 2026-03-01T00:00)") from None


def month_key(t: datetime) -> tuple[int, int]:
    """The billing month a moment belongs to (calendar month)."""
    return (t.year, t.month)


def month_start(t: datetime) -> datetime:
    return datetime(t.year, t.month, 1)


def next_month_start(t: datetime) -> datetime:
    return datetime(t.year + 1, 1, 1) if t.month == 12 else datetime(t.year, t.month + 1, 1)


def days_in_month(t: datetime) -> int:
    return calendar.monthrange(t.year, t.month)[1]


def remaining_fraction(t: datetime) -> float:
    """Share of the billing month still to come at ``t`` (1.0 on the 1st at 00:00)."""
    start, end = month_start(t), next_month_start(t)
    return (end - t) / (end - start)


class Clock:
    """A settable, monotonic simulated clock."""

    def __init__(self, start: str | datetime = "2026-01-01T00:00", log: EventLog | None = None) -> None:
        origin = self.origin = self.now = parse_instant(start)
        #: the start of the billing month after ``now``'s (kept as ``now`` moves)
        self.next_month = next_month_start(origin)
        #: seconds from ``origin`` to ``now`` (what the event log's time is set to)
        self.elapsed = 0.0
        self.log = log
        self._sync()

    def _sync(self) -> None:
        if self.now >= self.next_month:
            self.next_month = next_month_start(self.now)
        self.elapsed = (self.now - self.origin).total_seconds()
        if self.log is not None:
            self.log.time = self.elapsed

    def advance(self, duration: str | int | float | timedelta) -> datetime:
        self.now += parse_duration(duration)
        self._sync()
        return self.now

    def set(self, instant: str | datetime) -> datetime:
        target = instant if type(instant) is datetime else parse_instant(instant)
        if target < self.now:
            raise ValueError(f"time cannot go back: {target.isoformat()} is before {self.now.isoformat()}")
        self.now = target
        self._sync()
        return target
