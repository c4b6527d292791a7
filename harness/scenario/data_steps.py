"""Data steps of the scenario language: the terminal's APN settings, the line's subscriber data,
PDN connectivity requests and their outcome on the simulated packet core.

A scenario may declare ``terminal:`` (its APN database, whether it keeps the connection profile
across a profile switch, an APN typed by the user) and ``subscriber:`` (what the home network
knows of the line: MSISDN, plan traits, fixed IP, partner delivery and VISPs, sessions the
account holds elsewhere). ``data_connect`` has the terminal
(:class:`harness.terminal.data_session.DataTerminal`) read the card and request a PDN
connection from the home operator's
:class:`~harness.network.packet_core.NetworkDataPlane`; ``data_disconnect`` releases sessions. When the
scenario declares a ``plan:``, the packet core asks the plan engine (``session_open`` /
``session_close``) before it admits a session, so a blocked plan refuses the activation and a
plan that blocks later cuts the running sessions. The ``consume`` steps' octets travel on a
session the AAA accounts (:func:`carry`): the plan meters them from the accounting records, so a
block lands when an Interim-Update or the Stop shows it, and the policy side then disconnects the
session (RFC 5176). ``subscriber.interim_interval`` is the AAA's Acct-Interim-Interval for the
line's login (RFC 2869 §5.16; the packet core's default otherwise).

Nothing here loads operators, scapy or the plan engine for scenarios without data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os.path
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csim.yamlsrc import DataError
from harness.network.world import plmn_of_imsi
from harness.scenario.checks import Mismatch
from harness.scenario.step_groups import LazyModule, OfRun, group_key, modem_view, per_scenario, run_context

if TYPE_CHECKING:
    from csim.profile import Profile
    from harness.network.packet_core import ActivationRequest, NetworkDataPlane, Subscriber
    from harness.scenario.loader import Scenario
    from harness.scenario.session import Session
    from harness.terminal.data_session import DataTerminal

#: Steps added to the scenario language (``harness.scenario.loader.STEP_KINDS``).
DATA_STEPS: tuple[str, ...] = ("data_connect", "data_disconnect")
#: ``expect`` keys answered by the data side.
DATA_EXPECT: tuple[str, ...] = ("pdn", "pdn_sessions", "fixed_ip", "accounting")
APN_DBS = ("android", "operators", "provider", "none")

#: plan engine refusal -> TS 24.301 §9.9.4.4 cause the packet core sends
_PLAN_CAUSES = (
    ("line deactivated", 8),
    ("line suspended", 8),
    ("data blocked", 8),
    ("no data", 33),
    ("plan without data", 33),
    ("simultaneous sessions", 26),
    ("APN", 27),
)


_data_session = LazyModule("harness.terminal.data_session")
_dataplane = LazyModule("harness.network.packet_core")
_operators = LazyModule("harness.network.operators")
_plan_steps = LazyModule("harness.scenario.plan_steps")


# --------------------------------------------------------------------------- load-time checks


def uses_data(scn: Scenario) -> bool:
    """Does the scenario declare a terminal or subscriber, or use a data step / expectation?"""
    if scn.terminal is not None or scn.subscriber is not None:
        return True
    return any(_data_key(s) for s in scn.steps)


def _data_key(step: Any) -> str | None:
    return group_key(step, DATA_STEPS, DATA_EXPECT)


def _line(node: Any, key: str, default: int | None) -> int | None:
    lines = getattr(node, "lines", None) or {}
    return lines.get(key, default)


def check_scenario(scn: Scenario, doc: Mapping[str, Any]) -> None:
    """Semantic checks of the data part; errors read ``file:line: what is wrong``."""
    from harness.network.operators import load_all

    ops = load_all()
    term = scn.terminal or {}
    db = term.get("apn_db", "android")
    tline = _line(doc, "terminal", None)
    if db not in APN_DBS:
        path = Path(scn.source).parent / db
        if not path.is_file():
            raise DataError(scn.source, _line(term, "apn_db", tline),
                            f"unknown APN database {db!r} ({', '.join(APN_DBS)} or an apns-conf.xml path)")
        try:
            _data_session.apn_database(db, ops, scn.source)
        except DataError as exc:  # a broken file: its own file:line, and the scenario's
            raise DataError(exc.source, exc.line, f"{exc.message} (the APN database of "
                                                  f"{scn.source}:{_line(term, 'apn_db', tline)})") from None
    sub = scn.subscriber or {}
    sline = _line(doc, "subscriber", None)
    key = sub.get("operator")
    if key is not None and key not in ops.operators:
        raise DataError(scn.source, _line(sub, "operator", sline),
                        f"unknown operator {key!r} (known: {', '.join(sorted(ops.operators))})")
    if "fixed_ip" in sub and key is not None:
        op = ops[key]
        fixed = sub["fixed_ip"]
        if op.fixed_ip is not None and op.fixed_ip.login_domain is None and "login" not in fixed:
            raise DataError(scn.source, _line(sub, "fixed_ip", sline),
                            f"{op.name}'s fixed-IP login is in the contract: give fixed_ip.login")
    for step in scn.steps:
        if step.kind == "data_connect" and isinstance(step.args, Mapping):
            login = step.args.get("login")
            if isinstance(login, Mapping) and login.get("operator") not in (None, *ops.operators):
                raise DataError(scn.source, step.line, f"unknown operator {login['operator']!r} in login")


# --------------------------------------------------------------------------- run-time state


class PlanCharging(OfRun):
    """The plan engine as the packet core's charging side (:class:`harness.network.packet_core.Charging`)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.zones: dict[Any, str] = {}   # session -> the zone it was opened in

    def open(self, request: ActivationRequest, subscriber: Subscriber) -> tuple[Any, int, str]:
        ctx = _plan_steps.plans(self.session)
        res = ctx.engine.session_open(ctx.line, plmn=request.serving_plmn or None, apn=request.apn,
                                      rat=request.rat)
        if res.get("accepted"):
            self.zones[res["session"]] = ctx.line.sessions[res["session"]].zone
            return res["session"], 0, ""
        reason = str(res.get("reason", ""))
        cause = next((c for text, c in _PLAN_CAUSES if text in reason), 31)
        return None, cause, f"refused by the plan: {reason}"

    def close(self, token: Any) -> None:
        ctx = _plan_steps.plans(self.session)
        if token in ctx.line.sessions:
            ctx.engine.session_close(ctx.line, token)

    def usage(self, token: Any, octets: int) -> None:
        """Octets the AAA's accounting records show for session ``token``, rated by the plan in
        the zone the session was opened in."""
        ctx = _plan_steps.plans(self.session)
        zone = self.zones[token]
        if ctx.line.active:
            ctx.engine.rate_data(ctx.line, zone, octets)
        else:
            ctx.engine.consume(ctx.line, octets, zone=zone)   # refused: the line ended

    def alive(self, token: Any) -> bool:
        return token in _plan_steps.plans(self.session).line.sessions


