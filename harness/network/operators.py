"""Operator data: APN settings, SIM references, fixed-IP and partner-delivery rules.

Every provider is a YAML file in ``fixtures/operators/`` validated by
``harness/schema/operators.schema.json`` through :func:`csim.yamlsrc.load`, so a mistake reads
``file:line: what is wrong``. An :class:`ApnSetting` carries both what a terminal stores (the
fields of Android's ``apns-conf.xml``) and how the home network serves the APN (accepted PDN types,
whether the login is checked, the default APN of TS 23.401 §5.3.2.1).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csim import yamlsrc
from csim.memo import remember
from csim.yamlsrc import DataError
from harness.paths import FIXTURES, SCHEMAS

OPERATORS_DIR = FIXTURES / "operators"
SCHEMA_PATH = SCHEMAS / "operators.schema.json"

#: terminal "protocol" values (apns-conf.xml) -> the PDN types they request (TS 24.301 §9.9.4.10)
PROTOCOL_PDN_TYPE = {"IP": "ipv4", "IPV6": "ipv6", "IPV4V6": "ipv4v6"}


@dataclass(frozen=True, slots=True)
class ApnSetting:
    """One APN entry as a terminal stores it, plus how the home network serves it."""

    name: str
    apn: str
    mcc: str = ""
    mnc: str = ""
    user: str = ""
    password: str = ""
    auth: str = "none"                       # none | pap | chap | pap_or_chap
    types: tuple[str, ...] = ("default",)
    protocol: str = "IP"                     # home: IP | IPV6 | IPV4V6
    roaming_protocol: str = "IP"             # when roaming
    mmsc: str = ""
    mms_proxy: str = ""
    mms_port: int | None = None
    mvno_type: str = ""                      # "" | spn | imsi | gid | iccid
    mvno_match_data: str = ""
    carrier_enabled: bool = True
    # network side (not part of a terminal's database)
    login: str = "none"                      # none | subscriber
    pdn_types: tuple[str, ...] = ("ipv4", "ipv6", "ipv4v6")
    default: bool = False
    dns: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()  # apns-conf attributes kept verbatim for round trips

    @property
    def plmn(self) -> str:
        return f"{self.mcc}-{self.mnc}" if self.mcc else ""

    @property
    def numeric(self) -> str:
        """MCC+MNC as Android's ``numeric`` column."""
        return f"{self.mcc}{self.mnc}"

    def serves(self, apn_type: str) -> bool:
        """Whether the entry can carry ``apn_type`` traffic (``*`` serves every type)."""
        return "*" in self.types or apn_type in self.types

    def pdn_type(self, roaming: bool) -> str:
        """PDN type a terminal requests with this entry, home or roaming."""
        return PROTOCOL_PDN_TYPE[self.roaming_protocol if roaming else self.protocol]


@dataclass(frozen=True, slots=True)
class PlanTraits:
    """The traits of the line's tariff plan that the operator's rules look at (kind, blocked, data)."""

    kind: str = "unlimited"   # unlimited | voice_only | small_data | data_only | travel | metered | ...
    blocked: bool = True
    data: bool = True

    def matches(self, rule: Mapping[str, Any]) -> bool:
        if "kind" in rule and self.kind not in rule["kind"]:
            return False
        if "blocked" in rule and self.blocked != rule["blocked"]:
            return False
        return "data" not in rule or self.data == rule["data"]


@dataclass(frozen=True, slots=True)
class PartnerDelivery:
    """L2TP delivery of the data to a partner platform: login ``msisdn@<partner><n>.<suffix>``."""

    apn: str
    auth: tuple[str, ...]
    realm_suffix: str
    msisdn_digits: int
    lptype: int | None = None


@dataclass(frozen=True, slots=True)
class FixedIpOption:
    """The paid fixed-IP option: APN, authentication, login format, plans, prices, cancellation."""

    apn: str
    auth: tuple[str, ...]
    login_domain: str | None
    login_msisdn_digits: int | None
    allowed_plans: tuple[Mapping[str, Any], ...]
    price_internet_only: float
    price_partner_l2tp: float
    cancellation: str


@dataclass(frozen=True, slots=True)
class SimReference:
    """A provider's SIM reference family and its APN rules by activation date."""

    references: tuple[str, ...]
    apns: tuple[tuple[str, dt.date | None, dt.date | None], ...]  # (apn, activated_from, activated_before)

    def apn_for(self, activation: dt.date | None) -> str:
        """The APN for a card activated on ``activation`` (``activated_from`` is inclusive)."""
        for apn, start, before in self.apns:
            if start is None and before is None:
                return apn
            if activation is None:
                continue
            if (start is None or activation >= start) and (before is None or activation < before):
                return apn
        dates = ", ".join(
            f"{apn} ({'from ' + str(s) if s else ''}{' before ' + str(b) if b else ''})"
            for apn, s, b in self.apns
        )
        raise LookupError(
            f"SIM reference {self.references[0]}: the APN depends on the activation date "
            f"({'none given' if activation is None else activation}): {dates}"
        )


