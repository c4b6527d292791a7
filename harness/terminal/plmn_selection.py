"""PLMN selection, 3GPP TS 23.122 §4.4.3 — pure functions, no I/O.

Automatic mode (§4.4.3.1.1) builds an ordered list of PLMN/access technology combinations:

0. the registered PLMN (RPLMN) first at switch-on or after recovery from lack of coverage (§4.4.3.1),
i. the HPLMN — or, if the EHPLMN list is present and not empty, the EHPLMNs in list order —
   with the access technologies of EF_HPLMNwAcT,
ii. each entry of EF_PLMNwAcT (user controlled) in priority order,
iii. each entry of EF_OPLMNwAcT (operator controlled) in priority order,
iv. other PLMN/AcT combinations with a high quality signal, in random order,
v. other PLMN/AcT combinations in order of decreasing signal quality.

Forbidden PLMNs (EF_FPLMN) and "forbidden location areas for roaming" are skipped. Manual mode
(§4.4.3.1.2) offers every available PLMN, forbidden ones included and marked, in the same order;
the terminal then tries only the network the user chose.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from harness.terminal.selection_core import ORDERS_PER_PLAN as _ORDERS_PER_PLAN
from harness.terminal.selection_core import plan_order, same_objects, shuffled

#: access technologies in the order a terminal prefers them inside one list entry
RAT_PREFERENCE = ("5G", "4G", "3G", "2G")
ALL_RATS = frozenset(RAT_PREFERENCE)

#: "high quality signal" thresholds, TS 23.122 §4.4.3.1.1 iv (GSM: above -85 dBm; UTRAN FDD: CPICH
#: RSCP >= -95 dBm; E-UTRAN: RSRP >= -110 dBm; NG-RAN: SS-RSRP >= -110 dBm)
HIGH_QUALITY_DBM = {"2G": -85.0, "3G": -95.0, "4G": -110.0, "5G": -110.0}

#: minimum level at which a cell is usable at all (cell selection criterion S > 0, TS 36.304 §5.2.3.2,
#: with typical q-RxLevMin values)
MIN_LEVEL_DBM = {"2G": -110.0, "3G": -115.0, "4G": -124.0, "5G": -124.0}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One PLMN/access technology combination heard by the terminal (its best cell)."""

    plmn: str
    rat: str
    signal: float
    area: int = 0
    cell_id: int = 0
    forbidden: bool = False

    @property
    def high_quality(self) -> bool:
        return is_high_quality(self.rat, self.signal)


@dataclass(frozen=True, slots=True)
class SimLists:
    """What the USIM says about PLMN preferences (TS 31.102 §4.2.5, 4.2.16, 4.2.52, 4.2.53, 4.2.84).

    ``user``/``operator``/``hplmn_act`` entries are (PLMN, access technologies) in priority order.
    """

    hplmn: str
    ehplmn: tuple[str, ...] = ()
    hplmn_act: tuple[tuple[str, frozenset[str]], ...] = ()
    user: tuple[tuple[str, frozenset[str]], ...] = ()
    operator: tuple[tuple[str, frozenset[str]], ...] = ()
    forbidden: tuple[str, ...] = ()

    @property
    def home_plmns(self) -> tuple[str, ...]:
        """The PLMNs that count as home: the EHPLMN list if present and not empty, else the HPLMN."""
        return self.ehplmn if self.ehplmn else (self.hplmn,)


def is_high_quality(rat: str, signal: float) -> bool:
    """TS 23.122 §4.4.3.1.1 iv: the signal is high quality for this access technology."""
    return signal >= HIGH_QUALITY_DBM[rat]


def is_usable(rat: str, signal: float) -> bool:
    """The cell can be camped on at all."""
    return signal >= MIN_LEVEL_DBM[rat]


def available(
    cells: Iterable[tuple[str, str, float, int, int]],
    *,
    supported_rats: Collection[str] = ALL_RATS,
    forbidden: Collection[str] = (),
    forbidden_areas: Collection[tuple[str, int]] = (),
) -> list[Candidate]:
    """Best usable cell per PLMN/AcT from ``(plmn, rat, signal, area, cell_id)`` tuples.

    Cells of a forbidden LA/TA for roaming (TS 24.008 §4.4.4.7 cause #13) are not candidates;
    PLMNs of ``forbidden`` (EF_FPLMN) stay, marked ``forbidden``, for the manual list.
    """
    best: dict[tuple[str, str], Candidate] = {}
    fplmn = set(forbidden)
    fareas = set(forbidden_areas)
    for plmn, rat, signal, area, cell_id in cells:
        if rat not in supported_rats or not is_usable(rat, signal) or (plmn, area) in fareas:
            continue
        key = (plmn, rat)
        cur = best.get(key)
        if cur is None or signal > cur.signal:
            best[key] = Candidate(plmn, rat, signal, area, cell_id, plmn in fplmn)
    return list(best.values())


