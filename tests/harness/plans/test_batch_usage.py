"""Batched voice/SMS usage (PolicyEngine.calls / sms_each / sms count) against one usage at a time."""

from __future__ import annotations

from typing import Any

import pytest
from harness.events import EventLog

from harness.plans import PolicyEngine

ORANGE = "alphalink-orange-unlimited-10gb-blocked"
BOUYGUES = "alphalink-bouygues-unlimited-10gb-blocked"
TRAVEL = "alphalink-orange-travel-20gb"
DATA_ONLY = "alphalink-orange-data-only-20gb-blocked"


def _engine(offer: str) -> tuple[PolicyEngine, Any]:
    engine = PolicyEngine(log=EventLog(), start="2026-03-01T10:00")
    return engine, engine.add_line({"id": "l1", "offer": offer})


def _state(engine: PolicyEngine, line: Any) -> tuple[Any, ...]:
    events = [(e.seq, e.time, e.kind, e.data) for e in engine.log]
    c = line.counters
    return (events, engine.status(line), dict(c.rejected), sorted(c.correspondents), sorted(c.sms_recipients),
            list(line.sms_times), line.sms_suspended_until, engine.current_bill(line).as_dict())


def _numbers(n: int, distinct: bool) -> list[str]:
    return [f"+336{i if distinct else 0:08d}" for i in range(n)]


@pytest.mark.parametrize("offer", [ORANGE, BOUYGUES, TRAVEL, DATA_ONLY])
@pytest.mark.parametrize(("where", "to_country"), [({"country": "FR"}, "FR"), ({"country": "US"}, "US"),
                                                   ({"country": "CA"}, "FR"), ({"zone": "europe"}, "MA")])
@pytest.mark.parametrize("distinct", [True, False])
@pytest.mark.parametrize("duration", ["10min", "3h"])
def test_calls_rate_as_single_calls(offer: str, where: dict[str, str], to_country: str, distinct: bool,
                                    duration: str) -> None:
    numbers = _numbers(260, distinct)
    batch, bl = _engine(offer)
    single, sl = _engine(offer)
    answers = batch.calls(bl, duration, numbers, to_country=to_country, **where)
    assert answers == [single.call(sl, duration, to=n, to_country=to_country, **where) for n in numbers]
    assert _state(batch, bl) == _state(single, sl)


@pytest.mark.parametrize("offer", [ORANGE, BOUYGUES, TRAVEL, DATA_ONLY])
@pytest.mark.parametrize(("where", "to_country"), [({"country": "FR"}, "FR"), ({"country": "CA"}, "FR"),
                                                   ({"zone": "europe"}, "DE")])
@pytest.mark.parametrize("direction", ["out", "in"])
def test_sms_batches_rate_as_single_sms(offer: str, where: dict[str, str], to_country: str,
                                        direction: str) -> None:
    common = {"to_country": to_country, "direction": direction, **where}
    batch, bl = _engine(offer)
    single, sl = _engine(offer)
    # one order of many SMS (the hourly cap and the US allowance are crossed inside it)
    assert batch.sms(bl, to="+33612345678", count=620, **common) == single.sms(sl, to="+33612345678",
                                                                               count=620, **common)
    numbers = _numbers(300, True)
    answers = batch.sms_each(bl, numbers, **common)
    assert answers == [single.sms(sl, to=n, count=1, **common) for n in numbers]
    assert _state(batch, bl) == _state(single, sl)


def test_sms_order_matches_sms_one_by_one() -> None:
    batch, bl = _engine(ORANGE)
    single, sl = _engine(ORANGE)
    batch.sms(bl, to="+33612345678", count=505, country="FR")
    for _ in range(505):
        single.sms(sl, to="+33612345678", count=1, country="FR")
    assert batch.status(bl)["counters"] == single.status(sl)["counters"]
    assert batch.status(bl)["sms_suspended_until"] == single.status(sl)["sms_suspended_until"]
    assert dict(bl.counters.rejected) == dict(sl.counters.rejected)


def test_empty_batches_touch_nothing() -> None:
    engine, line = _engine(ORANGE)
    before = len(engine.log)
    assert engine.calls(line, "1min", []) == [] and engine.sms_each(line, []) == []
    assert len(engine.log) == before


@pytest.mark.parametrize("offer", [ORANGE, BOUYGUES, DATA_ONLY])
@pytest.mark.parametrize("count", [0, 1, 3, 300])
def test_sessions_opened_and_closed_as_one_at_a_time(offer: str, count: int) -> None:
    batch, one = _engine(offer), _engine(offer)
    b_opened, b_last = batch[0].open_sessions(batch[1], count, country="FR")
    answers = [one[0].session_open(one[1], country="FR") for _ in range(count)]
    assert b_opened == sum(1 for a in answers if a.get("accepted"))
    assert b_last == (answers[-1] if answers else {})
    ids = sorted(batch[1].sessions)[: count // 2]
    batch[0].close_sessions(batch[1], ids)
    for sid in ids:
        one[0].session_close(one[1], sid)
    assert _state(*batch) == _state(*one)


def test_close_sessions_refuses_an_unknown_session() -> None:
    from harness.plans import PlanError

    engine, line = _engine(ORANGE)
    engine.open_sessions(line, 1, country="FR")
    with pytest.raises(PlanError, match="has no session 7"):
        engine.close_sessions(line, [7])


def test_status_of_gives_the_asked_observables_alone() -> None:
    engine, line = _engine(ORANGE)
    engine.consume(line, "9GB", country="FR")
    engine.set_cutoff(line, "world", "1GB")
    engine.open_sessions(line, 2, country="FR")
    full = engine.status(line)
    assert engine.status_of(line, list(full)) == full
    assert engine.status_of(line, ["sessions", "unknown", "offer"]) == {"sessions": 2, "offer": ORANGE}


def test_an_open_session_is_charged_where_and_when_it_was_opened() -> None:
    from harness.plans.engine import ChargedSession

    engine, line = _engine(ORANGE)
    engine.advance("90min")
    answer = engine.session_open(line, country="BE", apn="orange")
    session = line.sessions[answer["session"]]
    assert isinstance(session, ChargedSession)
    assert (session.zone, session.apn) == ("europe", "orange")
    assert session.opened.isoformat() == "2026-03-01T11:30:00"
    engine.session_close(line, answer["session"])
    assert line.sessions == {}
