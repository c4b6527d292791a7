"""Roaming zones from a country code or a serving PLMN (seed 003, "ROAMING & INTERNATIONAL").

France; Zone 1/1B (EU/EEA and the DROM); USA/Canada; Maghreb/Turkey; rest of the world
(Switzerland and Andorra included). The table is data: ``fixtures/plans/zones.yaml``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from csim.memo import remember
from csim.yamlsrc import DataError, load, load_schema
from harness.paths import FIXTURES, SCHEMAS

ZONES_FILE = FIXTURES / "plans" / "zones.yaml"
SCHEMA_DIR = SCHEMAS

#: Zone ids in a fixed order: a policy's chains are indexed by it (:data:`ZONE_INDEX`).
ZONES: tuple[str, ...] = ("france", "europe", "usa_canada", "maghreb_turkey", "world")
ZONE_INDEX = {z: i for i, z in enumerate(ZONES)}
ROAMING_ZONES: tuple[str, ...] = ("usa_canada", "maghreb_turkey", "world")


class ZoneTable:
    """Country/MCC -> zone lookup."""

    def __init__(self, path: str | Path = ZONES_FILE) -> None:
        doc = load(path, load_schema(SCHEMA_DIR / "zones.schema.json"))
        self.labels: dict[str, str] = {}
        self._country: dict[str, str] = {}
        self._mcc: dict[str, str] = {}
        for zone, spec in doc["zones"].items():
            self.labels[zone] = spec["label"]
            for key, table, items in (
                ("countries", self._country, spec["countries"]),
                ("mcc", self._mcc, spec["mcc"]),
            ):
                for i, code in enumerate(items):
                    if code in table and table[code] != zone:
                        raise DataError(
                            items.source,
                            items.line_of(i),
                            f"{'country' if key == 'countries' else key} {code} is in both "
                            f"{table[code]} and {zone}",
                        )
                    table[code] = zone

    def of_country(self, country: str) -> str:
        """ISO 3166-1 alpha-2 code -> zone id (unlisted countries are "world")."""
        code = country.strip().upper()
        if len(code) != 2 or not code.isalpha():
            raise ValueError(f"not an ISO 3166-1 alpha-2 country code: {country!r}")
        return self._country.get(code, "world")

    def of_plmn(self, plmn: str) -> str:
        """``"208-01"`` / ``"20801"`` / an IMSI -> zone id, from the MCC."""
        digits = plmn.replace("-", "").strip()
        if len(digits) < 3 or not digits[:3].isdigit():
            raise ValueError(f"not a PLMN: {plmn!r}")
        return self._mcc.get(digits[:3], "world")


@lru_cache(maxsize=1)
def default_table() -> ZoneTable:
    return ZoneTable()


#: (country, plmn, zone) -> zone id, for the bundled table (loaded once)
# open_session 308k -> 296k, sms 132k -> 125k instructions/step (with units, clock, catalogue)
_resolved: dict[tuple[str | None, str | None, str | None], str] = {}


def zone_of(country: str | None = None, plmn: str | None = None, zone: str | None = None) -> str:
    """Resolve the zone of a usage: an explicit zone id, a country code or a serving PLMN."""
    key = (country, plmn, zone)
    hit = _resolved.get(key)
    if hit is not None:
        return hit
    return remember(_resolved, key, _zone_of(country, plmn, zone))


def _zone_of(country: str | None, plmn: str | None, zone: str | None) -> str:
    if zone is not None:
        if zone not in ZONE_INDEX:
            raise ValueError(f"unknown zone {zone!r} (one of {', '.join(ZONES)})")
        return zone
    if country is not None:
        return default_table().of_country(country)
    if plmn is not None:
        return default_table().of_plmn(plmn)
    return "france"
