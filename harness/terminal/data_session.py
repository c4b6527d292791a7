"""The terminal's data sessions: card identity, APN choice, PDN connectivity requests.

:class:`DataTerminal` is the part of a terminal that brings data up once the modem
(:class:`harness.terminal.modem.Modem`) is registered. It reads the card's identity by path
through the link (:class:`harness.terminal.link.UiccLink`): EF_ICCID, EF_IMSI, EF_AD, EF_SPN,
EF_UST, EF_MSISDN, and EF_GID1 when EF_UST has service 17 (TS 102 221 §13.2, TS 31.102 §4.2.2,
§4.2.18, §4.2.12, §4.2.8, §4.2.26, §4.2.10).
It chooses the APN from its APN database as :mod:`harness.terminal.apn_selection` does,
builds the PCO credentials (PAP/CHAP, TS 24.008 §10.5.6.3) and sends a PDN connectivity request
to the home operator's :class:`~harness.network.packet_core.NetworkDataPlane` — only when the
modem is registered with PS data allowed (the data-roaming switch counts).

A profile switch of the card (a REFRESH, a new IMSI in ``modem.status()``) makes the terminal read
the card again: a terminal that keeps the connection profile of the same card (ICCID) keeps the
French APN, as the provider asks ("Profil de connexion"); a naive one chooses again from the new
IMSI and finds no APN. Every decision is an event of the run's log.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csim import encoding as enc
from csim.memo import remember
from harness.events import EventLog
from harness.network.login import LoginError, build_login
from harness.network.operators import ApnSetting, OperatorDB
from harness.network.packet_core import ActivationRequest, ActivationResult, NetworkDataPlane
from harness.paths import FIXTURES
from harness.terminal.apn_selection import CardIdentity, TerminalApnState
from harness.terminal.apns_conf import load_apns_conf
from harness.terminal.errors import CardCommandError
from harness.terminal.link import UiccLink
from harness.terminal.transport import Transport

APN_DATABASES = {"android": FIXTURES / "apns" / "android-apns-conf.xml"}

# TS 102 221 §13.2 / TS 31.102 §4.2: EF_ICCID under the MF, the others in ADF.USIM (7FF0)
EF_ICCID, ADF_USIM, EF_MSISDN = "3F00/2FE2", "3F00/7FF0", "3F00/7FF0/6F40"
EF_IMSI, EF_AD, EF_SPN, EF_UST, EF_GID1 = 0x6F07, 0x6FAD, 0x6F46, 0x6F38, 0x6F3E
SERVICE_GID1 = 17   # EF_UST: Group Identifier Level 1 (TS 31.102 §4.2.8)


def _read(link: UiccLink, path: str, record: bool = False) -> bytes | None:
    """The contents of a transparent EF (or record 1 of a record EF); None if the card refuses."""
    try:
        return link.read_record(path, 1) if record else link.read_binary(path)
    except CardCommandError:
        return None


def read_card_identity(card: UiccLink | Transport, *, sim_reference: str | None = None,
                       activation_date: dt.date | None = None,
                       services: Collection[int] | None = None) -> CardIdentity:
    """What a terminal reads from the card to choose its APN, through a link (or a new link on
    a transport): EF_ICCID from the MF, then in ADF.USIM (selected on the way to EF_MSISDN) the
    USIM's files by FID (TS 102 221 §8.4.1: an EF of the current DF). EF_GID1 is read only when
    EF_UST has service 17; its whole contents are kept, unused ``FF`` bytes included, as Android's
    ``IccRecords.getGid1()`` gives them to the MVNO match.

    ``services``: the EF_UST services the terminal already read at the USIM initialisation
    (TS 31.102 §5.1.1); EF_UST is read here when they are not given.

    ``sim_reference`` and ``activation_date`` are not on the card: they come with the order
    (the installer's sheet) and select the APN of providers that publish it per reference.
    """
    link = card if isinstance(card, UiccLink) else UiccLink(card)
    iccid, msisdn = _read(link, EF_ICCID), _read(link, EF_MSISDN, record=True)
    if msisdn is None:  # no EF_MSISDN: ADF.USIM still has to be the current DF
        try:
            link.select_path(ADF_USIM)
        except CardCommandError:
            pass
    imsi, ad, spn = link.read(EF_IMSI), link.read(EF_AD), link.read(EF_SPN)
    if services is None:
        ust = link.read(EF_UST)
        services = enc.decode_service_table(ust) if ust else ()
    gid1 = link.read(EF_GID1) if SERVICE_GID1 in services else None
    raw = (iccid, imsi, ad, spn, gid1, msisdn, sim_reference, activation_date)
    identity = _identities.get(raw)
    if identity is None:
        identity = remember(_identities, raw, _identity(*raw), 256)
    return identity


#: (the files' contents read, SIM reference, activation date) -> the decoded identity (frozen)
_identities: dict[tuple[Any, ...], CardIdentity] = {}


def _identity(iccid: bytes | None, imsi: bytes | None, ad: bytes | None, spn: bytes | None,
              gid1: bytes | None, msisdn: bytes | None, sim_reference: str | None,
              activation_date: dt.date | None) -> CardIdentity:
    """The card identity decoded from the files' contents (None: the file could not be read)."""
    mnc_length = 2
    if ad and len(ad) >= 4:
        mnc_length = int(enc.decode_ad(ad).get("mnc_length") or 2)
    number = enc.decode_msisdn(msisdn) if msisdn else None
    return CardIdentity(
        iccid=enc.decode_iccid(iccid) if iccid else "",
        imsi=(enc.decode_imsi(imsi) or "") if imsi else "",
        mnc_length=mnc_length,
        spn=enc.decode_spn(spn).get("name", "") if spn else "",
        gid1=gid1.hex().upper() if gid1 else "",
        msisdn=(number or {}).get("number") or "",
        sim_reference=sim_reference,
        activation_date=activation_date,
    )


def apn_database(name: str | None, operators: OperatorDB, source: str = ".") -> list[ApnSetting]:
    """A terminal's APN database: ``android`` (the bundled apns-conf.xml), ``operators`` (the
    providers' published settings), ``none``, or the path of an apns-conf.xml file."""
    if name in (None, "none", "provider"):
        return []
    if name == "operators":
        return operators.apn_settings()
    path = APN_DATABASES.get(name) or (Path(source).parent / name)
    return list(_apns_conf(path))


_apns_files: dict[tuple[str, int, int], tuple[ApnSetting, ...]] = {}


def _apns_conf(path: str | Path) -> tuple[ApnSetting, ...]:
    """The entries of an apns-conf.xml file, parsed once per file version (entries are frozen)."""
    st = os.stat(path)
    key = (os.fspath(path), st.st_mtime_ns, st.st_size)
    entries = _apns_files.get(key)
    if entries is None:
        if len(_apns_files) >= 64:
            _apns_files.clear()
        entries = _apns_files[key] = tuple(load_apns_conf(path))
    return entries


@dataclass
class TerminalConfig:
    """The terminal's data settings (the scenario's ``terminal:``)."""

    apn_db: str = "android"
    keep_profiles_on_switch: bool = True
    apn: str | None = None              # an APN the user typed (a manual entry, used first)
    auth: str | None = None             # none | pap | chap for the explicit APN
    username: str | None = None
    password: str | None = None
    pdn_type: str | None = None         # ipv4 | ipv6 | ipv4v6; default: the entry's protocol
    rat: str | None = None              # force GTPv1 (3G) or GTPv2 (4G) on the wire

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any] | None) -> TerminalConfig:
        d = dict(doc or {})
        login = d.pop("login", None)
        if login is not None:
            d["username"] = login
        return cls(**{k: d[k] for k in d if k in cls.__dataclass_fields__})


