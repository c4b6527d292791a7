"""Options that bar or allow a line's calls and messages, per network (AlphaLink mobile reference,
'AUTRES OPTIONS', "LE ROAMING & L'INTERNATIONAL"), and the decision for one call or SMS.

A request the options forbid is refused with the reason and not billed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from csim.yamlsrc import LineDict

#: option name -> what it does (the names of the fixture)
OPTIONS = (
    "conference",
    "number_withheld",
    "sva_blocked",
    "international_enabled",
    "voice_international_blocked",
    "france_to_eea_blocked",
    "eea_to_international_blocked",
    "risky_destinations_unbarred",
)


@dataclass(frozen=True)
class OptionCatalogue:
    """Which options a network offers, the conference sizes, and the EEA's members."""

    offered: dict[str, frozenset[str]]
    conference: dict[str, tuple[int, int]]  # network -> (national, roaming) participants
    eea: frozenset[str]

    @classmethod
    def from_fixture(cls, doc: LineDict) -> OptionCatalogue:
        offered, conference = {}, {}
        for network, spec in doc["options"].items():
            unknown = [k for k in spec if k not in OPTIONS]
            if unknown:
                raise spec.error(unknown[0], f"unknown option {unknown[0]!r} (known: {', '.join(OPTIONS)})")
            offered[network] = frozenset(k for k, v in spec.items() if v)
            conf = spec.get("conference") or {}
            conference[network] = (int(conf.get("national", 0)), int(conf.get("roaming", 0)))
        eea = doc["eea"]
        bad = [c for c in eea if not isinstance(c, str)]
        if bad:
            raise doc.error("eea", f"country codes are strings, got {bad} (YAML reads a bare NO as false)")
        return cls(offered, conference, frozenset(eea))


@dataclass
class LineOptions:
    """The options on one line."""

    network: str
    active: set[str] = field(default_factory=set)


def add_option(catalogue: OptionCatalogue, line: LineOptions, option: str) -> str | None:
    """Add ``option`` to the line; the refusal reason when the network does not offer it."""
    if option not in OPTIONS:
        return f"unknown option {option!r} (known: {', '.join(OPTIONS)})"
    if option not in catalogue.offered.get(line.network, ()):
        return f"{option} is not offered on {line.network}"
    line.active.add(option)
    return None


def refusal(
    catalogue: OptionCatalogue,
    line: LineOptions,
    *,
    usage: str,
    from_country: str,
    to_country: str,
    sva: bool = False,
    risky: bool = False,
    participants: int = 2,
) -> str | None:
    """Why the options forbid a ``usage`` (voice, sms, mms) from one country to another, or None."""
    eea, on = catalogue.eea, line.active
    home = from_country == "FR"
    to_home = to_country == "FR"
    if sva and "sva_blocked" in on:
        return "premium-rate (SVA) calls are blocked on this line"
    if risky and "risky_destinations_unbarred" not in on:
        return (
            "calls to risky roaming destinations are barred by default (no 'Levée des destinations à risque')"
        )
    if usage == "voice" and to_country not in eea and "voice_international_blocked" in on:
        return f"voice to international is blocked ({to_country} is outside the EEA)"
    if home and not to_home and to_country in eea and "france_to_eea_blocked" in on:
        return f"{usage} from France to the EEA is blocked ({to_country})"
    if not home and from_country in eea and to_country not in eea and "eea_to_international_blocked" in on:
        return f"{usage} from the EEA to international is blocked ({from_country} -> {to_country})"
    if participants > 2:
        if "conference" not in on:
            return "no conference option on this line"
        national, roaming = catalogue.conference.get(line.network, (0, 0))
        limit = national if home else roaming
        if participants > limit:
            where = "in France" if home else "in roaming"
            return f"a conference {where} has at most {limit} participants on {line.network}"
    return None


def presentation(line: LineOptions) -> str:
    """The calling line identity shown to the called party (withheld with "Secret du numéro")."""
    return "withheld" if "number_withheld" in line.active else "presented"


def summary(line: LineOptions) -> dict[str, Any]:
    return {"options": sorted(line.active), "presentation": presentation(line)}