def _entry(plmn: str, rats: Collection[str], by_key: dict[tuple[str, str], Candidate]) -> list[Candidate]:
    """The available combinations of one list entry, best access technology first."""
    return [by_key[(plmn, r)] for r in RAT_PREFERENCE if r in rats and (plmn, r) in by_key]


def priority_order(
    candidates: Sequence[Candidate],
    sim: SimLists,
    *,
    rplmn: str | None = None,
    rng: random.Random | None = None,
    include_forbidden: bool = False,
) -> list[Candidate]:
    """The TS 23.122 §4.4.3.1.1 order of the candidates (see module docstring).

    ``rng`` shuffles the high-quality "other" PLMNs (item iv); pass a seeded
    :class:`random.Random` for reproducible runs. Without ``include_forbidden`` the PLMNs of
    the forbidden list are left out (automatic mode); with it they are kept and marked
    (the list shown for a manual search).
    """
    return list(_plan_of(candidates, sim, rplmn, include_forbidden).order(rng))


def _take(out: list[Candidate], seen: set[tuple[str, str]], items: Iterable[Candidate]) -> None:
    """Append to ``out`` the candidates whose (PLMN, access technology) is not yet in ``seen``."""
    for c in items:
        k = (c.plmn, c.rat)
        if k not in seen:
            seen.add(k)
            out.append(c)


class _Plan:
    """The deterministic part of :func:`priority_order` for one (candidates, SIM lists, RPLMN,
    mode): items 0-iii in order, the high-quality others (item iv) with their sorted PLMNs, the
    other others by decreasing signal (item v), and the orders already built per random draw."""

    __slots__ = ("listed", "high", "plmns", "low", "sim_plmns", "_orders", "_higher")

    def __init__(self, candidates: Sequence[Candidate], sim: SimLists, rplmn: str | None,
                 include_forbidden: bool) -> None:
        pool = [c for c in candidates if include_forbidden or not c.forbidden]
        by_key = {(c.plmn, c.rat): c for c in pool}
        seen: set[tuple[str, str]] = set()
        out: list[Candidate] = []
        if rplmn:
            _take(out, seen, _entry(rplmn, ALL_RATS, by_key))
        home_act = dict(sim.hplmn_act)
        for home in sim.home_plmns:
            _take(out, seen, _entry(home, home_act.get(home) or ALL_RATS, by_key))
        for plmn, rats in sim.user:
            _take(out, seen, _entry(plmn, rats or ALL_RATS, by_key))
        for plmn, rats in sim.operator:
            _take(out, seen, _entry(plmn, rats or ALL_RATS, by_key))
        rest = [c for c in pool if (c.plmn, c.rat) not in seen]
        self.listed = tuple(out)
        self.high = tuple(c for c in rest if c.high_quality)
        self.plmns = tuple(sorted({c.plmn for c in self.high}))
        low = (c for c in rest if not c.high_quality)
        self.low = tuple(sorted(low, key=lambda c: (-c.signal, c.plmn, c.rat)))
        #: the PLMNs the SIM lists (items i-iii), for the periodic search
        self.sim_plmns = frozenset(sim.home_plmns) | {p for p, _ in sim.user} | {p for p, _ in sim.operator}
        self._orders: dict[tuple[str, ...] | None, tuple[Candidate, ...]] = {}
        self._higher: dict[str, list[Candidate]] = {}

    def order(self, rng: random.Random | None) -> tuple[Candidate, ...]:
        """The full order, item iv shuffled with ``rng`` (a fresh ``Random(0)`` if None)."""
        if rng is None:
            hit = self._orders.get(None)
            if hit is None:
                hit = self._orders[None] = self._build(self._draw(random.Random(0)))  # noqa: S311
            return hit
        return plan_order(self, rng)

    def _draw(self, rng: random.Random) -> tuple[str, ...]:
        """The item iv PLMNs in random order (seeded on purpose: reproducible runs)."""
        return shuffled(self.plmns, rng)

    def _build(self, drawn: tuple[str, ...]) -> tuple[Candidate, ...]:
        """Items 0-iii, item iv in the drawn PLMN order (inside one PLMN the terminal's
        preferred technology first), item v."""
        out = list(self.listed)
        seen = {(c.plmn, c.rat) for c in out}
        rank = {p: i for i, p in enumerate(drawn)}
        _take(out, seen, sorted(self.high, key=lambda c: (rank[c.plmn], RAT_PREFERENCE.index(c.rat))))
        _take(out, seen, self.low)
        return tuple(out)

    def higher_than(self, current: str) -> list[Candidate]:
        """Home, PLMNwAcT and OPLMNwAcT combinations before ``current`` in the order drawn
        with ``Random(0)``."""
        hit = self._higher.get(current)
        if hit is None:
            hit = []
            for c in self.order(None):
                if c.plmn == current:
                    break
                if c.plmn in self.sim_plmns:
                    hit.append(c)
            if len(self._higher) < _ORDERS_PER_PLAN:
                self._higher[current] = hit
        return hit


