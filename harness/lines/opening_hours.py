"""When a line may be created or its SIM swapped, per network and order kind (the AlphaLink mobile
reference, "HORAIRES D'OUVERTURE D'UNE LIGNE / SIM SWAP"), on the French calendar.

Simulated time is naive French local time. Public holidays come from the ``holidays`` library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import holidays

from csim.memo import once

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


#: the public holidays of a country, filled year by year as they are asked for: building them
#: took half of an existing_line step (bench/scenario_replay.py)
_HOLIDAYS: dict[str, holidays.HolidayBase] = {}


class FrenchCalendar:
    """Working days in France: Monday to Friday, French public holidays excepted."""

    def __init__(self, country: str = "FR") -> None:
        self._holidays = once(_HOLIDAYS, country, holidays.country_holidays, 16)

    def holiday(self, day: date) -> str | None:
        """The public holiday's name on ``day``, or None."""
        return self._holidays.get(day)

    def working_day(self, day: date) -> bool:
        return day.weekday() < 5 and self.holiday(day) is None

    def working_days_after(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (D+3 jour ouvré: ``count=3``)."""
        d = day
        while count > 0:
            d += timedelta(days=1)
            if self.working_day(d):
                count -= 1
        return d


@dataclass(frozen=True, slots=True)
class Window:
    """One order kind's opening: week days, daily hours, public holidays (``open``, ``closed`` or
    ``unknown`` where the reference does not say), or a minimum of working days ahead."""

    kind: str
    days: tuple[str, ...] = ()
    opens: time | None = None
    closes: time | None = None  # None with ``opens``: until midnight
    public_holidays: str = "closed"
    working_days_ahead: int | None = None
    available: bool = True
    cite: str = ""

    def daily(self) -> bool:
        return self.opens is not None

    def _hours_text(self) -> str:
        if self.opens is None:
            return ""
        closes = "24:00" if self.closes is None else self.closes.strftime("%H:%M")
        return f" {self.opens.strftime('%H:%M')}-{closes}"

    def describe(self) -> str:
        if not self.available:
            return "not offered"
        days = ",".join(self.days)
        if self.working_days_ahead is not None:
            return f"D+{self.working_days_ahead} working days minimum, {days}"
        return f"{days}{self._hours_text()}"


class OpeningHours:
    """Whether an instant lies in a window, and why not."""

    def __init__(self, calendar: FrenchCalendar) -> None:
        self.calendar = calendar

    def refusal(self, window: Window, when: datetime) -> str | None:
        """Why an order of ``window.kind`` placed at ``when`` is refused, or None when it is open."""
        if not window.available:
            return f"{window.kind} is not offered on this network ({window.cite})"
        day = when.date()
        wd = DAYS[day.weekday()]
        holiday = self.calendar.holiday(day)
        if wd not in window.days:
            return f"{window.kind} is closed on {day.strftime('%A')} (open {window.describe()})"
        if holiday is not None:
            if window.public_holidays == "unknown":
                return (
                    f"{day.isoformat()} is a public holiday ({holiday}) and the reference does not "
                    f"say whether {window.kind} is open on public holidays"
                )
            if window.public_holidays == "closed":
                return f"{window.kind} is closed on public holidays ({holiday})"
        if window.daily():
            t = when.time()
            closes = window.closes
            if t < window.opens or (closes is not None and t >= closes):
                return f"{window.kind} is closed at {t.strftime('%H:%M')} (open {window.describe()})"
        return None

    def portability_refusal(self, window: Window, ordered: datetime, port_day: date) -> str | None:
        """Why ``port_day`` is refused for a portability ordered at ``ordered`` (D+N working days
        minimum, on one of the window's days, a working day)."""
        earliest = self.calendar.working_days_after(ordered.date(), window.working_days_ahead or 0)
        if port_day < earliest:
            return (
                f"portability on {port_day.isoformat()} is too early: D+{window.working_days_ahead} "
                f"working days minimum is {earliest.isoformat()}"
            )
        if DAYS[port_day.weekday()] not in window.days or not self.calendar.working_day(port_day):
            holiday = self.calendar.holiday(port_day)
            why = f"a public holiday ({holiday})" if holiday else port_day.strftime("%A")
            return (
                f"portability on {port_day.isoformat()} is refused: {why} is not a working day Monday-Friday"
            )
        return None

    def earliest_port_day(self, window: Window, ordered: datetime) -> date:
        return self.calendar.working_days_after(ordered.date(), window.working_days_ahead or 0)

    def add_open_time(self, window: Window, start: datetime, duration: timedelta) -> datetime:
        """``start`` plus ``duration`` counted only while ``window`` is open (one working hour)."""
        if not window.daily():
            return start + duration
        left = duration
        t = start
        for _ in range(400):  # bounded: a window opens at least once a week
            if self.refusal(window, t) is None:
                day_close = (
                    datetime.combine(t.date(), window.closes)
                    if window.closes
                    else datetime.combine(t.date() + timedelta(days=1), time(0))
                )
                room = day_close - t
                if left <= room:
                    return t + left
                left -= room
                t = day_close
            else:
                t = self._next_opening(window, t)
        raise ValueError(f"{window.kind} never opens ({window.describe()})")

    def _next_opening(self, window: Window, t: datetime) -> datetime:
        day = t.date()
        opens = window.opens or time(0)
        candidate = datetime.combine(day, opens)
        if candidate <= t:
            day += timedelta(days=1)
            candidate = datetime.combine(day, opens)
        for _ in range(30):
            if self.refusal(window, candidate) is None:
                return candidate
            day += timedelta(days=1)
            candidate = datetime.combine(day, opens)
        raise ValueError(f"{window.kind} never opens ({window.describe()})")
