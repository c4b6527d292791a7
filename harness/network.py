"""The network side: visited PLMN admission, home HSS/AuC running Milenage, registration.

The network never reaches into the terminal: the two sides exchange the message dataclasses
below (the NAS messages of TS 24.301 / TS 24.008 reduced to what the simulation needs), so a
wire layer can later turn each one into a packet.

Registration (TS 24.301 §5.5.1 attach, §5.4.2 authentication)::

    terminal                          network
    AttachRequest          ──────►   admission (roaming agreement), vector from the home AuC
                           ◄──────   AuthenticationRequest (RAND, AUTN)   | AttachReject(cause)
    AuthenticationResponse ──────►   RES == XRES ?
      or AuthenticationFailure(#20 MAC failure | #21 synch failure + AUTS)
                           ◄──────   AttachAccept | AuthenticationRequest (after resync) |
                                     AuthenticationReject | AttachReject
"""

from __future__ import annotations

import os
import random
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from csim import milenage
from csim.encoding import encode_plmn
from harness.events import EventLog
from harness.world import (
    CAUSE_IMSI_UNKNOWN_IN_HLR,
    CAUSE_MAC_FAILURE,
    CAUSE_NETWORK_FAILURE,
    CAUSE_PLMN_NOT_ALLOWED,
    CAUSE_SYNCH_FAILURE,
    World,
    plmn_of_imsi,
)

#: AMF with the "separation bit" set, required for E-UTRAN vectors (TS 33.401 §6.1.1)
AMF_EPS = b"\x80\x00"
#: attempts the MME makes before giving up on a subscriber whose USIM reports MAC failures
MAX_AUTH_ATTEMPTS = 2


# --- messages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttachRequest:
    """Terminal -> network: register (EPS attach / location updating / registration)."""

    imsi: str
    plmn: str
    rat: str
    area: int
    cell_id: int = 0
    packet: bool = True  # attach for packet services as well


@dataclass(frozen=True, slots=True)
class AuthenticationRequest:
    """Network -> terminal: RAND and AUTN for the USIM (TS 24.301 §8.2.7)."""

    rand: bytes
    autn: bytes
    ksi: int = 0


@dataclass(frozen=True, slots=True)
class AuthenticationResponse:
    """Terminal -> network: RES computed by the USIM."""

    res: bytes


@dataclass(frozen=True, slots=True)
class AuthenticationFailure:
    """Terminal -> network: #20 MAC failure, or #21 synch failure with AUTS (TS 24.301 §8.2.5)."""

    cause: int
    auts: bytes | None = None


@dataclass(frozen=True, slots=True)
class AuthenticationReject:
    """Network -> terminal: the USIM is to be considered invalid (TS 24.301 §5.4.2.5)."""


@dataclass(frozen=True, slots=True)
class AttachAccept:
    """Network -> terminal: registered. Temporary identities for EF_LOCI/PSLOCI/EPSLOCI."""

    plmn: str
    rat: str
    area: int
    tmsi: bytes
    ptmsi: bytes
    ptmsi_signature: bytes
    guti: bytes
    packet: bool  # packet services allowed on this PLMN for this subscriber
    roaming: bool  # the network serves the subscriber as a visitor
    equivalent_plmns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AttachReject:
    """Network -> terminal: registration refused with a 3GPP cause (TS 24.301 §9.9.3.9)."""

    cause: int


@dataclass(frozen=True, slots=True)
class DetachRequest:
    """Terminal -> network: IMSI detach (switch off, REFRESH, profile change)."""

    imsi: str
    plmn: str


NetworkMessage = AuthenticationRequest | AuthenticationReject | AttachAccept | AttachReject


# --- HSS / AuC ------------------------------------------------------------------------------------


