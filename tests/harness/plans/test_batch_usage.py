"""Batched voice/SMS usage and sessions (PolicyEngine.calls / sms_each / sms count / open_sessions)
against the provider rules of fixtures/plans/alphalink.yaml, figures worked out by hand:

* fair use (ranges unlimited, travel): 250 distinct correspondents a month, 2h per call, metered beyond;
* Orange: 500 SMS an hour, then sending suspended 3 days; Bouygues: no SMS cap;
* Travel 20 GB: 1h of calls and 100 SMS a month included from USA/Canada to USA/Canada or France;
* Data Only: no voice, no SMS; Bouygues caps Data Only at 256 simultaneous sessions unless fixed IP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from harness.events import EventLog

from harness.plans import PlanError, PolicyEngine

ORANGE = "alphalink-orange-unlimited-10gb-blocked"
BOUYGUES = "alphalink-bouygues-unlimited-10gb-blocked"
TRAVEL = "alphalink-orange-travel-20gb"
DATA_ONLY = "alphalink-orange-data-only-20gb-blocked"
BOUYGUES_DATA_ONLY = "alphalink-bouygues-data-only-20gb-blocked"


def _engine(offer: str, **line: Any) -> tuple[PolicyEngine, Any]:
    engine = PolicyEngine(log=EventLog(), start="2026-03-01T10:00")
    return engine, engine.add_line({"id": "l1", "offer": offer, **line})


def _numbers(n: int, distinct: bool = True) -> list[str]:
    return [f"+336{i if distinct else 0:08d}" for i in range(n)]


def _events(engine: PolicyEngine, kind: str) -> list[dict[str, Any]]:
    return [e.data for e in engine.log if e.kind == kind]


def _call_all(engine: PolicyEngine, line: Any, batch: bool, duration: str, numbers: list[str],
              **where: str) -> list[dict[str, Any]]:
    if batch:
        return engine.calls(line, duration, numbers, **where)
    return [engine.call(line, duration, to=n, **where) for n in numbers]


@pytest.mark.parametrize("batch", [True, False])
@pytest.mark.parametrize("offer", [ORANGE, BOUYGUES])
def test_calls_past_250_correspondents_are_metered(offer: str, batch: bool) -> None:
    engine, line = _engine(offer)
    answers = _call_all(engine, line, batch, "10min", _numbers(260), country="FR", to_country="FR")
    assert answers == [{"included": 600, "metered": 0, "rejected": 0}] * 250 \
        + [{"included": 0, "metered": 600, "rejected": 0}] * 10
    assert line.counters.get("voice", "france") == 260 * 600
    assert line.counters.metered("voice", "france") == 10 * 600
    fair = _events(engine, "fair_use")
    assert [f["rule"] for f in fair] == ["distinct_correspondents"] * 10
    assert [f["to"] for f in fair] == _numbers(260)[250:]
    assert len(_events(engine, "usage")) == 260


@pytest.mark.parametrize("batch", [True, False])
def test_calls_to_one_correspondent_stay_included(batch: bool) -> None:
    engine, line = _engine(ORANGE)
    answers = _call_all(engine, line, batch, "10min", _numbers(260, distinct=False), country="FR",
                        to_country="FR")
    assert answers == [{"included": 600, "metered": 0, "rejected": 0}] * 260
    assert line.counters.metered("voice") == 0 and _events(engine, "fair_use") == []
    assert line.counters.correspondents == {"+33600000000"}


@pytest.mark.parametrize("batch", [True, False])
def test_calls_longer_than_2h_are_metered_beyond_2h(batch: bool) -> None:
    engine, line = _engine(ORANGE)
    answers = _call_all(engine, line, batch, "3h", _numbers(3), country="FR", to_country="FR")
    assert answers == [{"included": 7200, "metered": 3600, "rejected": 0}] * 3
    assert [(f["rule"], f["limit"], f["metered"]) for f in _events(engine, "fair_use")] == [
        ("call_max", 7200, 3600)] * 3
    assert line.counters.metered("voice", "france") == 3 * 3600


@pytest.mark.parametrize("batch", [True, False])
def test_travel_calls_from_usa_use_the_1h_allowance_first(batch: bool) -> None:
    engine, line = _engine(TRAVEL)
    answers = _call_all(engine, line, batch, "10min", _numbers(8), country="US", to_country="FR")
    assert answers == [{"included": 600, "metered": 0, "rejected": 0}] * 6 \
        + [{"included": 0, "metered": 600, "rejected": 0}] * 2
    counters = line.counters
    assert (counters.get("voice", "usa_canada"), counters.metered("voice", "usa_canada")) == (4800, 1200)


@pytest.mark.parametrize("batch", [True, False])
def test_data_only_rejects_calls_and_sms(batch: bool) -> None:
    engine, line = _engine(DATA_ONLY)
    calls = _call_all(engine, line, batch, "10min", _numbers(3), country="FR", to_country="FR")
    assert calls == [{"included": 0, "metered": 0, "rejected": 600}] * 3
    numbers = _numbers(4)
    sms = engine.sms_each(line, numbers) if batch else [engine.sms(line, to=n) for n in numbers]
    assert sms == [{"sent": 0, "metered": 0, "rejected": 1}] * 4
    assert dict(line.counters.rejected) == {"voice": 1800, "sms": 4}
    assert [e["usage"] for e in _events(engine, "usage_rejected")] == ["voice"] * 3 + ["sms"] * 4
    assert line.counters.as_dict() == {}


def test_orange_suspends_sms_for_3_days_past_500_an_hour() -> None:
    engine, line = _engine(ORANGE)
    assert engine.sms(line, to="+33612345678", count=620, country="FR") == {
        "sent": 500, "metered": 0, "rejected": 120}
    assert line.sms_suspended_until == datetime(2026, 3, 4, 10, 0)
    assert _events(engine, "sms_suspended") == [
        {"line": "l1", "limit_per_hour": 500, "until": "2026-03-04T10:00:00"}]
    assert line.counters.get("sms", "france") == 500 and line.counters.rejected["sms"] == 120
    assert engine.sms_each(line, _numbers(2)) == [{"sent": 0, "metered": 0, "rejected": 1}] * 2
    engine.advance("3d")
    assert engine.sms(line, to="+33612345678", country="FR") == {"sent": 1, "metered": 0, "rejected": 0}


def test_orange_sms_one_by_one_hit_the_same_hourly_cap() -> None:
    engine, line = _engine(ORANGE)
    answers = [engine.sms(line, to="+33612345678", country="FR") for _ in range(505)]
    assert answers == [{"sent": 1, "metered": 0, "rejected": 0}] * 500 \
        + [{"sent": 0, "metered": 0, "rejected": 1}] * 5
    assert line.sms_suspended_until == datetime(2026, 3, 4, 10, 0)
    assert line.counters.get("sms") == 500 and line.counters.rejected["sms"] == 5


def test_bouygues_has_no_sms_cap() -> None:
    engine, line = _engine(BOUYGUES)
    assert engine.sms(line, to="+33612345678", count=620, country="FR") == {
        "sent": 620, "metered": 0, "rejected": 0}
    assert line.sms_suspended_until is None and _events(engine, "sms_suspended") == []


@pytest.mark.parametrize("batch", [True, False])
def test_sms_to_more_than_250_recipients_are_metered(batch: bool) -> None:
    engine, line = _engine(BOUYGUES)
    numbers = _numbers(255)
    answers = engine.sms_each(line, numbers) if batch else [engine.sms(line, to=n) for n in numbers]
    assert answers == [{"sent": 1, "metered": 0, "rejected": 0}] * 250 \
        + [{"sent": 1, "metered": 1, "rejected": 0}] * 5
    assert (line.counters.get("sms"), line.counters.metered("sms")) == (255, 5)
    assert len(line.counters.sms_recipients) == 255


def test_travel_sms_from_usa_use_the_100_sms_allowance_first() -> None:
    engine, line = _engine(TRAVEL)
    assert engine.sms(line, to="+33612345678", count=120, country="US") == {
        "sent": 120, "metered": 20, "rejected": 0}
    assert engine.sms_each(line, _numbers(2), country="US") == [{"sent": 1, "metered": 1, "rejected": 0}] * 2


def test_empty_batches_touch_nothing() -> None:
    engine, line = _engine(ORANGE)
    before = len(engine.log)
    assert engine.calls(line, "1min", []) == [] and engine.sms_each(line, []) == []
    assert len(engine.log) == before


@pytest.mark.parametrize("batch", [True, False])
def test_bouygues_data_only_caps_sessions_at_256(batch: bool) -> None:
    engine, line = _engine(BOUYGUES_DATA_ONLY)
    if batch:
        opened, last = engine.open_sessions(line, 300, country="FR")
    else:
        answers = [engine.session_open(line, country="FR") for _ in range(300)]
        opened, last = sum(1 for a in answers if a["accepted"]), answers[-1]
    assert opened == 256 and len(line.sessions) == 256
    assert last == {"accepted": False, "reason": "256 simultaneous sessions reached (no fixed IP)"}
    assert len(_events(engine, "session_opened")) == 256 and len(_events(engine, "session_rejected")) == 44
    engine.close_sessions(line, sorted(line.sessions)[:10])
    assert len(line.sessions) == 246 and len(_events(engine, "session_closed")) == 10
    assert engine.open_sessions(line, 20, country="FR")[0] == 10


@pytest.mark.parametrize(("offer", "line"), [(BOUYGUES_DATA_ONLY, {"fixed_ip": True}), (ORANGE, {}),
                                             (DATA_ONLY, {})])
def test_no_session_cap_with_fixed_ip_or_on_orange(offer: str, line: dict[str, Any]) -> None:
    engine, ln = _engine(offer, **line)
    opened, last = engine.open_sessions(ln, 300, country="FR")
    assert opened == 300 and last["accepted"] and len(ln.sessions) == 300
    assert _events(engine, "session_rejected") == []


def test_open_sessions_of_zero_answers_nothing() -> None:
    engine, line = _engine(ORANGE)
    assert engine.open_sessions(line, 0, country="FR") == (0, {})
    assert line.sessions == {}


def test_close_sessions_refuses_an_unknown_session() -> None:
    engine, line = _engine(ORANGE)
    engine.open_sessions(line, 1, country="FR")
    with pytest.raises(PlanError, match="has no session 7"):
        engine.close_sessions(line, [7])


def test_status_of_gives_the_asked_observables_alone() -> None:
    engine, line = _engine(ORANGE)
    engine.consume(line, "9GB", country="FR")
    engine.set_cutoff(line, "world", "1GB")
    engine.open_sessions(line, 2, country="FR")
    assert engine.status_of(line, ["sessions", "unknown", "offer", "envelope"]) == {
        "sessions": 2, "offer": ORANGE, "envelope": 10 * 10**9}
    assert engine.status(line)["cutoffs"]["world"] == str(10**9)  # 1GB, in bytes


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
