"""Line steps of the scenario language: the line's life (orders, contract actions, SIM swap,
self-care) and its supplementary services (MMI codes dialled on the terminal, calls received,
voicemail), under the provider's line rules (``fixtures/lines``, :mod:`harness.lines`).

Simulated time is the scenario's ``start:`` plus the run's elapsed time; a step's ``at:`` (or the
``line_time`` step) moves it forward, the modem following. Expectations read the fleet, the
network's supplementary services and the last answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csim.profile import load_profile
from csim.yamlsrc import DataError
from harness.lines import Fleet, LineError, Outcome, load_rules
from harness.lines import options as line_options
from harness.network.supplementary import Answer, Routed, SupplementaryServices, Voicemail
from harness.paths import FIXTURES, real
from harness.plans import parse_instant
from harness.scenario import data_steps, esim_steps
from harness.scenario.checks import Mismatch
from harness.scenario.plan_steps import DEFAULT_START, PlanContext, plans
from harness.scenario.step_groups import OfRun, group_key, run_context
from harness.terminal import mmi
from harness.terminal.voice_domain import VoiceSettings, bearer

if TYPE_CHECKING:
    from harness.scenario.loader import Scenario
    from harness.scenario.session import Session

LINE_STEPS: tuple[str, ...] = (
    "add_option",
    "voice_settings",
    "call_number",
    "order_line",
    "existing_line",
    "line_time",
    "suspend_line",
    "reactivate_line",
    "terminate_line",
    "suspend_option",
    "rename_user",
    "selfcare_recharge",
    "selfcare_settings",
    "assign_sim",
    "sim_swap",
    "insert_card",
    "dial",
    "incoming_call",
    "voicemail_code",
    "voicemail_menu",
)
LINE_EXPECT: tuple[str, ...] = (
    "call_placed",
    "terminal_line",
    "electrical_profile",
    "line_request",
    "line_state",
    "fleet",
    "mmi",
    "forwarding",
    "call_routed",
    "partner_emails",
    "voicemail",
)


class LineStepError(RuntimeError):
    """A line step cannot run as written."""


def uses_lines(scn: Scenario) -> bool:
    return any(group_key(step, LINE_STEPS, LINE_EXPECT) for step in scn.steps)


def check_scenario(scn: Scenario, doc: Mapping[str, Any]) -> None:
    """Load-time checks: known networks, SIM types and instants, errors as ``file:line``."""
    rules = load_rules()
    for step in scn.steps:
        a = step.args if isinstance(step.args, Mapping) else {}
        if step.kind in ("order_line", "existing_line"):
            if "network" not in a:
                raise DataError(
                    scn.source, step.line, f"'{step.kind}' needs 'network' ({', '.join(rules.networks)})"
                )
            if a["network"] not in rules.networks:
                raise DataError(
                    scn.source,
                    step.line,
                    f"unknown network {a['network']!r} (known: {', '.join(rules.networks)})",
                )
        for key in ("at",):
            if key in a:
                try:
                    parse_instant(str(a[key]))
                except ValueError as exc:
                    raise DataError(scn.source, step.line, str(exc)) from None
        if step.kind == "insert_card":
            path = card_path(scn.source, str(a.get("card", step.args)))
            if not path.is_file():
                raise DataError(scn.source, step.line, f"no card {path} for 'insert_card'")
        if step.kind == "line_time":
            try:
                parse_instant(str(step.args))
            except ValueError as exc:
                raise DataError(scn.source, step.line, str(exc)) from None


def card_path(source: str, card: str) -> Path:
    """A card of ``insert_card``: a name in ``fixtures/lines/cards`` or a path relative to the
    scenario."""
    if card.endswith((".yaml", ".yml")) or "/" in card:
        return real(Path(source).parent / card)
    return FIXTURES / "lines" / "cards" / f"{card}.yaml"


class LineContext(OfRun):
    """The fleet of one run, the networks' supplementary services and the last answers."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        scn = session.scenario
        plan = getattr(scn, "plan", None) or {}
        # the same origin as the plans engine's, so both read one simulated calendar
        self.start = parse_instant(getattr(scn, "start", None) or plan.get("activated") or DEFAULT_START)
        self.rules = load_rules()
        self.fleet = Fleet(self.rules, session.log)
        self.services = {n: SupplementaryServices(r.forwarding_codes) for n, r in self.rules.networks.items()}
        self.voicemails: dict[str, Voicemail] = {}
        self.answer: Answer | None = None
        self.routed: Routed | None = None
        self.options: dict[str, line_options.LineOptions] = {}
        self.voice = VoiceSettings()
        self.placed: dict[str, Any] | None = None
        self.card_line: str | None = None  # the line whose SIM is the terminal's card

    def line_options(self, line_id: str, network: str) -> line_options.LineOptions:
        return self.options.setdefault(line_id, line_options.LineOptions(network))

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.session.log.time)

    def move_to(self, target: datetime) -> None:
        delta = (target - self.now()).total_seconds()
        if delta < 0:
            raise LineStepError(f"time cannot go back to {target.isoformat()} (now {self.now().isoformat()})")
        if delta:
            self.session.modem.wait(delta)  # the run's clock, and the modem's timers
        self.fleet.tick(target)

    def voicemail(self, number: str, network: str) -> Voicemail:
        vm = self.rules.network(network).voicemail
        return self.voicemails.setdefault(number, Voicemail(vm.short, vm.long, vm.secret_code_in_france))

    def plan(self, line_id: str) -> PlanContext | None:
        """The plans engine's context when ``line_id`` is the line of the scenario's ``plan:``: the
        terminal's card line (``existing_line: {card: true}``)."""
        if line_id != self.card_line or getattr(self.session.scenario, "plan", None) is None:
            return None
        return plans(self.session)

    def country(self) -> str | None:
        """The country the terminal is registered in, or None."""
        st = self.session.modem.status()
        return st.get("country") if st.get("registered") else None


