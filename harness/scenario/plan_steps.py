"""Plan steps of the scenario language: a line's subscription, its usage, time and operator requests.

A scenario that declares ``plan:`` (the line's subscription, checked against the catalogue of
``fixtures/plans``) and optionally ``start:`` (the simulated date of the first step) gets a
:class:`~harness.plans.PolicyEngine` on the run's event log. Steps feed it usage (``consume``,
``call``, ``sms``), move simulated time (``advance``, ``at``) for the engine *and* the modem,
and place the operator-side requests of the AlphaLink mobile reference ("ACTIONS SUR
CONTRAT") and the data-service change guide (``change_plan``, ``set_cutoff``, ``set_option``,
``order_recharge``, ``cancel``).
Expectations read the engine's counters, alerts, blocks, throughput class and bills.

Nothing here is imported by scenarios without a plan: the engine is built on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from csim.yamlsrc import DataError, LineDict
from harness.scenario.checks import Mismatch
from harness.scenario.step_groups import (
    LazyModule,
    OfRun,
    data_view,
    group_key,
    modem_view,
    per_scenario,
    run_context,
    serving_plmn,
)

if TYPE_CHECKING:
    from harness.plans import PolicyEngine
    from harness.scenario.loader import Scenario
    from harness.scenario.session import Session

#: Steps added to the scenario language (``harness.scenario.loader.STEP_KINDS``).
PLAN_STEPS: tuple[str, ...] = (
    "consume", "call", "sms", "advance", "at", "change_plan", "set_cutoff", "set_option",
    "order_recharge", "open_session", "close_session", "cancel", "reboot",
)
#: ``expect`` keys answered by the plan engine.
PLAN_EXPECT: tuple[str, ...] = (
    "counters", "remaining", "envelope", "alerts", "blocked", "throughput", "billed", "change",
    "line", "sessions",
)
DEFAULT_START = "2026-01-01T00:00"
LINE_ID = "line"

_plans = LazyModule("harness.plans")
_units = LazyModule("harness.plans.units")
_enforcement = LazyModule("harness.plans.enforcement")
_data_steps = LazyModule("harness.scenario.data_steps")


class PlanStepError(RuntimeError):
    """A plan step cannot run as written (no zone known, time going back...)."""


# --------------------------------------------------------------------------- load-time checks


def uses_plans(scn: Scenario) -> bool:
    """Does the scenario declare a plan or use a plan step / expectation?"""
    if scn.plan is not None:
        return True
    return any(_plan_key(step) for step in scn.steps)


def _plan_key(step: Any) -> str | None:
    return group_key(step, PLAN_STEPS, PLAN_EXPECT)


def subscription_spec(plan: Mapping[str, Any]) -> LineDict:
    """The scenario's ``plan:`` mapping as a catalogue order (``id`` added, lines kept)."""
    spec = LineDict(plan)
    spec.source = getattr(plan, "source", "<scenario>")
    spec.line = getattr(plan, "line", None)
    spec.lines = dict(getattr(plan, "lines", {}))
    spec.setdefault("id", LINE_ID)
    return spec


def check_scenario(scn: Scenario, doc: Mapping[str, Any]) -> None:
    """Semantic checks of a scenario's plan part; errors read ``file:line: what is wrong``."""
    if scn.plan is None:
        step = next(s for s in scn.steps if _plan_key(s))
        raise DataError(scn.source, step.line,
                        f"'{_plan_key(step)}' needs the line's subscription: declare 'plan:' "
                        "(offer, cutoffs, options...) at the top of the scenario")
    catalogue = _plans.default_catalogue()
    catalogue.subscription(subscription_spec(scn.plan))
    if scn.start is not None:
        try:
            _plans.parse_instant(scn.start)
        except ValueError as exc:
            raise DataError(scn.source, _line_of(doc, "start"), str(exc)) from None
    for step in scn.steps:
        if step.kind == "change_plan":
            offer = step.args if isinstance(step.args, str) else step.args.get("offer")
            if offer is not None and offer not in catalogue.offers:
                raise DataError(scn.source, step.line, catalogue._unknown_offer(offer))
            mno = step.args.get("mno") if isinstance(step.args, Mapping) else None
            networks = catalogue.provider(catalogue.offer(scn.plan["offer"])).networks
            if mno is not None and mno not in networks:
                raise DataError(scn.source, step.line,
                                f"unknown mno {mno!r} (the provider's networks: {', '.join(networks)})")


