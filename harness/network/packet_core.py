"""Network side of PDP context / PDN connection activation.

:class:`NetworkDataPlane` is a home operator's packet core (MME/SGW/PGW for 4G, SGSN/GGSN for 3G)
with its AAA and the partners' L2TP network servers. :meth:`NetworkDataPlane.activate` checks an
:class:`ActivationRequest` the way the core would and answers an :class:`ActivationResult`:
accepted with an address, or rejected with the session-management cause a real network sends
(TS 24.301 §9.9.4.4 ESM cause, TS 24.008 §10.5.6.6 SM cause — the values are shared). The result
keeps every exchange (GTP identifiers, RADIUS, L2TP/PPP) so :mod:`harness.network.wire` can put it on the
wire.

A session the AAA authenticated is accounted (RFC 2866): :meth:`NetworkDataPlane.carry` counts its
user-plane octets, Interim-Updates report them at the session's Acct-Interim-Interval (RFC 2869
§2.1, §5.16) and the Stop at its end; after each record the charging side is given the octets the
AAA *saw* (:meth:`~harness.network.aaa.Aaa.seen`), so a cut-off or a block follows the AAA's records.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeVar

from csim.memo import once
from harness.events import EventLog
from harness.network.aaa import Aaa, aaa_users, chap_response, credentials_match, for_users
from harness.network.login import LoginError, international_msisdn, parse_login
from harness.network.operators import ApnSetting, Operator, PlanTraits

# TS 24.301 §9.9.4.4 / TS 24.008 §10.5.6.6
CAUSE_ODB = 8
CAUSE_INSUFFICIENT_RESOURCES = 26
CAUSE_UNKNOWN_APN = 27
CAUSE_UNKNOWN_PDN_TYPE = 28
CAUSE_USER_AUTH_FAILED = 29
CAUSE_REJECTED_BY_GW = 30
CAUSE_UNSPECIFIED = 31
CAUSE_OPTION_NOT_SUPPORTED = 32
CAUSE_NOT_SUBSCRIBED = 33
CAUSE_IPV4_ONLY = 50
CAUSE_IPV6_ONLY = 51

CAUSE_NAMES = {
    CAUSE_ODB: "operator determined barring",
    CAUSE_INSUFFICIENT_RESOURCES: "insufficient resources",
    CAUSE_UNKNOWN_APN: "missing or unknown APN",
    CAUSE_UNKNOWN_PDN_TYPE: "unknown PDN type",
    CAUSE_USER_AUTH_FAILED: "user authentication failed",
    CAUSE_REJECTED_BY_GW: "request rejected by Serving GW or PDN GW",
    CAUSE_UNSPECIFIED: "request rejected, unspecified",
    CAUSE_OPTION_NOT_SUPPORTED: "service option not supported",
    CAUSE_NOT_SUBSCRIBED: "requested service option not subscribed",
    CAUSE_IPV4_ONLY: "PDN type IPv4 only allowed",
    CAUSE_IPV6_ONLY: "PDN type IPv6 only allowed",
}

#: NAS cause -> GTPv2 cause of the Create Session Response (TS 29.274 §8.4, mapping of TS 29.274 Annex C)
GTPV2_CAUSE = {
    0: 16, CAUSE_IPV4_ONLY: 18, CAUSE_IPV6_ONLY: 18,
    CAUSE_ODB: 89, CAUSE_INSUFFICIENT_RESOURCES: 73, CAUSE_UNKNOWN_APN: 78, CAUSE_UNKNOWN_PDN_TYPE: 83,
    CAUSE_USER_AUTH_FAILED: 92, CAUSE_REJECTED_BY_GW: 96, CAUSE_UNSPECIFIED: 94,
    CAUSE_OPTION_NOT_SUPPORTED: 68, CAUSE_NOT_SUBSCRIBED: 93,
}
#: NAS cause -> GTPv1 cause of the Create PDP Context Response (TS 29.060 §7.7.1)
GTPV1_CAUSE = {
    0: 128, CAUSE_IPV4_ONLY: 129, CAUSE_IPV6_ONLY: 129,
    CAUSE_ODB: 200, CAUSE_INSUFFICIENT_RESOURCES: 199, CAUSE_UNKNOWN_APN: 219, CAUSE_UNKNOWN_PDN_TYPE: 220,
    CAUSE_USER_AUTH_FAILED: 209, CAUSE_REJECTED_BY_GW: 194, CAUSE_UNSPECIFIED: 204,
    CAUSE_OPTION_NOT_SUPPORTED: 200, CAUSE_NOT_SUBSCRIBED: 222,
}

PDN_TYPES = ("ipv4", "ipv6", "ipv4v6")

ACCT_START, ACCT_STOP, ACCT_INTERIM = 1, 2, 3   # Acct-Status-Type, RFC 2866 §5.1
#: Acct-Terminate-Cause, RFC 2866 §5.10
TERMINATE_USER_REQUEST, TERMINATE_LOST_SERVICE, TERMINATE_ADMIN_RESET = 1, 3, 6


def line_number(msisdn: str) -> str:
    """The line's MSISDN as E.164 digits (TS 23.003 §3.3): French numbers converted, others as stored."""
    try:
        return international_msisdn(msisdn)
    except LoginError:
        return "".join(c for c in msisdn if c.isdigit())


