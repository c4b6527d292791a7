"""Plan catalogue: every offer of every provider, from ``fixtures/plans/*.yaml``.

Each provider file goes through :func:`csim.yamlsrc.load` with ``harness/schema/plans.schema.json``,
then through semantic checks that point at the offending line (``file:line: what is wrong``):
networks a range names but the provider lacks, default cut-offs outside the provider's list,
missing per-zone rates for euro cut-offs, duplicate offer ids... Line subscriptions (offer +
cut-offs + roaming options) are checked against the same catalogue by :meth:`Catalogue.subscription`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from csim.memo import remember
from csim.yamlsrc import DataError, LineDict, load, load_schema
from harness.paths import ROOT

from .clock import parse_duration, parse_instant
from .units import GB, format_volume, parse_volume
from .zones import ROAMING_ZONES

PLANS_DIR = ROOT / "fixtures" / "plans"
SCHEMA = ROOT / "harness" / "schema" / "plans.schema.json"


@dataclass(frozen=True)
class NetworkRules:
    """What one provider applies on one network (seed 003 "L'alerte et le blocage", cut-offs...)."""

    provider: str
    network: str
    label: str
    alerts_blocked: tuple[int, ...]
    alerts_unblocked: tuple[int, ...]
    roaming_alerts: tuple[int, ...]
    europe_is_envelope: bool
    europe_mode: str  # "envelope" (as in France), "envelope_cutoff" (stops), "eur"
    europe_cutoffs_eur: tuple[Decimal, ...]
    cutoff_unit: str  # "volume" (bytes) or "eur"
    cutoffs: tuple[int | Decimal, ...]
    default_cutoff: int | Decimal
    default_europe_cutoff: Decimal | None
    roaming_options: dict[str, dict[tuple[str, int], float | None]]
    rates_per_mb: dict[str, Decimal]
    sms_per_hour: tuple[int, timedelta] | None
    fiveg_free_from: int | None
    fiveg_included: bool
    recharge_unblocked: str
    fixed_ip: dict[str, Any] | None
    session_cap: dict[str, Any] | None
    international_sms_to_europe: str

    def format_cutoff(self, value: int | Decimal) -> str:
        return format_volume(int(value)) if self.cutoff_unit == "volume" else f"{value} EUR"


@dataclass(frozen=True)
class Offer:
    """One orderable offer (a plan, or a metered "compteur" offer)."""

    id: str
    provider: str
    network: str
    range: str
    label: str
    volume: int | None  # bytes of the monthly envelope; None for metered offers
    blocked: bool | None  # None when the range has no blocking choice
    price: float | None
    metered: bool = False
    services: frozenset[str] = frozenset()
    roaming: bool = True
    recharges: tuple[int, ...] = ()
    no_recharge_zones: tuple[str, ...] = ()
    fiveg: bool = False
    radio: str | None = None
    usa_canada: tuple[int, int, int] | None = None  # (data bytes, voice seconds, SMS)
    thresholds: tuple[int, int] | None = None
    included: int = 0
    tiers: tuple[tuple[int | None, Decimal], ...] = ()
    category: str | None = None
    apn: tuple[tuple[str, datetime | None], ...] = ()
    minimum_billing: bool = False
    europe_as_home: bool = False  # the range overrides the network: Europe behaves as France

    @property
    def has_data(self) -> bool:
        return "data" in self.services and (self.metered or bool(self.volume))

    def apn_for(self, activated: datetime) -> str | None:
        for apn, before in self.apn:
            if before is None or activated < before:
                return apn
        return None


@dataclass
class Provider:
    id: str
    label: str
    source: str
    contract: dict[str, Any]
    recharge_delay: timedelta
    fair_use: dict[str, Any] | None
    networks: dict[str, NetworkRules]
    ranges: dict[str, LineDict]
    file: str
    offers: dict[str, Offer] = field(default_factory=dict)


@dataclass(frozen=True)
class Subscription:
    """A line's contract as ordered: offer, cut-offs and roaming options per zone, extras."""

    id: str
    offer: Offer
    activated: datetime | None = None
    expires: datetime | None = None
    cutoffs: dict[str, int | Decimal] = field(default_factory=dict)  # zone -> bytes or EUR
    options: dict[str, tuple[int, bool]] = field(default_factory=dict)  # zone -> (bytes, with voice/SMS)
    threshold: int | None = None
    fixed_ip: bool = False