@dataclass
class Subscriber:
    """One subscription in the home HSS: keys and the AuC's sequence number (TS 33.102 §6.3.2)."""

    imsi: str
    ki: bytes
    opc: bytes
    mnc_length: int = 2
    sqn: int = 0  # last SQN used by the AuC (SEQ << 5 | IND)
    _mil: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def home_plmn(self) -> str:
        return plmn_of_imsi(self.imsi, self.mnc_length)

    @property
    def milenage(self) -> milenage.Milenage:
        """The AuC's Milenage instance for K/OPc (key schedule built once, TS 35.206 §4.1)."""
        mil = self._mil
        if mil is None or mil[0] != (self.ki, self.opc):
            mil = self._mil = ((self.ki, self.opc), _milenage(self.ki, self.opc))
        return mil[1]


class HSS:
    """Home subscriber server with its authentication centre, for all home PLMNs of a world.

    Vectors follow TS 33.102 Annex C.3.2: SEQ increases by one per vector, IND = 0.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self.subscribers: dict[str, Subscriber] = {}
        self.rng = rng or random.Random(0x5EED)  # noqa: S311 - reproducible simulation
        self.resyncs = 0

    def provision(self, imsi: str, ki: bytes | str, opc: bytes | str, *, mnc_length: int = 2,
                  sqn: int = 0) -> Subscriber:
        ki_b = bytes.fromhex(ki) if isinstance(ki, str) else bytes(ki)
        opc_b = bytes.fromhex(opc) if isinstance(opc, str) else bytes(opc)
        sub = Subscriber(imsi, ki_b, opc_b, mnc_length, sqn)
        self.subscribers[imsi] = sub
        return sub

    def provision_profile(self, profile: Any) -> list[Subscriber]:
        """Every IMSI profile of a card profile (path, bundled name or :class:`csim.profile.Profile`)."""
        if isinstance(profile, str | Path):
            path = Path(profile)
            rows = _profile_rows(str(path), path.stat().st_mtime if path.exists() else 0.0)
        else:
            rows = _rows_of(profile)
        return [self.provision(imsi, ki, opc, mnc_length=n, sqn=sqn) for imsi, ki, opc, n, sqn in rows]

    def provision_sources(self, sources: Iterable[Path]) -> None:
        """Card profiles from files or directories of ``*.yaml`` profiles."""
        for src in sources:
            for imsi, ki, opc, n, sqn in _source_rows(src):
                self.provision(imsi, ki, opc, mnc_length=n, sqn=sqn)

    def lookup(self, imsi: str) -> Subscriber | None:
        return self.subscribers.get(imsi)

    def vector(self, sub: Subscriber) -> dict[str, bytes]:
        """A fresh authentication vector (RAND, AUTN, XRES, CK, IK) with the next SQN."""
        seq, _ind = milenage.sqn_split(sub.sqn)
        sub.sqn = milenage.sqn_join(seq + 1, 0)
        rand = self.rng.randbytes(16)
        mil = sub.milenage
        sqn = sub.sqn.to_bytes(6, "big")
        mac_a, _ = mil.compute_f1(rand, sqn, AMF_EPS)
        xres, ck, ik, ak = mil.compute_f2345(rand)
        conc = (sub.sqn ^ int.from_bytes(ak, "big")).to_bytes(6, "big")  # SQN xor AK
        sres, kc = milenage.gsm_from_umts(xres, ck, ik)  # c2/c3, TS 33.102 §6.8.1.2
        return {"rand": rand, "autn": conc + AMF_EPS + mac_a, "xres": xres, "ck": ck, "ik": ik, "ak": ak,
                "sres": sres, "kc": kc}

    def resync(self, sub: Subscriber, rand: bytes, auts: bytes) -> bool:
        """Re-synchronise on SQN_MS from AUTS (TS 33.102 §6.3.5); False if MAC-S is wrong."""
        sqn_ms = milenage.resync(sub.ki, sub.opc, rand, auts)
        if sqn_ms is None:
            return False
        sub.sqn = sqn_ms
        self.resyncs += 1
        return True


# --- the network ------------------------------------------------------------------------------------


@dataclass
class _Session:
    request: AttachRequest
    subscriber: Subscriber
    vector: dict[str, bytes]
    packet: bool
    roaming: bool
    attempts: int = 1


@dataclass
class Registration:
    """What the network knows of a registered subscriber."""

    imsi: str
    plmn: str
    rat: str
    area: int
    packet: bool
    roaming: bool


@dataclass
class Network:
    """All PLMNs of a world, their MMEs/VLRs and the home HSS/AuC.

    ``receive(message)`` is the only entry point; it returns the network's answer, or ``None``
    for messages that need none (detach).
    """

    world: World
    log: EventLog | None = None
    seed: int = 0x5EED
    hss: HSS = field(init=False)
    registrations: dict[str, Registration] = field(default_factory=dict)
    _sessions: dict[str, _Session] = field(default_factory=dict, repr=False)
    _counter: int = 0

    def __post_init__(self) -> None:
        self.hss = HSS(random.Random(self.seed))  # noqa: S311 - reproducible simulation
        self.hss.provision_sources(self.world.subscribers)

    # --- dispatch -------------------------------------------------------------------------------
    def receive(self, msg: Any, imsi: str | None = None) -> NetworkMessage | None:
        """Handle one terminal message. Authentication messages carry no IMSI: pass the sender's."""
        if isinstance(msg, AttachRequest):
            return self._attach(msg)
        if isinstance(msg, AuthenticationResponse):
            return self._auth_response(self._session(imsi), msg)
        if isinstance(msg, AuthenticationFailure):
            return self._auth_failure(self._session(imsi), msg)
        if isinstance(msg, DetachRequest):
            self._sessions.pop(msg.imsi, None)
            self.registrations.pop(msg.imsi, None)
            return None
        raise TypeError(f"the network does not handle {type(msg).__name__}")

    def _session(self, imsi: str | None) -> _Session:
        if imsi is None or imsi not in self._sessions:
            raise LookupError(f"no registration in progress for IMSI {imsi}")
        return self._sessions[imsi]

    # --- procedures -----------------------------------------------------------------------------
    def _attach(self, req: AttachRequest) -> NetworkMessage:
        self._sessions.pop(req.imsi, None)
        self.registrations.pop(req.imsi, None)
        op = self.world.operator(req.plmn)
        if op is None or req.rat not in op.rats:
            return self._reject(req, CAUSE_PLMN_NOT_ALLOWED)
        sub = self.hss.lookup(req.imsi)
        home = sub.home_plmn if sub else self.world.home_plmn_of(req.imsi)
        decision = op.admit(req.imsi, home, req.rat, req.area)
        if not decision.accepted:
            return self._reject(req, decision.cause or CAUSE_PLMN_NOT_ALLOWED)
        if sub is None:
            return self._reject(req, CAUSE_IMSI_UNKNOWN_IN_HLR)
        vec = self.hss.vector(sub)
        self._sessions[req.imsi] = _Session(req, sub, vec, req.packet and decision.data, not decision.home)
        return AuthenticationRequest(vec["rand"], vec["autn"])

    def _auth_response(self, s: _Session, msg: AuthenticationResponse) -> NetworkMessage:
        if bytes(msg.res) != s.vector["xres"]:
            # TS 24.301 §5.4.2.4: RES mismatch -> authentication reject
            return self._auth_reject(s, "RES mismatch")
        del self._sessions[s.request.imsi]
        req = s.request
        self._counter += 1
        n = self._counter
        reg = Registration(req.imsi, req.plmn, req.rat, req.area, s.packet, s.roaming)
        self.registrations[req.imsi] = reg
        if self.log is not None:
            self.log.record("network_attach", imsi=req.imsi, plmn=req.plmn, rat=req.rat,
                            roaming=s.roaming, packet=s.packet)
        op = self.world.operator(req.plmn)
        return AttachAccept(
            plmn=req.plmn, rat=req.rat, area=req.area,
            tmsi=n.to_bytes(4, "big"), ptmsi=(0xC0000000 | n).to_bytes(4, "big"),
            ptmsi_signature=(n & 0xFFFFFF).to_bytes(3, "big"),
            guti=_guti(req.plmn, n), packet=s.packet, roaming=s.roaming,
            equivalent_plmns=op.equivalent if op else (),
        )

    def _auth_failure(self, s: _Session, msg: AuthenticationFailure) -> NetworkMessage:
        if msg.cause == CAUSE_SYNCH_FAILURE and msg.auts is not None:
            if not self.hss.resync(s.subscriber, s.vector["rand"], msg.auts):
                return self._auth_reject(s, "AUTS MAC-S wrong")
            if self.log is not None:
                self.log.record("network_resync", imsi=s.request.imsi, sqn=s.subscriber.sqn)
        elif msg.cause != CAUSE_MAC_FAILURE:
            del self._sessions[s.request.imsi]
            return self._reject(s.request, CAUSE_NETWORK_FAILURE)
        s.attempts += 1
        if s.attempts > MAX_AUTH_ATTEMPTS + (1 if msg.cause == CAUSE_SYNCH_FAILURE else 0):
            return self._auth_reject(s, f"authentication failure #{msg.cause}")
        s.vector = self.hss.vector(s.subscriber)
        return AuthenticationRequest(s.vector["rand"], s.vector["autn"])

    def _auth_reject(self, s: _Session, why: str) -> AuthenticationReject:
        self._sessions.pop(s.request.imsi, None)
        if self.log is not None:
            self.log.record("network_auth_reject", imsi=s.request.imsi, plmn=s.request.plmn, reason=why)
        return AuthenticationReject()

    def _reject(self, req: AttachRequest, cause: int) -> AttachReject:
        if self.log is not None:
            self.log.record("network_reject", imsi=req.imsi, plmn=req.plmn, cause=cause)
        return AttachReject(cause)


