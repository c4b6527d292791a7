"""A provider's line rules (``fixtures/lines/PROVIDER.yaml``): opening windows, SIM types,
numbering, activation delays, contract actions, self-care e-mails, voicemail and forwarding codes.

Errors in the file read ``file:line: what is wrong``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from csim.memo import once
from csim.yamlsrc import DataError, LineDict, load
from harness.lines.electrical_profile import ElectricalProfile
from harness.lines.opening_hours import DAYS, Window
from harness.lines.options import OptionCatalogue
from harness.paths import FIXTURES
from harness.plans import parse_duration

LINES_DIR = FIXTURES / "lines"
ORDER_KINDS = ("simple", "portability", "esim", "sim_swap", "esim_swap")
SIM_TYPES = ("pin", "no_pin", "esim")


@dataclass(frozen=True, slots=True)
class Numbering:
    """How a range's numbers are made: digits, prefix, and who chooses (``operator`` or ``partner``)."""

    digits: int
    prefix: str
    chosen_by: str


@dataclass(frozen=True)
class Voicemail:
    short: str
    long: str
    secret_code_in_france: bool


@dataclass(frozen=True)
class NetworkLineRules:
    """One network's rules for lines."""

    network: str
    label: str
    windows: dict[str, Window]
    sim_types: tuple[str, ...]
    numbering: dict[str, Numbering | None]  # None: the reference does not say
    voicemail: Voicemail
    forwarding_codes: tuple[str, ...]


@dataclass(frozen=True)
class LineRules:
    """A provider's line rules, per network."""

    provider: str
    public_holidays: str
    without_portability: timedelta
    with_portability: timedelta
    contract: dict[str, bool]
    emails: dict[str, str]
    networks: dict[str, NetworkLineRules] = field(default_factory=dict)
    options: OptionCatalogue | None = None
    ims_voice_countries: frozenset[str] = frozenset()
    electrical_profiles: dict[str, ElectricalProfile] = field(default_factory=dict)

    def network(self, name: str) -> NetworkLineRules:
        try:
            return self.networks[name]
        except KeyError:
            raise KeyError(f"unknown network {name!r} (known: {', '.join(self.networks)})") from None


def _need(doc: LineDict, key: str) -> Any:
    if key not in doc:
        raise doc.error(None, f"missing '{key}'")
    return doc[key]


def _clock(text: str, doc: LineDict, key: str) -> time | None:
    h, _, m = text.partition(":")
    try:
        hh, mm = int(h), int(m)
    except ValueError:
        raise doc.error(key, f"not a time of day: {text!r} (expected HH:MM)") from None
    if hh == 24 and mm == 0:
        return None
    if not (0 <= hh < 24 and 0 <= mm < 60):
        raise doc.error(key, f"not a time of day: {text!r}")
    return time(hh, mm)


def _window(kind: str, spec: Any, parent: LineDict) -> Window:
    if spec == "none":
        return Window(kind, available=False, cite="the reference offers it on another network only")
    if not isinstance(spec, LineDict):
        raise parent.error(kind, f"window {kind!r}: expected a mapping or 'none'")
    days = tuple(_need(spec, "days"))
    bad = [d for d in days if d not in DAYS]
    if bad:
        raise spec.error("days", f"unknown day(s) {bad} (expected {', '.join(DAYS)})")
    holidays_rule = spec.get("public_holidays", "closed")
    if holidays_rule not in ("open", "closed", "unknown"):
        raise spec.error("public_holidays", "expected open, closed or unknown")
    if "working_days_ahead" in spec:
        return Window(
            kind, days, working_days_ahead=int(spec["working_days_ahead"]), public_holidays="closed"
        )
    hours = str(_need(spec, "hours"))
    start, sep, end = hours.partition("-")
    if not sep:
        raise spec.error("hours", f"expected HH:MM-HH:MM, got {hours!r}")
    opens = _clock(start, spec, "hours") or time(0)
    return Window(kind, days, opens, _clock(end, spec, "hours"), holidays_rule)


def _network(name: str, doc: LineDict) -> NetworkLineRules:
    windows_doc = _need(doc, "windows")
    missing = [k for k in ORDER_KINDS if k not in windows_doc]
    if missing:
        raise windows_doc.error(None, f"missing window(s) {missing}")
    windows = {k: _window(k, windows_doc[k], windows_doc) for k in ORDER_KINDS}
    sim_types = tuple(_need(doc, "sim_types"))
    for s in sim_types:
        if s not in SIM_TYPES:
            raise doc.error("sim_types", f"unknown SIM type {s!r} (expected {', '.join(SIM_TYPES)})")
    numbering: dict[str, Numbering | None] = {}
    for rng, spec in _need(doc, "numbering").items():
        if spec == "unknown":
            numbering[rng] = None
            continue
        if spec.get("chosen_by") not in ("operator", "partner"):
            raise spec.error("chosen_by", "expected operator or partner")
        numbering[rng] = Numbering(int(spec["digits"]), str(spec["prefix"]), spec["chosen_by"])
    vm = _need(doc, "voicemail")
    return NetworkLineRules(
        network=name,
        label=str(doc.get("label", name)),
        windows=windows,
        sim_types=sim_types,
        numbering=numbering,
        voicemail=Voicemail(str(vm["short"]), str(vm["long"]), bool(vm.get("secret_code_in_france", False))),
        forwarding_codes=tuple(str(c) for c in doc.get("forwarding_codes", ())),
    )


#: loaded rules by file: every scenario with lines builds a fleet, and parsing the fixture took
#: 5 ms of a 2.5 ms existing_line step on average (bench/scenario_replay.py)
_loaded: dict[Path, LineRules] = {}


def load_rules(provider: str = "alphalink", path: str | Path | None = None) -> LineRules:
    """The line rules of ``provider`` (``fixtures/lines/PROVIDER.yaml``), read once per file."""
    src = Path(path) if path else LINES_DIR / f"{provider}.yaml"
    if src not in _loaded and not src.exists():
        raise FileNotFoundError(f"no line rules for provider {provider!r} ({src})")
    return once(_loaded, src, _load_rules, 16)


def _load_rules(src: Path) -> LineRules:
    doc = load(src)
    act = _need(doc, "activation")
    try:
        rules = LineRules(
            provider=str(_need(doc, "provider")),
            public_holidays=str(doc.get("public_holidays", "FR")),
            without_portability=parse_duration(act["without_portability"]),
            with_portability=parse_duration(act["with_portability"]),
            contract={k: bool(v) for k, v in _need(doc, "contract").items()},
            emails={k: str(v) for k, v in _need(doc, "selfcare_emails").items()},
            networks={n: _network(n, spec) for n, spec in _need(doc, "networks").items()},
            options=OptionCatalogue.from_fixture(doc),
            ims_voice_countries=frozenset(str(c) for c in _need(doc, "ims_voice_countries")),
            electrical_profiles={
                n: ElectricalProfile.from_fixture(spec)
                for n, spec in _need(doc, "electrical_profile").items()
            },
        )
    except (KeyError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(str(src), None, str(exc)) from None
    return rules