def _duration(node: LineDict, key: str, default: str | None = None) -> timedelta:
    """The duration at ``node[key]`` (``30min``, ``3d``); one a clock cannot hold is a
    ``file:line`` error."""
    value = node.get(key, default)
    try:
        return parse_duration(value)
    except (ValueError, OverflowError) as exc:
        raise node.error(key, f"{key}: {exc}" if isinstance(exc, ValueError)
                         else f"{key}: {value!r} is too long a duration") from None


def _instant(node: LineDict, key: str) -> datetime:
    """The date and time at ``node[key]``; an impossible one is a ``file:line`` error."""
    try:
        return parse_instant(node[key])
    except ValueError as exc:
        raise node.error(key, f"{key}: {exc}") from None


def _slug(text: str) -> str:
    return text.replace("_", "-").lower()


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


class Catalogue:
    """All providers' offers; :meth:`offer` and :meth:`subscription` resolve references."""

    def __init__(self, paths: list[str | Path] | None = None) -> None:
        files = (
            [Path(p) for p in paths]
            if paths is not None
            else sorted(p for p in PLANS_DIR.glob("*.yaml") if p.name != "zones.yaml")
        )
        schema = load_schema(SCHEMA)
        self.providers: dict[str, Provider] = {}
        self.offers: dict[str, Offer] = {}
        #: find() answers (offers are frozen and only added while loading)
        # change_plan 162k -> 115k instructions/step (with units, clock, zones)
        self._found: dict[tuple[Any, ...], tuple[Offer, ...]] = {}
        #: accepted plain-dict orders -> their Subscription (an order's check is a pure function
        #: of its content and of the frozen catalogue)
        # change_plan 162k -> 115k instructions/step (with units, clock, zones)
        self._checked: dict[Any, Subscription] = {}
        #: (offer id, network, envelope, cut-offs, options, blocked) -> the unused policy of that
        #: contract state (:class:`harness.plans.engine.PolicyEngine`; offers and rules are frozen)
        self.policy_templates: dict[tuple[Any, ...], Any] = {}
        for path in files:
            doc = load(path, schema)
            if "lines" in doc:
                raise DataError(str(path), doc.line, "a subscription file, not a provider catalogue")
            self._add_provider(doc, str(path))

    # ----------------------------------------------------------------- loading
    def _add_provider(self, doc: LineDict, source: str) -> None:
        pid = doc["provider"]
        if pid in self.providers:
            raise doc.error("provider", f"provider {pid!r} is already defined in {self.providers[pid].file}")
        networks = {name: self._network(pid, name, spec) for name, spec in doc["networks"].items()}
        fair = doc.get("fair_use")
        prov = Provider(
            id=pid,
            label=doc["label"],
            source=doc.get("source", ""),
            contract=dict(doc["contract"]),
            recharge_delay=_duration(doc, "recharge_delay", "0min"),
            fair_use=None
            if fair is None
            else {
                "ranges": tuple(fair["ranges"]),
                "distinct": fair["distinct_correspondents"],
                "call_max": _duration(fair, "call_max"),
            },
            networks=networks,
            ranges=doc["ranges"],
            file=source,
        )
        for spec in doc["networks"].values():
            cap = spec.get("session_cap")
            for rng in (cap or {}).get("ranges", []):
                if rng not in doc["ranges"]:
                    raise spec.error("session_cap", f"session_cap names unknown range {rng!r}")
        for i, rng in enumerate(fair["ranges"] if fair else []):
            if rng not in doc["ranges"]:
                raise fair["ranges"].error(i, f"fair_use names unknown range {rng!r}")
        for rid, rspec in doc["ranges"].items():
            self._add_range(prov, rid, rspec)
        self.providers[pid] = prov

    def _network(self, pid: str, name: str, spec: LineDict) -> NetworkRules:
        unit = spec["cutoff_unit"]

        def cut(value: Any, where: Any, key: Any) -> int | Decimal:
            if unit == "volume":
                if not isinstance(value, str):
                    raise where.error(
                        key, f"cut-off {value!r} must be a volume (e.g. 500MB) for cutoff_unit volume"
                    )
                return parse_volume(value)
            if isinstance(value, str) or isinstance(value, bool):
                raise where.error(key, f"cut-off {value!r} must be an amount in EUR for cutoff_unit eur")
            return _dec(value)

        cutoffs = tuple(cut(v, spec["cutoffs"], i) for i, v in enumerate(spec["cutoffs"]))
        default = cut(spec["default_cutoff"], spec, "default_cutoff")
        if default not in cutoffs:
            raise spec.error("default_cutoff", f"default_cutoff {spec['default_cutoff']} is not in cutoffs")
        europe = spec["europe"]
        europe_eur = () if isinstance(europe, str) else tuple(_dec(v) for v in europe["cutoff_eur"])
        deu = spec.get("default_europe_cutoff")
        if deu is not None and _dec(deu) not in europe_eur:
            raise spec.error(
                "default_europe_cutoff",
                f"default_europe_cutoff {deu} is not a Europe cut-off "
                f"({', '.join(str(v) for v in europe_eur) or 'the Europe cut-off is the envelope'})",
            )
        rates = {z: _dec(r) for z, r in spec["rates_per_mb"].items()}
        needed = (["europe"] if europe_eur else []) + (list(ROAMING_ZONES) if unit == "eur" else [])
        for zone in needed:
            if zone not in rates or rates[zone] <= 0:
                raise spec.error("rates_per_mb", f"euro cut-offs need a positive per-MB rate for {zone}")
        options: dict[str, dict[tuple[str, int], float | None]] = {}
        for zone, kinds in spec["roaming_options"].items():
            options[zone] = {
                (kind, parse_volume(v)): p for kind, table in kinds.items() for v, p in table.items()
            }
        sph = spec["sms_per_hour"]
        fiveg = spec["fiveg"]
        alerts = spec["alerts"]
        return NetworkRules(
            provider=pid,
            network=name,
            label=spec["label"],
            alerts_blocked=tuple(alerts.get("blocked", ())),
            alerts_unblocked=tuple(alerts.get("unblocked", ())),
            roaming_alerts=tuple(spec["roaming_alerts"]),
            europe_is_envelope=not europe_eur,
            europe_mode=europe if isinstance(europe, str) else "eur",
            europe_cutoffs_eur=europe_eur,
            cutoff_unit=unit,
            cutoffs=cutoffs,
            default_cutoff=default,
            default_europe_cutoff=None if deu is None else _dec(deu),
            roaming_options=options,
            rates_per_mb=rates,
            sms_per_hour=None if sph is None else (sph["limit"], _duration(sph, "suspension")),
            fiveg_free_from=parse_volume(fiveg["free_from"]) if isinstance(fiveg, dict) else None,
            fiveg_included=fiveg == "included",
            recharge_unblocked=spec["recharge_unblocked"],
            fixed_ip=None if spec["fixed_ip"] is None else dict(spec["fixed_ip"]),
            session_cap=None if spec["session_cap"] is None else dict(spec["session_cap"]),
            international_sms_to_europe=spec["international_sms_to_europe"],
        )

    def _add_range(self, prov: Provider, rid: str, spec: LineDict) -> None:
        metered = bool(spec.get("metered", False))
        blocking = list(spec.get("blocking", [])) if not metered else []
        if not metered and not blocking:
            raise spec.error(
                "blocking", f"range {rid!r} has envelopes: say blocking: [blocked] and/or [unblocked]"
            )
        tiers: list[tuple[int | None, Decimal]] = []
        for i, tier in enumerate(spec.get("tiers", [])):
            upto = None if tier["upto"] is None else parse_volume(tier["upto"])
            if tiers and (tiers[-1][0] is None or (upto is not None and upto <= tiers[-1][0])):
                raise spec["tiers"].error(i, "tiers must have increasing 'upto' and end with upto: null")
            tiers.append((upto, _dec(tier["per_mb"])))
        if tiers and tiers[-1][0] is not None:
            raise spec["tiers"].error(len(tiers) - 1, "the last tier must have upto: null")
        thresholds = None
        if "thresholds" in spec:
            thresholds = (parse_volume(spec["thresholds"]["min"]), parse_volume(spec["thresholds"]["max"]))
        apns = tuple(
            (a["apn"], _instant(a, "before") if "before" in a else None) for a in spec.get("apn", [])
        )
        for net, nspec in spec["networks"].items():
            if net not in prov.networks:
                raise spec["networks"].error(
                    net,
                    f"range {rid!r} names network {net!r} that provider "
                    f"{prov.id!r} does not define ({', '.join(prov.networks)})",
                )
            rules = prov.networks[net]
            entries: list[tuple[LineDict | None, dict[str, Any]]] = []
            if "volumes" in nspec:
                for vol, price in nspec["volumes"].items():
                    entries.append((nspec["volumes"], {"volume": vol, "price": price, "_key": vol}))
            for i, off in enumerate(nspec.get("offers", [])):
                entries.append((nspec["offers"], {**off, "_key": i}))
            if not entries:
                raise spec["networks"].error(net, f"range {rid!r} on {net}: no volumes or offers")
            for where, off in entries:
                volume = None if metered else parse_volume(off.get("volume", 0))
                radio = off.get("radio")
                base = off.get("id") or "-".join(
                    [prov.id, net, _slug(rid)]
                    + ([] if metered else ["nodata" if volume == 0 else format_volume(volume).lower()])
                    + ([radio.lower()] if radio else [])
                )
                modes: list[bool | None] = (
                    [None] if metered or volume == 0 else [m == "blocked" for m in blocking]
                )
                fiveg = (
                    spec.get("fiveg") == "included"
                    or rules.fiveg_included
                    or (
                        rules.fiveg_free_from is not None
                        and volume is not None
                        and volume >= rules.fiveg_free_from
                    )
                    or radio == "5G"
                )
                usca = None
                if "usa_canada" in off:
                    u = off["usa_canada"]
                    usca = (
                        parse_volume(u["data"]),
                        int(_duration(u, "voice").total_seconds()),
                        u["sms"],
                    )
                for blocked in modes:
                    oid = (
                        base
                        if blocked is None or len(blocking) == 1
                        else (f"{base}-{'blocked' if blocked else 'unblocked'}")
                    )
                    if oid in self.offers:
                        assert where is not None
                        raise where.error(off["_key"], f"duplicate offer id {oid!r}")
                    state = "" if blocked is None else (" bloqué" if blocked else " non bloqué")
                    size = (
                        ""
                        if volume is None
                        else (" sans data" if volume == 0 else f" {format_volume(volume)}")
                    )
                    offer = Offer(
                        id=oid,
                        provider=prov.id,
                        network=net,
                        range=rid,
                        label=f"{spec['label']}{state} {rules.label}{size}".strip()
                        + (f" {radio}" if radio else ""),
                        volume=volume,
                        blocked=blocked,
                        price=off.get("price"),
                        metered=metered,
                        services=frozenset(spec["services"]) - ({"data"} if volume == 0 else set()),
                        roaming=spec["roaming"],
                        recharges=tuple(parse_volume(v) for v in spec.get("recharges", [])),
                        no_recharge_zones=tuple(spec.get("no_recharge_zones", [])),
                        fiveg=fiveg,
                        radio=radio,
                        usa_canada=usca,
                        thresholds=thresholds,
                        included=parse_volume(spec["included"]) if "included" in spec else 0,
                        tiers=tuple(tiers),
                        category=spec.get("category"),
                        apn=apns,
                        minimum_billing=bool(off.get("minimum_billing", False)),
                        europe_as_home=spec.get("europe") == "envelope",
                    )
                    self.offers[oid] = offer
                    prov.offers[oid] = offer

    # ---------------------------------------------------------------- lookups
    def offer(self, offer_id: str) -> Offer:
        try:
            return self.offers[offer_id]
        except KeyError:
            raise KeyError(self._unknown_offer(offer_id)) from None

    def _unknown_offer(self, offer_id: str) -> str:
        close = difflib.get_close_matches(offer_id, list(self.offers), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return f"unknown offer {offer_id!r}{hint}"

    def rules(self, offer: Offer) -> NetworkRules:
        return self.providers[offer.provider].networks[offer.network]

    def provider(self, offer: Offer) -> Provider:
        return self.providers[offer.provider]

    def find(self, **criteria: Any) -> list[Offer]:
        """Offers whose attributes equal every given value (``find(provider="alphalink", range="m2m")``)."""
        try:
            key: tuple[Any, ...] | None = (len(self.offers), *criteria.items())
            hit = self._found.get(key)  # type: ignore[arg-type]
        except TypeError:  # an unhashable value: no table entry
            key, hit = None, None
        if hit is None:
            hit = tuple(o for o in self.offers.values()
                        if all(getattr(o, k) == v for k, v in criteria.items()))
            if key is not None:
                remember(self._found, key, hit, 256)
        return list(hit)

    # ----------------------------------------------------------- subscriptions
    def subscription(self, spec: dict[str, Any]) -> Subscription:
        """Check one line's order against the catalogue; errors carry the file:line of the key.

        A plain-dict order already accepted answers the same (frozen) Subscription again."""
        if type(spec) is not dict:  # a LineDict: its errors point into its file
            return self._subscription(spec)
        try:
            key = _order_key(spec)
            hit = self._checked.get(key)
        except TypeError:  # an unhashable value: checked every time
            return self._subscription(spec)
        if hit is None:
            hit = remember(self._checked, key, self._subscription(spec), 256)
        return hit

    def _subscription(self, spec: dict[str, Any]) -> Subscription:
        def err(key: str, message: str) -> DataError:
            if isinstance(spec, LineDict):
                return spec.error(key, message)
            return DataError("<subscription>", None, f"{key}: {message}")

        oid = spec["offer"]
        if oid not in self.offers:
            raise err("offer", self._unknown_offer(oid))
        offer = self.offers[oid]
        rules = self.rules(offer)
        cutoffs: dict[str, int | Decimal] = {}
        options: dict[str, tuple[int, bool]] = {}
        for zone, value in (spec.get("cutoffs") or {}).items():
            where = spec["cutoffs"]
            if not offer.roaming:
                raise _at(where, zone, err, f"{offer.id} does not allow roaming: no cut-off for {zone}")
            if zone == "europe":
                if rules.europe_is_envelope:
                    raise _at(
                        where,
                        zone,
                        err,
                        f"on {rules.label} the Europe cut-off is the plan envelope; it cannot be set",
                    )
                amount = _dec(value) if not isinstance(value, str) else None
                if amount is None or amount not in rules.europe_cutoffs_eur:
                    raise _at(
                        where,
                        zone,
                        err,
                        f"Europe cut-off {value!r} is not one of {rules.label}'s: "
                        + ", ".join(f"{v} EUR" for v in rules.europe_cutoffs_eur),
                    )
                cutoffs[zone] = amount
                continue
            try:
                parsed: int | Decimal = (
                    parse_volume(value)
                    if rules.cutoff_unit == "volume"
                    else _dec(value)
                    if not isinstance(value, str)
                    else Decimal(-1)
                )
            except ValueError as exc:
                raise _at(where, zone, err, str(exc)) from None
            if parsed not in rules.cutoffs:
                raise _at(
                    where,
                    zone,
                    err,
                    f"cut-off {value!r} for {zone} is not one of "
                    f"{self.providers[offer.provider].label} {rules.label}'s cut-offs: "
                    + ", ".join(rules.format_cutoff(v) for v in rules.cutoffs),
                )
            if (
                rules.cutoff_unit == "eur"
                and len({spec["cutoffs"].get(z) for z in ROAMING_ZONES if z in spec["cutoffs"]}) > 1
            ):
                raise _at(
                    where, zone, err, f"{rules.label} has one World cut-off for every zone outside Europe"
                )
            cutoffs[zone] = parsed
        for zone, value in (spec.get("options") or {}).items():
            where = spec["options"]
            if not offer.roaming:
                raise _at(
                    where, zone, err, f"{offer.id} does not allow roaming: no roaming option for {zone}"
                )
            if offer.range not in ("unlimited", "travel"):
                raise _at(where, zone, err, "roaming options are for unlimited voice + data plans")
            if zone == "usa_canada" and offer.usa_canada is not None:
                raise _at(where, zone, err, "the USA/Canada zone is already included in the Travel plan")
            vol_text, voice = (
                (value["volume"], bool(value.get("voice_sms"))) if isinstance(value, dict) else (value, False)
            )
            vol = parse_volume(vol_text)
            table = rules.roaming_options.get(zone, {})
            if (("voice_sms_data" if voice else "data"), vol) not in table:
                have = sorted(
                    {format_volume(v) for (k, v) in table if k == ("voice_sms_data" if voice else "data")}
                )
                raise _at(
                    where,
                    zone,
                    err,
                    f"no {'voice+SMS+data' if voice else 'data'} roaming option "
                    f"{format_volume(vol)} for {zone} on {rules.label}"
                    + (f" (options: {', '.join(have)})" if have else " (no roaming option on this network)"),
                )
            if zone in cutoffs:
                raise _at(where, zone, err, f"{zone} has both a cut-off and a roaming option")
            options[zone] = (vol, voice)
        threshold = None
        if "threshold" in spec:
            if offer.thresholds is None:
                raise err("threshold", f"{offer.id} takes no data threshold (only metered offers do)")
            threshold = parse_volume(spec["threshold"])
            lo, hi = offer.thresholds
            if not lo <= threshold <= hi:
                raise err(
                    "threshold",
                    f"threshold {format_volume(threshold)} outside {format_volume(lo)}..{format_volume(hi)}",
                )
        fixed_ip = bool(spec.get("fixed_ip", False))
        if fixed_ip:
            fip = rules.fixed_ip
            if fip is None:
                raise err("fixed_ip", f"no fixed IP option on {rules.label} for {offer.provider}")
            if "data" not in offer.services:
                raise err("fixed_ip", f"{offer.id} has no data: no fixed IP")
            if fip["applies_to"] == "blocked_data" and not offer.metered and offer.blocked is not True:
                raise err(
                    "fixed_ip",
                    f"on {rules.label} the fixed IP is only available on blocked data plans "
                    "and metered offers",
                )
        act = spec.get("activated")
        exp = spec.get("expires")
        try:
            activated = parse_instant(act) if act else None
            expires = parse_instant(exp) if exp else None
        except ValueError as exc:
            raise err("activated" if act and not exp else "expires", str(exc)) from None
        return Subscription(
            id=str(spec["id"]),
            offer=offer,
            activated=activated,
            expires=expires,
            cutoffs=cutoffs,
            options=options,
            threshold=threshold,
            fixed_ip=fixed_ip,
        )

    def load_subscriptions(self, path: str | Path) -> list[Subscription]:
        """A ``lines:`` file: each line checked against the catalogue."""
        doc = load(path, load_schema(SCHEMA))
        if "lines" not in doc:
            raise DataError(str(path), doc.line, "expected a 'lines:' list of subscriptions")
        seen: dict[str, int | None] = {}
        out = []
        for i, line in enumerate(doc["lines"]):
            if line["id"] in seen:
                raise doc["lines"].error(
                    i, f"duplicate line id {line['id']!r} (first at line {seen[line['id']]})"
                )
            seen[line["id"]] = doc["lines"].line_of(i)
            out.append(self.subscription(line))
        return out


def _order_key(value: Any) -> Any:
    """A hashable form of an order that tells apart values of different types (``50`` from
    ``50.0`` or ``"50"``: they are checked and shown differently)."""
    if isinstance(value, dict):
        return (dict, tuple((k, _order_key(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value), tuple(_order_key(v) for v in value))
    return (type(value), value)


def _at(where: Any, key: str, err: Any, message: str) -> DataError:
    if isinstance(where, LineDict):
        return where.error(key, message)
    return err(key, message)


_DEFAULT: Catalogue | None = None


def default_catalogue() -> Catalogue:
    """The bundled catalogue (``fixtures/plans/*.yaml``), loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Catalogue()
    return _DEFAULT


__all__ = ["Catalogue", "NetworkRules", "Offer", "Provider", "Subscription", "default_catalogue", "GB"]