def _line_of(doc: Mapping[str, Any], key: str) -> int | None:
    return doc.line_of(key) if isinstance(doc, LineDict) else None


# --------------------------------------------------------------------------- run-time state


class PlanContext(OfRun):
    """The policy engine of one run, its line, and the last operator request's outcome (kept on
    its session, which it refers back to weakly)."""

    run_over = PlanStepError

    def __init__(self, session: Session) -> None:
        scn = session.scenario
        if scn is None or scn.plan is None:
            raise PlanStepError("this scenario declares no 'plan:' (the line's subscription)")
        super().__init__(session)
        log = session.log
        elapsed = log.time
        catalogue = _plans.default_catalogue()
        setup = per_scenario(scn, "plan", _plan_setup)
        if setup[0] is not catalogue:
            setup = _plan_setup(scn)
        _, subscription, start = setup
        self.start = start
        self.engine: PolicyEngine = _plans.PolicyEngine(catalogue, log=log, start=start)
        if elapsed:
            self.engine.at(start + timedelta(seconds=elapsed))  # the modem may have lived a while
        t0 = log.time
        self.line = self.engine.add_line(subscription)
        self._modem_follow(t0)
        self.last_zone = "france"
        self.result: dict[str, Any] | None = None

    # -- time
    def catch_up(self) -> None:
        """Bring the engine to the modem's time (a ``wait`` step moves only the modem)."""
        engine = self.engine
        clock, elapsed = engine.clock, engine.log.time  # the engine records on the run's log
        if elapsed > clock.elapsed:
            target = clock.origin + timedelta(seconds=elapsed)
            if target > clock.now:
                self.engine.at(target)

    def move_to(self, target: datetime) -> None:
        """Both clocks to ``target``: the engine replays what falls due, the modem its timers."""
        self.catch_up()
        if target < self.engine.clock.now:
            raise PlanStepError(f"time cannot go back to {target.isoformat()} "
                                f"(now {self.engine.clock.now.isoformat()})")
        t0 = self.engine.log.time
        self.engine.at(target)
        self._modem_follow(t0)

    def _modem_follow(self, t0: float) -> None:
        log = self.engine.log
        t1 = log.time
        if t1 > t0:
            log.time = t0
            self.session.modem.wait(t1 - t0)
            log.time = t1

    # -- where
    def where(self, args: Mapping[str, Any] | None,
              status: Mapping[str, Any] | None = None) -> dict[str, str]:
        """The zone of a usage: explicit ``zone:``/``country:``, else the modem's serving PLMN
        (from ``status`` when the step already has the modem's status)."""
        args = args or {}
        if "zone" in args:
            return {"zone": str(args["zone"])}
        if "country" in args:
            return {"country": str(args["country"])}
        registered = status.get("registered") if status is not None else serving_plmn(self.session.modem)
        if registered:
            return {"plmn": str(registered)}
        raise PlanStepError("the modem is not registered: say where the usage happens "
                            "(country: FR or zone: europe)")

    def zone(self, where: Mapping[str, str]) -> str:
        zone = _plans.zone_of(**where)
        self.last_zone = zone
        return zone

    def current_zone(self) -> str:
        registered = serving_plmn(self.session.modem)
        if registered:
            zone = self.last_zone = _plans.zone_of(plmn=str(registered))
            return zone
        return self.last_zone

    def device_data_off(self, args: Mapping[str, Any] | None,
                        status: Mapping[str, Any] | None = None) -> str | None:
        """Why the device cannot carry data now (registered but no PS data), for implicit zones."""
        args = args or {}
        if "zone" in args or "country" in args:
            return None
        st = status if status is not None else modem_view(self.session.modem)
        if st.get("registered") and not st.get("data"):
            return "the device has no data service (not attached, or data roaming off)"
        return None


def start_instant(scn: Scenario) -> datetime:
    """Where the simulated time of ``scn`` starts: ``start:``, else the line's activation date."""
    return _plans.parse_instant(scn.start or scn.plan.get("activated") or DEFAULT_START)


