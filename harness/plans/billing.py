"""Amounts billed per line and month (EUR excl. VAT).

A month's bill holds the subscription (prorata temporis in the first month where the provider
says so, seed 003 "Facturation au prorata temporis le premier mois. Tout mois commencé est dû"),
every roaming option ordered in the month (seed 003: a mid-month change bills both options),
recharges, the fixed IP, metered roaming data priced from the per-zone rate table, the
"compteur data" tiers, and the one-off items of contract changes (seed 002). Items whose
price the seeds do not publish carry ``amount=None`` and make the bill ``complete=False``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from .catalogue import Offer
from .units import MB, euros, format_volume


@dataclass(frozen=True)
class BillItem:
    label: str
    amount: float | None
    note: str = ""


@dataclass
class Bill:
    line: str
    month: tuple[int, int]
    items: list[BillItem] = field(default_factory=list)

    @property
    def total(self) -> float:
        return euros(sum(i.amount for i in self.items if i.amount is not None))

    @property
    def complete(self) -> bool:
        return all(i.amount is not None for i in self.items)

    def amounts(self) -> dict[str, float | None]:
        return {i.label: i.amount for i in self.items}

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, **self.event_fields()}

    def event_fields(self) -> dict[str, object]:
        """:meth:`as_dict` without the line: the fields of the month's ``bill`` event."""
        return {
            "month": f"{self.month[0]:04d}-{self.month[1]:02d}",
            "total": self.total,
            "complete": self.complete,
            "items": [{"label": i.label, "amount": i.amount, "note": i.note} for i in self.items],
        }


UNPUBLISHED = "price not published in the seed"


def subscription_item(offer: Offer, fraction: float = 1.0) -> BillItem:
    """The month's subscription; ``fraction`` < 1 for a prorated first month."""
    label = f"abonnement {offer.label}" + ("" if fraction >= 1.0 else f" (prorata {fraction:.4f})")
    if offer.price is None:
        return BillItem(label, None, UNPUBLISHED)
    note = "minimum de facturation mensuel" if offer.minimum_billing else ""
    return BillItem(label, euros(offer.price * fraction), note)


def tiered_data_item(offer: Offer, used: int) -> BillItem | None:
    """Compteur Data: the price of the tier reached applies to every MB past the included volume."""
    if not offer.tiers or used <= offer.included:
        return None
    rate = offer.tiers[-1][1]
    for upto, per_mb in offer.tiers:
        if upto is None or used <= upto:
            rate = per_mb
            break
    mbs = math.ceil((used - offer.included) / MB)
    return BillItem(
        f"data au compteur {mbs} Mo au-delà de {format_volume(offer.included)} à {rate} EUR/Mo",
        euros(float(Decimal(mbs) * rate)),
        "example tiers (the seed publishes no tier prices)",
    )


def metered_data_item(zone: str, nbytes: int, rate_per_mb: Decimal, example: bool) -> BillItem:
    mbs = math.ceil(nbytes / MB)
    return BillItem(
        f"data roaming {zone} {mbs} Mo au compteur",
        euros(float(Decimal(mbs) * rate_per_mb)),
        "example rate (the seed publishes no rate)" if example else "",
    )


def euro_meter_item(zone: str, nano_eur: int) -> BillItem:
    return BillItem(
        f"data hors forfait {zone} (cut-off en euros)",
        euros(nano_eur / 10**9),
        "priced from the per-zone rate table",
    )
