"""Contract changes, each provider with its own rule.

* AlphaLink (seed 003, "ACTIONS SUR CONTRAT"): upgrade/downgrade within an offer and
  blocked <> unblocked migrations take effect on the 1st of the next month; no change of range
  (data only -> unlimited, Travel -> unlimited...); no plan -> metered offer.
* Mobile data service (seed 002): one change request a month, immediate; a 4G/5G change bills
  the prorated price difference and keeps the quota; a volume change bills the old plan in full
  plus the new one prorated, the quota becomes the new one plus the unused remainder; an MNO
  change costs 10 EUR; the equipment must be rebooted for the SIM to take the change.
* OpenSIM (seed 001): immediate; no change across its three categories; the data envelope is
  prorated over the month but the blocking / reduction threshold is not.
* SIMALARM (seed 000): a cancelled subscription stays active until the contract's expiry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .billing import UNPUBLISHED, BillItem
from .catalogue import Catalogue, Offer
from .clock import month_key, next_month_start, remaining_fraction
from .units import euros, format_volume


@dataclass
class Decision:
    """What a change request leads to."""

    accepted: bool
    reason: str = ""
    effective: datetime | None = None
    offer: Offer | None = None
    network: str | None = None
    bill: list[BillItem] = field(default_factory=list)
    envelope: int | None = None  # new blocking limit of the envelope meter (None: from the offer)
    reset_usage: bool = False  # the envelope meter restarts from 0 (seed 002 volume change)
    allowance: int | None = None  # prorated included data for billing (OpenSIM)
    reboot_required: bool = False


def _reject(reason: str) -> Decision:
    return Decision(False, reason)


def _price(offer: Offer) -> float | None:
    return offer.price


def decide(
    catalogue: Catalogue,
    old: Offer,
    new: Offer | None,
    *,
    now: datetime,
    used: int,
    limit: int,
    requests_this_month: int,
    mno: str | None = None,
) -> Decision:
    """Apply ``old``'s provider rule to a request for ``new`` (and/or a new MNO)."""
    prov = catalogue.providers[old.provider]
    rule = prov.contract["change_rule"]
    if new is None and mno is None:
        return _reject("nothing to change")
    if new is not None and new.provider != old.provider:
        return _reject(f"{new.id} belongs to provider {new.provider}, the line to {old.provider}")
    if mno is not None and rule != "monthly_request":
        return _reject(f"{prov.label} offers no change of network operator")
    if new is not None and new.id == old.id and mno is None:
        return _reject(f"the line is already on {old.id}")
    if new is not None and new.network != old.network and mno is None:
        return _reject(f"{new.id} is on {new.network}, the line on {old.network}: not a change of plan")

    if rule == "next_month":
        if new is None:
            return _reject("nothing to change")
        if prov.contract.get("no_plan_to_metered") and new.metered and not old.metered:
            return _reject(
                f"Pas possible de passer d'un forfait à une offre compteur ({old.range} -> {new.range})"
            )
        if prov.contract.get("same_range_only") and new.range != old.range:
            return _reject(
                "Pas possible de changer de gamme "
                f"({old.range} -> {new.range}); only the volume or blocked/unblocked can change"
            )
        return Decision(True, effective=next_month_start(now), offer=new)

    if rule == "monthly_request":
        if requests_this_month >= 1:
            return _reject(
                "Une seule demande d'évolution par mois: a change was already requested this month"
            )
        target = new or old
        network = old.network
        items: list[BillItem] = []
        if mno is not None and mno != old.network:
            twin = [
                o
                for o in catalogue.find(
                    provider=old.provider,
                    network=mno,
                    range=target.range,
                    volume=target.volume,
                    radio=target.radio,
                )
            ]
            if not twin:
                return _reject(
                    f"no {target.range} {format_volume(target.volume or 0)} {target.radio or ''} offer "
                    f"on {mno}"
                )
            target = twin[0]
            network = mno
            fee = prov.contract.get("mno_change_fee")
            items.append(BillItem(f"changement d'opérateur support {old.network} -> {mno}", fee))
        frac = remaining_fraction(now)
        decision = Decision(
            True,
            effective=now,
            offer=target,
            network=network,
            bill=items,
            reboot_required=bool(prov.contract.get("reboot_required")),
        )
        if target.volume == old.volume:
            if target.price != old.price:
                if target.price is None or old.price is None:
                    items.append(BillItem("changement de technologie radio (prorata)", None, UNPUBLISHED))
                else:
                    items.append(
                        BillItem(
                            f"changement de technologie radio {old.radio} -> {target.radio} "
                            f"(prorata {frac:.4f} de la différence)",
                            euros((target.price - old.price) * frac),
                        )
                    )
            return decision
        remainder = max(0, limit - used)
        decision.envelope = (target.volume or 0) + remainder
        decision.reset_usage = True
        items.append(
            BillItem(
                f"nouveau forfait {target.label} (prorata {frac:.4f})",
                None if target.price is None else euros(target.price * frac),
                "" if target.price is not None else UNPUBLISHED,
            )
        )
        return decision

    if rule == "immediate_prorated":
        if new is None:
            return _reject("nothing to change")
        if prov.contract.get("category_locked") and new.category != old.category:
            return _reject(
                "Il n'est pas possible de passer d'un forfait d'une catégorie à une autre "
                f"({old.category} -> {new.category})"
            )
        frac = remaining_fraction(now)
        allowance = None
        if new.volume is not None and old.volume is not None:
            allowance = int(round(old.volume * (1 - frac) + new.volume * frac))
        return Decision(True, effective=now, offer=new, envelope=new.volume, allowance=allowance)

    if rule == "immediate":
        if new is None:
            return _reject("nothing to change")
        if prov.contract.get("same_range_only") and new.range != old.range:
            return _reject(f"{new.id} is for another SIM reference ({old.range} -> {new.range})")
        return Decision(True, effective=now, offer=new)

    return _reject(f"unknown change rule {rule!r}")


def cancellation_effective(
    catalogue: Catalogue, offer: Offer, now: datetime, expires: datetime | None
) -> datetime:
    """When a cancellation requested at ``now`` ends the service."""
    mode = catalogue.providers[offer.provider].contract.get("cancellation")
    if mode == "at_expiry":
        return expires if expires is not None and expires > now else next_month_start(now)
    if mode == "end_of_month":
        return next_month_start(now)
    return now


__all__ = ["Decision", "cancellation_effective", "decide", "month_key"]