def _plan_setup(scn: Scenario) -> tuple[Any, Any, datetime]:
    """What every run of ``scn`` starts from: the catalogue, the line's checked subscription
    (frozen offer, cut-offs and options the engine copies) and the start instant."""
    catalogue = _plans.default_catalogue()
    return catalogue, catalogue.subscription(subscription_spec(scn.plan)), start_instant(scn)


def plans(session: Session) -> PlanContext:
    """The run's :class:`PlanContext`, built on first use."""
    ctx = getattr(session, "_plan_context", None)
    if ctx is None:
        ctx = run_context(session, "_plan_context", PlanContext)
    ctx.catch_up()
    return ctx


# --------------------------------------------------------------------------- steps


def _mapping(args: Any, key: str) -> Mapping[str, Any]:
    if isinstance(args, dict):  # a scenario's mappings are dicts: no ABC check
        return args
    if args is None:
        return {}
    if isinstance(args, Mapping):
        return args
    return {key: args}


def _consume(s: Session, args: Any) -> None:
    a = _mapping(args, "data")
    ctx = plans(s)
    total = _units.parse_volume(a["data"])
    st = None if "zone" in a or "country" in a else data_view(s.modem)
    why = ctx.device_data_off(a, st)
    where = ctx.where(a, st)
    if why:
        zone = ctx.zone(where)
        ctx.engine.log.record("usage_rejected", line=ctx.line.id, usage="data", zone=zone,
                              amount=total, reason=why)
        return
    chunks = int(a.get("chunks", 10 if "over" in a else 1))
    step = _plans.parse_duration(a["over"]) / chunks if "over" in a else None
    if chunks <= 0:
        return
    engine, line = ctx.engine, ctx.line
    zone = ctx.last_zone = engine.resolve_zone(**where)  # the same zone for every chunk
    done = 0
    for i in range(chunks):
        part = total * (i + 1) // chunks - done
        done += part
        if _data_steps.carry(s, part):
            pass   # on a session the AAA accounts: metered from its accounting records
        elif line.out_of_service is None:
            engine.rate_data(line, zone, part)
        else:
            engine.consume(line, part, zone=zone)  # refused: the line ended or was suspended
        if step is not None:
            ctx.move_to(engine.clock.now + step)
    if step is not None:
        _data_steps.carry(s, 0)   # the interim timers at the step's last instant


def _numbers(a: Mapping[str, Any], count: int) -> list[str]:
    """The ``count`` numbers called: ``to:`` each time, or ``to:`` and the next ones when
    ``distinct:`` (same width, ``+`` kept)."""
    base = str(a.get("to", "+33600000000"))
    if not a.get("distinct"):
        return [base] * count
    digits = base.lstrip("+")
    width = len(digits)
    plus = "+" if base.startswith("+") else ""
    first = int(digits)
    return [plus + str(first + i).zfill(width) for i in range(count)]


def _call(s: Session, args: Any) -> None:
    a = _mapping(args, "duration")
    ctx = plans(s)
    where = ctx.where(a)
    ctx.engine.calls(ctx.line, a["duration"], _numbers(a, int(a.get("count", 1))),
                     to_country=str(a.get("to_country", "FR")), direction=str(a.get("direction", "out")),
                     **where)
    ctx.zone(where)


def _sms(s: Session, args: Any) -> None:
    a = _mapping(args, "count")
    ctx = plans(s)
    where = ctx.where(a)
    count = int(a.get("count", 1))
    common = {"to_country": str(a.get("to_country", "FR")), "direction": str(a.get("direction", "out"))}
    if a.get("distinct"):
        ctx.engine.sms_each(ctx.line, _numbers(a, count), **common, **where)
    else:
        ctx.engine.sms(ctx.line, to=str(a.get("to", "+33600000000")), count=count, **common, **where)
    ctx.zone(where)


def _advance(s: Session, args: Any) -> None:
    ctx = plans(s)
    ctx.move_to(ctx.engine.clock.now + _plans.parse_duration(args))


def _at(s: Session, args: Any) -> None:
    plans(s).move_to(_plans.parse_instant(args))


