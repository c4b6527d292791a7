"""The network name a line's terminal shows, per network and card date (AlphaLink mobile reference,
"PROFIL ÉLECTRIQUE", 'Profil électrique par défaut'): the SPN the card carries (TS 31.102 §4.2.12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from csim.yamlsrc import LineDict


@dataclass(frozen=True)
class ElectricalProfile:
    """One network's names: the current one, older ones by SIM type and date, the first power-on's."""

    name: str
    before: tuple[tuple[frozenset[str], date, str], ...] = ()
    first_power_on: str | None = None

    @classmethod
    def from_fixture(cls, spec: LineDict) -> ElectricalProfile:
        before = []
        for item in spec.get("before", ()):
            try:
                day = date.fromisoformat(str(item["date"]))
            except ValueError:
                raise item.error("date", f"not a date: {item['date']!r} (YYYY-MM-DD)") from None
            before.append((frozenset(item["sim"]), day, str(item["name"])))
        return cls(str(spec["name"]), tuple(before), spec.get("first_power_on"))

    def card_name(self, sim_type: str, since: date) -> str:
        """The name the card carries: received (physical SIM) or activated (eSIM) on ``since``."""
        for sims, cutoff, name in self.before:
            if sim_type in sims and since < cutoff:
                return name
        return self.name

    def shown(self, sim_type: str, since: date, power_ons: int) -> str:
        """The name shown after ``power_ons`` power-ons (the first may show a placeholder)."""
        if power_ons <= 1 and self.first_power_on:
            return self.first_power_on
        return self.card_name(sim_type, since)