#: plans by value (candidates, SIM lists, RPLMN, mode), and by the identity of the same candidates
#: and SIM lists (an entry holds the objects, so their ids are not reused while it is listed)
_plans: dict[tuple[object, ...], _Plan] = {}
_plans_by_id: dict[tuple[object, ...], tuple[SimLists, tuple[Candidate, ...], _Plan]] = {}
_PLANS_LIMIT = 2048


def _plan_of(candidates: Sequence[Candidate], sim: SimLists, rplmn: str | None,
             include_forbidden: bool) -> _Plan:
    """The plan of :func:`priority_order`, computed once per distinct inputs.

    The same candidate objects and SIM lists (a terminal keeps those of a place) are found by
    identity. Other ones are found by value. Inputs holding lists are not hashable: their plan
    is computed every time.
    """
    cands = candidates if type(candidates) is tuple else tuple(candidates)
    id_key = (id(sim), rplmn, include_forbidden, len(cands), id(cands[0]) if cands else 0)
    hit = _plans_by_id.get(id_key)
    if hit is not None and hit[0] is sim and same_objects(hit[1], cands):
        return hit[2]
    key = (cands, sim, rplmn, include_forbidden)
    try:
        plan = _plans.get(key)
    except TypeError:  # lists inside a candidate or the SIM lists
        return _Plan(cands, sim, rplmn, include_forbidden)
    if plan is None:
        plan = _Plan(cands, sim, rplmn, include_forbidden)
        if len(_plans) >= _PLANS_LIMIT:
            _plans.clear()
        _plans[key] = plan
    if len(_plans_by_id) >= _PLANS_LIMIT:
        _plans_by_id.clear()
    _plans_by_id[id_key] = (sim, cands, plan)
    return plan


def automatic(
    candidates: Sequence[Candidate],
    sim: SimLists,
    *,
    rplmn: str | None = None,
    rng: random.Random | None = None,
    exclude: Collection[str] = (),
) -> list[Candidate]:
    """Automatic mode: the combinations to try, in order (forbidden and ``exclude`` PLMNs left out).

    ``exclude`` holds PLMNs already tried and rejected during this selection round.
    """
    order = list(_plan_of(candidates, sim, rplmn, False).order(rng))  # priority_order, automatic mode
    if exclude:
        order = [c for c in order if c.plmn not in exclude]
    return order


def manual(candidates: Sequence[Candidate], chosen: str) -> list[Candidate]:
    """Manual mode, TS 23.122 §4.4.3.1.2: only the chosen PLMN (forbidden or not), best RAT first."""
    by_rat = {c.rat: c for c in candidates if c.plmn == chosen}
    return [by_rat[r] for r in RAT_PREFERENCE if r in by_rat]


def network_list(
    candidates: Sequence[Candidate], sim: SimLists, *, rng: random.Random | None = None
) -> list[str]:
    """The PLMNs shown for a manual network search: all available, forbidden included, in priority order."""
    order = _plan_of(candidates, sim, None, True).order(rng)
    return list(dict.fromkeys(c.plmn for c in order))  # each PLMN once, at its first place


def is_home(plmn: str | None, sim: SimLists) -> bool:
    """Registered on the HPLMN or an EHPLMN (TS 23.122 §1.2: not roaming)."""
    return plmn is not None and (plmn == sim.hplmn or plmn in sim.ehplmn)


def higher_priority_than(current: str, candidates: Sequence[Candidate], sim: SimLists) -> list[Candidate]:
    """Periodic search in a VPLMN (TS 23.122 §4.4.3.3): available combinations ranked above ``current``.

    Only the home PLMNs and the PLMNwAcT/OPLMNwAcT entries count (items i-iii); a VPLMN is never
    left for an "other" PLMN by this search.
    """
    return list(_plan_of(candidates, sim, None, False).higher_than(current))


def add_forbidden(fplmn: Sequence[str], plmn: str, size: int) -> list[str]:
    """EF_FPLMN update on reject #11 (TS 31.102 §4.2.16, TS 24.008 §4.4.4.7).

    The PLMN goes to the first free position; when the list is full the oldest entry is lost
    and the new one takes the last position. A PLMN already listed is not added twice.
    Returns the new list of ``size`` entries (``None`` slots as ``""``).
    """
    entries = list(fplmn)[:size] + [""] * max(0, size - len(fplmn))
    if plmn in entries:
        return entries
    for i, e in enumerate(entries):
        if not e:
            entries[i] = plmn
            return entries
    return entries[1:] + [plmn]


def remove_forbidden(fplmn: Sequence[str], plmn: str) -> list[str]:
    """Remove a PLMN from the forbidden list (manual registration succeeded on it)."""
    return ["" if e == plmn else e for e in fplmn]