def _outcome(ctx: PlanContext, request: str, result: Mapping[str, Any]) -> None:
    ctx.result = {"request": request, **result}


def _operator(request: str, call: Callable[[PlanContext, Mapping[str, Any]], dict[str, Any] | None],
              key: str) -> Callable[[Session, Any], None]:
    def run(s: Session, args: Any) -> None:
        ctx = plans(s)
        try:
            result = call(ctx, _mapping(args, key)) or {"accepted": True}
        except _plans.PlanError as exc:
            result = {"accepted": False, "reason": str(exc)}
        _outcome(ctx, request, result)

    run.__name__ = request
    return run


def _change_plan(ctx: PlanContext, a: Mapping[str, Any]) -> dict[str, Any]:
    return ctx.engine.change_plan(ctx.line, a.get("offer"), mno=a.get("mno"))


def _set_cutoff(ctx: PlanContext, a: Mapping[str, Any]) -> None:
    ctx.engine.set_cutoff(ctx.line, str(a["zone"]), a["value"])


def _set_option(ctx: PlanContext, a: Mapping[str, Any]) -> None:
    ctx.engine.set_option(ctx.line, str(a["zone"]), a["volume"], bool(a.get("voice_sms", False)))


def _order_recharge(ctx: PlanContext, a: Mapping[str, Any]) -> dict[str, Any]:
    return ctx.engine.order_recharge(ctx.line, a["volume"], zone=str(a.get("zone", "france")))


def _cancel(ctx: PlanContext, _a: Mapping[str, Any]) -> dict[str, Any]:
    return {"accepted": True, "effective": ctx.engine.cancel(ctx.line)}


def _open_session(s: Session, args: Any) -> None:
    a = _mapping(args, "count")
    ctx = plans(s)
    st = data_view(s.modem)
    where = ctx.where(a, st)
    why = ctx.device_data_off(a, st)
    count = int(a.get("count", 1))
    opened, last = 0, {}
    if why:
        for _ in range(count):
            ctx.engine.log.record("session_rejected", line=ctx.line.id, zone=ctx.zone(where), reason=why)
            last = {"accepted": False, "reason": why}
    elif count > 0:
        opened, last = ctx.engine.open_sessions(ctx.line, count, apn=a.get("apn"), rat=st.get("rat"), **where)
    ctx.zone(where)
    _outcome(ctx, "open_session", {**last, "opened": opened})


def _close_session(s: Session, args: Any) -> None:
    a = _mapping(args, "count")
    ctx = plans(s)
    ids = sorted(ctx.line.sessions)
    if "session" in a:
        ids = [int(a["session"])]
    elif "count" in a:
        ids = ids[: int(a["count"])]
    ctx.engine.close_sessions(ctx.line, ids)


def _reboot(s: Session, _args: Any) -> None:
    ctx = plans(s)
    ctx.engine.reboot(ctx.line)
    if modem_view(s.modem).get("powered"):
        s.modem.restart()


ACTIONS: dict[str, Callable[[Session, Any], None]] = {
    "consume": _consume,
    "call": _call,
    "sms": _sms,
    "advance": _advance,
    "at": _at,
    "change_plan": _operator("change_plan", _change_plan, "offer"),
    "set_cutoff": _operator("set_cutoff", _set_cutoff, "zone"),
    "set_option": _operator("set_option", _set_option, "zone"),
    "order_recharge": _operator("order_recharge", _order_recharge, "volume"),
    "cancel": _operator("cancel", _cancel, "line"),
    "open_session": _open_session,
    "close_session": _close_session,
    "reboot": _reboot,
}


# --------------------------------------------------------------------------- expectations


def _quantity(kind: str, value: Any) -> int:
    if kind == "data":
        return _units.parse_volume(value)
    if kind == "voice":
        return int(_plans.parse_duration(value).total_seconds())
    return int(value)


def _show_quantity(kind: str, value: int) -> str | int:
    if kind == "data":
        return _units.format_volume(value)
    if kind == "voice":
        return f"{value}s"
    return value


def _lines(spec: Any) -> Mapping[Any, int]:
    return getattr(spec, "lines", {})


