"""The network world a modem moves through: countries, operators, cells, roaming agreements.

Everything is data in ``fixtures/networks/*.yaml`` (schema ``harness/schema/network.schema.json``),
loaded through :func:`csim.yamlsrc.load` so every mistake reads ``file:line: what is wrong``.

* A **country** has one or more MCCs (TS 23.003 §2.2, ITU E.212) and a roaming **zone** — a tariff
  grouping of the provider (France, Zone 1/1B = EU/EEA with the DROM, USA/Canada, Maghreb/Turkey,
  rest of the world), not a 3GPP notion.
* An **operator** is a PLMN (MCC + MNC), a name and the RATs it runs; its ``accepts`` list holds the
  roaming agreements: which home PLMNs or IMSI ranges it lets register, on which RATs and areas.
* A **location** is what a terminal hears at one place: cells (PLMN, RAT, signal in dBm, LAC/TAC).
  A location named by a country code is that country's default location.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csim import yamlsrc
from csim.encoding import imsi_plmn
from csim.memo import once, remember
from csim.yamlsrc import DataError
from harness.paths import FIXTURES, SCHEMAS, real

NETWORKS_DIR = FIXTURES / "networks"
SCHEMA_PATH = SCHEMAS / "network.schema.json"

RATS = ("2G", "3G", "4G", "5G")
#: entries kept in :attr:`World.memo` before it starts again from empty
MEMO_LIMIT = 4096
#: higher is preferred when an entry allows several access technologies
RAT_RANK = {"5G": 3, "4G": 2, "3G": 1, "2G": 0}

# 3GPP reject causes, TS 24.008 §10.5.3.6 / TS 24.301 §9.9.3.9 (EMM cause values)
CAUSE_IMSI_UNKNOWN_IN_HLR = 2
CAUSE_ILLEGAL_MS = 3
CAUSE_ILLEGAL_ME = 6
CAUSE_EPS_NOT_ALLOWED = 7
CAUSE_PLMN_NOT_ALLOWED = 11
CAUSE_LA_NOT_ALLOWED = 12
CAUSE_ROAMING_NOT_ALLOWED_IN_LA = 13
CAUSE_GPRS_NOT_ALLOWED_IN_PLMN = 14
CAUSE_NO_SUITABLE_CELLS_IN_LA = 15
CAUSE_NETWORK_FAILURE = 17
CAUSE_MAC_FAILURE = 20
CAUSE_SYNCH_FAILURE = 21

CAUSE_NAMES = {
    2: "IMSI unknown in HLR",
    3: "illegal MS",
    6: "illegal ME",
    7: "EPS services not allowed",
    11: "PLMN not allowed",
    12: "location area not allowed",
    13: "roaming not allowed in this location area",
    14: "GPRS services not allowed in this PLMN",
    15: "no suitable cells in location area",
    17: "network failure",
    20: "MAC failure",
    21: "synch failure",
}


def split_plmn(plmn: str) -> tuple[str, str]:
    """``"208-01"`` -> (``"208"``, ``"01"``)."""
    mcc, _, mnc = plmn.partition("-")
    return mcc, mnc


def plmn_of_imsi(imsi: str, mnc_length: int) -> str:
    """Home PLMN of an IMSI: MCC (3 digits) then MNC (2 or 3 digits), TS 23.003 §2.2."""
    return "-".join(imsi_plmn(imsi, mnc_length))


@dataclass(frozen=True, slots=True)
class Zone:
    key: str
    label: str
    domestic: bool = False


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    name: str
    mccs: tuple[str, ...]
    zone: str
    part_of: str | None = None  # a DROM is part of France, with its own MCC


@dataclass(frozen=True, slots=True)
class Agreement:
    """One roaming agreement entry of a visited PLMN (who it accepts, where, how)."""

    home: str | None = None
    imsi_prefixes: tuple[str, ...] = ()
    imsi_range: tuple[str, str] | None = None
    rats: frozenset[str] | None = None
    areas: frozenset[int] | None = None
    data: bool = True

    def covers(self, imsi: str, home_plmn: str | None) -> bool:
        """Does this entry concern the subscriber (home PLMN and/or IMSI ranges)?"""
        if self.home is not None and home_plmn != self.home:
            return False
        if self.imsi_prefixes and not imsi.startswith(self.imsi_prefixes):
            return False
        if self.imsi_range is not None:
            lo, hi = self.imsi_range
            key = imsi[: len(lo)]
            if not lo <= key <= hi:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Admission:
    """The visited network's decision for a registration attempt (before authentication)."""

    accepted: bool
    cause: int | None = None
    data: bool = False  # packet services allowed
    home: bool = False  # the subscriber is at home (HPLMN or an equivalent PLMN)


#: the decision for a subscriber at home: one immutable value, not a new one per attach
_AT_HOME = Admission(True, data=True, home=True)


