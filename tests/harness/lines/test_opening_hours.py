"""Opening hours per network (AlphaLink mobile reference, "HORAIRES D'OUVERTURE D'UNE LIGNE / SIM SWAP")
on the French calendar; holidays are the `holidays` library's."""

from datetime import date, datetime

import pytest

from harness.lines import load_rules
from harness.lines.opening_hours import FrenchCalendar, OpeningHours

RULES = load_rules()
HOURS = OpeningHours(FrenchCalendar())


def _refusal(network: str, kind: str, when: str) -> str | None:
    return HOURS.refusal(RULES.network(network).windows[kind], datetime.fromisoformat(when))


@pytest.mark.parametrize(
    ("network", "kind", "when", "open_"),
    [
        ("orange", "simple", "2026-03-07T21:59", True),  # Saturday before 22:00
        ("orange", "simple", "2026-03-07T22:00", False),
        ("orange", "simple", "2026-03-09T06:59", False),
        ("orange", "simple", "2026-03-08T12:00", False),  # Sunday
        (
            "orange",
            "simple",
            "2026-07-14T12:00",
            True,
        ),  # Bastille Day, a Tuesday: "y compris les jours fériés"
        ("orange", "sim_swap", "2026-03-08T12:00", False),
        ("orange", "esim", "2026-03-06T17:29", True),
        ("orange", "esim", "2026-03-06T17:30", False),
        ("orange", "esim_swap", "2026-03-07T10:00", False),
        ("bouygues", "simple", "2026-03-08T03:00", True),  # "24h/24, 7 jours sur 7"
        ("bouygues", "sim_swap", "2026-12-25T23:59", True),
        ("bouygues", "esim", "2026-03-04T10:00", False),  # eSIM "Disponible uniquement sur réseau Orange"
    ],
)
def test_windows(network, kind, when, open_):
    assert (_refusal(network, kind, when) is None) is open_


def test_esim_on_a_public_holiday_is_refused_as_unknown():
    assert "does not say" in _refusal("orange", "esim", "2026-05-14T10:00")  # Ascension Day


def test_french_public_holidays_come_from_the_library():
    cal = FrenchCalendar()
    assert cal.holiday(date(2026, 4, 6)) and cal.holiday(date(2026, 5, 25))  # Easter and Whit Mondays
    assert not cal.working_day(date(2026, 11, 11)) and cal.working_day(date(2026, 11, 12))


def test_d_plus_3_working_days_skip_weekend_and_holidays():
    cal = FrenchCalendar()
    assert cal.working_days_after(date(2026, 3, 6), 3) == date(2026, 3, 11)  # Fri -> Wed
    assert cal.working_days_after(date(2026, 4, 2), 3) == date(2026, 4, 8)  # over Easter Monday
    assert cal.working_days_after(date(2026, 12, 23), 3) == date(2026, 12, 29)  # over Christmas


def test_one_working_hour_spans_the_closing():
    w = RULES.network("orange").windows["simple"]
    assert HOURS.add_open_time(w, datetime(2026, 3, 7, 21, 30), RULES.without_portability) == datetime(
        2026, 3, 9, 7, 30
    )
    w = RULES.network("bouygues").windows["simple"]
    assert HOURS.add_open_time(w, datetime(2026, 3, 8, 23, 30), RULES.without_portability) == datetime(
        2026, 3, 9, 0, 30
    )