#: address pools and prefixes by their text (networks are immutable): a packet core is built for
#: most data connections, 1.3 parses of 9 us per data_connect step, 9 % of its 129 us
#: (bench/scenario_replay.py)
_networks: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A parsed address pool or prefix."""
    return once(_networks, text, ipaddress.ip_network, 64)


def _host(pool: str, k: int) -> str:
    """The text of the ``k``-th address of the pool ``pool``."""
    return _v4_text(int(_network(pool).network_address) + k)


def _v4_text(value: int) -> str:
    """The dotted-decimal text of an IPv4 address (RFC 791 §3.2)."""
    return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def _prefix64_text(value: int) -> str:
    """The text of the /64 prefix starting at address ``value`` (RFC 5952 §4): its low 64 bits are
    zero, so the longest run of zero fields is the one at the end, written ``::`` (§4.2.3)."""
    head = [value >> 112, value >> 96 & 0xFFFF, value >> 80 & 0xFFFF, value >> 64 & 0xFFFF]
    while head and not head[-1]:
        head.pop()
    return ":".join([f"{h:x}" for h in head]) + "::/64"


def _chap_challenge(imsi: str, apn: str | None) -> bytes:
    """The terminal's CHAP challenge for a request: derived from the IMSI and APN, so a replay
    sends the same packets."""
    return hashlib.sha256(f"{imsi}/{apn}".encode()).digest()[:16]


_R = TypeVar("_R")


def _strict_record(cls: type[_R]) -> type[_R]:
    """A per-request record (a named tuple, cheap to build) that compares like a frozen dataclass:
    equal only to a record of its own class with equal fields, hashed by its fields."""

    def __eq__(self: tuple, other: object) -> bool:
        return tuple.__eq__(self, other) if other.__class__ is self.__class__ else NotImplemented

    def __ne__(self: tuple, other: object) -> bool:
        return tuple.__ne__(self, other) if other.__class__ is self.__class__ else NotImplemented

    cls.__eq__ = __eq__  # type: ignore[method-assign,assignment]
    cls.__ne__ = __ne__  # type: ignore[method-assign,assignment]
    cls.__hash__ = tuple.__hash__  # type: ignore[method-assign,assignment]
    return cls


@_strict_record
class ActivationRequest(NamedTuple):
    """What the terminal asks for: APN, PDN type and the PCO credentials (TS 24.008 §10.5.6.3)."""

    imsi: str
    apn: str | None
    pdn_type: str = "ipv4v6"
    auth: str = "none"              # none | pap | chap
    username: str = ""
    password: str = ""              # PAP: sent in clear in the PCO
    chap_id: int = 1
    chap_challenge: bytes = b""
    chap_value: bytes = b""         # CHAP: only the response travels
    rat: str = "4G"
    serving_plmn: str = ""
    roaming: bool = False

    @classmethod
    def with_login(
        cls, imsi: str, apn: str | None, auth: str, username: str, password: str, *, pdn_type: str = "ipv4v6",
        chap_id: int = 1, rat: str = "4G", serving_plmn: str = "", roaming: bool = False,
    ) -> ActivationRequest:
        """A request carrying ``username``/``password`` with PAP or CHAP as a terminal would send them
        (any other ``auth``: no credentials).

        The CHAP challenge is derived from the IMSI and APN so a replay gives the same packets.
        """
        if auth == "chap":
            challenge = _chap_challenge(imsi, apn)
            ident = int(chap_id)
            return cls(imsi, apn, pdn_type, "chap", username, "", ident, challenge,
                       chap_response(ident, password, challenge), rat, serving_plmn, roaming)
        if auth == "pap":
            return cls(imsi, apn, pdn_type, "pap", username, password, chap_id, b"", b"", rat, serving_plmn,
                       roaming)
        return cls(imsi, apn, pdn_type, "none", "", "", chap_id, b"", b"", rat, serving_plmn, roaming)


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A line as the home network's subscriber data knows it."""

    imsi: str
    msisdn: str                    # national or international; compared in international digits
    plan: PlanTraits = PlanTraits()
    fixed_ip: str | None = None    # the fixed-IP option: the line's address
    login: str = ""                # fixed-IP login (contract's technical information)
    password: str = ""
    partner: str | None = None     # partner-platform delivery subscribed (partner name)
    account: str = ""              # the customer account, for simultaneous-session caps
    barred: bool = False
    apns: tuple[str, ...] = ()     # subscribed APNs (TS 29.272 §7.3.35); empty: all of the operator's
    apn_rule: str = ""             # why these APNs (SIM reference, activation date), quoted in rejections
    interim_interval: int | None = None   # the AAA's Acct-Interim-Interval for its login (RFC 2869 §5.16)


