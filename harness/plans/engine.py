"""The network-side policy engine: lines, usage, enforcement, contract changes and bills.

One :class:`PolicyEngine` per run. Scenario steps and the network's data sessions call
:meth:`~PolicyEngine.consume`, :meth:`~PolicyEngine.call`, :meth:`~PolicyEngine.sms`,
:meth:`~PolicyEngine.session_open` / :meth:`~PolicyEngine.session_close`, the operator side
:meth:`~PolicyEngine.change_plan`, :meth:`~PolicyEngine.set_cutoff`,
:meth:`~PolicyEngine.set_option`, :meth:`~PolicyEngine.order_recharge`,
:meth:`~PolicyEngine.cancel`, and time moves with :meth:`~PolicyEngine.advance` /
:meth:`~PolicyEngine.at`. Alerts, blocks, throttling, rejected sessions and bills are events in
the run's :class:`~harness.events.EventLog`; :meth:`~PolicyEngine.status` gives the observables.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import repeat
from typing import Any

from csim.memo import remember
from harness.events import EventLog

from . import billing, enforcement
from .billing import Bill, BillItem
from .catalogue import Catalogue, NetworkRules, Offer, Provider, Subscription, default_catalogue
from .clock import Clock, month_key, next_month_start, parse_duration, parse_instant, remaining_fraction
from .contracts import cancellation_effective, decide
from .counters import Counters
from .enforcement import METERS, Policy
from .units import format_volume, parse_volume
from .zones import ROAMING_ZONES, ZONE_INDEX, ZONES, zone_of

#: the zone each meter stands for (the envelope serves France and, by the rules, Europe)
METER_ZONE = {
    "envelope": "france",
    "europe": "europe",
    "usa_canada": "usa_canada",
    "maghreb_turkey": "maghreb_turkey",
    "world": "world",
}


#: events that carry a snapshot of the line's meters (for the HTML report's timeline)
SNAPSHOT_EVENTS = frozenset({
    "line_activated", "usage", "alert", "block", "throttle", "unblock", "throughput_restored",
    "cutoff_changed", "option_changed", "recharge_applied", "change_applied", "month_start",
})


class PlanError(ValueError):
    """An operation the plan or the provider does not allow; ``str()`` is the reason."""


class ChargedSession:
    """One open data session of a line as the operator charges it (a PDP context / PDN connection)."""

    __slots__ = ("id", "zone", "apn", "opened")

    def __init__(self, id: int, zone: str, apn: str | None, opened: datetime) -> None:  # noqa: A002
        self.id = id
        self.zone = zone
        self.apn = apn
        self.opened = opened

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChargedSession):
            return NotImplemented
        return (self.id, self.zone, self.apn, self.opened) == (other.id, other.zone, other.apn, other.opened)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"ChargedSession(id={self.id!r}, zone={self.zone!r}, apn={self.apn!r}, opened={self.opened!r})"


_LINE_FIELDS = (
    "id", "offer", "rules", "provider", "activated", "expires", "cutoffs", "options", "threshold",
    "fixed_ip", "counters", "policy", "month_offer", "carry_envelope", "allowance", "recharged",
    "pending_recharges", "pending_change", "change_requests", "sessions", "sms_times",
    "sms_suspended_until", "items", "bills", "active", "ends", "reboot_required", "zone_bytes_metered",
    "suspended",
)


#: the refusal of every usage of a suspended line (AlphaLink mobile reference, 'Suspension de la ligne')
SUSPENDED = "line suspended: services interrupted until reactivation"


class Line:
    """One subscribed line and its state in the current billing month."""

    __slots__ = _LINE_FIELDS

    def __init__(
        self,
        id: str,  # noqa: A002
        offer: Offer,
        rules: NetworkRules,
        provider: Provider,
        activated: datetime,
        expires: datetime | None,
        cutoffs: dict[str, Any],
        options: dict[str, tuple[int, bool]],
        threshold: int | None,
        fixed_ip: bool,
        counters: Counters,
        policy: Policy | None = None,
        month_offer: Offer | None = None,
        carry_envelope: int | None = None,
        allowance: int | None = None,
        recharged: int = 0,
        pending_recharges: list[tuple[datetime, int]] | None = None,
        pending_change: tuple[datetime, Offer] | None = None,
        change_requests: dict[tuple[int, int], int] | None = None,
        sessions: dict[int, ChargedSession] | None = None,
        sms_times: deque[datetime] | None = None,
        sms_suspended_until: datetime | None = None,
        items: list[BillItem] | None = None,
        bills: list[Bill] | None = None,
        active: bool = True,
        ends: datetime | None = None,
        reboot_required: bool = False,
        zone_bytes_metered: dict[str, int] | None = None,
        suspended: bool = False,
    ) -> None:
        self.id = id
        self.offer = offer
        self.rules = rules
        self.provider = provider
        self.activated = activated
        self.expires = expires
        self.cutoffs = cutoffs
        self.options = options
        self.threshold = threshold
        self.fixed_ip = fixed_ip
        self.counters = counters
        self.policy = Policy() if policy is None else policy
        self.month_offer = month_offer
        self.carry_envelope = carry_envelope
        self.allowance = allowance
        self.recharged = recharged
        self.pending_recharges = [] if pending_recharges is None else pending_recharges
        self.pending_change = pending_change
        self.change_requests = {} if change_requests is None else change_requests
        self.sessions = {} if sessions is None else sessions
        self.sms_times = deque() if sms_times is None else sms_times
        self.sms_suspended_until = sms_suspended_until
        self.items = [] if items is None else items
        self.bills = [] if bills is None else bills
        self.active = active
        self.ends = ends
        self.reboot_required = reboot_required
        self.zone_bytes_metered = {} if zone_bytes_metered is None else zone_bytes_metered
        self.suspended = suspended  # 'Suspension de la ligne': no service, the plan still billed

    @property
    def out_of_service(self) -> str | None:
        """Why the line serves nothing now (ended, or suspended until reactivation), or None."""
        if not self.active:
            return "line deactivated"
        return SUSPENDED if self.suspended else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Line):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in _LINE_FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return "Line(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in _LINE_FIELDS) + ")"

    @property
    def envelope_limit(self) -> int | None:
        """The blocking / reduction limit of the envelope meter (None: no limit)."""
        return _envelope_limit(self.offer, self.threshold, self.carry_envelope, self.recharged)


def _envelope_limit(offer: Offer, threshold: int | None, carry: int | None, recharged: int) -> int | None:
    if offer.metered:
        return threshold
    base = carry if carry is not None else (offer.volume or 0)
    return base + recharged


def _option_item(rules: NetworkRules, zone: str, vol: int, voice: bool) -> BillItem:
    """The bill item of a roaming option (``tout mois commencé est facturé``)."""
    price = rules.roaming_options.get(zone, {}).get(("voice_sms_data" if voice else "data", vol))
    return BillItem(
        f"option roaming {'voix SMS & data' if voice else 'data'} {zone} {format_volume(vol)}",
        None if price is None else float(price),
        billing.UNPUBLISHED if price is None else "tout mois commencé est facturé",
    )


def _alert_message(label: str, pct: int, name: str, euro: bool, used: int, limit: int) -> str:
    """The alert SMS of seed 003 "L'alerte et le blocage": who, the threshold, used / limit."""
    amount = (lambda v: f"{Decimal(v) / 10**9:.2f} EUR") if euro else format_volume
    what = "de votre enveloppe data" if name == "envelope" else f"du cut-off {name}"
    return f"{label}: vous avez consommé {pct}% {what} ({amount(used)} / {amount(limit)})"


class PolicyEngine:
    """Policy engine over a :class:`~harness.plans.catalogue.Catalogue` and a simulated clock."""

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        log: EventLog | None = None,
        start: str | datetime = "2026-01-01T00:00",
    ) -> None:
        self.catalogue = catalogue or default_catalogue()
        self.log = log if log is not None else EventLog()
        self.clock = Clock(start, self.log)
        self.lines: dict[str, Line] = {}
        self._next_session = 1

    # ------------------------------------------------------------------ lines
    def add_line(
        self, spec: dict[str, Any] | Subscription | str, line_id: str | None = None, **fields: Any
    ) -> Line:
        """Subscribe a line: a :class:`Subscription`, a mapping as in a ``lines:`` file, or an offer id."""
        if isinstance(spec, str):
            spec = {"id": line_id or f"line{len(self.lines) + 1}", "offer": spec, **fields}
        catalogue, clock = self.catalogue, self.clock
        sub = spec if isinstance(spec, Subscription) else catalogue.subscription(spec)
        if sub.id in self.lines:
            raise PlanError(f"line {sub.id!r} already exists")
        activated = sub.activated or clock.now
        if activated > clock.now:
            self.at(activated)
        offer = sub.offer
        rules = catalogue.rules(offer)
        provider = catalogue.provider(offer)
        line = Line(sub.id, offer, rules, provider, activated, sub.expires, dict(sub.cutoffs),
                    dict(sub.options), sub.threshold, sub.fixed_ip, Counters(month_key(clock.now)),
                    month_offer=offer)
        self._rebuild(line, fresh=True)
        prorata = provider.contract.get("first_month") == "prorata"
        line.items = self._month_items(line, remaining_fraction(activated) if prorata else 1.0)
        self.lines[line.id] = line
        self._event("line_activated", line, offer=offer.id, activated=activated.isoformat())
        return line

    def line(self, line: str | Line) -> Line:
        if isinstance(line, Line):
            return line
        try:
            return self.lines[line]
        except KeyError:
            raise PlanError(f"unknown line {line!r}") from None

    # ------------------------------------------------------------------- time
    def advance(self, duration: str | int | float | timedelta) -> datetime:
        """Let simulated time pass (``"3d"``, ``"30min"``...), replaying what falls due on the way."""
        return self.at(self.clock.now + parse_duration(duration))

    def at(self, instant: str | datetime) -> datetime:
        """Move the clock to ``instant`` (``"2026-03-01T00:00"``), replaying what falls due."""
        target = instant if type(instant) is datetime else parse_instant(instant)
        clock = self.clock
        if target < clock.now:
            raise PlanError(f"time cannot go back to {target.isoformat()} (now {clock.now.isoformat()})")
        while True:
            due = self._next_due()
            if due is None or due > target:
                break
            clock.set(due)
            self._fire_due(due)
        clock.set(target)
        return target

    def _next_due(self) -> datetime | None:
        if not self.lines:
            return None
        due = self.clock.next_month  # next_month_start(now)
        for line in self.lines.values():
            for t, _ in line.pending_recharges:
                if t < due:
                    due = t
            t = line.sms_suspended_until
            if t is not None and t < due:
                due = t
            t = line.ends
            if t is not None and line.active and t < due:
                due = t
        return due

    def _fire_due(self, now: datetime) -> None:
        for line in self.lines.values():
            if line.ends is not None and line.active and line.ends <= now:
                self._close_month(line, final=True)
                line.active = False
                self._cut_sessions(line, "line deactivated", all_zones=True)
                self._event("deactivated", line, reason="contract expired after cancellation")
        if now == datetime(now.year, now.month, 1):
            for line in self.lines.values():
                if line.active and line.counters.month != month_key(now):
                    self._rollover(line, now)
        for line in self.lines.values():
            due = [r for r in line.pending_recharges if r[0] <= now]
            for r in due:
                line.pending_recharges.remove(r)
                if not line.active:
                    continue
                line.recharged += r[1]
                self._rebuild(line)
                self._event(
                    "recharge_applied",
                    line,
                    volume=format_volume(r[1]),
                    envelope=format_volume(line.envelope_limit or 0),
                )
            if line.sms_suspended_until is not None and line.sms_suspended_until <= now:
                line.sms_suspended_until = None
                self._event("sms_resumed", line)

    def _rollover(self, line: Line, now: datetime) -> None:
        self._close_month(line)
        if line.pending_change is not None and line.pending_change[0] <= now:
            new = line.pending_change[1]
            line.pending_change = None
            old = line.offer
            self._set_offer(line, new)
            self._event("change_applied", line, old=old.id, new=new.id, effective=now.isoformat())
        line.counters = Counters(month_key(now))
        line.carry_envelope = None
        line.allowance = None
        line.recharged = 0
        line.month_offer = line.offer
        line.zone_bytes_metered = {}
        self._rebuild(line, fresh=True)
        line.items = self._month_items(line)
        self._event("month_start", line, month=f"{now.year:04d}-{now.month:02d}", offer=line.offer.id)

    @staticmethod
    def _month_items(line: Line, fraction: float = 1.0) -> list[BillItem]:
        """What a month bills before any usage: the subscription (``fraction`` of it in a prorated
        first month), every roaming option held and the fixed IP."""
        items = [billing.subscription_item(line.offer, fraction)]
        for zone, (vol, voice) in line.options.items():
            items.append(_option_item(line.rules, zone, vol, voice))
        if line.fixed_ip and line.rules.fixed_ip:
            items.append(BillItem("option IP fixe", float(line.rules.fixed_ip["monthly"])))
        return items

    def _set_offer(self, line: Line, offer: Offer) -> None:
        line.offer = offer
        line.rules = self.catalogue.rules(offer)

    # ---------------------------------------------------------------- policy
    def _rebuild(self, line: Line, fresh: bool = False) -> None:
        """The line's meters and chains for its contract state: a fresh policy, or the new limits
        over the usage so far (alerts re-armed, blocks and throttling lifted where room is back)."""
        template = self._policy_template(line)
        if fresh:
            line.policy = template.unused_copy()
            return
        line.policy.copy_limits_from(template)
        changes: list[tuple[int, int, str]] = []
        enforcement.refresh(line.policy, changes)
        for mi, _, kind in changes:
            self._event(kind, line, meter=METERS[mi], zone=METER_ZONE[METERS[mi]])

    def _policy_template(self, line: Line) -> Policy:
        """The unused policy of the line's contract state (copied, never handed out)."""
        offer, envelope = line.offer, line.envelope_limit
        key = (offer.id, offer.network, envelope, tuple(line.cutoffs.items()), tuple(line.options.items()),
               offer.blocked)
        templates = self.catalogue.policy_templates
        template = templates.get(key)
        if template is None:
            # set_cutoff 165k -> 131k, set_option 175k -> 140k, advance 78k -> 59k, change_plan
            # 125k -> 117k instructions/step (replay bench under callgrind, gc off)
            template = remember(templates, key, enforcement.build_policy(
                offer, line.rules, envelope=envelope, cutoffs=line.cutoffs, options=line.options,
                blocked=offer.blocked,
            ), 512)
        return template

    def _meter_event(self, line: Line, code: int, mi: int, zone: str) -> None:
        m = line.policy.meters[mi]
        name = METERS[mi]
        if code <= enforcement.EV_ALERT100:
            pct = enforcement.THRESHOLDS[code - enforcement.EV_ALERT80]
            self._event(
                "alert",
                line,
                meter=name,
                zone=zone,
                percent=pct,
                used=m.used,
                limit=m.limit,
                channel="sms",
                message=_alert_message(line.provider.label, pct, name, self._is_euro_meter(line, mi),
                                       m.used, m.limit),
            )
        elif code == enforcement.EV_BLOCK:
            self._event("block", line, meter=name, zone=zone, used=m.used, limit=m.limit)
            self._cut_sessions(line, f"{name} limit reached")
        elif code == enforcement.EV_THROTTLE:
            self._event(
                "throttle", line, meter=name, zone=zone, throughput="reduced", used=m.used, limit=m.limit
            )

    def _is_euro_meter(self, line: Line, mi: int) -> bool:
        return (mi == enforcement.EUROPE) or (mi == enforcement.WORLD and line.rules.cutoff_unit == "eur")

    # ------------------------------------------------------------------ usage
    def resolve_zone(
        self, zone: str | None = None, country: str | None = None, plmn: str | None = None
    ) -> str:
        """The zone of a usage given as a zone id, a country code or a serving PLMN."""
        return self._where(zone, country, plmn)

    def _where(self, zone: str | None, country: str | None, plmn: str | None) -> str:
        try:
            return zone_of(country=country, plmn=plmn, zone=zone)
        except ValueError as exc:
            raise PlanError(str(exc)) from None

    def _usage_start(
        self,
        line: str | Line,
        zone: str | None,
        country: str | None,
        plmn: str | None,
        at: str | datetime | None,
    ) -> tuple[Line, str]:
        """The line and the zone of one usage, the clock first moved to ``at`` when given."""
        if at is not None:
            self.at(at)
        return self.line(line), self._where(zone, country, plmn)

    def consume(
        self,
        line: str | Line,
        data: int | str = 0,
        *,
        zone: str | None = None,
        country: str | None = None,
        plmn: str | None = None,
        at: str | datetime | None = None,
    ) -> dict[str, Any]:
        """Data usage (``data="24GB"``) where the line is served; returns accepted/rejected bytes."""
        ln, z = self._usage_start(line, zone, country, plmn, at)
        amount = parse_volume(data)
        if ln.out_of_service:
            self._event("usage_rejected", ln, usage="data", zone=z, amount=amount, reason=ln.out_of_service)
            return {"accepted": 0, "rejected": amount, "zone": z}
        accepted = self.rate_data(ln, z, amount)
        state = enforcement.zone_state(ln.policy, ZONE_INDEX[z]) if ln.active else "none"  # as throughput()
        return {"accepted": accepted, "rejected": amount - accepted, "zone": z, "throughput": state}

    def rate_data(self, ln: Line, z: str, amount: int) -> int:
        """Rate ``amount`` bytes of an active line in zone ``z`` (what :meth:`consume` does once
        the line and zone are resolved): counters, the ``usage`` event, alerts, blocks and
        throttling; returns the bytes accepted."""
        out: list[tuple[int, int]] = []
        zi = ZONE_INDEX[z]
        policy = ln.policy
        accepted = enforcement.apply_data(policy, zi, amount, out)
        counters = ln.counters
        counters.add("data", z, accepted)
        rejected = amount - accepted
        if rejected:
            counters.rejected["data"] += rejected
        if z in ROAMING_ZONES:
            self._track_metered_zone(ln, z, accepted)
        self.log.record("usage", line=ln.id, usage="data", zone=z, amount=amount, accepted=accepted,
                        rejected=rejected, meters=self._snapshot(ln))
        for code, mi in out:
            self._meter_event(ln, code, mi, z)
        if rejected and not out:
            state = enforcement.zone_state(policy, zi)
            self._event(
                "usage_rejected",
                ln,
                usage="data",
                zone=z,
                amount=rejected,
                reason="no data in this zone" if state == "none" else "data blocked",
            )
        return accepted

    def _track_metered_zone(self, ln: Line, zone: str, nbytes: int) -> None:
        """Bytes under a volume cut-off (not an option) are billed at the zone's per-MB rate."""
        if (
            zone in ROAMING_ZONES
            and ln.rules.cutoff_unit == "volume"
            and zone not in ln.options
            and not (zone == "usa_canada" and ln.offer.usa_canada is not None)
        ):
            ln.zone_bytes_metered[zone] = ln.zone_bytes_metered.get(zone, 0) + nbytes

    def _service_check(self, ln: Line, kind: str, zone: str) -> str | None:
        if ln.out_of_service:
            return ln.out_of_service
        if kind not in ln.offer.services:
            return f"{ln.offer.label} does not allow {kind}"
        if zone != "france" and not ln.offer.roaming:
            return f"{ln.offer.label} does not allow roaming"
        return None

    def _refused(self, ln: Line, kind: str, zone: str, amount: int) -> bool:
        """A voice/SMS usage the line may not make (``_service_check``): counted rejected and logged."""
        why = self._service_check(ln, kind, zone)
        if why:
            ln.counters.rejected[kind] += amount
            self._event("usage_rejected", ln, usage=kind, zone=zone, amount=amount, reason=why)
        return bool(why)

    def _included(self, ln: Line, kind: str, zone: str, to_zone: str, direction: str) -> bool:
        """Seed 003 "Consommations incluses dans les forfaits illimités" for one voice/SMS usage."""
        if ln.offer.metered:
            return False
        if kind == "sms" and direction == "in":
            return True
        if kind == "mms" and zone == "france":
            return to_zone == "france"
        inside = ("france", "europe")
        if zone in inside:
            if direction == "in":
                return True
            if to_zone == "france" or (zone == "europe" and to_zone == "europe"):
                return True
            if zone == "france" and to_zone == "europe":
                return kind == "voice" or ln.rules.international_sms_to_europe == "included"
            return False
        return False

    def call(
        self,
        line: str | Line,
        duration: str | int | float | timedelta,
        *,
        to: str = "+33100000000",
        to_country: str = "FR",
        direction: str = "out",
        zone: str | None = None,
        country: str | None = None,
        plmn: str | None = None,
        at: str | datetime | None = None,
    ) -> dict[str, Any]:
        """A voice call of ``duration``; returns included / metered seconds."""
        ln, z = self._usage_start(line, zone, country, plmn, at)
        return self._calls(ln, z, duration, (to,), to_country, direction)[0]

    def calls(
        self,
        line: str | Line,
        duration: str | int | float | timedelta,
        to: Sequence[str],
        *,
        to_country: str = "FR",
        direction: str = "out",
        zone: str | None = None,
        country: str | None = None,
        plmn: str | None = None,
    ) -> list[dict[str, Any]]:
        """Calls of the same ``duration`` to each number of ``to`` in order, at the same moment:
        the same counters, events and answers as one :meth:`call` per number."""
        if not to:
            return []
        ln, z = self._usage_start(line, zone, country, plmn, None)
        return self._calls(ln, z, duration, to, to_country, direction)

    def _calls(
        self, ln: Line, z: str, duration: str | int | float | timedelta, numbers: Sequence[str],
        to_country: str, direction: str,
    ) -> list[dict[str, Any]]:
        seconds = int(parse_duration(duration).total_seconds())
        results: list[dict[str, Any]] = []
        counters = ln.counters
        why = self._service_check(ln, "voice", z)
        if why:
            for _ in numbers:
                counters.rejected["voice"] += seconds
                self._event("usage_rejected", ln, usage="voice", zone=z, amount=seconds, reason=why)
                results.append({"included": 0, "metered": 0, "rejected": seconds})
            return results
        # what no call of the batch changes: the zones, the offer, the provider's fair use
        to_zone = self._where(None, to_country, None)
        included = self._included(ln, "voice", z, to_zone, direction)
        usa_allowance = (
            ln.offer.usa_canada[1]
            if ln.offer.usa_canada is not None and z == "usa_canada" and to_zone in ("usa_canada", "france")
            else None
        )
        fair = ln.provider.fair_use
        fair_out = bool(fair) and ln.offer.range in fair["ranges"] and direction == "out"
        call_max = int(fair["call_max"].total_seconds()) if fair_out else 0
        out = direction == "out"
        meters = self._snapshot(ln)  # calls draw on no data meter
        record, line_id = self.log.record, ln.id
        for to in numbers:
            metered = 0 if included else seconds
            if usa_allowance is not None:
                before = counters.get("voice", "usa_canada") - counters.metered("voice", "usa_canada")
                metered = max(0, seconds - max(0, usa_allowance - before))
            if fair_out and metered < seconds:
                if seconds > call_max:
                    metered = max(metered, seconds - call_max)
                    self._event("fair_use", ln, rule="call_max", limit=call_max, seconds=seconds,
                                metered=seconds - call_max)
                if to not in counters.correspondents and len(counters.correspondents) >= fair["distinct"]:
                    metered = seconds
                    self._event("fair_use", ln, rule="distinct_correspondents", limit=fair["distinct"], to=to)
            if out:
                counters.correspondents.add(to)
            counters.add("voice", z, seconds, metered)
            record("usage", line=line_id, usage="voice", zone=z, amount=seconds, to=to,
                   direction=direction, metered=metered, meters=meters)
            results.append({"included": seconds - metered, "metered": metered, "rejected": 0})
        return results

    def sms(
        self,
        line: str | Line,
        *,
        to: str = "+33100000000",
        to_country: str = "FR",
        count: int = 1,
        direction: str = "out",
        zone: str | None = None,
        country: str | None = None,
        plmn: str | None = None,
        at: str | datetime | None = None,
    ) -> dict[str, Any]:
        """``count`` SMS sent (or received); Orange's 500/hour limit suspends sending for 3 days."""
        ln, z = self._usage_start(line, zone, country, plmn, at)
        return self._sms_orders(ln, z, ((to, count),), to_country, direction)[0]

    def sms_each(
        self,
        line: str | Line,
        to: Sequence[str],
        *,
        to_country: str = "FR",
        direction: str = "out",
        zone: str | None = None,
        country: str | None = None,
        plmn: str | None = None,
    ) -> list[dict[str, Any]]:
        """One SMS to each number of ``to`` in order, at the same moment: the same counters,
        events and answers as one ``sms(to=number, count=1)`` per number."""
        if not to:
            return []
        ln, z = self._usage_start(line, zone, country, plmn, None)
        return self._sms_orders(ln, z, [(number, 1) for number in to], to_country, direction)

    def _sms_orders(
        self, ln: Line, z: str, orders: Sequence[tuple[str, int]], to_country: str, direction: str
    ) -> list[dict[str, Any]]:
        """SMS orders ``(to, count)`` in a row at the current instant, one ``usage`` event each."""
        results: list[dict[str, Any]] = []
        why = self._service_check(ln, "sms", z)
        if why:
            for _, count in orders:
                ln.counters.rejected["sms"] += count
                self._event("usage_rejected", ln, usage="sms", zone=z, amount=count, reason=why)
                results.append({"sent": 0, "metered": 0, "rejected": count})
            return results
        to_zone = self._where(None, to_country, None)
        now = self.clock.now
        fair = ln.provider.fair_use
        # the same for every SMS of these orders
        out = direction == "out"
        cap = ln.rules.sms_per_hour if out else None
        hour_ago = now - timedelta(hours=1)
        included = self._included(ln, "sms", z, to_zone, direction)
        usa_allowance = (
            ln.offer.usa_canada[2]
            if ln.offer.usa_canada is not None and z == "usa_canada" and out
            and to_zone in ("usa_canada", "france")
            else None
        )
        fair_distinct = fair["distinct"] if fair and ln.offer.range in fair["ranges"] and out else None
        counters = ln.counters
        sms_times = ln.sms_times
        meters = self._snapshot(ln)  # SMS draw on no data meter
        recipients = counters.sms_recipients
        usa_sent = (counters.get("sms", "usa_canada") - counters.metered("sms", "usa_canada")
                    if usa_allowance is not None else 0)
        for to, count in orders:
            sent = metered_sum = rejected = 0
            left = count
            # runs of SMS with the same outcome at this instant, each taken at once
            while left > 0:
                run = left
                if out:
                    if ln.sms_suspended_until is not None and now < ln.sms_suspended_until:
                        rejected += left
                        break
                    if cap is not None:
                        while sms_times and sms_times[0] <= hour_ago:
                            sms_times.popleft()
                        room = cap[0] - len(sms_times)
                        if room <= 0:
                            ln.sms_suspended_until = now + cap[1]
                            sms_times.clear()
                            rejected += 1
                            left -= 1
                            self._event(
                                "sms_suspended",
                                ln,
                                limit_per_hour=cap[0],
                                until=ln.sms_suspended_until.isoformat(),
                            )
                            continue
                        run = min(run, room)
                        sms_times.extend(repeat(now, run))
                if usa_allowance is not None:
                    free = max(0, min(run, usa_allowance - usa_sent))
                    usa_sent += free
                else:
                    free = run if included else 0
                # the first SMS to a new correspondent past the fair-use count is metered
                if (
                    free
                    and fair_distinct is not None
                    and to not in recipients
                    and len(recipients) >= fair_distinct
                ):
                    free -= 1
                if out:
                    recipients.add(to)
                sent += run
                metered_sum += run - free
                left -= run
            if rejected:
                counters.rejected["sms"] += rejected
            if sent:
                counters.add("sms", z, sent, metered_sum)
            result = {"sent": sent, "metered": metered_sum, "rejected": rejected}
            self.log.record("usage", line=ln.id, usage="sms", zone=z, amount=count, to=to,
                            direction=direction, **result, meters=meters)
            results.append(result)
        return results

    # --------------------------------------------------------------- sessions
    def throughput(
        self,
        line: str | Line,
        *,
        zone: str | None = None,
        country: str | None = None,
        plmn: str | None = None,
    ) -> str:
        """``"full"``, ``"reduced"`` (unblocked plan past its envelope), ``"blocked"`` or ``"none"``."""
        ln = self.line(line)
        if not ln.active:
            return "none"
        return enforcement.zone_state(ln.policy, ZONE_INDEX[self._where(zone, country, plmn)])

    def session_open(
        self,
        line: str | Line,
        *,
        zone: str | None = None,
        country: str | None = None,
        plmn: str | None = None,
        apn: str | None = None,
        rat: str | None = None,
    ) -> dict[str, Any]:
        """PDP/PDN activation: allowed or rejected with a reason; the throughput class if allowed."""
        return self.open_sessions(line, 1, zone=zone, country=country, plmn=plmn, apn=apn, rat=rat)[1]

    def open_sessions(
        self,
        line: str | Line,
        count: int,
        *,
        zone: str | None = None,
        country: str | None = None,
        plmn: str | None = None,
        apn: str | None = None,
        rat: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """``count`` activations in a row, each as :meth:`session_open`: how many were accepted,
        and the answer to the last one (``{}`` when ``count`` is 0)."""
        ln = self.line(line)
        z = self._where(zone, country, plmn)
        state = enforcement.zone_state(ln.policy, ZONE_INDEX[z]) if ln.active else "none"
        # what opening a session changes in none of these: the line, its meters, the APN
        reason = ln.out_of_service
        if reason is None and state == "none":
            reason = "no data for this plan in this zone" if ln.offer.has_data else "plan without data"
        elif reason is None and state == "blocked":
            reason = "data blocked: limit reached"
        elif reason is None and ln.offer.apn and apn is not None and apn != ln.offer.apn_for(ln.activated):
            reason = f"APN {apn} is not {ln.offer.apn_for(ln.activated)} for {ln.offer.label}"
        cap = ln.rules.session_cap
        lifted = cap is not None and cap.get("unless") == "fixed_ip" and ln.fixed_ip
        capped = cap and ln.offer.range in cap["ranges"] and not lifted
        limit = cap["limit"] if capped else None
        radio = "5G" if ln.offer.fiveg else ("4G" if ln.offer.radio != "3G" else "3G")
        if rat == "5G" and not ln.offer.fiveg:
            radio = "4G"
        # neither event carries a meters snapshot: recorded directly. Sessions only add up here,
        # so the first ``opened`` activations succeed and every later one meets the same refusal.
        record, line_id, sessions, now = self.log.record, ln.id, ln.sessions, self.clock.now
        if reason is not None:
            opened = 0
        else:
            opened = max(0, min(count, count if limit is None else limit - len(sessions)))
        first = self._next_session
        self._next_session = first + opened
        for sid in range(first, first + opened):
            sessions[sid] = ChargedSession(sid, z, apn, now)
            record("session_opened", line=line_id, session=sid, zone=z, throughput=state, radio=radio)
        last: dict[str, Any] = {}
        if opened < count:
            why = reason if reason is not None else f"{limit} simultaneous sessions reached (no fixed IP)"
            for _ in range(count - opened):
                record("session_rejected", line=line_id, zone=z, reason=why)
            last = {"accepted": False, "reason": why}
        elif opened:
            last = {
                "accepted": True,
                "session": first + opened - 1,
                "throughput": state,
                "radio": radio,
                "reboot_required": ln.reboot_required,
            }
        return opened, last

    def close_sessions(self, line: str | Line, sessions: Sequence[int]) -> None:
        """:meth:`session_close` of each session in order."""
        ln = self.line(line)
        for session in sessions:
            if ln.sessions.pop(session, None) is None:
                raise PlanError(f"line {ln.id} has no session {session}")
            self.log.record("session_closed", line=ln.id, session=session)  # no meters snapshot

    def session_close(self, line: str | Line, session: int) -> None:
        """The end of a data session (PDP context deactivation / PDN disconnection)."""
        self.close_sessions(line, (session,))

    def _cut_sessions(self, ln: Line, reason: str, all_zones: bool = False) -> None:
        for sid, s in list(ln.sessions.items()):
            if all_zones or enforcement.zone_state(ln.policy, ZONE_INDEX[s.zone]) in ("blocked", "none"):
                del ln.sessions[sid]
                self._event("session_cut", ln, session=sid, zone=s.zone, reason=reason)

    # ---------------------------------------------------------- operator side
    def set_cutoff(self, line: str | Line, zone: str, value: int | str | float) -> None:
        """Change a zone's cut-off (volume, or EUR on Bouygues Telecom); raising it unblocks at once."""
        ln = self.line(line)
        spec = {"id": ln.id, "offer": ln.offer.id, "cutoffs": {**ln.cutoffs, zone: value}}
        if ln.rules.cutoff_unit == "eur" and zone in ROAMING_ZONES:
            spec["cutoffs"] = {**{z: v for z, v in ln.cutoffs.items() if z == "europe"}, "world": value}
            zone = "world"
        try:
            sub = self.catalogue.subscription(spec)
        except Exception as exc:
            self._event("cutoff_rejected", ln, zone=zone, value=value, reason=str(exc))
            raise PlanError(str(exc).split(": ", 1)[-1]) from None
        ln.cutoffs = dict(sub.cutoffs)
        ln.options.pop(zone, None)
        self._event("cutoff_changed", ln, zone=zone, value=str(value))
        self._rebuild(ln)

    def set_option(self, line: str | Line, zone: str, volume: int | str, voice_sms: bool = False) -> None:
        """Order / change a roaming option: both are billed this month, the envelopes do not add up."""
        ln = self.line(line)
        vol = parse_volume(volume)
        cut = {z: v for z, v in ln.cutoffs.items() if z != zone}
        spec = {
            "id": ln.id,
            "offer": ln.offer.id,
            "cutoffs": cut,
            "options": {
                **{z: {"volume": v, "voice_sms": w} for z, (v, w) in ln.options.items()},
                zone: {"volume": vol, "voice_sms": voice_sms},
            },
        }
        try:
            self.catalogue.subscription(spec)
        except Exception as exc:
            self._event("option_rejected", ln, zone=zone, volume=format_volume(vol), reason=str(exc))
            raise PlanError(str(exc).split(": ", 1)[-1]) from None
        ln.cutoffs = cut
        previous = ln.options.get(zone)
        ln.options[zone] = (vol, voice_sms)
        ln.items.append(_option_item(ln.rules, zone, vol, voice_sms))
        self._event(
            "option_changed",
            ln,
            zone=zone,
            volume=format_volume(vol),
            previous=None if previous is None else format_volume(previous[0]),
        )
        self._rebuild(ln)

    def order_recharge(self, line: str | Line, volume: int | str, *, zone: str = "france") -> dict[str, Any]:
        """Order a data recharge: visible after the provider's delay; warns on a double order."""
        ln = self.line(line)
        vol = parse_volume(volume)
        reason = None
        if zone in ln.offer.no_recharge_zones:
            reason = f"no data recharge in the {zone} zone: an upgrade is needed"
        elif not ln.offer.recharges:
            reason = f"{ln.offer.label} has no data recharge"
        elif vol not in ln.offer.recharges:
            reason = (
                f"no {format_volume(vol)} recharge for {ln.offer.label} (recharges: "
                + ", ".join(format_volume(v) for v in ln.offer.recharges)
                + ")"
            )
        elif (
            ln.offer.blocked is False
            and ln.rules.recharge_unblocked == "same_volume"
            and vol != ln.offer.volume
        ):
            reason = (
                f"on {ln.rules.label} an unblocked plan takes only a recharge of its own volume "
                f"({format_volume(ln.offer.volume or 0)})"
            )
        if reason:
            self._event("recharge_rejected", ln, volume=format_volume(vol), reason=reason)
            return {"accepted": False, "reason": reason}
        now = self.clock.now
        warning = None
        if ln.pending_recharges:
            warning = (
                "a recharge ordered less than "
                f"{int(ln.provider.recharge_delay.total_seconds() // 60)} min ago is not visible yet: "
                "this order will be billed as well"
            )
            self._event("recharge_warning", ln, volume=format_volume(vol), message=warning)
        due = now + ln.provider.recharge_delay
        ln.pending_recharges.append((due, vol))
        ln.items.append(BillItem(f"recharge data {format_volume(vol)}", None, billing.UNPUBLISHED))
        self._event("recharge_ordered", ln, volume=format_volume(vol), visible_at=due.isoformat())
        if due <= now:
            self._fire_due(now)
        return {"accepted": True, "visible_at": due, "warning": warning}

    def change_plan(
        self,
        line: str | Line,
        offer: str | None = None,
        *,
        mno: str | None = None,
        at: str | datetime | None = None,
    ) -> dict[str, Any]:
        """Request a change of offer (and/or MNO) under the provider's own rule."""
        if at is not None:
            self.at(at)
        ln = self.line(line)
        now = self.clock.now
        new = None
        if offer is not None:
            try:
                new = self.catalogue.offer(offer)
            except KeyError as exc:
                return self._change_rejected(ln, offer, str(exc.args[0]))
        env = ln.policy.meters[enforcement.ENVELOPE]
        month = month_key(now)
        d = decide(
            self.catalogue,
            ln.offer,
            new,
            now=now,
            used=env.used,
            limit=env.limit,
            requests_this_month=ln.change_requests.get(month, 0),
            mno=mno,
        )
        if not d.accepted:
            return self._change_rejected(ln, offer or mno or "", d.reason)
        ln.change_requests[month] = ln.change_requests.get(month, 0) + 1
        assert d.offer is not None and d.effective is not None
        ln.items.extend(d.bill)
        if d.effective > now:
            ln.pending_change = (d.effective, d.offer)
            self._event(
                "change_requested", ln, old=ln.offer.id, new=d.offer.id, effective=d.effective.isoformat()
            )
            return {"accepted": True, "effective": d.effective, "offer": d.offer.id}
        old = ln.offer
        self._set_offer(ln, d.offer)
        if d.reset_usage:
            env.used, env.fired, env.exhausted, env.throttled = 0, 0, False, False
            ln.recharged = 0
        if d.envelope is not None:
            ln.carry_envelope = d.envelope
        ln.allowance = d.allowance
        self._rebuild(ln)
        self._event(
            "change_applied",
            ln,
            old=old.id,
            new=d.offer.id,
            effective=now.isoformat(),
            envelope=format_volume(ln.envelope_limit or 0) if ln.envelope_limit is not None else None,
        )
        if d.reboot_required:
            ln.reboot_required = True
            self._event("reboot_required", ln, reason="the SIM takes the change after the equipment reboots")
        return {
            "accepted": True,
            "effective": now,
            "offer": d.offer.id,
            "reboot_required": d.reboot_required,
            "billed": [(i.label, i.amount) for i in d.bill],
        }

    def _change_rejected(self, ln: Line, target: str, reason: str) -> dict[str, Any]:
        self._event("change_rejected", ln, offer=target, reason=reason)
        return {"accepted": False, "reason": reason}

    def suspend(self, line: str | Line, suspended: bool = True) -> None:
        """AlphaLink mobile reference, 'Suspension de la ligne' ("Services interrompus jusqu'à la
        réactivation de la ligne. Montant du forfait facturé."): usages and sessions refused, running
        sessions cut, the month's items kept; ``suspended=False`` reactivates."""
        ln = self.line(line)
        ln.suspended = suspended
        if suspended:
            self._cut_sessions(ln, SUSPENDED, all_zones=True)
        self._event("service_suspended" if suspended else "service_resumed", ln)

    def reboot(self, line: str | Line) -> None:
        ln = self.line(line)
        ln.reboot_required = False
        self._cut_sessions(ln, "equipment reboot", all_zones=True)
        self._event("rebooted", ln)

    def cancel(self, line: str | Line) -> datetime:
        """Cancel the subscription; returns when the service ends (SIMALARM: the contract's expiry)."""
        ln = self.line(line)
        ends = cancellation_effective(self.catalogue, ln.offer, self.clock.now, ln.expires)
        ln.ends = ends
        self._event("cancellation", ln, active_until=ends.isoformat())
        if ends <= self.clock.now:
            self._fire_due(self.clock.now)
        return ends

    # ---------------------------------------------------------------- billing
    def _close_month(self, ln: Line, final: bool = False) -> Bill:
        bill = self._month_bill(ln)
        ln.bills.append(bill)
        self.log.record("bill", line=ln.id, **bill.event_fields())  # no meters snapshot: as _event
        return bill

    def _month_bill(self, ln: Line) -> Bill:
        """The bill of the line's current month as it stands (not recorded)."""
        bill = Bill(ln.id, ln.counters.month, list(ln.items))
        offer = ln.month_offer or ln.offer
        env_used = ln.counters.get("data")
        if offer.tiers:
            item = billing.tiered_data_item(offer, env_used)
            if item:
                bill.items.append(item)
        for zone, nbytes in sorted(ln.zone_bytes_metered.items()):
            rate = ln.rules.rates_per_mb.get(zone)
            if nbytes and rate is not None:
                bill.items.append(billing.metered_data_item(zone, nbytes, rate, bool(ln.rules.rates_per_mb)))
        for mi in (enforcement.EUROPE, enforcement.WORLD):
            m = ln.policy.meters[mi]
            if self._is_euro_meter(ln, mi) and m.used:
                bill.items.append(billing.euro_meter_item(METERS[mi], m.used))
        if ln.allowance is not None and env_used > ln.allowance:
            bill.items.append(
                BillItem(
                    f"dépassement data {format_volume(env_used - ln.allowance)} "
                    "(forfait proratisé, seuil non proratisé)",
                    None,
                    billing.UNPUBLISHED,
                )
            )
        for kind in ("voice", "sms"):
            q = ln.counters.metered(kind)
            if q:
                unit = "s" if kind == "voice" else " SMS"
                bill.items.append(BillItem(f"{kind} au compteur {q}{unit}", None, billing.UNPUBLISHED))
        return bill

    def current_bill(self, line: str | Line) -> Bill:
        """The bill of the month in progress, as it stands now (not recorded)."""
        return self._month_bill(self.line(line))

    # ------------------------------------------------------------ observables
    def status(self, line: str | Line) -> dict[str, Any]:
        """Every observable of the line (:data:`STATUS_KEYS`)."""
        ln = self.line(line)
        return {key: observe(self, ln) for key, observe in _STATUS.items()}

    def status_of(self, line: str | Line, keys: Sequence[str]) -> dict[str, Any]:
        """The observables ``keys`` of :meth:`status` alone (unknown keys are left out)."""
        ln = self.line(line)
        return {key: _STATUS[key](self, ln) for key in keys if key in _STATUS}

    def _meters_status(self, ln: Line) -> dict[str, dict[str, Any]]:
        meters = {}
        for mi, m in enumerate(ln.policy.meters):
            if m.limit:
                meters[METERS[mi]] = {
                    "used": m.used,
                    "limit": m.limit,
                    "exhausted": m.exhausted,
                    "throttled": m.throttled,
                    "unit": "nEUR" if self._is_euro_meter(ln, mi) else "bytes",
                }
        return meters

    def _event(self, event: str, ln: Line, **data: Any) -> None:
        if event in SNAPSHOT_EVENTS:
            data["meters"] = self._snapshot(ln)
        self.log.record(event, line=ln.id, **data)

    def _snapshot(self, ln: Line) -> dict[str, tuple[int, int, str]]:
        """Every finite meter as ``(used, limit, unit)``: what the report draws against time."""
        return {
            METERS[mi]: (m.used, m.limit, "nEUR" if self._is_euro_meter(ln, mi) else "bytes")
            for mi, m in enumerate(ln.policy.meters)
            if 0 < m.limit < enforcement.UNLIMITED
        }


#: what :meth:`PolicyEngine.status` reports, key by key (for :meth:`PolicyEngine.status_of`)
_STATUS: dict[str, Any] = {
    "line": lambda e, ln: ln.id,
    "offer": lambda e, ln: ln.offer.id,
    "active": lambda e, ln: ln.active,
    "month": lambda e, ln: ln.counters.month,
    "envelope": lambda e, ln: ln.envelope_limit,
    "counters": lambda e, ln: ln.counters.as_dict(),
    "meters": PolicyEngine._meters_status,
    "throughput": lambda e, ln: {z: enforcement.zone_state(ln.policy, ZONE_INDEX[z]) for z in ZONES},
    "cutoffs": lambda e, ln: {z: str(v) for z, v in ln.cutoffs.items()},
    "options": lambda e, ln: {z: format_volume(v) for z, (v, _) in ln.options.items()},
    "pending_change": lambda e, ln: None if ln.pending_change is None else ln.pending_change[1].id,
    "pending_recharges": lambda e, ln: [format_volume(v) for _, v in ln.pending_recharges],
    "sessions": lambda e, ln: len(ln.sessions),
    "sms_suspended_until": lambda e, ln: ln.sms_suspended_until,
    "reboot_required": lambda e, ln: ln.reboot_required,
    "active_until": lambda e, ln: ln.ends,
}
#: the keys of :meth:`PolicyEngine.status`, in order
STATUS_KEYS: tuple[str, ...] = tuple(_STATUS)

__all__ = ["ChargedSession", "Line", "PlanError", "PolicyEngine", "next_month_start"]