def packet_seed(scn: Scenario | None) -> str:
    """The seed of a run's Request Authenticators (RFC 2865 §3): the scenario's directory and id,
    so a replay writes the same pcap and no two scenarios draw the same values."""
    return f"{os.path.basename(os.path.dirname(scn.source))}/{scn.test_id}" if scn is not None else ""


def _home_operator(profile: Profile, ops: Any, wanted: str | None) -> Any:
    if wanted:
        return ops[wanted]
    for prof in profile.imsi_profiles.values():
        op = ops.by_plmn(plmn_of_imsi(prof.imsi, prof.mnc_length))
        if op is not None:
            return op
    provider = profile.provider
    if provider in ops.operators:
        return ops[provider]
    return None


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


class _DataSetup:
    """What every run of a scenario starts its data side from (the card profile and operators
    given): the home operator, the subscriber records, partner LNSs and the terminal's settings,
    and the events building them records. Everything here is frozen or copied per run."""

    def __init__(self, scn: Scenario | None, profile: Profile, ops: Any,
                 table: Mapping[str, Any] | None = None) -> None:
        from harness.network.login import (
            LoginError,
            build_login,
            fixed_ip_availability,
            fixed_ip_monthly_price,
        )
        from harness.network.operators import PlanTraits
        from harness.network.packet_core import PartnerLns, Subscriber
        from harness.terminal.data_session import TerminalConfig, apn_database

        self.profile, self.ops = profile, ops
        #: the shared operator table ``ops`` was copied from (its identity is its version)
        self.table = table if table is not None else ops.operators
        self.events: list[tuple[str, dict[str, Any]]] = []
        spec = dict((scn.subscriber if scn is not None else None) or {})
        term = dict((scn.terminal if scn is not None else None) or {})
        source = scn.source if scn is not None else "."
        op = _home_operator(profile, ops, spec.get("operator"))
        self.operator = op
        msisdn = str(spec.get("msisdn") or profile.msisdn or "")
        plan_doc = spec.get("plan") or {}
        plan = PlanTraits(kind=str(plan_doc.get("kind", "unlimited")),
                          blocked=bool(plan_doc.get("blocked", True)), data=bool(plan_doc.get("data", True)))
        reference = profile.sim_reference
        activation = _date(spec.get("activated", profile.activation_date))
        self.fixed_ip: dict[str, Any] | None = None
        fixed_addr = login = password = None
        if "fixed_ip" in spec and op is not None:
            f = spec["fixed_ip"]
            avail = fixed_ip_availability(op, plan)
            delivery = "partner_l2tp" if "partner" in spec else "internet_only"
            price = fixed_ip_monthly_price(op, delivery) if op.fixed_ip is not None else None
            self.fixed_ip = {"allowed": avail.allowed, "reason": avail.reason, "monthly_eur": price}
            self.events.append(("fixed_ip_option", {"operator": op.key, "allowed": avail.allowed,
                                                    "reason": avail.reason, "monthly_eur": price}))
            if avail.allowed:
                fixed_addr = str(f["address"])
                password = str(f.get("password", ""))
                login = f.get("login")
                if login is None:
                    try:
                        login = build_login(op, "fixed_ip", msisdn).username
                    except LoginError as exc:
                        login = ""
                        self.events.append(("login_refused", {"login": "fixed_ip", "msisdn": msisdn,
                                                              "reason": exc.reason}))
        lns = []
        partner = spec.get("partner")
        if partner is not None and op is not None:
            for i, visp in enumerate(partner.get("visps", [1])):
                realm = None
                users: dict[str, str] = {}
                try:
                    built = build_login(op, "partner", msisdn, partner=str(partner["name"]), visp=int(visp))
                    realm = built.realm
                    users[built.username] = str(partner.get("password", ""))
                except LoginError as exc:
                    self.events.append(("login_refused", {"login": "partner", "msisdn": msisdn,
                                                          "reason": exc.reason}))
                    pd = op.partner_delivery
                    if pd is None:
                        continue
                    realm = f"{partner['name']}{visp if int(visp) > 1 else ''}.{pd.realm_suffix}"
                lns.append(PartnerLns(realm, f"198.51.100.{10 + i}", f"lns{visp}.{partner['name']}.example",
                                      users, pool=f"10.200.{int(visp)}.0/24",
                                      dns=(f"10.200.{int(visp)}.53",)))
        self.lns = tuple(lns)
        apns: tuple[str, ...] = ()
        rule = ""
        if op is not None and reference and op.reference(str(reference)) is not None:
            try:
                apns = (op.reference(str(reference)).apn_for(activation),)
                rule = f"SIM reference {reference}" + (f" activated {activation}" if activation else "")
            except LookupError as exc:
                rule = str(exc)
        self.account = str(spec.get("account", "account"))
        self.account_sessions = int(spec.get("account_sessions", 0))
        self.subscribers = tuple(
            Subscriber(imsi=p.imsi, msisdn=msisdn, plan=plan, fixed_ip=fixed_addr, login=login or "",
                       password=password or "", partner=str(partner["name"]) if partner else None,
                       account=self.account, barred=bool(spec.get("barred", False)), apns=apns,
                       apn_rule=rule, interim_interval=spec.get("interim_interval"))
            for p in profile.imsi_profiles.values()
        )
        self.term = term
        config = TerminalConfig.from_mapping(term)
        #: the terminal's settings as keyword arguments (each run builds its own TerminalConfig)
        self.config_fields = {f: getattr(config, f) for f in TerminalConfig.__dataclass_fields__}
        self.apn_db = tuple(apn_database(config.apn_db, ops, source))
        self.reference = str(reference) if reference else None
        self.activation = activation