@dataclass(frozen=True, slots=True)
class Operator:
    """A provider or network operator loaded from ``fixtures/operators/<key>.yaml``."""

    key: str
    name: str
    plmn: str = ""
    apns: tuple[ApnSetting, ...] = ()
    national_digits: tuple[int, ...] = ()
    partner_delivery: PartnerDelivery | None = None
    fixed_ip: FixedIpOption | None = None
    session_cap: int | None = None
    cap_lifted_by_fixed_ip: bool = False
    roaming_forbidden_plans: tuple[Mapping[str, Any], ...] = ()
    sim_references: tuple[SimReference, ...] = ()
    source: str = ""

    @property
    def mcc(self) -> str:
        return self.plmn.partition("-")[0]

    @property
    def mnc(self) -> str:
        return self.plmn.partition("-")[2]

    def apn(self, name: str) -> ApnSetting | None:
        """The operator's entry for APN ``name`` (APNs compare case-insensitively, TS 23.003 §9.1)."""
        wanted = name.lower()
        for setting in self.apns:
            if setting.apn.lower() == wanted:
                return setting
        return None

    @property
    def default_apn(self) -> ApnSetting | None:
        for setting in self.apns:
            if setting.default:
                return setting
        return None

    def reference(self, name: str) -> SimReference | None:
        for ref in self.sim_references:
            if name in ref.references:
                return ref
        return None

    def roaming_allowed(self, plan: PlanTraits) -> bool:
        return not any(plan.matches(rule) for rule in self.roaming_forbidden_plans)


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _apn_setting(doc: Mapping[str, Any], plmn: str) -> ApnSetting:
    mcc, _, mnc = plmn.partition("-")
    net = doc.get("network", {})
    return ApnSetting(
        name=doc["name"],
        apn=doc["apn"],
        mcc=mcc,
        mnc=mnc,
        user=doc.get("user", ""),
        password=doc.get("password", ""),
        auth=doc.get("auth", "none"),
        types=tuple(doc.get("types", ("default",))),
        protocol=doc.get("protocol", "IP"),
        roaming_protocol=doc.get("roaming_protocol", doc.get("protocol", "IP")),
        mmsc=doc.get("mmsc", ""),
        mms_proxy=doc.get("mms_proxy", ""),
        mms_port=doc.get("mms_port"),
        login=net.get("login", "none"),
        pdn_types=tuple(net.get("pdn_types", ("ipv4", "ipv6", "ipv4v6"))),
        default=bool(net.get("default", False)),
        dns=tuple(net.get("dns", ())),
    )


def operator_from_doc(doc: Mapping[str, Any]) -> Operator:
    """Build an :class:`Operator` from a validated document; cross-field errors name their line."""
    plmn = doc.get("plmn", "")
    apns = tuple(_apn_setting(a, plmn) for a in doc.get("apns", ()))
    names = [a.apn.lower() for a in apns]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise doc["apns"].error(i, f"apns/{i}: APN {apns[i].apn!r} listed twice")
    if sum(a.default for a in apns) > 1:
        raise doc.error("apns", "more than one APN has network.default: true")

    def known_apn(section: str) -> str:
        apn = doc[section]["apn"]
        if apn.lower() not in names:
            raise doc[section].error("apn", f"{section}/apn: {apn!r} is not one of this operator's apns")
        return apn

    partner = None
    if "partner_delivery" in doc:
        p = doc["partner_delivery"]
        partner = PartnerDelivery(
            apn=known_apn("partner_delivery"), auth=tuple(p["auth"]), realm_suffix=p["realm_suffix"],
            msisdn_digits=p["msisdn_digits"], lptype=p.get("lptype"),
        )
    fixed = None
    if "fixed_ip" in doc:
        f = doc["fixed_ip"]
        login = f.get("login", {})
        fixed = FixedIpOption(
            apn=known_apn("fixed_ip"), auth=tuple(f["auth"]), login_domain=login.get("domain"),
            login_msisdn_digits=login.get("msisdn_digits"),
            allowed_plans=tuple(f["allowed_plans"]),
            price_internet_only=float(f["monthly_price_eur"]["internet_only"]),
            price_partner_l2tp=float(f["monthly_price_eur"]["partner_l2tp"]),
            cancellation=f["cancellation"],
        )
    refs = []
    seen: set[str] = set()
    for i, r in enumerate(doc.get("sim_references", ())):
        for name in r["references"]:
            if name in seen:
                raise doc["sim_references"].error(i, f"sim_references/{i}: reference {name!r} listed twice")
            seen.add(name)
        rules = []
        for j, a in enumerate(r["apns"]):
            start, before = _date(a.get("activated_from")), _date(a.get("activated_before"))
            if start and before and start >= before:
                raise r["apns"].error(
                    j, f"sim_references/{i}/apns/{j}: activated_from is not before activated_before"
                )
            rules.append((a["apn"], start, before))
        refs.append(SimReference(tuple(r["references"]), tuple(rules)))
    cap = doc.get("session_cap", {})
    return Operator(
        key=doc["key"],
        name=doc["name"],
        plmn=plmn,
        apns=apns,
        national_digits=tuple(doc.get("msisdn", {}).get("national_digits", ())),
        partner_delivery=partner,
        fixed_ip=fixed,
        session_cap=cap.get("limit"),
        cap_lifted_by_fixed_ip=bool(cap.get("lifted_by_fixed_ip", False)),
        roaming_forbidden_plans=tuple(doc.get("roaming_data", {}).get("forbidden_plans", ())),
        sim_references=tuple(refs),
        source=doc.get("source", ""),
    )


