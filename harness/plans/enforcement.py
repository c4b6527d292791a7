"""Data enforcement: envelopes, cut-offs, alerts, blocks and reduced throughput.

A line's data policy is a set of *meters* (the plan envelope, the Bouygues Telecom Europe
cut-off in euros, one meter per roaming zone) and, per zone, a *chain* of up to two links
``(meter, mode, weight)`` a data record draws from in order (seed 003, "L'alerte et le blocage"):

* ``BLOCK``: consumption stops when the meter is full (blocked plans at the envelope, every
  roaming cut-off and roaming option, Orange's Europe cut-off = the envelope);
* ``OVERFLOW``: what does not fit flows to the next link (Bouygues unblocked in Europe: beyond
  the envelope, usage is charged against the Europe cut-off);
* ``THROTTLE``: consumption goes on at reduced throughput with no overage (unblocked plans in
  France).

Volume meters count bytes (weight 1); euro meters count nano-euros (weight = the zone's price
per byte in nEUR, i.e. the EUR/MB rate x 1000). Alerts fire once per threshold when
``used * 100 >= pct * limit``. A BLOCK meter that cannot take one more byte is *exhausted*: it
is rounded up to its limit (so a 100 % alert fires) and a ``block`` event is raised.

:class:`harness.plans.engine.PolicyEngine` builds a line's policy here (:func:`build_policy`),
rates each data record through :func:`apply_data` and turns the codes it returns into events.
"""

from __future__ import annotations

from decimal import Decimal

from .catalogue import NetworkRules, Offer
from .zones import ZONES

BLOCK, OVERFLOW, THROTTLE = 0, 1, 2
MODE_NAMES = ("block", "overflow", "throttle")

METERS: tuple[str, ...] = ("envelope", "europe", "usa_canada", "maghreb_turkey", "world")
ENVELOPE, EUROPE, USA_CANADA, MAGHREB_TURKEY, WORLD = range(5)
UNLIMITED = 1 << 62
THRESHOLDS = (80, 100)  # the thresholds the seed's tables use; bit i of a mask = THRESHOLDS[i]

# the event codes of apply_data's (code, meter) pairs
EV_ALERT80, EV_ALERT100, EV_BLOCK, EV_THROTTLE = 0, 1, 2, 3
EVENT_NAMES = ("alert", "alert", "block", "throttle")


def nano_per_byte(rate_per_mb: Decimal) -> int:
    """EUR per MB -> nano-euros per byte (1 EUR/MB = 1000 nEUR/B)."""
    return int(rate_per_mb * 1000)


def alert_mask(percents: tuple[int, ...]) -> int:
    mask = 0
    for pct in percents:
        if pct not in THRESHOLDS:
            raise ValueError(f"alert threshold {pct}% is not one of {THRESHOLDS}")
        mask |= 1 << THRESHOLDS.index(pct)
    return mask


class Meter:
    """One meter's limit, usage and alert / block / throttling state."""

    __slots__ = ("limit", "used", "alerts", "fired", "exhausted", "throttled")

    def __init__(self, limit: int = 0, used: int = 0, alerts: int = 0, fired: int = 0,
                 exhausted: bool = False, throttled: bool = False) -> None:
        self.limit = limit
        self.used = used
        self.alerts = alerts  # mask of thresholds to announce
        self.fired = fired  # mask of thresholds announced this month
        self.exhausted = exhausted  # a BLOCK link found it full
        self.throttled = throttled  # a THROTTLE link went past its limit

    def _key(self) -> tuple[int, int, int, int, bool, bool]:
        return (self.limit, self.used, self.alerts, self.fired, self.exhausted, self.throttled)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, Meter) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return ("Meter(limit={!r}, used={!r}, alerts={!r}, fired={!r}, exhausted={!r}, throttled={!r})"
                .format(*self._key()))

    def room(self) -> int:
        return self.limit - self.used if self.used < self.limit else 0


class Policy:
    """A line's meters (indexed as :data:`METERS`) and each zone's chain of links."""

    __slots__ = ("meters", "chains")

    def __init__(self, meters: list[Meter] | None = None,
                 chains: list[list[tuple[int, int, int]]] | None = None) -> None:
        self.meters = [Meter() for _ in METERS] if meters is None else meters
        self.chains = [[] for _ in ZONES] if chains is None else chains

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        return self.meters == other.meters and self.chains == other.chains

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Policy(meters={self.meters!r}, chains={self.chains!r})"

    def unused_copy(self) -> Policy:
        """A policy with this one's limits, alert masks and chains and nothing used yet."""
        return Policy([Meter(m.limit, 0, m.alerts) for m in self.meters], [list(c) for c in self.chains])

    def copy_limits_from(self, other: Policy) -> None:
        for mine, theirs in zip(self.meters, other.meters, strict=True):
            mine.limit, mine.alerts = theirs.limit, theirs.alerts
        self.chains = [list(c) for c in other.chains]