def check(s: Session, key: str, want: Any, line: int | None, window: int) -> list[Mismatch]:
    """Evaluate one plan expectation (a key of :data:`PLAN_EXPECT`)."""
    return _CHECKS[key](plans(s), want, line, window, Mismatch)


def _check_counters(ctx: PlanContext, want: Any, line: int | None, _w: int, M: Any) -> list[Any]:
    out = []
    c = ctx.line.counters
    for kind, spec in want.items():
        at = _lines(want).get(kind, line)
        if kind in ("rejected", "metered"):
            for k, v in spec.items():
                actual = c.rejected.get(k, 0) if kind == "rejected" else c.metered(k)
                if actual != _quantity(k, v):
                    out.append(M(f"counters.{kind}.{k}", v, _show_quantity(k, actual), at))
            continue
        zones = spec if isinstance(spec, Mapping) else {"total": spec}
        for zone, v in zones.items():
            actual = c.get(kind, None if zone == "total" else zone)
            if actual != _quantity(kind, v):
                out.append(M(f"counters.{kind}.{zone}", v, _show_quantity(kind, actual), at))
    return out


def _meter_value(ctx: PlanContext, meter: str, euro: bool, raw: int) -> Any:
    return round(raw / 10**9, 2) if euro else _units.format_volume(raw)


def _meters(ctx: PlanContext) -> dict[str, tuple[int, int, bool]]:
    out = {}
    unlimited, names = _enforcement.UNLIMITED, _enforcement.METERS
    is_euro, line = ctx.engine._is_euro_meter, ctx.line
    for mi, m in enumerate(line.policy.meters):
        limit = m.limit
        if limit and limit < unlimited:
            out[names[mi]] = (m.used, limit, is_euro(line, mi))
    return out


def _check_remaining(ctx: PlanContext, want: Any, line: int | None, _w: int, M: Any) -> list[Any]:
    out = []
    meters = _meters(ctx)
    spec = want if isinstance(want, Mapping) else {"envelope": want}
    for meter, v in spec.items():
        if meter not in meters:
            out.append(M(f"remaining.{meter}", v, f"no {meter} limit (meters: {', '.join(meters)})", line))
            continue
        used, limit, euro = meters[meter]
        left = max(0, limit - used)
        expected = int(round(float(v) * 10**9)) if euro else _units.parse_volume(v)
        if left != expected:
            out.append(M(f"remaining.{meter}", v, _meter_value(ctx, meter, euro, left),
                         _lines(spec).get(meter, line)))
    return out


def _check_envelope(ctx: PlanContext, want: Any, line: int | None, _w: int, M: Any) -> list[Any]:
    actual = ctx.line.envelope_limit
    if want is None:
        return [] if actual is None else [M("envelope", None, _units.format_volume(actual), line)]
    if actual != _units.parse_volume(want):
        return [M("envelope", want, None if actual is None else _units.format_volume(actual), line)]
    return []


def _check_alerts(ctx: PlanContext, want: Any, line: int | None, window: int, M: Any) -> list[Any]:
    spec = want if isinstance(want, Mapping) else {"percents": want}
    since = 0 if spec.get("since") == "start" else window
    events = ctx.engine.log.of_kind("alert", since=since)
    if "meter" in spec:
        events = [e for e in events if e.data.get("meter") == spec["meter"]]
    actual = [e.data["percent"] for e in events]
    if actual != list(spec["percents"]):
        seen = [f"{e.data['meter']} {e.data['percent']}%" for e in events]
        return [M("alerts", list(spec["percents"]), seen or [], line)]
    return []


def _check_blocked(ctx: PlanContext, want: Any, line: int | None, _w: int, M: Any) -> list[Any]:
    state = ctx.engine.throughput(ctx.line, zone=ctx.current_zone())
    if (state == "blocked") != bool(want):
        return [M("blocked", want, f"{state} in {ctx.current_zone()}", line)]
    return []


def _check_throughput(ctx: PlanContext, want: Any, line: int | None, _w: int, M: Any) -> list[Any]:
    spec = want if isinstance(want, Mapping) else {ctx.current_zone(): want}
    out = []
    for zone, v in spec.items():
        state = ctx.engine.throughput(ctx.line, zone=zone)
        if state != v:
            out.append(M(f"throughput.{zone}", v, state, _lines(spec).get(zone, line)))
    return out