@dataclass(frozen=True, slots=True)
class PartnerLns:
    """A partner's L2TP network server for one realm (``partner.otd``, ``partner2.otd``...)."""

    realm: str
    address: str
    host_name: str
    users: dict[str, str]          # login -> password, set by the partner
    pool: str = "10.200.0.0/24"
    dns: tuple[str, ...] = ("10.200.0.53",)
    fixed: dict[str, str] = field(default_factory=dict)   # login -> fixed address


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Addresses of the network elements, used on the wire (TEST-NET-1, RFC 5737)."""

    mme: str = "192.0.2.10"
    sgsn: str = "192.0.2.11"
    sgw: str = "192.0.2.20"
    pgw: str = "192.0.2.30"
    aaa: str = "192.0.2.40"


@_strict_record
class GtpIds(NamedTuple):
    """GTP sequence number, tunnel endpoint identifiers and bearer of one activation (TS 29.274 §5)."""

    seq: int
    mme_teid: int
    sgw_teid: int
    sgw_s5_teid: int
    pgw_teid: int
    ebi: int = 5


@_strict_record
class RadiusExchange(NamedTuple):
    """One Access-Request and its answer between the PGW/GGSN (NAS) and the AAA (RFC 2865)."""

    identifier: int
    authenticator: bytes
    secret: str
    nas_ip: str
    server_ip: str
    username: str
    auth: str
    password: str = ""
    chap_id: int = 0
    chap_challenge: bytes = b""
    chap_value: bytes = b""
    calling_station: str = ""
    called_station: str = ""
    imsi: str = ""
    accepted: bool = False
    framed_ip: str | None = None
    reply_message: str = ""
    answer: bytes = b""            # the AAA's answer as it travelled (empty: answered in-process)
    interim_interval: int | None = None   # Acct-Interim-Interval of the Access-Accept, RFC 2869 §5.16


@_strict_record
class AccountingRecord(NamedTuple):
    """One Accounting-Request of a session authenticated by the AAA, and its answer (RFC 2866 §4)."""

    identifier: int
    status: int                    # 1 Start, 2 Stop, 3 Interim-Update (RFC 2866 §5.1)
    session_id: str                # Acct-Session-Id, §5.5
    secret: str
    nas_ip: str
    server_ip: str
    username: str
    framed_ip: str | None
    imsi: str
    calling_station: str
    called_station: str
    input_octets: int = 0
    output_octets: int = 0
    session_time: int = 0          # seconds, §5.7
    terminate_cause: int | None = None   # §5.10, on Stop
    answer: bytes = b""            # the AAA's Accounting-Response as it travelled (empty: in-process)

    @property
    def carries_octets(self) -> bool:
        """Interim-Update and Stop report octets and session time; a Start does not (RFC 2866 §5.1)."""
        return self.status != ACCT_START


@_strict_record
class L2tpCall(NamedTuple):
    """An L2TP tunnel and session from the LAC (PGW/GGSN) to a partner LNS, with its PPP (RFC 2661)."""

    lac_ip: str
    lns_ip: str
    lac_host: str
    lns_host: str
    lac_tunnel: int
    lns_tunnel: int
    lac_session: int
    lns_session: int
    calling_number: str
    called_number: str
    auth: str
    username: str
    password: str = ""
    chap_id: int = 0
    chap_challenge: bytes = b""
    chap_value: bytes = b""
    lac_magic: int = 0
    lns_magic: int = 0
    accepted: bool = False
    address: str | None = None
    lns_ppp_ip: str = ""
    dns: tuple[str, ...] = ()
    message: str = ""
    lptype: int | None = None


@_strict_record
class ActivationResult(NamedTuple):
    """Accept (with address) or reject (with cause) of one activation, and what was exchanged."""

    request: ActivationRequest
    accepted: bool
    cause: int                     # 0 when accepted without remark; else TS 24.301 §9.9.4.4 value
    reason: str
    operator: str
    apn: str | None
    imsi: str
    msisdn: str = ""
    pdn_type: str | None = None
    ipv4: str | None = None
    ipv6_prefix: str | None = None
    dns: tuple[str, ...] = ()
    delivery: str = "internet"     # internet | fixed_ip | partner
    gtp: GtpIds | None = None
    radius: RadiusExchange | None = None
    l2tp: L2tpCall | None = None
    session_id: int | None = None
    endpoints: Endpoints = Endpoints()

    @property
    def cause_name(self) -> str:
        return CAUSE_NAMES.get(self.cause, "request accepted") if self.cause else "request accepted"

    @property
    def gtpv2_cause(self) -> int:
        return GTPV2_CAUSE.get(self.cause, 94)

    @property
    def gtpv1_cause(self) -> int:
        return GTPV1_CAUSE.get(self.cause, 204)

    @property
    def address(self) -> str | None:
        return self.ipv4 or self.ipv6_prefix


@_strict_record
class Release(NamedTuple):
    """The network's release of an active session (TS 23.401 §5.10.3): Delete Session on S11/S5
    (TS 29.274 §7.2.9) or Delete PDP Context on Gn (TS 29.060 §7.3.5), and for partner delivery
    PPP LCP Terminate (RFC 1661 §5.5), L2TP CDN and StopCCN (RFC 2661 §5.7)."""

    session: ActivationResult
    reason: str
    by_policy: bool = False        # the policy side ended it (RFC 5176 Disconnect-Request first)


class Charging(Protocol):
    """The policy and charging side consulted at activation (Gx/Gy, TS 29.212 / TS 32.299).

    ``open`` answers ``(token, 0, "")`` to admit the session or ``(None, cause, reason)`` to refuse it
    with a TS 24.301 §9.9.4.4 cause; ``close`` ends the admitted session ``token``; ``usage`` meters
    ``octets`` more of session ``token``, as the AAA's accounting records show them (RFC 2866 §5.3).
    """

    def open(self, request: ActivationRequest, subscriber: Subscriber) -> tuple[Any, int, str]: ...

    def close(self, token: Any) -> None: ...

    def usage(self, token: Any, octets: int) -> None: ...


class _Meter:
    """The user-plane counter of one accounted session (RFC 2866 §5.3, §5.4, §5.7)."""

    __slots__ = ("session_id", "started", "reported", "interval", "input", "output", "charged")

    def __init__(self, session_id: str, now: float, interval: int) -> None:
        self.session_id = session_id   # Acct-Session-Id, unique per session (RFC 2866 §5.5)
        self.started = self.reported = now
        self.interval = interval       # seconds between Interim-Updates, RFC 2869 §5.16
        self.input = self.output = 0   # octets from / to the terminal
        self.charged = 0               # octets of the AAA's records already given to the charging side


class _Reject(Exception):
    def __init__(self, cause: int, reason: str, *, radius: RadiusExchange | None = None,
                 l2tp: L2tpCall | None = None) -> None:
        super().__init__(reason)
        self.cause = cause
        self.reason = reason
        self.radius = radius
        self.l2tp = l2tp


class NetworkDataPlane:
    """A home operator's packet core, AAA and partner LNSs answering activation requests."""

    def __init__(
        self,
        operator: Operator,
        subscribers: Iterable[Subscriber],
        *,
        lns: Iterable[PartnerLns] = (),
        pool_v4: str = "100.64.0.0/16",
        prefix_v6: str = "2001:db8:100::/48",
        aaa_secret: str = "testing123",  # noqa: S107 - the stock FreeRADIUS localhost client secret
        endpoints: Endpoints = Endpoints(),
        log: EventLog | None = None,
        charging: Charging | None = None,
        aaa: Aaa | None = None,
        seed: str | int = 0,
        interim_interval: int = 600,
    ) -> None:
        """``aaa``: the AAA back-end (default: :func:`harness.network.aaa.for_users` of the
        subscribers' logins, built on the first Access-Request); ``seed``: the seed of the generator
        of the Request Authenticators (the same seed, the same packets); ``interim_interval``: the
        NAS's seconds between Interim-Updates when the Access-Accept gives no Acct-Interim-Interval
        (RFC 2869 §5.16)."""
        self.operator = operator
        self._aaa = aaa
        self.seed = seed
        self._rng: random.Random | None = None   # seeded on the first Access-Request
        self.charging = charging
        #: sessions the account's other lines hold elsewhere, counted by the simultaneous-session cap
        self.account_sessions: dict[str, int] = {}
        self._tokens: dict[int, Any] = {}
        self.subscribers = {s.imsi: s for s in subscribers}
        self.lns = {x.realm: x for x in lns}
        self.endpoints = endpoints
        self.aaa_secret = aaa_secret
        self.log = log
        self._pool_v4 = _network(pool_v4)
        self._hosts_v4 = self._pool_v4.num_addresses - 2  # without the network and broadcast addresses
        self._prefix_v6 = _network(prefix_v6)
        self._base_v4 = int(self._pool_v4.network_address)
        self._base_v6 = int(self._prefix_v6.network_address)
        self._used_v4: set[str] = set()
        self._next_v4 = 0
        self._next_v6 = 0
        self._lns_next: dict[str, int] = {}
        self._counter = 0
        self.sessions: dict[int, ActivationResult] = {}
        #: what reached the wire, in order: every activation request, accounting record and release
        self.exchanges: list[ActivationResult | Release | AccountingRecord] = []
        self.interim_interval = interim_interval
        #: accounted sessions' user-plane counters, by session
        self.meters: dict[int, _Meter] = {}
        self._acct_ids = 0
        self._acct_rng: random.Random | None = None  # Acct-Session-Ids, seeded on the first Start

    # -- public -----------------------------------------------------------------------------------

    def activate(self, request: ActivationRequest) -> ActivationResult:
        """Check and serve one PDN connectivity / PDP context activation request."""
        self._counter += 1
        n = self._counter
        gtp = GtpIds(n, 0x1000 + n, 0x2000 + n, 0x3000 + n, 0x4000 + n)
        imsi = request.imsi
        sub = self.subscribers.get(imsi)
        msisdn = ""
        try:
            if sub is None:
                raise _Reject(CAUSE_REJECTED_BY_GW, f"IMSI {imsi} is not a {self.operator.name} subscriber")
            msisdn = line_number(sub.msisdn)
            result = self._serve(request, sub, n, msisdn, gtp)
        except _Reject as rej:  # a rejection keeps the APN as requested
            result = ActivationResult(request, False, rej.cause, rej.reason, self.operator.key, request.apn,
                                      imsi, msisdn, gtp=gtp, radius=rej.radius, l2tp=rej.l2tp,
                                      endpoints=self.endpoints)
        else:
            if self.charging is not None:
                token, cause, why = self.charging.open(request, sub)
                if token is None:
                    self._release(result.ipv4, result.delivery, sub)
                    result = ActivationResult(request, False, cause, why, result.operator, result.apn, imsi,
                                              msisdn, delivery=result.delivery, gtp=gtp, radius=result.radius,
                                              l2tp=result.l2tp, endpoints=self.endpoints)
                else:
                    self._tokens[n] = token
        if result.accepted:
            self.sessions[n] = result
        self.exchanges.append(result)
        if result.accepted and result.radius is not None:
            self._account(result, ACCT_START)
        self._record(result)
        return result

    def deactivate(self, session_id: int, reason: str = "released by the terminal", *,
                   terminate_cause: int = TERMINATE_USER_REQUEST, by_policy: bool = False) -> None:
        """Release a session, its dynamic address and its charging session; ``terminate_cause``:
        the Acct-Terminate-Cause of its accounting Stop (RFC 2866 §5.10, 1 User-Request);
        ``by_policy``: the policy side disconnects the session (RFC 5176)."""
        result = self.sessions.pop(session_id)
        self.exchanges.append(Release(result, reason, by_policy))
        if result.radius is not None:
            self._account(result, ACCT_STOP, terminate_cause)
        self._release_address(result, self.subscribers.get(result.imsi))
        token = self._tokens.pop(session_id, None)
        if token is not None and self.charging is not None:
            self.charging.close(token)
        if self.log is not None:
            self.log.record("pdn_released", session=session_id, imsi=result.imsi, apn=result.apn,
                            reason=reason)

    def carry(self, session_id: int, downlink: int, uplink: int = 0) -> bool:
        """The user plane of session ``session_id`` carries ``downlink`` octets to the terminal and
        ``uplink`` from it now (Acct-Output/Input-Octets, RFC 2866 §5.4 / §5.3), after the interim
        timers that ran out before (:meth:`tick`). False when the session is not accounted (no
        AAA): nothing counted."""
        meter = self.meters.get(session_id)
        if meter is None:
            return False
        self.tick()
        meter.output += downlink
        meter.input += uplink
        return True

    def tick(self) -> None:
        """Send the Interim-Update (RFC 2869 §2.1) of every accounted session whose interval ran out
        by the log's clock, timed at the end of that interval with the octets carried until then.
        The clock moves in steps: when one spans several intervals, the record of the last."""
        now = self._now()
        for n, meter in list(self.meters.items()):
            due = now - meter.reported
            if due >= meter.interval and n in self.sessions:
                self._account(self.sessions[n], ACCT_INTERIM,
                              at=meter.reported + due // meter.interval * meter.interval)

    def token(self, session_id: int) -> Any:
        """The charging side's handle of an active session (None without charging)."""
        return self._tokens.get(session_id)

    def _release_address(self, result: ActivationResult, sub: Subscriber | None) -> None:
        self._release(result.ipv4, result.delivery, sub)

    def _release(self, ipv4: str | None, delivery: str, sub: Subscriber | None) -> None:
        if ipv4 and (sub is None or ipv4 != sub.fixed_ip) and delivery != "partner":
            self._used_v4.discard(ipv4)

    def active_sessions(self, account: str | None = None) -> list[ActivationResult]:
        out = list(self.sessions.values())
        if account is not None:
            out = [r for r in out if self.subscribers[r.imsi].account == account]
        return out

    # -- checks -----------------------------------------------------------------------------------

    def _serve(self, req: ActivationRequest, sub: Subscriber, n: int, msisdn: str,
               gtp: GtpIds) -> ActivationResult:
        """The accepted result of request ``n`` (session ``n``); raises :class:`_Reject` otherwise."""
        op = self.operator
        if sub.barred:
            raise _Reject(CAUSE_ODB, f"line {sub.msisdn} is barred")
        if req.pdn_type not in PDN_TYPES:
            raise _Reject(CAUSE_UNKNOWN_PDN_TYPE, f"PDN type {req.pdn_type!r} is not IPv4, IPv6 or IPv4v6")
        if req.roaming and not op.roaming_allowed(sub.plan):
            raise _Reject(CAUSE_NOT_SUBSCRIBED, f"the {sub.plan.kind} plan does not allow data in roaming")
        apn = self._resolve_apn(req)
        if sub.apns and apn.apn.lower() not in (a.lower() for a in sub.apns):
            rule = f" ({sub.apn_rule})" if sub.apn_rule else ""
            raise _Reject(CAUSE_UNKNOWN_APN, f"APN {apn.apn!r} is not in the subscription of line "
                                             f"{sub.msisdn}: {', '.join(sub.apns)}{rule}")
        delivery, login = self._delivery(req, sub, apn, msisdn)
        self._check_cap(sub)
        if delivery == "partner":
            assert login is not None
            return self._partner(req, apn, login, n, msisdn, gtp)
        radius = None
        if delivery == "fixed_ip" or (apn.login == "subscriber"):
            radius = self._radius(req, sub, n, msisdn, apn.apn)
            if not radius.accepted:
                said = f": {radius.reply_message}" if radius.reply_message else ""
                raise _Reject(CAUSE_USER_AUTH_FAILED, f"AAA Access-Reject{said}", radius=radius)
        pdn_type, cause, remark = self._pdn_type(req.pdn_type, apn, fixed=delivery == "fixed_ip")
        ipv4 = ipv6 = None
        if pdn_type in ("ipv4", "ipv4v6"):
            # the fixed address is the AAA's Framed-IP-Address (RFC 2865 §5.8)
            fixed = (radius.framed_ip if radius is not None else None) or sub.fixed_ip
            ipv4 = fixed if delivery == "fixed_ip" else self._allocate_v4()
        if pdn_type in ("ipv6", "ipv4v6"):
            ipv6 = self._allocate_v6()
        reason = f"{apn.apn}: {delivery} session, {pdn_type} " + " ".join(a for a in (ipv4, ipv6) if a)
        reason = (reason + remark).strip()
        return ActivationResult(req, True, cause, reason, op.key, apn.apn, req.imsi, msisdn, pdn_type, ipv4,
                                ipv6, apn.dns, delivery, gtp, radius, None, n, self.endpoints)

    def _resolve_apn(self, req: ActivationRequest) -> ApnSetting:
        op = self.operator
        if not req.apn:
            default = op.default_apn
            if default is None:
                raise _Reject(CAUSE_UNKNOWN_APN, f"no APN requested and {op.name} has no default APN")
            return default
        apn = op.apn(req.apn)
        if apn is None:
            known = ", ".join(a.apn for a in op.apns)
            raise _Reject(CAUSE_UNKNOWN_APN, f"APN {req.apn!r} is unknown to {op.name} (known: {known})")
        return apn

    def _delivery(self, req: ActivationRequest, sub: Subscriber, apn: ApnSetting, line: str):  # noqa: ANN202
        """Which service the login asks for: internet, the line's fixed IP, or a partner platform
        (``line``: the line's MSISDN as E.164 digits)."""
        op = self.operator
        fixed, pd = op.fixed_ip, op.partner_delivery
        user = req.username
        realm = user.partition("@")[2].lower()
        routed = bool(realm) and (
            (pd is not None and realm.endswith("." + pd.realm_suffix))
            or (fixed is not None and fixed.login_domain == realm)
        )
        if routed:
            try:
                login = parse_login(op, user)
            except LoginError as exc:
                raise _Reject(CAUSE_USER_AUTH_FAILED, exc.reason) from None
            wanted_apn = pd.apn if login.kind == "partner" and pd else fixed.apn if fixed else ""
            if wanted_apn.lower() != apn.apn.lower():
                raise _Reject(CAUSE_USER_AUTH_FAILED,
                              f"login {user!r} is for APN {wanted_apn!r}, not {apn.apn!r}")
            if req.auth not in login.auth:
                raise _Reject(CAUSE_USER_AUTH_FAILED,
                              f"{op.name} expects {'/'.join(a.upper() for a in login.auth)} for {user!r}, "
                              f"the terminal used {req.auth.upper()}")
            if login.msisdn != line:
                raise _Reject(CAUSE_USER_AUTH_FAILED,
                              f"login {user!r} names MSISDN {login.msisdn}, this line is {line}")
            if login.kind == "partner":
                if sub.partner is None:
                    raise _Reject(CAUSE_NOT_SUBSCRIBED, f"line {sub.msisdn} has no partner-platform delivery")
                if sub.partner != login.partner:
                    raise _Reject(CAUSE_USER_AUTH_FAILED,
                                  f"line {sub.msisdn} is delivered to partner {sub.partner!r}, "
                                  f"not {login.partner!r}")
                return "partner", login
            if sub.fixed_ip is None:
                raise _Reject(CAUSE_NOT_SUBSCRIBED, f"line {sub.msisdn} has no fixed-IP option")
            return "fixed_ip", login
        if fixed is not None and sub.fixed_ip is not None and apn.apn.lower() == fixed.apn.lower():
            if sub.login and (req.auth == "none" or not user):
                raise _Reject(CAUSE_USER_AUTH_FAILED, f"APN {apn.apn} needs a login and none was sent")
            if sub.login and req.auth not in fixed.auth:
                raise _Reject(CAUSE_USER_AUTH_FAILED,
                              f"{op.name} fixed IP expects {'/'.join(a.upper() for a in fixed.auth)}, "
                              f"the terminal used {req.auth.upper()}")
            return "fixed_ip", None
        if apn.login == "subscriber":
            if not user:
                raise _Reject(CAUSE_USER_AUTH_FAILED, f"APN {apn.apn} needs a login and none was sent")
            if fixed is not None and fixed.apn.lower() == apn.apn.lower() and sub.fixed_ip is None \
                    and sub.partner is None:
                raise _Reject(CAUSE_NOT_SUBSCRIBED,
                              f"APN {apn.apn} is for the fixed-IP and partner options; "
                              f"line {sub.msisdn} has neither")
            raise _Reject(CAUSE_USER_AUTH_FAILED, f"login {user!r} is not valid on APN {apn.apn}")
        return "internet", None

    def _check_cap(self, sub: Subscriber) -> None:
        op = self.operator
        if op.session_cap is None or (op.cap_lifted_by_fixed_ip and sub.fixed_ip is not None):
            return
        active = [
            r for r in self.sessions.values()
            if self.subscribers[r.imsi].account == sub.account
            and not (op.cap_lifted_by_fixed_ip and self.subscribers[r.imsi].fixed_ip is not None)
        ]
        n = len(active) + self.account_sessions.get(sub.account, 0)
        if n >= op.session_cap:
            raise _Reject(CAUSE_INSUFFICIENT_RESOURCES,
                          f"{op.name} caps an account at {op.session_cap} simultaneous sessions "
                          f"(lifted by the fixed-IP option); {n} are active")

    def _pdn_type(self, requested: str, apn: ApnSetting, fixed: bool) -> tuple[str, int, str]:
        allowed = ("ipv4",) if fixed else apn.pdn_types
        if requested in allowed:
            return requested, 0, ""
        has4 = "ipv4" in allowed or "ipv4v6" in allowed
        has6 = "ipv6" in allowed or "ipv4v6" in allowed
        if requested == "ipv4v6" and has4:
            return "ipv4", CAUSE_IPV4_ONLY, " (IPv4 only on this APN)"
        if requested == "ipv4v6" and has6:
            return "ipv6", CAUSE_IPV6_ONLY, " (IPv6 only on this APN)"
        if requested == "ipv4v6" and "ipv4v6" not in allowed and "ipv4" in allowed:
            return "ipv4", CAUSE_IPV4_ONLY, ""
        raise _Reject(CAUSE_IPV4_ONLY if has4 else CAUSE_IPV6_ONLY,
                      f"APN {apn.apn} does not offer {requested} ({', '.join(allowed)})")

    # -- AAA, L2TP --------------------------------------------------------------------------------

    def _credentials_ok(self, req: ActivationRequest, password: str) -> bool:
        return credentials_match(req.auth, password, req.password, req.chap_id, req.chap_challenge,
                                 req.chap_value)

    def _radius(self, req: ActivationRequest, sub: Subscriber, n: int, msisdn: str,
                apn: str) -> RadiusExchange:
        """One Access-Request to the AAA and its answer (RFC 2865 §4.1): a fresh Request
        Authenticator from the generator (§3: unique and unpredictable)."""
        if self._aaa is None:
            self._aaa = for_users(aaa_users(self.subscribers.values()), self.aaa_secret)
        if self._rng is None:
            self._rng = random.Random(self.seed)  # noqa: S311 - reproducible packets, not secrets
        ask = RadiusExchange(
            identifier=n & 0xFF, authenticator=self._rng.randbytes(16), secret=self.aaa_secret,
            nas_ip=self.endpoints.pgw, server_ip=self.endpoints.aaa, username=req.username or "-",
            auth=req.auth, password=req.password, chap_id=req.chap_id, chap_challenge=req.chap_challenge,
            chap_value=req.chap_value, calling_station=msisdn, called_station=apn, imsi=req.imsi,
        )
        return self._aaa.answer(ask)

    def _now(self) -> float:
        return self.log.time if self.log is not None else 0.0

    def _account(self, result: ActivationResult, status: int, terminate_cause: int | None = None, *,
                 at: float | None = None) -> None:
        """Accounting Start, Interim-Update or Stop (RFC 2866 §5.1) of a session the AAA
        authenticated, with its user-plane octets and its session time (§5.7) at ``at`` on the
        log's clock (default: now); the Stop with ``terminate_cause`` (§5.10). Then the charging
        side meters what the AAA saw."""
        x, n = result.radius, result.session_id or 0
        assert x is not None and self._aaa is not None
        now = self._now() if at is None else at
        if status == ACCT_START:
            if self._acct_rng is None:  # its own generator: the Request Authenticators stay as they were
                self._acct_rng = random.Random(f"{self.seed}/accounting")  # noqa: S311 - reproducible
            self.meters[n] = _Meter(f"{self._acct_rng.getrandbits(64):016X}", now,
                                    x.interim_interval or self.interim_interval)
        meter = self.meters[n]
        meter.reported = now
        self._acct_ids += 1
        rec = AccountingRecord(
            identifier=self._acct_ids & 0xFF, status=status, session_id=meter.session_id, secret=x.secret,
            nas_ip=x.nas_ip, server_ip=x.server_ip, username=x.username, framed_ip=result.ipv4,
            imsi=result.imsi, calling_station=x.calling_station, called_station=x.called_station,
            input_octets=meter.input, output_octets=meter.output, session_time=int(now - meter.started),
            terminate_cause=terminate_cause,
        )
        self.exchanges.append(self._aaa.account(rec))
        if status == ACCT_STOP:
            del self.meters[n]
        token = self._tokens.get(n)
        if status != ACCT_START and token is not None and self.charging is not None:
            seen = self._aaa.seen(rec.session_id)
            octets = sum(seen) if seen is not None else meter.charged
            if octets > meter.charged:
                octets, meter.charged = octets - meter.charged, octets
                self.charging.usage(token, octets)

    def _partner(self, req: ActivationRequest, apn: ApnSetting, login: Any, n: int, msisdn: str,
                 gtp: GtpIds) -> ActivationResult:
        realm = login.realm
        lns = self.lns.get(realm)
        if lns is None:
            raise _Reject(CAUSE_USER_AUTH_FAILED, f"no L2TP network server configured for realm {realm!r}")
        if req.pdn_type == "ipv6":
            raise _Reject(CAUSE_IPV4_ONLY, "partner delivery over L2TP/IPCP carries IPv4 only")
        known = lns.users.get(req.username)
        ok = known is not None and self._credentials_ok(req, known)
        address = None
        if ok:
            address = lns.fixed.get(req.username) or self._lns_allocate(lns)
        message = "authenticated" if ok else (
            f"unknown user {req.username!r} at {lns.host_name}" if known is None
            else f"wrong password for {req.username!r} at {lns.host_name}"
        )
        call = L2tpCall(
            lac_ip=self.endpoints.pgw, lns_ip=lns.address, lac_host=f"lac.{self.operator.key}",
            lns_host=lns.host_name, lac_tunnel=0x100 + n, lns_tunnel=0x200 + n, lac_session=0x300 + n,
            lns_session=0x400 + n, calling_number=msisdn, called_number=apn.apn, auth=req.auth,
            username=req.username, password=req.password, chap_id=req.chap_id,
            chap_challenge=req.chap_challenge, chap_value=req.chap_value,
            lac_magic=0x1A2B0000 + n, lns_magic=0x5C6D0000 + n, accepted=ok, address=address,
            lns_ppp_ip=str(next(_network(lns.pool).hosts())),  # the LNS itself dns=lns.dns, message=message,
            lptype=self.operator.partner_delivery.lptype if self.operator.partner_delivery else None,
        )
        if not ok:
            raise _Reject(CAUSE_USER_AUTH_FAILED, f"partner LNS refused the login: {message}", l2tp=call)
        cause = CAUSE_IPV4_ONLY if req.pdn_type == "ipv4v6" else 0
        reason = f"{apn.apn}: delivered over L2TP to {lns.host_name} ({realm}), {address}"
        return ActivationResult(req, True, cause, reason, self.operator.key, apn.apn, req.imsi, msisdn,
                                "ipv4", address, None, lns.dns, "partner", gtp, None, call, n, self.endpoints)

    # -- addresses --------------------------------------------------------------------------------

    def _allocate_v4(self) -> str:
        hosts = self._hosts_v4
        for _ in range(hosts):
            self._next_v4 = self._next_v4 % hosts + 1
            addr = _v4_text(self._base_v4 + self._next_v4)
            if addr not in self._used_v4:
                self._used_v4.add(addr)
                return addr
        raise _Reject(CAUSE_INSUFFICIENT_RESOURCES, f"address pool {self._pool_v4} exhausted")

    def _allocate_v6(self) -> str:
        """The next /64 of the operator's prefix (one per PDN connection, TS 23.401 §5.3.1.2.2)."""
        self._next_v6 += 1
        return _prefix64_text(self._base_v6 + (self._next_v6 << 64))

    def _lns_allocate(self, lns: PartnerLns) -> str:
        k = self._lns_next.get(lns.realm, 1) + 1   # .1 is the LNS itself
        self._lns_next[lns.realm] = k
        return _host(lns.pool, k)

    def _record(self, r: ActivationResult) -> None:
        if self.log is None:
            return
        if r.accepted:
            self.log.record("pdn_activation", imsi=r.imsi, apn=r.apn, pdn_type=r.pdn_type, ipv4=r.ipv4,
                            ipv6=r.ipv6_prefix, delivery=r.delivery, cause=r.cause, session=r.session_id)
        else:
            self.log.record("pdn_rejected", imsi=r.imsi, apn=r.apn, cause=r.cause, cause_name=r.cause_name,
                            reason=r.reason)