@dataclass(frozen=True, slots=True)
class Operator:
    plmn: str
    name: str
    country: str | None
    rats: frozenset[str]
    equivalent: tuple[str, ...] = ()
    accepts: tuple[Agreement, ...] = ()
    reject_cause: int = CAUSE_PLMN_NOT_ALLOWED

    @property
    def mcc(self) -> str:
        return self.plmn[:3]

    def admit(self, imsi: str, home_plmn: str | None, rat: str, area: int) -> Admission:
        """Roaming agreement check for a subscriber on this PLMN (TS 23.122 §3.1, TS 24.301 §5.5.1.2.5).

        Own subscribers (and those of an equivalent PLMN) are always accepted. A visitor needs an
        agreement entry covering it: outside the entry's RATs the answer is #15 (no suitable cells),
        outside its areas #13 (roaming not allowed in this LA/TA); with no entry at all, the
        operator's ``reject_cause`` (#11 PLMN not allowed by default).
        """
        if home_plmn is not None and (home_plmn == self.plmn or home_plmn in self.equivalent):
            return _AT_HOME
        covering = [a for a in self.accepts if a.covers(imsi, home_plmn)]
        if not covering:
            return Admission(False, self.reject_cause)
        cause = CAUSE_NO_SUITABLE_CELLS_IN_LA
        for agreement in covering:
            if agreement.rats is not None and rat not in agreement.rats:
                continue
            if agreement.areas is not None and area not in agreement.areas:
                cause = CAUSE_ROAMING_NOT_ALLOWED_IN_LA
                continue
            return Admission(True, data=agreement.data)
        return Admission(False, cause)


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell heard at a location: PLMN, RAT, signal (dBm), LAC/TAC and cell identity."""

    plmn: str
    rat: str
    signal: float
    area: int
    cell_id: int


@dataclass(frozen=True, slots=True)
class Location:
    name: str
    country: str
    cells: tuple[Cell, ...]


@dataclass
class World:
    """A loaded network world (see module docstring). Immutable after loading."""

    name: str
    zones: dict[str, Zone]
    countries: dict[str, Country]
    operators: dict[str, Operator]
    locations: dict[str, Location]
    source: str = "<data>"
    description: str = ""
    subscribers: tuple[Path, ...] = ()
    _mcc_country: dict[str, str] = field(default_factory=dict, repr=False)
    #: values derived from the (immutable) world by its users, e.g. the candidate cells per place
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for code, country in self.countries.items():
            for mcc in country.mccs:
                self._mcc_country.setdefault(mcc, code)

    def remember(self, key: Any, value: Any) -> Any:
        """Store ``value`` in :attr:`memo` under ``key`` (bounded) and return it."""
        return remember(self.memo, key, value, MEMO_LIMIT)

    # --- loading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, name_or_path: str | Path) -> World:
        """Load ``fixtures/networks/<name>.yaml`` or a path; errors are :class:`DataError`."""
        return _load_cached(str(resolve(name_or_path)))

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], source: str = "<data>") -> World:
        """Build a world from an already parsed document (schema-validated here)."""
        yamlsrc.validate(doc, _schema(), source)
        return _build(doc, source)

    # --- queries --------------------------------------------------------------------------------
    def country(self, code: str) -> Country:
        try:
            return self.countries[code]
        except KeyError:
            raise KeyError(f"world {self.name!r} has no country {code!r}") from None

    def location(self, name: str) -> Location:
        try:
            return self.locations[name]
        except KeyError:
            raise KeyError(f"world {self.name!r} has no location {name!r}") from None

    def operator(self, plmn: str) -> Operator | None:
        return self.operators.get(plmn)

    def operator_name(self, plmn: str | None) -> str | None:
        op = self.operators.get(plmn) if plmn else None
        return op.name if op else plmn

    def country_of_mcc(self, mcc: str) -> Country | None:
        code = self._mcc_country.get(mcc)
        return self.countries[code] if code else None

    def country_of_plmn(self, plmn: str | None) -> Country | None:
        if not plmn:
            return None
        op = self.operators.get(plmn)
        if op is not None and op.country:
            return self.countries[op.country]
        return self.country_of_mcc(plmn[:3])

    def zone_of(self, country_code: str) -> Zone:
        return self.zones[self.countries[country_code].zone]

    def zone_of_plmn(self, plmn: str | None) -> Zone | None:
        c = self.country_of_plmn(plmn)
        return self.zones[c.zone] if c else None

    def home_plmn_of(self, imsi: str) -> str | None:
        """The subscriber's home PLMN as the network derives it from the IMSI.

        A 3-digit MNC is tried first, then a 2-digit one, against the operators of the world
        (TS 23.003 §2.2: the MNC length is known to the network per MCC/operator).
        """
        for n in (3, 2):
            plmn = plmn_of_imsi(imsi, n)
            if plmn in self.operators:
                return plmn
        return None

    def cells_at(self, location: str) -> tuple[Cell, ...]:
        return self.location(location).cells


def resolve(name_or_path: str | Path) -> Path:
    """A world name (``europe``) or a path to a YAML file."""
    s = str(name_or_path)
    if s.endswith((".yaml", ".yml")) or "/" in s:
        return Path(s)
    return NETWORKS_DIR / f"{s}.yaml"


#: loaded worlds by path: every scenario session asks for its world, which takes 72 ms to load
#: and validate against a 0.6 ms session set-up (bench/scenario_replay.py)
_worlds: dict[str, World] = {}


def _load_cached(path: str) -> World:
    return once(_worlds, path, _load, 32)


def _load(path: str) -> World:
    return _build(yamlsrc.load(path, _schema()), path)


def _schema() -> dict[str, Any]:
    return yamlsrc.load_schema(SCHEMA_PATH)


def _cells(entry: Mapping[str, Any]) -> Iterable[Cell]:
    base_id = int(entry.get("cell", entry["area"] * 16))
    for i, (rat, signal) in enumerate(sorted(entry["rats"].items(), key=lambda kv: RATS.index(kv[0]))):
        yield Cell(str(entry["plmn"]), rat, float(signal), int(entry["area"]), base_id + i)


def _build(doc: Mapping[str, Any], source: str) -> World:
    def err(node: Any, key: Any, msg: str) -> DataError:
        line = node.line_of(key) if hasattr(node, "line_of") else None
        return DataError(source, line, msg)

    zones = {
        k: Zone(k, str(v["label"]), bool(v.get("domestic", False))) for k, v in doc["zones"].items()
    }
    countries: dict[str, Country] = {}
    cdoc = doc["countries"]
    for code, c in cdoc.items():
        if c["zone"] not in zones:
            raise err(c, "zone", f"countries/{code}: unknown zone {c['zone']!r} (known: {', '.join(zones)})")
        part_of = c.get("part_of")
        if part_of is not None and part_of not in cdoc:
            raise err(c, "part_of", f"countries/{code}: part_of names unknown country {part_of!r}")
        countries[code] = Country(code, str(c["name"]), tuple(c["mcc"]), str(c["zone"]), part_of)

    operators: dict[str, Operator] = {}
    odoc = doc["operators"]
    for i, o in enumerate(odoc):
        plmn = str(o["plmn"])
        if plmn in operators:
            raise err(odoc, i, f"operators/{i}: PLMN {plmn} defined twice")
        country = o.get("country")
        if country is not None:
            if country not in countries:
                raise err(o, "country", f"operators/{i}: unknown country {country!r}")
            if plmn[:3] not in countries[country].mccs:
                raise err(o, "plmn", f"operators/{i}: MCC of {plmn} is not an MCC of {country} "
                                     f"({', '.join(countries[country].mccs)})")
        accepts = []
        for a in o.get("accepts", ()):
            rng = a.get("imsi_range")
            if rng is not None and (len(rng[0]) != len(rng[1]) or rng[0] > rng[1]):
                raise err(a, "imsi_range",
                          f"operators/{i}: imsi_range must be two bounds of equal length, low first")
            accepts.append(Agreement(
                home=a.get("home"),
                imsi_prefixes=tuple(a.get("imsi_prefixes", ())),
                imsi_range=(str(rng[0]), str(rng[1])) if rng else None,
                rats=frozenset(a["rats"]) if "rats" in a else None,
                areas=frozenset(int(x) for x in a["areas"]) if "areas" in a else None,
                data=bool(a.get("data", True)),
            ))
        operators[plmn] = Operator(
            plmn=plmn, name=str(o["name"]), country=country, rats=frozenset(o.get("rats", ())),
            equivalent=tuple(o.get("equivalent", ())), accepts=tuple(accepts),
            reject_cause=int(o.get("reject_cause", CAUSE_PLMN_NOT_ALLOWED)),
        )

    locations: dict[str, Location] = {}
    ldoc = doc["locations"]
    for name, loc in ldoc.items():
        country = loc.get("country", name)
        if country not in countries:
            where = "country" if "country" in loc else None
            raise err(loc if where else ldoc, where or name,
                      f"locations/{name}: unknown country {country!r} (name the location by a country "
                      "code or give country:)")
        cells: list[Cell] = []
        for j, c in enumerate(loc["cells"]):
            op = operators.get(c["plmn"])
            if op is None:
                raise err(c, "plmn", f"locations/{name}/cells/{j}: no operator {c['plmn']}")
            for rat in c["rats"]:
                if rat not in op.rats:
                    raise err(c, "rats",
                              f"locations/{name}/cells/{j}: {op.name} ({op.plmn}) does not run {rat}")
            cells.extend(_cells(c))
        locations[name] = Location(str(name), str(country), tuple(cells))

    base = Path(source).parent
    subscribers = tuple(real(base / s) for s in doc.get("subscribers", ()))
    return World(
        name=str(doc["name"]), zones=zones, countries=countries, operators=operators,
        locations=locations, source=source, description=str(doc.get("description", "")),
        subscribers=subscribers,
    )