def build_policy(
    offer: Offer,
    rules: NetworkRules,
    *,
    envelope: int | None,
    cutoffs: dict[str, object],
    options: dict[str, tuple[int, bool]],
    blocked: bool | None,
) -> Policy:
    """The meters and chains of a line in its current contract state (a fresh, unused Policy)."""
    p = Policy()
    if not offer.has_data:
        return p
    env = p.meters[ENVELOPE]
    home_blocks = offer.metered or bool(blocked)
    env.limit = UNLIMITED if envelope is None else envelope
    if offer.metered:
        env.alerts = alert_mask(rules.alerts_blocked) if envelope is not None else 0
    else:
        env.alerts = alert_mask(rules.alerts_blocked if blocked else rules.alerts_unblocked)
    home = (ENVELOPE, BLOCK if home_blocks else THROTTLE, 1)
    p.chains[ZONES.index("france")] = [home]
    if not offer.roaming:
        return p
    roam_mask = alert_mask(rules.roaming_alerts)
    eu = ZONES.index("europe")
    if offer.europe_as_home or rules.europe_mode == "envelope":
        p.chains[eu] = [home]
    elif rules.europe_mode == "envelope_cutoff":
        p.chains[eu] = [(ENVELOPE, BLOCK, 1)]
    else:  # euro cut-off in Europe (Bouygues Telecom); 0 EUR = no data in Europe
        amount = Decimal(str(cutoffs.get("europe", rules.default_europe_cutoff or 0)))
        if amount > 0:
            if home_blocks:
                p.chains[eu] = [(ENVELOPE, BLOCK, 1)]
            else:
                weight = nano_per_byte(rules.rates_per_mb["europe"])
                m = p.meters[EUROPE]
                m.limit, m.alerts = int(amount * 10**9), roam_mask
                p.chains[eu] = [(ENVELOPE, OVERFLOW, 1), (EUROPE, BLOCK, weight)]
    for zone in ("usa_canada", "maghreb_turkey", "world"):
        zi = ZONES.index(zone)
        if zone == "usa_canada" and offer.usa_canada is not None:
            m = p.meters[USA_CANADA]
            m.limit, m.alerts = offer.usa_canada[0], roam_mask
            p.chains[zi] = [(USA_CANADA, BLOCK, 1)] if m.limit else []
            continue
        if rules.cutoff_unit == "eur":
            amount = Decimal(str(cutoffs.get("world", cutoffs.get(zone, rules.default_cutoff))))
            if amount > 0:
                m = p.meters[WORLD]
                m.limit, m.alerts = int(amount * 10**9), roam_mask
                p.chains[zi] = [(WORLD, BLOCK, nano_per_byte(rules.rates_per_mb[zone]))]
            continue
        mi = METERS.index(zone)
        volume = options[zone][0] if zone in options else int(cutoffs.get(zone, rules.default_cutoff))  # type: ignore[call-overload]
        if volume > 0:
            m = p.meters[mi]
            m.limit, m.alerts = volume, roam_mask
            p.chains[zi] = [(mi, BLOCK, 1)]
    return p


def _alerts(m: Meter, mi: int, out: list[tuple[int, int]]) -> None:
    if m.limit <= 0 or m.fired == m.alerts:  # nothing left to announce
        return
    for bit, pct in enumerate(THRESHOLDS):
        flag = 1 << bit
        if m.alerts & flag and not m.fired & flag and m.used * 100 >= pct * m.limit:
            m.fired |= flag
            out.append((EV_ALERT80 + bit, mi))


def apply_data(policy: Policy, zone: int, amount: int, out: list[tuple[int, int]]) -> int:
    """Rate ``amount`` bytes in ``zone``; append ``(event code, meter)`` pairs; return bytes accepted."""
    chain = policy.chains[zone]
    remaining = amount
    accepted = 0
    for mi, mode, weight in chain:
        m = policy.meters[mi]
        if mode == THROTTLE:
            m.used += remaining * weight
            accepted += remaining
            remaining = 0
            _alerts(m, mi, out)
            if not m.throttled and m.used >= m.limit:
                m.throttled = True
                out.append((EV_THROTTLE, mi))
            break
        take = min(m.room() // weight, remaining)
        m.used += take * weight
        accepted += take
        remaining -= take
        if mode == BLOCK and (m.limit - m.used) < weight:
            m.used = max(m.used, m.limit)
            _alerts(m, mi, out)
            if not m.exhausted:
                m.exhausted = True
                out.append((EV_BLOCK, mi))
            break
        _alerts(m, mi, out)
        if remaining == 0:
            break
    return accepted


def zone_state(policy: Policy, zone: int) -> str:
    """``"none"`` (no data in the zone), ``"blocked"``, ``"reduced"`` or ``"full"``."""
    chain = policy.chains[zone]
    if not chain:
        return "none"
    for mi, mode, weight in chain:
        m = policy.meters[mi]
        if mode == THROTTLE:
            return "reduced" if m.used >= m.limit else "full"
        if m.limit - m.used >= weight:
            return "full"
        if mode == BLOCK:
            return "blocked"
    return "blocked"


def refresh(policy: Policy, out: list[tuple[int, int, str]]) -> None:
    """After a limit changed: re-arm alerts not reached, lift blocks/throttling that have room again."""
    for mi, m in enumerate(policy.meters):
        if m.fired:
            for bit, pct in enumerate(THRESHOLDS):
                if m.fired & (1 << bit) and (m.limit <= 0 or m.used * 100 < pct * m.limit):
                    m.fired &= ~(1 << bit)
        if m.exhausted and m.used < m.limit:
            m.exhausted = False
            out.append((mi, 0, "unblock"))
        if m.throttled and m.used < m.limit:
            m.throttled = False
            out.append((mi, 0, "throughput_restored"))