class DataContext(OfRun):
    """The run's terminal data side and the home operator's packet core."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        scn = session.scenario
        log = session.log
        profile = session.profile
        table = _operators.loaded()  # as the scenario's load checked them
        setup = None
        if scn is not None:
            setup = per_scenario(
                scn, "data", lambda s: _DataSetup(s, profile, _operators.OperatorDB(dict(table)), table))
        if setup is None or setup.profile != profile or (
                setup.table is not table and setup.ops.operators != table):
            setup = _DataSetup(scn, profile, _operators.OperatorDB(dict(table)), table)
        ops = setup.ops
        for kind, fields in setup.events:
            log.record(kind, **fields)
        op = setup.operator
        self.operator = op
        self.fixed_ip: dict[str, Any] | None = dict(setup.fixed_ip) if setup.fixed_ip is not None else None
        self.charging = PlanCharging(session) if scn is not None and scn.plan is not None else None
        self.plane: NetworkDataPlane | None = None
        if op is not None:
            self.plane = plane = _dataplane.NetworkDataPlane(op, setup.subscribers, lns=setup.lns, log=log,
                                                             charging=self.charging, seed=packet_seed(scn))
            plane.account_sessions[setup.account] = setup.account_sessions
        config = _data_session.TerminalConfig(**setup.config_fields)
        self.terminal: DataTerminal = _data_session.DataTerminal(
            config, ops, log, apn_db=setup.apn_db, sim_reference=setup.reference,
            activation_date=setup.activation, home_operator=op.key if op is not None else "")
        self._imsi: str | None = None

    def sync(self, status: Mapping[str, Any] | None = None) -> None:
        """Follow the modem and the plan: sessions end with the PS service, the IMSI, or a plan cut.

        ``status`` is the modem's current status when the caller already has it.
        """
        if status is None:
            modem = self.session.modem
            usim = getattr(modem, "usim", None)
            if usim is not None:  # the modem's own attributes: only those needed here
                imsi = usim.imsi
                if modem.powered and modem.sim_state == "ready":
                    self.terminal.follow_card(self.session.transport,
                                              (usim.iccid, imsi, modem.refresh_count, modem.powered),
                                              usim.ust)
                if self.plane is None or not self.terminal.sessions:
                    self._imsi = imsi
                    return
                self._follow_sessions(bool(modem.registered) and bool(modem.data_active), imsi)
                return
            status = modem_view(modem)
        st = status
        if st.get("powered") and st.get("sim") == "ready":
            usim = getattr(self.session.modem, "usim", None)
            self.terminal.refresh_card(self.session.transport, st, usim.ust if usim is not None else None)
        if self.plane is None or not self.terminal.sessions:
            self._imsi = st.get("imsi")
            return
        self._follow_sessions(bool(st.get("registered")) and bool(st.get("data")), st.get("imsi"))

    def bar(self, barred: bool, reason: str) -> None:
        """Operator determined barring of the line's packet data, as a line suspension sets it: the
        packet core refuses new sessions (TS 24.301 §9.9.4.4 cause #8) and releases the running
        ones (Admin-Reset, RFC 2866 §5.10); ``barred=False`` lifts it."""
        plane = self.plane
        if plane is None:
            return
        for imsi, sub in list(plane.subscribers.items()):
            plane.subscribers[imsi] = dataclasses.replace(sub, barred=barred)
        if barred:
            for sid in [s for s in self.terminal.sessions if s in plane.sessions]:
                plane.deactivate(sid, reason=reason, terminate_cause=6, by_policy=True)
            self.terminal.sessions.clear()

    def _follow_sessions(self, ps_service: bool, imsi: str | None) -> None:
        """End the terminal's sessions that lost the PS service, the IMSI or the plan's consent."""
        term, plane = self.terminal, self.plane
        assert plane is not None
        pc = _dataplane
        if not ps_service:
            term.release_all(plane, "the terminal lost its packet-switched service",
                             pc.TERMINATE_LOST_SERVICE)
        elif self._imsi is not None and imsi != self._imsi:
            term.release_all(plane, f"the card changed IMSI ({self._imsi} -> {imsi}): detach",
                             pc.TERMINATE_USER_REQUEST)
        elif self.charging is not None:
            for sid in list(term.sessions):
                token = plane.token(sid)
                if token is not None and not self.charging.alive(token):
                    cut = [e for e in self.session.log.of_kind("session_cut")
                           if e.data.get("session") == token]
                    why = cut[-1].data.get("reason") if cut else "closed by the plan"
                    plane.deactivate(sid, reason=f"cut by the plan: {why}",
                                     terminate_cause=pc.TERMINATE_ADMIN_RESET, by_policy=True)
                    term.sessions.remove(sid)
        self._imsi = imsi


def data(session: Session, status: Mapping[str, Any] | None = None) -> DataContext:
    """The run's :class:`DataContext`, built on first use and kept in step with the modem
    (``status``: the modem's current status, when the caller has it)."""
    ctx = run_context(session, "_data_context", DataContext)
    ctx.sync(status)
    return ctx


def carry(session: Session, octets: int) -> bool:
    """The terminal's newest session the AAA accounts carries ``octets`` to it (the ``consume``
    steps' traffic; 0 only runs the interim timers): the plan meters them from the accounting
    records, and a block they bring disconnects the session. False when no such session is up
    (the plan then meters the usage itself)."""
    ctx = getattr(session, "_data_context", None)
    if ctx is None or ctx.plane is None or not ctx.plane.meters:
        return False
    plane = ctx.plane
    sid = next((sid for sid in reversed(ctx.terminal.sessions) if sid in plane.meters), None)
    if sid is None:
        return False
    plane.carry(sid, octets)
    ctx.sync()
    return True


# --------------------------------------------------------------------------- steps


def _connect(s: Session, args: Any) -> None:
    log = s.log
    st = modem_view(s.modem)
    ctx = data(s, st)
    a = dict(args or {})
    count = int(a.pop("count", 1))
    for _ in range(count):
        t = log.time
        ctx.terminal.connect(ctx.plane, st, a)
        if log.time != t:  # the plan engine started and the modem followed its clock
            st = modem_view(s.modem)
        ctx.sync(st)


def _disconnect(s: Session, args: Any) -> None:
    ctx = data(s)
    count = args.get("count") if isinstance(args, Mapping) else None
    ctx.terminal.disconnect(ctx.plane, None if count is None else int(count))


ACTIONS: dict[str, Callable[[Session, Any], None]] = {
    "data_connect": _connect,
    "data_disconnect": _disconnect,
}


# --------------------------------------------------------------------------- expectations


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if expected is None or actual is None:
        return expected is actual
    return expected == actual or str(expected) == str(actual)


def check(s: Session, key: str, want: Any, line: int | None, window: int) -> list[Mismatch]:
    """Evaluate one data expectation (a key of :data:`DATA_EXPECT`)."""
    ctx = data(s)
    lines = getattr(want, "lines", {}) or {}
    out: list[Mismatch] = []
    if key == "accounting":
        return _check_accounting(ctx, want, lines, line)
    if key == "pdn_sessions":
        n = len(ctx.terminal.sessions)
        return [] if n == int(want) else [Mismatch("pdn_sessions", want, n, line)]
    if key == "fixed_ip":
        have = ctx.fixed_ip or {"allowed": None, "reason": "no fixed IP ordered", "monthly_eur": None}
        for k, v in want.items():
            at = lines.get(k, line)
            if k == "reason":
                if str(v).lower() not in str(have["reason"]).lower():
                    out.append(Mismatch("fixed_ip.reason", f"contains {v!r}", have["reason"], at))
            elif not _same(v, have.get(k)):
                out.append(Mismatch(f"fixed_ip.{k}", v, have.get(k), at))
        return out
    attempts = ctx.terminal.attempts
    if not attempts:
        return [Mismatch("pdn", dict(want), "no data_connect yet", line)]
    seen = attempts[-1].observed()
    for k, v in want.items():
        at = lines.get(k, line)
        actual = seen.get(k)
        if k == "reason":
            if actual is None or str(v).lower() not in str(actual).lower():
                out.append(Mismatch("pdn.reason", f"contains {v!r}", actual, at))
        elif not _same(v, actual):
            out.append(Mismatch(f"pdn.{k}", v, actual, at))
    return out


_STATUS = {1: "start", 2: "stop", 3: "interim"}


def _check_accounting(ctx: DataContext, want: Any, lines: Mapping[str, int],
                      line: int | None) -> list[Mismatch]:
    """``accounting:`` — how many records of each status the packet core sent (``start``,
    ``interim``, ``stop``), the Acct-Session-Time of the Interim-Updates (``interim_times``), and
    the last record's attributes as the wire carries them (``last``: ``status``,
    ``acct_input_octets``, ``acct_output_octets``, ``acct_input_gigawords``,
    ``acct_output_gigawords``, ``acct_session_time``, ``acct_terminate_cause``; RFC 2866 §5,
    RFC 2869 §5.1). The scenario schema admits no other key."""
    pc = _dataplane
    records = [x for x in (ctx.plane.exchanges if ctx.plane is not None else ())
               if isinstance(x, pc.AccountingRecord)]
    out: list[Mismatch] = []
    for k, v in want.items():
        at = lines.get(k, line)
        if k in ("start", "interim", "stop"):
            n = sum(1 for r in records if _STATUS[r.status] == k)
            if n != int(v):
                out.append(Mismatch(f"accounting.{k}", v, n, at))
        elif k == "interim_times":
            times = [r.session_time for r in records if r.status == pc.ACCT_INTERIM]
            if list(v) != times:
                out.append(Mismatch("accounting.interim_times", list(v), times, at))
        else:   # last
            if not records:
                out.append(Mismatch("accounting.last", dict(v), "no accounting record", at))
                continue
            from harness.network.radius import accounting_request

            pkt = accounting_request(records[-1])   # the attributes as they travel
            seen = {"status": _STATUS[records[-1].status]}
            for attr in ("Acct-Input-Octets", "Acct-Output-Octets", "Acct-Input-Gigawords",
                         "Acct-Output-Gigawords", "Acct-Session-Time", "Acct-Terminate-Cause"):
                got = pkt.get(pkt.dict.attributes[attr].code)   # by code: the value's raw octets
                seen[attr.lower().replace("-", "_")] = int.from_bytes(got[0]) if got else None
            sub = getattr(v, "lines", {}) or {}
            for kk, vv in v.items():
                if not _same(vv, seen[kk]):
                    out.append(Mismatch(f"accounting.last.{kk}", vv, seen[kk], sub.get(kk, at)))
    return out


# --------------------------------------------------------------------------- wire


def pcap_name(scn: Scenario) -> str:
    """``<file stem>.pcap``, or ``<stem>-<matrix id>.pcap`` for matrix entries."""
    stem = Path(scn.source).stem
    ident = f"-{scn.matrix_id}" if scn.matrix_id else ""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem + ident) + ".pcap"


def write_pcap(session: Session, directory: str | Path) -> Path | None:
    """One pcap with every PDN request of the run that reached the network and every release
    (None when none did)."""
    ctx = getattr(session, "_data_context", None)
    scn = session.scenario
    if ctx is None or scn is None:
        return None
    exchanges = ctx.plane.exchanges if ctx.plane is not None else []
    if not exchanges:
        return None
    from harness.network.wire import sessions_packets
    from harness.network.wire import write_pcap as write

    return write(Path(directory) / pcap_name(scn), sessions_packets(exchanges))


#: the step group's interface (:mod:`harness.scenario.steps`)
EXPECT = DATA_EXPECT
uses = uses_data
