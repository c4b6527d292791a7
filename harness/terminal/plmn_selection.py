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
from typing import NamedTuple

from csim.memo import remember

#: access technologies in the order a terminal prefers them inside one list entry
RAT_PREFERENCE = ("5G", "4G", "3G", "2G")
ALL_RATS = frozenset(RAT_PREFERENCE)

#: "high quality signal" thresholds, TS 23.122 §4.4.3.1.1 iv (GSM: above -85 dBm; UTRAN FDD: CPICH
#: RSCP >= -95 dBm; E-UTRAN: RSRP >= -110 dBm; NG-RAN: SS-RSRP >= -110 dBm)
HIGH_QUALITY_DBM = {"2G": -85.0, "3G": -95.0, "4G": -110.0, "5G": -110.0}

#: minimum level at which a cell is usable at all (cell selection criterion S > 0, TS 36.304 §5.2.3.2,
#: with typical q-RxLevMin values)
MIN_LEVEL_DBM = {"2G": -110.0, "3G": -115.0, "4G": -124.0, "5G": -124.0}


class Candidate(NamedTuple):
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


class SimLists(NamedTuple):
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
    :class:`random.Random` for reproducible runs (a fresh ``Random(0)`` when None). Without
    ``include_forbidden`` the PLMNs of the forbidden list are left out (automatic mode); with it
    they are kept and marked (the list shown for a manual search).
    """
    listed, plmns, groups, low = _ranked(tuple(candidates), sim, rplmn, include_forbidden)
    # item iv: the PLMNs in random order, inside one PLMN the preferred technology first
    drawn = plmns
    if len(plmns) > 1:
        drawn = list(plmns)
        (rng if rng is not None else random.Random(0)).shuffle(drawn)  # noqa: S311 - reproducible runs
    out = list(listed)
    for plmn in drawn:
        out.extend(groups[plmn])
    out.extend(low)  # item v
    return out


#: (candidates, SIM lists, RPLMN, mode) -> the ranked parts of :func:`_ranked`
_RANKED: dict[tuple[object, ...], tuple[object, ...]] = {}


def _ranked(candidates: tuple[Candidate, ...], sim: SimLists, rplmn: str | None,
            include_forbidden: bool) -> tuple[object, ...]:
    """What the order holds before the draw, each PLMN/access technology once: items 0-iii in
    order, the PLMNs of the high-quality others sorted (item iv), their combinations by PLMN
    with the preferred technology first, and the other others by decreasing signal (item v)."""
    key = (candidates, sim, rplmn, include_forbidden)
    try:
        hit = _RANKED.get(key)
    except TypeError:  # lists inside a candidate or the SIM lists: not hashable
        key, hit = None, None
    # kept (callgrind, bench/scenario_replay.py): ranked each time: selections 178 M Ir instead of 116 M
    if hit is not None:
        return hit
    pool = [c for c in candidates if include_forbidden or not c.forbidden]
    by_key = {(c.plmn, c.rat): c for c in pool}
    seen: set[tuple[str, str]] = set()
    listed: list[Candidate] = []
    if rplmn:  # item 0
        _take(listed, seen, _entry(rplmn, ALL_RATS, by_key))
    home_act = dict(sim.hplmn_act)
    for home in sim.home_plmns:  # item i
        _take(listed, seen, _entry(home, home_act.get(home) or ALL_RATS, by_key))
    for plmn, rats in sim.user:  # item ii
        _take(listed, seen, _entry(plmn, rats or ALL_RATS, by_key))
    for plmn, rats in sim.operator:  # item iii
        _take(listed, seen, _entry(plmn, rats or ALL_RATS, by_key))
    others = [c for c in pool if (c.plmn, c.rat) not in seen]
    high: list[Candidate] = []
    _take(high, seen, [c for c in others if c.high_quality])
    groups: dict[str, list[Candidate]] = {}
    for c in sorted(high, key=lambda c: RAT_PREFERENCE.index(c.rat)):
        groups.setdefault(c.plmn, []).append(c)
    low: list[Candidate] = []
    weak = sorted((c for c in others if not c.high_quality), key=lambda c: (-c.signal, c.plmn, c.rat))
    _take(low, seen, weak)
    ranked = (tuple(listed), tuple(sorted(groups)), {p: tuple(g) for p, g in groups.items()}, tuple(low))
    return ranked if key is None else remember(_RANKED, key, ranked, 1024)


def _take(out: list[Candidate], seen: set[tuple[str, str]], items: Iterable[Candidate]) -> None:
    """Append to ``out`` the candidates whose (PLMN, access technology) is not yet in ``seen``."""
    for c in items:
        k = (c.plmn, c.rat)
        if k not in seen:
            seen.add(k)
            out.append(c)


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
    order = priority_order(candidates, sim, rplmn=rplmn, rng=rng)
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
    order = priority_order(candidates, sim, rng=rng, include_forbidden=True)
    return list(dict.fromkeys(c.plmn for c in order))  # each PLMN once, at its first place


def is_home(plmn: str | None, sim: SimLists) -> bool:
    """Registered on the HPLMN or an EHPLMN (TS 23.122 §1.2: not roaming)."""
    return plmn is not None and (plmn == sim.hplmn or plmn in sim.ehplmn)


def higher_priority_than(current: str, candidates: Sequence[Candidate], sim: SimLists) -> list[Candidate]:
    """Periodic search in a VPLMN (TS 23.122 §4.4.3.3): available combinations ranked above ``current``.

    Only the home PLMNs and the PLMNwAcT/OPLMNwAcT entries count (items i-iii); a VPLMN is never
    left for an "other" PLMN by this search. The ranking is that of the draw of ``Random(0)``.
    """
    key = (current, tuple(candidates), sim)
    try:
        hit = _HIGHER.get(key)
    except TypeError:  # lists inside a candidate or the SIM lists: not hashable
        key, hit = None, None
    # kept (callgrind, bench/scenario_replay.py): searched each time: wait steps 95 M Ir instead of 10.5 M
    if hit is not None:
        return list(hit)
    listed = frozenset(sim.home_plmns) | {p for p, _ in sim.user} | {p for p, _ in sim.operator}
    better = []
    for c in priority_order(candidates, sim):
        if c.plmn == current:
            break
        if c.plmn in listed:
            better.append(c)
    if key is not None:
        remember(_HIGHER, key, tuple(better), 1024)
    return better


#: (serving PLMN, candidates, SIM lists) -> the answer of :func:`higher_priority_than`
_HIGHER: dict[tuple[object, ...], tuple[Candidate, ...]] = {}


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