def lines(session: Session) -> LineContext:
    return run_context(session, "_line_context", LineContext)


def _args(args: Any, key: str) -> dict[str, Any]:
    if args is None:
        return {}
    if isinstance(args, Mapping):
        return dict(args)
    return {key: args}


def _when(ctx: LineContext, a: Mapping[str, Any]) -> datetime:
    if "at" in a:
        ctx.move_to(parse_instant(str(a["at"])))
    return ctx.now()


def _step(
    key: str, run: Callable[[LineContext, dict[str, Any], datetime], Any]
) -> Callable[[Session, Any], None]:
    def action(s: Session, args: Any) -> None:
        ctx = lines(s)
        a = _args(args, key)
        try:
            run(ctx, a, _when(ctx, a))
        except LineError as exc:
            raise LineStepError(str(exc)) from None

    return action


def _order(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    """An order; an eSIM line accepted gets its profile from the provider's SM-DP+ and the
    activation e-mail and SMS go to the ``contact`` (:func:`harness.scenario.esim_steps.issue`)."""
    port = a.get("port_date")
    port_day = None if port is None else (port if isinstance(port, date) else parse_instant(str(port)).date())
    out = ctx.fleet.order(
        now,
        str(a["network"]),
        sim=str(a.get("sim", "pin")),
        range_=str(a.get("range", "unlimited")),
        offer=a.get("offer"),
        number=None if a.get("number") is None else str(a["number"]),
        port_date=port_day,
        user=str(a.get("user", "")),
    )
    if out.accepted and out.fields.get("sim_type") == "esim":
        esim_steps.issue(ctx.session, ctx.fleet.line(out.fields["line"]), a.get("contact"))


def _existing(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    ln = ctx.fleet.existing(
        str(a["network"]),
        str(a["number"]),
        range_=str(a.get("range", "unlimited")),
        user=str(a.get("user", "")),
        now=now,
        sim_type=str(a.get("sim", "pin")),
        sim_since=None if a.get("sim_since") is None else date.fromisoformat(str(a["sim_since"])),
        sim=ctx.session.profile.iccid if a.get("card") and ctx.session.profile else None,
    )
    if a.get("card"):
        ctx.card_line = ln.id


def _sim_swap(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    """A SIM swap; when the line is the terminal's card, the home network forgets the card's IMSIs
    (its HSS rejects the old card's attach: TS 24.301 cause #2, IMSI unknown in HSS)."""
    out = ctx.fleet.sim_swap(now, str(a["to"]), a.get("line"), sim=a.get("sim"), by=_by(a, "selfcare"))
    if out.accepted:
        esim_steps.swapped(ctx.session, ctx.fleet.line(a.get("line")), str(a["to"]), a.get("contact"))
    if not out.accepted or ctx.fleet.line(a.get("line")).id != ctx.card_line:
        return
    session = ctx.session
    profile = session.profile
    imsis = [p.imsi for p in profile.imsi_profiles.values()] if profile else [session.modem.usim.imsi]
    subscribers = session.modem.network.hss.subscribers
    for imsi in imsis:
        if subscribers.pop(imsi, None) is not None:
            session.log.record("subscriber_removed", imsi=imsi, reason="SIM swapped away from this card")


def _insert_card(ctx: LineContext, a: dict[str, Any], _now: datetime) -> None:
    """The user puts another SIM in the terminal (powered off, then powered on by the scenario).
    When it is a line's SIM since a SIM swap, the home network knows its IMSIs and the line goes
    on with it: the same number, the plan's counters and the line's options (AlphaLink mobile
    reference, 'SIM SWAP vers une SIM PHYSIQUE'); any other card is unknown to the HSS (its
    attach is rejected, TS 24.301 cause #2)."""
    session = ctx.session
    path = card_path(session.scenario.source if session.scenario else ".", str(a["card"]))
    profile = load_profile(path)
    ln = ctx.fleet.line_of_sim(profile.iccid)
    if ln is not None and ln.state in ("active", "suspended"):
        for sub in session.modem.network.hss.provision_profile(path):
            session.log.record("subscriber_added", imsi=sub.imsi, line=ln.id, number=ln.number)
        ctx.card_line = ln.id
    else:
        ctx.card_line = None
    session.insert_card(profile)


def _suspend(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    """'Suspension de la ligne': the fleet's state; when the line is the terminal's card, the
    plans engine's line (usages and sessions refused, the plan still billed) and the packet core
    (the line's data barred)."""
    out = ctx.fleet.suspend(now, a.get("line"), by=_by(a, "partner"))
    if out.accepted:
        _services(ctx, ctx.fleet.line(a.get("line")).id, True)


def _reactivate(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    out = ctx.fleet.reactivate(now, a.get("line"), by=_by(a, "partner"))
    if out.accepted:
        _services(ctx, ctx.fleet.line(a.get("line")).id, False)


def _services(ctx: LineContext, line_id: str, suspended: bool) -> None:
    plan = ctx.plan(line_id)
    if plan is not None:
        plan.engine.suspend(plan.line, suspended)
    scn = ctx.session.scenario
    if line_id == ctx.card_line and scn is not None and data_steps.uses_data(scn):
        data_steps.data(ctx.session).bar(suspended, f"line {ctx.fleet.line(line_id).number} suspended")


def _line_time(s: Session, args: Any) -> None:
    lines(s).move_to(parse_instant(str(args)))


def _by(a: Mapping[str, Any], default: str) -> str:
    return str(a.get("by", default))


def _selfcare_settings(ctx: LineContext, a: dict[str, Any], _now: datetime) -> None:
    if "notifications" in a:
        ctx.fleet.notifications = bool(a["notifications"])
    if "esim_swap" in a:
        ctx.fleet.esim_swap_allowed = bool(a["esim_swap"])


def _dial(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    """The terminal parses the keypad string (TS 22.030); the network answers."""
    fleet = ctx.fleet
    ln = fleet.line(a.get("line"))
    why = fleet.service_refusal(now, ln.id) or (None if ctx.country() else "the terminal is not registered")
    text = str(a["code"])
    try:
        parsed = mmi.parse(text)
    except mmi.MmiError as exc:
        ctx.answer = Answer(False, str(exc))
        ctx.session.log.record("mmi_answer", line=ln.id, code=text, accepted=False, text=str(exc))
        return
    if why:
        ctx.answer = Answer(False, why)
        ctx.session.log.record("service_refused", line=ln.id, code=text, reason=why)
        return
    if isinstance(parsed, mmi.Dialled):
        vm = ctx.voicemail(ln.number, ln.network)
        reached = "voicemail" if parsed.number in (vm.short, vm.long) else parsed.number
        ctx.answer = Answer(True, f"call to {reached}")
        ctx.session.log.record("call_placed", line=ln.id, to=parsed.number, reached=reached)
        return
    ctx.answer = ctx.services[ln.network].request(
        ln.number, parsed.operation, parsed.code, parsed.number, parsed.basic_service, parsed.timer
    )
    ctx.session.log.record(
        "mmi_answer", line=ln.id, code=text, accepted=ctx.answer.accepted, text=ctx.answer.text
    )


def _incoming(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    """A call to the line: unreachable when the terminal is not registered, else as answered."""
    fleet = ctx.fleet
    ln = fleet.line(a.get("line"))
    why = fleet.service_refusal(now, ln.id)
    if why:
        ctx.routed = Routed("refused", reason=why)
    else:
        outcome = str(a.get("answer", "answered")) if ctx.country() else "unreachable"
        if outcome not in ("answered", "busy", "no_answer", "unreachable"):
            raise LineStepError(f"incoming_call answer {outcome!r}: expected answered, busy, no_answer")
        ctx.routed = ctx.services[ln.network].route(ln.number, outcome)
    r = ctx.routed
    ctx.session.log.record(
        "call_received",
        line=ln.id,
        outcome=r.outcome,
        to=r.to,
        condition=r.condition,
        out_of_plan=r.out_of_plan,
        reason=r.reason,
    )


def _voicemail_code(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    ln = ctx.fleet.line(a.get("line"))
    why = ctx.fleet.service_refusal(now, ln.id)
    country = ctx.country()
    if why is None and country is None:
        why = "the terminal is not registered"
    ctx.answer = (
        Answer(False, why) if why else ctx.voicemail(ln.number, ln.network).set_code(str(a["code"]), country)
    )
    ctx.session.log.record("voicemail_code", line=ln.id, accepted=ctx.answer.accepted, text=ctx.answer.text)


#: "RENVOI D'APPEL", Bouygues Telecom: "Appelez le 777, Tapez 5 : Service du renvoi d'appel,
#: Tapez 1 : renvoyer tous vos appels sur le numéro de votre choix"
_MENU_FORWARD_ALL = ("5", "1")


def _voicemail_menu(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    ln = ctx.fleet.line(a.get("line"))
    why = ctx.fleet.service_refusal(now, ln.id)
    keys = tuple(str(a.get("keys", "")).split())
    if why:
        ctx.answer = Answer(False, why)
    elif ln.network != "bouygues" or keys != _MENU_FORWARD_ALL:
        ctx.answer = Answer(
            False,
            f"menu {' '.join(keys)} of {ctx.voicemail(ln.number, ln.network).short}: "
            "not a menu the reference documents for this network",
        )
    else:
        ctx.answer = ctx.services[ln.network].forward_all(ln.number, str(a["number"]))
    ctx.session.log.record(
        "voicemail_menu", line=ln.id, keys=" ".join(keys), accepted=ctx.answer.accepted, text=ctx.answer.text
    )


def _add_option(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    ln = ctx.fleet.line(a.get("line"))
    why = line_options.add_option(ctx.rules.options, ctx.line_options(ln.id, ln.network), str(a["option"]))
    ctx.session.log.record(
        "option_added" if why is None else "line_request_refused",
        line=ln.id,
        option=str(a["option"]),
        reason=why,
    )
    ctx.fleet.last = Outcome("add_option", why is None, why)


def _voice_settings(ctx: LineContext, a: dict[str, Any], _now: datetime) -> None:
    for key in ("volte", "vowifi", "wifi"):
        if key in a:
            setattr(ctx.voice, key, bool(a[key]))


def _call_number(ctx: LineContext, a: dict[str, Any], now: datetime) -> None:
    """A call (or SMS) the line places: the line's state, the options, then the voice domain."""
    ln = ctx.fleet.line(a.get("line"))
    st = ctx.session.modem.status()
    registered = bool(st.get("registered"))
    here = st.get("country")
    usage = str(a.get("usage", "voice"))
    to_country = str(a.get("country", "FR"))
    why = ctx.fleet.service_refusal(now, ln.id)
    opts = ctx.line_options(ln.id, ln.network)
    if why is None and here is None:
        why = "the terminal is nowhere (powered off)"
    if why is None:
        why = line_options.refusal(
            ctx.rules.options,
            opts,
            usage=usage,
            from_country=here,
            to_country=to_country,
            sva=bool(a.get("sva", False)),
            risky=bool(a.get("risky", False)),
            participants=int(a.get("participants", 2)),
        )
    way = None
    if why is None and usage == "voice":
        rat = st.get("rat") if registered else None
        cell = ctx.session.modem.cell if registered else None
        way = bearer(ctx.voice, rat, here in ctx.rules.ims_voice_countries, cell.signal if cell else None)
        if way is None:
            why = "no cellular coverage and no VoWiFi"
    elif why is None and not registered:
        why = "the terminal is not registered"
    ctx.placed = {
        "accepted": why is None,
        "reason": why,
        "bearer": way,
        "billed": why is None,
        "presentation": line_options.presentation(opts),
    }
    plan = ctx.plan(ln.id) if why is None else None
    if plan is not None:
        ctx.placed.update(_rate(plan, a, usage, to_country, st.get("registered") if registered else None))
    ctx.session.log.record(
        "call_placed" if why is None else "call_refused",
        line=ln.id,
        usage=usage,
        to=str(a.get("to", "")),
        country=to_country,
        bearer=way,
        reason=why,
        billed=why is None,
    )


def _rate(
    plan: PlanContext, a: Mapping[str, Any], usage: str, to_country: str, plmn: str | None
) -> dict[str, Any]:
    """Rate a placed call (``duration``, default one minute) or SMS through the plans engine's own
    rules: where the terminal is registered, else (VoWiFi) the last zone it was in."""
    where: dict[str, Any] = {"plmn": plmn} if plmn else {"zone": plan.current_zone()}
    to = str(a.get("to", ""))
    if usage == "voice":
        r = plan.engine.call(plan.line, a.get("duration", "60s"), to=to, to_country=to_country, **where)
        return {"included": r["included"], "metered": r["metered"]}
    if usage == "sms":
        r = plan.engine.sms(plan.line, to=to, to_country=to_country, **where)
        return {"included": r["sent"] - r["metered"], "metered": r["metered"]}
    return {}  # MMS: the plans engine rates no MMS usage


ACTIONS: dict[str, Callable[[Session, Any], None]] = {
    "order_line": _step("network", _order),
    "existing_line": _step("number", _existing),
    "line_time": _line_time,
    "suspend_line": _step("line", _suspend),
    "reactivate_line": _step("line", _reactivate),
    "terminate_line": _step("line", lambda c, a, t: c.fleet.terminate(t, a.get("line"))),
    "suspend_option": _step(
        "option", lambda c, a, t: c.fleet.suspend_option(t, str(a["option"]), a.get("line"))
    ),
    "rename_user": _step(
        "user", lambda c, a, t: c.fleet.rename_user(t, str(a["user"]), a.get("line"), by=_by(a, "selfcare"))
    ),
    "selfcare_recharge": _step(
        "volume", lambda c, a, t: c.fleet.recharge(t, str(a["volume"]), a.get("line"), by=_by(a, "selfcare"))
    ),
    "selfcare_settings": _step("notifications", _selfcare_settings),
    "assign_sim": _step("sim", lambda c, a, t: c.fleet.assigned_sims.add(str(a["sim"]))),
    "sim_swap": _step("to", _sim_swap),
    "insert_card": _step("card", _insert_card),
    "dial": _step("code", _dial),
    "incoming_call": _step("answer", _incoming),
    "voicemail_code": _step("code", _voicemail_code),
    "voicemail_menu": _step("keys", _voicemail_menu),
    "add_option": _step("option", _add_option),
    "voice_settings": _step("volte", _voice_settings),
    "call_number": _step("to", _call_number),
}


# --------------------------------------------------------------------------- expectations


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(actual, datetime):
        try:
            return parse_instant(str(expected)) == actual
        except ValueError:
            return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual or str(expected) == str(actual)


def _show(value: Any) -> Any:
    return value.isoformat(timespec="minutes") if isinstance(value, datetime) else value


def _contains(expected: Any, actual: Any) -> bool:
    return actual is not None and str(expected).lower() in str(actual).lower()


def _check_request(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    last = ctx.fleet.last
    if last is None:
        return [Mismatch("line_request", dict(want), "no line request made yet", line)]
    out = []
    for key, v in want.items():
        actual = last.get(key)
        ok = _contains(v, actual) if key == "reason" else _same(v, actual)
        if not ok:
            out.append(Mismatch(f"line_request.{key}", v, _show(actual), line))
    return out


def _check_state(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    ctx.fleet.tick(ctx.now())
    spec = want if isinstance(want, Mapping) else {None: want}
    out = []
    for ref, v in spec.items():
        state = ctx.fleet.line(ref).state
        if state != v:
            out.append(Mismatch(f"line_state{'' if ref is None else '.' + str(ref)}", v, state, line))
    return out


def _check_fleet(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    ctx.fleet.tick(ctx.now())
    counts = ctx.fleet.counts()
    out = []
    for key, v in want.items():
        if key == "numbers_unique":
            numbers = [ln.number for ln in ctx.fleet.lines.values()]
            actual = len(numbers) == len(set(numbers))
        elif key == "sims_unique":
            sims = [s for ln in ctx.fleet.lines.values() for s in ln.sims]
            actual = len(sims) == len(set(sims))
        else:
            actual = counts.get(key)
        if not _same(v, actual):
            out.append(Mismatch(f"fleet.{key}", v, actual, line))
    return out


def _check_mmi(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    a = ctx.answer
    if a is None:
        return [Mismatch("mmi", dict(want), "nothing dialled yet", line)]
    out = []
    if "accepted" in want and want["accepted"] is not a.accepted:
        out.append(Mismatch("mmi.accepted", want["accepted"], a.accepted, line))
    if "text" in want and not _contains(want["text"], a.text):
        out.append(Mismatch("mmi.text", f"contains {want['text']!r}", a.text, line))
    return out


def _check_forwarding(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    ln = ctx.fleet.line()
    actual = {c: f.number for c, f in ctx.services[ln.network].forwardings(ln.number).items()}
    expected = {str(k): str(v) for k, v in (want or {}).items()}
    return [] if actual == expected else [Mismatch("forwarding", expected, actual, line)]


def _check_routed(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    r = ctx.routed
    if r is None:
        return [Mismatch("call_routed", dict(want), "no call received yet", line)]
    return _check_call("call_routed", want, lambda key: getattr(r, key, None), line)


def _check_emails(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    texts = [e.data["text"] for e in ctx.session.log.of_kind("partner_email")]
    if isinstance(want, int):
        return [] if len(texts) == want else [Mismatch("partner_emails", want, texts, line)]
    expected = list(want)
    if len(texts) != len(expected) or not all(_contains(e, t) for e, t in zip(expected, texts, strict=False)):
        return [Mismatch("partner_emails", expected, texts, line)]
    return []


def _check_voicemail(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    ln = ctx.fleet.line()
    vm = ctx.voicemail(ln.number, ln.network)
    actual = {
        "short": vm.short,
        "long": vm.long,
        "code_set": vm.secret_code is not None,
        "from": vm.number_from(ctx.country() or "FR"),
    }
    return [
        Mismatch(f"voicemail.{k}", v, actual.get(k), line)
        for k, v in want.items()
        if not _same(v, actual.get(k))
    ]


def _check_placed(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    p = ctx.placed
    if p is None:
        return [Mismatch("call_placed", dict(want), "no call placed yet", line)]
    return _check_call("call_placed", want, p.get, line)


def _check_call(name: str, want: Mapping[str, Any], actual_of: Callable[[str], Any],
                line: int | None) -> list[Mismatch]:
    """Each wanted field of a call against the call's: ``reason`` by containment, None as absent."""
    out = []
    for key, v in want.items():
        actual = actual_of(key)
        ok = (
            _contains(v, actual) if key == "reason" else _same(v, actual) if v is not None else actual is None
        )
        if not ok:
            out.append(Mismatch(f"{name}.{key}", v, actual, line))
    return out


def _check_profile(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    """The name the provider says the line's terminal shows, and whether the card's SPN, as the
    terminal read it, carries that name."""
    ln = ctx.fleet.line()
    profile = ctx.rules.electrical_profiles[ln.network]
    since = ln.sim_since or ln.active_at.date()
    # power-ons: the registrations that follow none (the first after each power-on)
    power_ons = sum(1 for e in ctx.session.log.of_kind("registration") if e.data.get("previous") is None)
    actual = {
        "name": profile.shown(ln.sim_type, since, power_ons),
        "card_name": profile.card_name(ln.sim_type, since),
    }
    out = []
    for key, v in want.items():
        if key == "card_matches":
            spn = ctx.session.modem.status().get("spn")
            ok = (spn == actual["card_name"]) is bool(v)
            if not ok:
                out.append(
                    Mismatch(
                        "electrical_profile.card_matches", f"card SPN {actual['card_name']!r}", spn, line
                    )
                )
        elif not _same(v, actual.get(key)):
            out.append(Mismatch(f"electrical_profile.{key}", v, actual.get(key), line))
    return out


def _check_terminal_line(ctx: LineContext, want: Any, line: int | None) -> list[Mismatch]:
    """The fleet's line whose SIM is the terminal's card (as the terminal read its ICCID)."""
    iccid = ctx.session.modem.status().get("iccid")
    ln = ctx.fleet.line_of_sim(str(iccid)) if iccid else None
    actual = {"line": None, "number": None, "state": None, "sim": iccid}
    if ln is not None:
        actual.update(line=ln.id, number=ln.number, state=ln.state)
    return [
        Mismatch(f"terminal_line.{k}", v, actual.get(k), line)
        for k, v in want.items()
        if not (_same(v, actual.get(k)) if v is not None else actual.get(k) is None)
    ]


_CHECKS: dict[str, Callable[[LineContext, Any, int | None], list[Mismatch]]] = {
    "terminal_line": _check_terminal_line,
    "electrical_profile": _check_profile,
    "call_placed": _check_placed,
    "line_request": _check_request,
    "line_state": _check_state,
    "fleet": _check_fleet,
    "mmi": _check_mmi,
    "forwarding": _check_forwarding,
    "call_routed": _check_routed,
    "partner_emails": _check_emails,
    "voicemail": _check_voicemail,
}


def check(s: Session, key: str, want: Any, line: int | None, window: int) -> list[Mismatch]:
    """Evaluate one line expectation (a key of :data:`LINE_EXPECT`)."""
    try:
        return _CHECKS[key](lines(s), want, line)
    except LineError as exc:
        return [Mismatch(key, want, str(exc), line)]


#: the step group's interface (:mod:`harness.scenario.steps`)
EXPECT = LINE_EXPECT
uses = uses_lines