def _check_billed(ctx: PlanContext, want: Any, line: int | None, _w: int, M: Any) -> list[Any]:
    month = want.get("month")
    if month is None:
        bill = ctx.engine.current_bill(ctx.line)
    else:
        y, m = (int(x) for x in str(month).split("-"))
        bill = next((b for b in ctx.line.bills if b.month == (y, m)), None)
        if bill is None:
            have = [f"{b.month[0]:04d}-{b.month[1]:02d}" for b in ctx.line.bills]
            return [M("billed.month", month, f"no closed bill (closed: {have})", line)]
    out = []
    lines = _lines(want)
    if "total" in want and abs(bill.total - float(want["total"])) > 0.005:
        out.append(M("billed.total", want["total"], bill.total, lines.get("total", line)))
    if "amounts" in want:
        actual = [i.amount for i in bill.items]
        expected = [None if a is None else float(a) for a in want["amounts"]]
        if len(actual) != len(expected) or any(
            (a is None) != (e is None) or (a is not None and abs(a - e) > 0.005)
            for a, e in zip(actual, expected, strict=False)
        ):
            out.append(M("billed.amounts", list(want["amounts"]),
                         [f"{i.label}: {i.amount}" for i in bill.items], lines.get("amounts", line)))
    for text, amount in (want.get("items") or {}).items():
        hits = [i for i in bill.items if text.lower() in i.label.lower()]
        ok = bool(hits) and (amount is None or any(
            i.amount is not None and abs(i.amount - float(amount)) <= 0.005 for i in hits))
        if not ok:
            shown = [f"{i.label}: {i.amount}" for i in bill.items]
            out.append(M(f"billed.items[{text}]", amount, shown, _lines(want["items"]).get(text, line)))
    if "count" in want and len(bill.items) != want["count"]:
        out.append(M("billed.count", want["count"], [f"{i.label}: {i.amount}" for i in bill.items],
                     lines.get("count", line)))
    if "complete" in want and bill.complete != want["complete"]:
        out.append(M("billed.complete", want["complete"], bill.complete, lines.get("complete", line)))
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, tuple):
        return "-".join(f"{v:02d}" for v in value)
    return value


def _same_value(expected: Any, actual: Any) -> bool:
    if isinstance(actual, datetime):
        try:
            return _plans.parse_instant(expected) == actual
        except ValueError:
            return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual or (actual is not None and str(expected) == str(_norm(actual)))


def _check_change(ctx: PlanContext, want: Any, line: int | None, _w: int, M: Any) -> list[Any]:
    r = ctx.result
    if r is None:
        return [M("change", dict(want), "no operator request made yet", line)]
    out = []
    for key, v in want.items():
        at = _lines(want).get(key, line)
        actual = r.get(key)
        if key in ("reason", "warning"):
            if actual is None or str(v).lower() not in str(actual).lower():
                out.append(M(f"change.{key}", f"contains {v!r}", actual, at))
        elif not _same_value(v, actual):
            out.append(M(f"change.{key}", v, _norm(actual), at))
    return out


def _check_line(ctx: PlanContext, want: Any, line: int | None, _w: int, M: Any) -> list[Any]:
    st = ctx.engine.status_of(ctx.line, list(want))
    out = []
    for key, v in want.items():
        actual = st.get(key)
        if not _same_value(v, actual):
            out.append(M(f"line.{key}", v, _norm(actual), _lines(want).get(key, line)))
    return out


def _check_sessions(ctx: PlanContext, want: Any, line: int | None, _w: int, M: Any) -> list[Any]:
    n = len(ctx.line.sessions)
    return [] if n == int(want) else [M("sessions", want, n, line)]


_CHECKS: dict[str, Callable[..., list[Any]]] = {
    "counters": _check_counters,
    "remaining": _check_remaining,
    "envelope": _check_envelope,
    "alerts": _check_alerts,
    "blocked": _check_blocked,
    "throughput": _check_throughput,
    "billed": _check_billed,
    "change": _check_change,
    "line": _check_line,
    "sessions": _check_sessions,
}


#: the step group's interface (:mod:`harness.scenario.steps`)
EXPECT = PLAN_EXPECT
uses = uses_plans