@dataclass
class Attempt:
    """One ``data_connect``: what the terminal chose, and the network's answer if a request left."""

    requested: bool
    reason: str
    apn: str | None = None
    username: str = ""
    result: ActivationResult | None = None

    def observed(self) -> dict[str, Any]:
        """The observables of ``expect: {pdn: ...}``."""
        r = self.result
        if r is None:
            return {"requested": self.requested, "apn": self.apn, "login": self.username or None,
                    "reason": self.reason, "accepted": False, "cause": None}
        out: dict[str, Any] = {
            "requested": self.requested, "apn": r.apn, "login": self.username or None, "reason": r.reason,
            "accepted": r.accepted, "cause": r.cause, "cause_name": r.cause_name,
            "pdn_type": r.pdn_type, "ip": r.ipv4, "ipv6": r.ipv6_prefix,
            "delivery": r.delivery if r.accepted else None, "imsi": r.imsi, "dns": list(r.dns),
            "session": r.session_id,
        }
        if r.l2tp is not None:
            out["lns"] = r.l2tp.lns_host
        return out


@dataclass
class DataTerminal:
    """A terminal's data side: APN state across card reads, its PDN sessions, every attempt."""

    config: TerminalConfig
    operators: OperatorDB
    log: EventLog
    apn_db: Sequence[ApnSetting] = field(default_factory=list)
    sim_reference: str | None = None
    activation_date: dt.date | None = None
    home_operator: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    sessions: list[int] = field(default_factory=list)
    card: CardIdentity | None = None
    _seen: tuple[Any, ...] | None = None
    _link: UiccLink | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.state = TerminalApnState(
            self.apn_db, keep_on_profile_switch=self.config.keep_profiles_on_switch,
            configured=self.config.apn,
            operators=self.operators if self.config.apn_db == "provider" else None,
        )

    # -- the card
    def refresh_card(self, transport: Any, status: Mapping[str, Any],
                     services: Collection[int] | None = None) -> None:
        """Read the card after power-on, a REFRESH or an IMSI change; choose the APN again.
        ``services``: the EF_UST services the modem read (:func:`read_card_identity`)."""
        self.follow_card(transport, (status.get("iccid"), status.get("imsi"), status.get("refresh_count"),
                                     status.get("powered")), services)

    def follow_card(self, transport: Any, seen: tuple[Any, ...],
                    services: Collection[int] | None = None) -> None:
        """:meth:`refresh_card` given the modem's ``(iccid, imsi, refresh_count, powered)``: the
        card is read again only when one of them changed since the last read. ``services``: the
        EF_UST services the modem read (:func:`read_card_identity`)."""
        if seen == self._seen and self.card is not None:
            return
        self._seen = seen
        if self._link is None or self._link.transport is not transport:
            self._link = UiccLink(transport)  # the terminal's link: it remembers the USIM AID
        card = read_card_identity(self._link, sim_reference=self.sim_reference,
                                  activation_date=self.activation_date, services=services)
        self.card = card
        choice = self.state.on_card(card)
        apn = choice.setting.apn if choice.setting else None
        self.log.record("apn_selected", iccid=card.iccid, imsi=card.imsi, apn=apn, kept=choice.kept,
                        reason=choice.reason)

    # -- sessions
    def release_all(self, plane: NetworkDataPlane, reason: str, terminate_cause: int = 1) -> None:
        """The network releases every session of the terminal; ``terminate_cause``: why, as the
        accounting Stop's Acct-Terminate-Cause gives it (RFC 2866 §5.10, 1 User-Request)."""
        for sid in list(self.sessions):
            if sid in plane.sessions:
                plane.deactivate(sid, reason=reason, terminate_cause=terminate_cause)
        self.sessions.clear()

    def connect(self, plane: NetworkDataPlane | None, status: Mapping[str, Any],
                overrides: Mapping[str, Any] | None = None) -> Attempt:
        """One PDN connectivity request with the current APN (or the step's explicit one)."""
        o = dict(overrides or {})
        cfg = self.config
        if not status.get("registered"):
            return self._local("not registered: no PDN connectivity request")
        if not status.get("data"):
            roaming_off = status.get("roaming") and not status.get("data_roaming")
            why = "data roaming is off on the terminal" if roaming_off else "no packet-switched service"
            return self._local(why)
        setting = self.state.current
        explicit = o.get("apn") or None
        apn = explicit or (setting.apn if setting else None)
        if apn is None:
            return self._local(f"no APN: {self._why_no_apn()}")
        from_entry = setting is not None and setting.apn.lower() == apn.lower() and not explicit
        roaming = bool(status.get("roaming"))
        auth = o.get("auth") or (cfg.auth if cfg.apn and not explicit else None) or (
            setting.auth if from_entry else "none")
        if auth == "pap_or_chap":
            auth = "chap"
        username, password = self._credentials(o, setting if from_entry else None)
        if isinstance(username, Attempt):
            return username
        if username and auth == "none":
            auth = "pap"
        pdn_type = o.get("pdn_type") or cfg.pdn_type or (
            setting.pdn_type(roaming) if from_entry and setting else "ipv4v6")
        if plane is None:
            return self._local("no packet core for this card's home network")
        card = self.card
        assert card is not None
        request = ActivationRequest.with_login(
            card.imsi, apn, auth, username, password, pdn_type=pdn_type,
            rat=o.get("rat") or cfg.rat or _rat(status.get("rat")), serving_plmn=str(status["registered"]),
            roaming=roaming)
        self.log.record("pdn_request", imsi=card.imsi, apn=apn, pdn_type=pdn_type, auth=auth,
                        login=username or None, roaming=roaming, plmn=status["registered"])
        result = plane.activate(request)
        if result.accepted and result.session_id is not None:
            self.sessions.append(result.session_id)
        attempt = Attempt(True, result.reason, apn, username, result)
        self.attempts.append(attempt)
        return attempt

    def disconnect(self, plane: NetworkDataPlane | None, count: int | None = None) -> int:
        """Release the terminal's sessions, the newest first (all when ``count`` is None)."""
        n = len(self.sessions) if count is None else min(count, len(self.sessions))
        for _ in range(n):
            sid = self.sessions.pop()
            if plane is not None and sid in plane.sessions:
                plane.deactivate(sid)
        return n

    def _credentials(self, o: Mapping[str, Any], setting: ApnSetting | None) -> tuple[Any, str]:
        cfg = self.config
        login = o.get("login")
        password = o.get("password")
        if isinstance(login, Mapping):
            return self._built_login(login, password)
        if login is not None:
            return str(login), str(password if password is not None else cfg.password or "")
        if cfg.username is not None and not o.get("apn"):
            return cfg.username, cfg.password or ""
        if setting is not None:
            return setting.user, setting.password
        return "", str(password or "")

    def _built_login(self, spec: Mapping[str, Any], password: Any) -> tuple[Any, str]:
        """A partner or fixed-IP login built from the card's MSISDN, as the provider's format says."""
        card = self.card
        assert card is not None
        msisdn = str(spec.get("msisdn") or card.msisdn)
        op = self.operators[str(spec.get("operator") or self.home_operator)]
        try:
            login = build_login(op, str(spec["kind"]), msisdn, password=str(password or ""),
                                partner=spec.get("partner"), visp=int(spec.get("visp", 1)))
        except LoginError as exc:
            return self._local(f"login not built: {exc.reason}"), ""
        return login.username, login.password

    def _why_no_apn(self) -> str:
        card = self.card
        if card is None:
            return "the card was not read"
        return f"no default APN for {card.home_plmn} (IMSI {card.imsi}) in the terminal's APN database"

    def _local(self, reason: str) -> Attempt:
        attempt = Attempt(False, reason, self.state.current.apn if self.state.current else None)
        self.attempts.append(attempt)
        self.log.record("pdn_not_requested", reason=reason)
        return attempt

    def results(self) -> list[ActivationResult]:
        """Every request that reached the network, in order (what the wire shows)."""
        return [a.result for a in self.attempts if a.result is not None]


def _rat(rat: Any) -> str:
    return "3G" if rat in ("2G", "3G") else "4G"


def iter_results(terminals: Iterable[DataTerminal]) -> list[ActivationResult]:
    return [r for t in terminals for r in t.results()]