def _rows_of(profile: Any) -> tuple[tuple[str, bytes, bytes, int, int], ...]:
    from csim.profile import load_profile, profile_auth

    prof = load_profile(profile)
    rows = []
    for name, p in prof.imsi_profiles.items():
        auth = profile_auth(prof, name)
        rows.append((p.imsi, bytes(auth.ki), bytes(auth.opc), p.mnc_length, int(auth.sqn)))
    return tuple(rows)


@lru_cache(maxsize=256)
def _profile_rows(path: str, mtime: float) -> tuple[tuple[str, bytes, bytes, int, int], ...]:
    """Subscriber rows of a profile file, cached per file version (worlds are rebuilt per scenario)."""
    return _rows_of(path)


def _source_rows(src: Path) -> tuple[tuple[str, bytes, bytes, int, int], ...]:
    """Subscriber rows of a profile file or of every ``*.yaml`` of a directory, per version."""
    try:
        st = os.stat(src)
    except OSError:
        return _profile_rows(str(src), 0.0)  # the profile loader reports the missing file
    if not stat.S_ISDIR(st.st_mode):
        return _profile_rows(str(src), st.st_mtime)
    key = str(src)
    hit = _dir_listing.get(key)
    if hit is None or hit[0] != st.st_mtime_ns:
        files = tuple(str(f) for f in sorted(src.glob("*.yaml")))
        hit = _dir_listing[key] = (st.st_mtime_ns, files)
    rows: list[tuple[str, bytes, bytes, int, int]] = []
    for f in hit[1]:
        try:
            mtime = os.stat(f).st_mtime
        except OSError:
            mtime = 0.0
        rows.extend(_profile_rows(f, mtime))
    return tuple(rows)


_dir_listing: dict[str, tuple[int, tuple[str, ...]]] = {}


@lru_cache(maxsize=1024)
def _milenage(ki: bytes, opc: bytes) -> milenage.Milenage:
    """One AES key schedule per K/OPc (a Milenage instance keeps no state between calls)."""
    return milenage.Milenage(ki, opc)


@lru_cache(maxsize=256)
def _plmn_bytes(plmn: str) -> bytes:
    return encode_plmn(plmn)


def _guti(plmn: str, n: int) -> bytes:
    """GUTI value bytes as stored in EF_EPSLOCI (octets 2..13 of the EPS mobile identity IE,
    TS 24.301 §9.9.3.12): length, identity type GUTI, PLMN, MME group ID, MME code, M-TMSI."""
    return b"\x0b\xf6" + _plmn_bytes(plmn) + b"\x80\x01" + b"\x01" + n.to_bytes(4, "big")
