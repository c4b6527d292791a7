"""Usage counters per billing month and per roaming zone: data bytes, voice seconds, SMS."""

from __future__ import annotations

from collections import defaultdict

from .zones import ZONES

KINDS = ("data", "voice", "sms", "mms")


class Counters:
    """One month of a line's usage: ``counters.get("data", "europe")``; metered parts apart.

    Per-kind totals are kept beside the per-zone counts, so a total is one lookup."""

    __slots__ = ("month", "_used", "_metered", "_total", "_metered_total", "rejected", "correspondents",
                 "sms_recipients")

    def __init__(self, month: tuple[int, int]) -> None:
        self.month = month
        self._used: dict[tuple[str, str], int] = {}
        self._metered: dict[tuple[str, str], int] = {}
        # per-kind totals kept as counted: sms 132k -> 125k instructions/step (with the plans tables)
        self._total: dict[str, int] = {}
        self._metered_total: dict[str, int] = {}
        self.rejected: dict[str, int] = defaultdict(int)
        self.correspondents: set[str] = set()
        self.sms_recipients: set[str] = set()

    def add(self, kind: str, zone: str, amount: int, metered: int = 0) -> None:
        if kind not in KINDS or zone not in ZONES:
            raise ValueError(f"unknown counter {kind}/{zone}")
        key = (kind, zone)
        used = self._used
        used[key] = used.get(key, 0) + amount
        self._total[kind] = self._total.get(kind, 0) + amount
        if metered:
            self._metered[key] = self._metered.get(key, 0) + metered
            self._metered_total[kind] = self._metered_total.get(kind, 0) + metered

    def get(self, kind: str, zone: str | None = None) -> int:
        if zone is None:
            return self._total.get(kind, 0)
        return self._used.get((kind, zone), 0)

    def metered(self, kind: str, zone: str | None = None) -> int:
        if zone is None:
            return self._metered_total.get(kind, 0)
        return self._metered.get((kind, zone), 0)

    def as_dict(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (kind, zone), v in sorted(self._used.items()):
            out.setdefault(kind, {})[zone] = v
        return out