def schema() -> dict[str, Any]:
    return yamlsrc.load_schema(SCHEMA_PATH)


def load_operator(path: str | Path) -> Operator:
    """Load and validate one operator file."""
    doc = yamlsrc.load(path, schema())
    op = operator_from_doc(doc)
    stem = Path(path).stem
    if op.key != stem:
        raise doc.error("key", f"key: {op.key!r} does not match the file name {stem!r}")
    return op


@dataclass
class OperatorDB:
    """All operators and providers, by key, with look-ups by PLMN and SIM reference."""

    operators: dict[str, Operator] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: str | Path = OPERATORS_DIR) -> OperatorDB:
        db = cls()
        for path in sorted(Path(directory).glob("*.yaml")):
            db.add(load_operator(path))
        return db

    def add(self, op: Operator) -> None:
        if op.key in self.operators:
            raise DataError(op.key, None, f"operator {op.key!r} defined twice")
        self.operators[op.key] = op

    def __getitem__(self, key: str) -> Operator:
        try:
            return self.operators[key]
        except KeyError:
            raise KeyError(f"unknown operator {key!r}; known: {', '.join(sorted(self.operators))}") from None

    def __iter__(self) -> Iterator[Operator]:
        return iter(self.operators.values())

    def by_plmn(self, plmn: str) -> Operator | None:
        for op in self.operators.values():
            if op.plmn == plmn:
                return op
        return None

    def reference(self, name: str) -> tuple[Operator, SimReference]:
        for op in self.operators.values():
            ref = op.reference(name)
            if ref is not None:
                return op, ref
        raise LookupError(f"unknown SIM reference {name!r}")

    def apn_for_reference(self, name: str, activation: dt.date | None) -> str:
        """The APN of SIM reference ``name`` activated on ``activation``."""
        return self.reference(name)[1].apn_for(activation)

    def apn_settings(self) -> list[ApnSetting]:
        """Every network operator's APN entries, as a terminal database would list them."""
        return [a for op in self.operators.values() if op.plmn for a in op.apns]


#: directory -> (its files' versions, the operators loaded from them): a scenario session asks for
#: the operators, 5 ms to load the bundled ones against a 0.6 ms session set-up
#: (bench/scenario_replay.py)
_DEFAULT_KEY = str(OPERATORS_DIR)
_loaded: dict[str, tuple[tuple[tuple[str, int, int], ...], dict[str, Operator]]] = {}


def _versions(directory: str) -> tuple[tuple[str, int, int], ...]:
    """(name, mtime, size) of the directory's operator files, in name order."""
    out = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(".yaml"):
                st = entry.stat()
                out.append((entry.name, st.st_mtime_ns, st.st_size))
    out.sort()
    return tuple(out)


def load_all(directory: str | Path = OPERATORS_DIR) -> OperatorDB:
    """Every operator of ``directory``, loaded once per version of its files.

    The operators are frozen and shared; each call gets its own :class:`OperatorDB` around them.
    """
    key = str(directory)
    versions = _versions(key)
    hit = _loaded.get(key)
    if hit is None or hit[0] != versions:
        hit = remember(_loaded, key, (versions, OperatorDB.load(directory).operators), 16)
    return OperatorDB(dict(hit[1]))


def current(directory: str | Path = OPERATORS_DIR) -> OperatorDB:
    """The operators of the latest :func:`load_all` of ``directory``, without looking at the files
    again: a scenario's run uses the operators its load checked. Loaded now if never loaded."""
    return OperatorDB(dict(loaded(directory)))


def loaded(directory: str | Path = OPERATORS_DIR) -> Mapping[str, Operator]:
    """The shared, read-only table behind :func:`current` (the same object until the files of
    ``directory`` change and are loaded again): callers that keep an :class:`OperatorDB` per
    version compare it by identity."""
    key = _DEFAULT_KEY if directory is OPERATORS_DIR else str(directory)
    hit = _loaded.get(key)
    if hit is None:
        load_all(directory)
        hit = _loaded[key]
    return hit[1]


def iter_apns(operators: Iterable[Operator]) -> Iterator[ApnSetting]:
    for op in operators:
        yield from op.apns
