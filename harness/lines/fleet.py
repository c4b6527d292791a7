"""A partner's fleet of lines ("parc"): orders, activation, suspension, reactivation, termination,
SIM swap and the self-care actions, under the provider's line rules, logged as events.

States are the self-care's: ``pending`` ("En cours"), ``active`` ("Actif"), ``suspended``
("Suspendu"), ``terminated`` ("Résilié"). Every request answers an :class:`Outcome`; a refused
request changes nothing and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from csim.encoding import luhn_digit
from harness.events import EventLog
from harness.lines.numbering import NumberingError, NumberPool
from harness.lines.opening_hours import FrenchCalendar, OpeningHours
from harness.lines.rules import SIM_TYPES, LineRules, NetworkLineRules

STATES = ("pending", "active", "suspended", "terminated")


class LineError(ValueError):
    """A request names no known line, or is malformed."""


@dataclass
class MobileLine:
    """One line of the fleet."""

    id: str
    network: str
    range: str
    number: str
    sim: str
    sim_type: str
    kind: str
    ordered: datetime
    active_at: datetime
    user: str = ""
    offer: str | None = None
    state: str = "pending"
    sims: list[str] = field(default_factory=list)  # every SIM the line had, oldest first
    sim_since: date | None = None  # when the current SIM was received (physical) or activated (eSIM)


@dataclass
class Outcome:
    """The answer to one request: accepted or refused with the reason, and what it set."""

    request: str
    accepted: bool
    reason: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        if key == "request":
            return self.request
        if key == "accepted":
            return self.accepted
        if key == "reason":
            return self.reason
        return self.fields.get(key)


class Fleet:
    """The lines of one partner's client, on the networks of one provider."""

    def __init__(self, rules: LineRules, log: EventLog, *, client: str = "Mon client", seed: int = 0) -> None:
        self.rules = rules
        self.log = log
        self.client = client
        self.hours = OpeningHours(FrenchCalendar(rules.public_holidays))
        self.pool = NumberPool(seed)
        self.lines: dict[str, MobileLine] = {}
        self.assigned_sims: set[str] = set()  # SIMs the partner assigned to the client (for a SIM swap)
        self.esim_swap_allowed = False  # "Autoriser l'action SIM Swap vers eSIM"
        self.notifications = False  # partner e-mails on the client's self-care actions
        self.last: Outcome | None = None
        self._sim_serial = 0

    # ------------------------------------------------------------------ helpers
    def line(self, ref: str | None = None) -> MobileLine:
        """The line named ``ref`` (id or number), or the last line ordered."""
        if ref is None:
            if not self.lines:
                raise LineError("no line in the fleet yet: order one first")
            return next(reversed(self.lines.values()))
        for ln in self.lines.values():
            if ref in (ln.id, ln.number):
                return ln
        raise LineError(f"no line {ref!r} in the fleet")

    def _answer(self, outcome: Outcome, line: MobileLine | None = None) -> Outcome:
        self.last = outcome
        if not outcome.accepted:
            self.log.record(
                "line_request_refused",
                request=outcome.request,
                line=line.id if line else None,
                reason=outcome.reason,
            )
        return outcome

    def _refuse(self, request: str, reason: str, line: MobileLine | None = None) -> Outcome:
        return self._answer(Outcome(request, False, reason), line)

    def _new_sim(self, network: str, sim_type: str) -> str:
        """A new ICCID (ITU-T E.118: 19 digits with the Luhn check digit), ``89339…`` for an eSIM."""
        self._sim_serial += 1
        body = f"8933{'9' if sim_type == 'esim' else '0'}{self._sim_serial:013d}"
        return self.pool.take_sim(body + luhn_digit(body))

    def _email(self, action: str, line: MobileLine, by: str, **extra: Any) -> None:
        """The partner's e-mail for a self-care action (sent when notifications are on)."""
        if by != "selfcare" or not self.notifications:
            return
        text = self.rules.emails[action].format(
            client=self.client, user=line.user, number=line.number, **extra
        )
        self.log.record("partner_email", action=action, line=line.id, text=text)

    def network(self, name: str) -> NetworkLineRules:
        try:
            return self.rules.network(name)
        except KeyError as exc:
            raise LineError(str(exc.args[0])) from None

    # ------------------------------------------------------------------ time
    def tick(self, now: datetime) -> None:
        """Pending lines whose activation time has come become active."""
        for ln in self.lines.values():
            if ln.state == "pending" and ln.active_at <= now:
                ln.state = "active"
                self.log.record("line_active", line=ln.id, number=ln.number, at=ln.active_at.isoformat())

    # ------------------------------------------------------------------ orders
    def order(
        self,
        now: datetime,
        network: str,
        *,
        sim: str = "pin",
        range_: str = "unlimited",
        offer: str | None = None,
        number: str | None = None,
        port_date: date | None = None,
        user: str = "",
    ) -> Outcome:
        """Create a line: simple, with portability (``port_date`` and the ported ``number``) or
        with an eSIM, under the network's opening hours and numbering (AlphaLink mobile reference,
        "HORAIRES D'OUVERTURE D'UNE LIGNE / SIM SWAP", 'Délais d'activation')."""
        self.tick(now)
        rules = self.network(network)
        if sim not in SIM_TYPES:
            raise LineError(f"unknown SIM type {sim!r} (expected {', '.join(SIM_TYPES)})")
        if sim not in rules.sim_types:
            return self._refuse(
                "order",
                f"SIM type {sim} is not offered on {rules.label} (offered: {', '.join(rules.sim_types)})",
            )
        portability = port_date is not None
        kind = "portability" if portability else ("esim" if sim == "esim" else "simple")
        checks = [rules.windows[kind]] + ([rules.windows["esim"]] if portability and sim == "esim" else [])
        for w in checks:
            if w.working_days_ahead is not None:
                continue
            why = self.hours.refusal(w, now)
            if why:
                return self._refuse("order", f"{rules.label}: {why}")
        if portability:
            w = rules.windows["portability"]
            why = self.hours.portability_refusal(w, now, port_date)
            if why:
                return self._refuse("order", f"{rules.label}: {why}")
            if number is None:
                return self._refuse("order", "a portability needs the ported number")
            if number in self.pool.numbers:
                return self._refuse("order", f"number {number} was already given: numbers are never reused")
            self.pool.numbers.add(number)
            active_at = datetime.combine(port_date, time(0))
            deadline = active_at + self.rules.with_portability
        else:
            plan = rules.numbering.get(range_)
            if range_ not in rules.numbering or plan is None:
                return self._refuse(
                    "order",
                    f"the reference does not give the number format of {range_} "
                    f"lines on {rules.label}: refused rather than guessed",
                )
            try:
                if number is not None:
                    if plan.chosen_by != "partner":
                        return self._refuse(
                            "order",
                            f"{rules.label} selects {range_} numbers itself (the partner cannot choose one)",
                        )
                    number = self.pool.take(plan, str(number))
                else:
                    number = self.pool.draw(plan)
            except NumberingError as exc:
                return self._refuse("order", str(exc))
            active_at = self.hours.add_open_time(rules.windows[kind], now, self.rules.without_portability)
            deadline = active_at
        ln = MobileLine(
            id=f"line-{len(self.lines) + 1}",
            network=network,
            range=range_,
            number=number,
            sim=self._new_sim(network, sim),
            sim_type=sim,
            kind=kind,
            ordered=now,
            active_at=active_at,
            user=user,
            offer=offer,
        )
        ln.sim_since = active_at.date()
        ln.sims.append(ln.sim)
        self.lines[ln.id] = ln
        self.log.record(
            "line_ordered",
            line=ln.id,
            network=network,
            order=kind,
            sim_type=sim,
            number=number,
            digits=len(number),
            active_at=active_at.isoformat(),
            active_by=deadline.isoformat(),
        )
        self.tick(now)
        return self._answer(
            Outcome(
                "order",
                True,
                fields={
                    "line": ln.id,
                    "number": number,
                    "digits": len(number),
                    "kind": kind,
                    "sim_type": sim,
                    "active_at": active_at,
                    "active_by": deadline,
                },
            )
        )

    def existing(
        self,
        network: str,
        number: str,
        *,
        range_: str = "unlimited",
        user: str = "",
        offer: str | None = None,
        now: datetime,
        sim_type: str = "pin",
        sim_since: date | None = None,
        sim: str | None = None,
    ) -> MobileLine:
        """A line already active in the fleet (ordered before the scenario starts); its SIM (the
        ICCID ``sim``, else a new one) received or activated on ``sim_since`` (default: ``now``)."""
        self.network(network)
        if number in self.pool.numbers:
            raise LineError(f"number {number} is already in the fleet")
        if sim is not None and sim in self.pool.sims:
            raise LineError(f"SIM {sim} is already in the fleet")
        self.pool.numbers.add(number)
        ln = MobileLine(
            id=f"line-{len(self.lines) + 1}",
            network=network,
            range=range_,
            number=number,
            sim=self.pool.take_sim(sim) if sim is not None else self._new_sim(network, sim_type),
            sim_type=sim_type,
            kind="existing",
            ordered=now,
            active_at=now,
            user=user,
            offer=offer,
            state="active",
            sim_since=sim_since or now.date(),
        )
        ln.sims.append(ln.sim)
        self.lines[ln.id] = ln
        self.log.record("line_active", line=ln.id, number=number, at=now.isoformat())
        return ln

    # ------------------------------------------------------------------ contract actions
    def suspend(self, now: datetime, ref: str | None = None, *, by: str = "partner") -> Outcome:
        """'Suspension de la ligne': services interrupted until reactivation, the plan still billed."""
        self.tick(now)
        ln = self.line(ref)
        if ln.state != "active":
            return self._refuse("suspend", f"line {ln.number} is {ln.state}, not active", ln)
        ln.state = "suspended"
        self.log.record(
            "line_suspended",
            line=ln.id,
            number=ln.number,
            by=by,
            billed=self.rules.contract.get("suspension_billed", True),
        )
        self._email("suspend", ln, by)
        return self._answer(Outcome("suspend", True, fields={"state": ln.state}))

    def reactivate(self, now: datetime, ref: str | None = None, *, by: str = "partner") -> Outcome:
        self.tick(now)
        ln = self.line(ref)
        if ln.state != "suspended":
            return self._refuse("reactivate", f"line {ln.number} is {ln.state}, not suspended", ln)
        ln.state = "active"
        self.log.record("line_reactivated", line=ln.id, number=ln.number, by=by)
        self._email("reactivate", ln, by)
        return self._answer(Outcome("reactivate", True, fields={"state": ln.state}))

    def suspend_option(self, now: datetime, option: str, ref: str | None = None) -> Outcome:
        """'Suspension d'option': "Impossible : résiliation uniquement"."""
        self.tick(now)
        ln = self.line(ref)
        if not self.rules.contract.get("option_suspension", False):
            return self._refuse(
                "suspend_option",
                f"an option cannot be suspended ({option}): termination of the option only",
                ln,
            )
        return self._answer(Outcome("suspend_option", True))  # pragma: no cover - no provider allows it

    def terminate(self, now: datetime, ref: str | None = None) -> Outcome:
        """'Résiliation d'une ligne': the SIM and the number are never given again."""
        self.tick(now)
        ln = self.line(ref)
        if ln.state == "terminated":
            return self._refuse("terminate", f"line {ln.number} is already terminated", ln)
        ln.state = "terminated"
        self.log.record("line_terminated", line=ln.id, number=ln.number, sim=ln.sim)
        return self._answer(Outcome("terminate", True, fields={"state": ln.state}))

    def rename_user(
        self, now: datetime, user: str, ref: str | None = None, *, by: str = "selfcare"
    ) -> Outcome:
        self.tick(now)
        ln = self.line(ref)
        if ln.state == "terminated":
            return self._refuse("rename", f"line {ln.number} is terminated", ln)
        ln.user = user
        self.log.record("line_user_changed", line=ln.id, user=user, by=by)
        self._email("rename", ln, by, new_user=user)
        return self._answer(Outcome("rename", True, fields={"user": user}))

    def recharge(
        self, now: datetime, volume: str, ref: str | None = None, *, by: str = "selfcare"
    ) -> Outcome:
        """A data recharge ordered on the line (self-care "Commander en direct ses recharges data")."""
        self.tick(now)
        ln = self.line(ref)
        if ln.state != "active":
            return self._refuse("recharge", f"line {ln.number} is {ln.state}, not active", ln)
        self.log.record("line_recharge", line=ln.id, volume=volume, by=by)
        self._email("recharge", ln, by, volume=volume)
        return self._answer(Outcome("recharge", True, fields={"volume": volume}))

    def sim_swap(
        self, now: datetime, to: str, ref: str | None = None, *, sim: str | None = None, by: str = "selfcare"
    ) -> Outcome:
        """SIM swap to a physical SIM assigned to the client first, or to an eSIM once the partner
        allowed it ("Autoriser l'action SIM Swap vers eSIM"), in the network's SIM swap hours; the
        number stays, the old SIM is never used again."""
        self.tick(now)
        ln = self.line(ref)
        rules = self.network(ln.network)
        if ln.state not in ("active", "suspended"):
            return self._refuse("sim_swap", f"line {ln.number} is {ln.state}", ln)
        if to not in ("sim", "esim"):
            raise LineError(f"sim_swap to {to!r}: expected sim or esim")
        window = rules.windows["esim_swap" if to == "esim" else "sim_swap"]
        why = self.hours.refusal(window, now)
        if why:
            return self._refuse("sim_swap", f"{rules.label}: {why}", ln)
        if to == "sim":
            if sim is None or sim not in self.assigned_sims:
                return self._refuse(
                    "sim_swap",
                    "no such SIM assigned to the client: assign it first "
                    "(Exploitation > Liste des ressources)",
                    ln,
                )
            if sim in self.pool.sims:
                return self._refuse("sim_swap", f"SIM {sim} was already used: SIM cards are never reused", ln)
            new = self.pool.take_sim(sim)
            self.assigned_sims.discard(sim)
        else:
            if not self.esim_swap_allowed:
                return self._refuse(
                    "sim_swap",
                    "SIM swap to eSIM is not allowed for this client "
                    "('Autoriser l'action SIM Swap vers eSIM' is off)",
                    ln,
                )
            new = self._new_sim(ln.network, "esim")
        old = ln.sim
        ln.sim = new
        if to == "esim":
            ln.sim_type = "esim"
        elif ln.sim_type == "esim":
            ln.sim_type = "pin"  # a physical SIM: with PIN unless the order said otherwise
        ln.sims.append(new)
        ln.sim_since = now.date()
        self.log.record("sim_swapped", line=ln.id, number=ln.number, old=old, new=new, to=to, by=by)
        self._email("sim_swap", ln, by)
        return self._answer(
            Outcome("sim_swap", True, fields={"sim": new, "old_sim": old, "number": ln.number})
        )

    # ------------------------------------------------------------------ services
    def service_refusal(self, now: datetime, ref: str | None = None) -> str | None:
        """Why the line cannot use a service now (not yet active, suspended, terminated), or None."""
        self.tick(now)
        ln = self.line(ref)
        if ln.state == "active":
            return None
        if ln.state == "suspended":
            return f"line {ln.number} is suspended: services interrupted until reactivation"
        return f"line {ln.number} is {ln.state}"

    def line_of_sim(self, iccid: str) -> MobileLine | None:
        """The line whose current SIM is ``iccid`` (None: no line, or a SIM swapped away)."""
        return next((ln for ln in self.lines.values() if ln.sim == iccid), None)

    def counts(self) -> dict[str, int]:
        """Lines per state, as the self-care's dashboard counts them."""
        out = dict.fromkeys(STATES, 0)
        for ln in self.lines.values():
            out[ln.state] += 1
        return out
