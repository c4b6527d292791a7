"""The network side: visited PLMN admission, home HSS/AuC running Milenage, registration.

The network never reaches into the terminal: the two sides exchange the message dataclasses of
:mod:`harness.network.nas` (the NAS messages of TS 24.301 / TS 24.008 reduced to what the simulation
needs, importable from here too), so a wire layer can later turn each one into a packet.

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
import stat
from collections.abc import Iterable, Mapping
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

from csim.memo import remember
from harness.events import EventLog
from harness.network import mme_core as _core
from harness.network.mme_core import (
    AMF_EPS,
    MAX_AUTH_ATTEMPTS,
    AttachProcedure,
    KeysMissing,
    Registration,
    Subscriber,
)
from harness.network.nas import (
    AttachAccept,
    AttachReject,
    AttachRequest,
    AuthenticationFailure,
    AuthenticationReject,
    AuthenticationRequest,
    AuthenticationResponse,
    DetachRequest,
)
from harness.network.world import World

# --- messages: harness.network.nas (compiled dataclasses), re-exported here ---

__all__ = [
    "AMF_EPS", "HSS", "MAX_AUTH_ATTEMPTS", "AttachAccept", "AttachProcedure", "AttachReject", "AttachRequest",
    "KeysMissing",
    "AuthenticationFailure", "AuthenticationReject", "AuthenticationRequest", "AuthenticationResponse",
    "DetachRequest", "Network", "NetworkMessage", "Registration", "Subscriber",
]

NetworkMessage = AuthenticationRequest | AuthenticationReject | AttachAccept | AttachReject


# --- HSS / AuC ------------------------------------------------------------------------------------

#: one subscriber row of a card profile: IMSI, K, OPc, MNC length, SQN
Row = tuple[str, bytes, bytes, int, int, str]  # IMSI, K, OPc, MNC length, SQN, AKA algorithm


class HSS(_core.AuC):
    """Home subscriber server with its authentication centre, for all home PLMNs of a world.

    Vectors follow TS 33.102 Annex C.3.2: SEQ increases by one per vector, IND = 0
    (:meth:`challenge`, :meth:`vector` and :meth:`resync` are compiled, see
    :class:`harness.network.mme_core.AuC`).

    RAND values come from ``rng``, or, without one, from a :class:`random.Random` seeded with
    ``seed``. Subscribers of :meth:`provision_sources` are read from a per-process directory of
    the card profiles and become :class:`Subscriber` objects of this HSS when first looked up
    (:meth:`lookup`). Built as ``HSS(rng=None, *, seed=0x5EED)``.
    """

    @property
    def subscribers(self) -> dict[str, Subscriber]:
        """Every subscriber of this HSS by IMSI (the profile directory read in full)."""
        self._materialise()
        return self._subscribers

    @subscribers.setter
    def subscribers(self, value: dict[str, Subscriber]) -> None:
        self._directory = None
        self._subscribers = value

    def require_keys(self, reason: str) -> None:
        """Know only the subscribers provisioned from now on: an attach of any other IMSI stops
        with :class:`KeysMissing` and ``reason`` instead of being rejected (the card is real and
        its keys were not given)."""
        self.subscribers = {}
        self.keys_missing = reason

    def provision(self, imsi: str, ki: bytes | str, opc: bytes | str, *, mnc_length: int = 2,
                  sqn: int = 0, algorithm: str = "milenage") -> Subscriber:
        """A subscriber keyed for Milenage or the 3GPP test algorithm (``"usim-test-algorithm"``)."""
        self._materialise()
        return self._add(imsi, ki, opc, mnc_length, sqn, algorithm)

    def _add(self, imsi: str, ki: bytes | str, opc: bytes | str, mnc_length: int, sqn: int,
             algorithm: str) -> Subscriber:
        ki_b = bytes.fromhex(ki) if isinstance(ki, str) else bytes(ki)
        opc_b = bytes.fromhex(opc) if isinstance(opc, str) else bytes(opc)
        sub = Subscriber(imsi, ki_b, opc_b, mnc_length, sqn, algorithm)
        self._subscribers[imsi] = sub
        return sub

    def provision_profile(self, profile: Any) -> list[Subscriber]:
        """Every IMSI profile of a card profile (path, bundled name or :class:`csim.profile.Profile`)."""
        if isinstance(profile, str | Path):
            path = Path(profile)
            rows = _profile_rows(str(path), path.stat().st_mtime_ns if path.exists() else 0)
        else:
            rows = _rows_of(profile)
        return [self.provision(imsi, ki, opc, mnc_length=n, sqn=sqn, algorithm=algorithm)
                for imsi, ki, opc, n, sqn, algorithm in rows]

    def provision_sources(self, sources: Iterable[Path], checked: Mapping[str, int] | None = None) -> None:
        """Card profiles from files or directories of ``*.yaml`` profiles.

        A fresh HSS takes them from the shared :class:`_Directory` of these sources and builds
        each subscriber on first lookup; otherwise they are provisioned at once. ``checked``
        maps profile files the caller has just looked at to their version (mtime in ns): their
        subscribers are taken without looking at the file again.
        """
        self._checked = checked
        directory = _Directory.of(tuple(sources))
        if self._subscribers or self._directory is not None:
            self._materialise()
            for row in directory.all_rows():
                self._add(*row)
        else:
            self._directory = directory

    def _materialise(self) -> None:
        """Build the subscribers of the directory not looked up yet, then drop the directory."""
        directory = self._directory
        if directory is None:
            return
        rows = directory.all_rows()
        live = self._subscribers
        self._subscribers = {}
        for row in rows:
            if row[0] in live:
                self._subscribers[row[0]] = live[row[0]]
            else:
                self._add(*row)
        self._subscribers.update(live)
        self._directory = None


class _Directory:
    """The subscriber rows of a set of profile sources (files or directories of ``*.yaml``),
    one per process for every network of the worlds naming them.

    A network session only reads it: nothing is stat-ed when a network is built. The profile
    file of a subscriber is checked (one ``stat``) when an HSS first looks the subscriber up,
    and an IMSI not found makes the sources be read again once per HSS, so a profile edited,
    added or removed while the process runs is picked up by the next network that uses it.
    """

    #: sources -> their directory: a network built without it would scan the bundled cards, 75 us
    #: of a 0.6 ms session set-up (bench/scenario_replay.py)
    _shared: dict[tuple[Path, ...], _Directory] = {}

    def __init__(self, sources: tuple[Path, ...]) -> None:
        self.sources = sources
        self._scan()

    @classmethod
    def of(cls, sources: tuple[Path, ...]) -> _Directory:
        directory = cls._shared.get(sources)
        if directory is None:
            directory = remember(cls._shared, sources, cls(sources), 64)
        return directory

    def _scan(self) -> None:
        rows: dict[str, tuple[Row, str, int]] = {}
        for src in self.sources:
            for path, version, file_rows in _source_files(src):
                for row in file_rows:
                    rows[row[0]] = (row, path, version)  # a later profile of the IMSI wins
        self._rows = rows

    def row(self, imsi: str, *, rescan: bool = True, checked: Mapping[str, int] | None = None) -> Row | None:
        """The row of an IMSI, its profile file checked for a newer version first; an IMSI not
        listed makes the sources be read again if ``rescan``. ``checked`` gives the versions of
        files the caller has just read from the file system: those are not read again."""
        hit = self._rows.get(imsi)
        if hit is not None:
            known = checked.get(hit[1]) if checked else None
            if (known if known is not None else _version(hit[1])) == hit[2]:
                return hit[0]
        if hit is None and not rescan:
            return None
        self._scan()
        hit = self._rows.get(imsi)
        return hit[0] if hit is not None else None

    def all_rows(self) -> list[Row]:
        """Every row, the sources read again."""
        self._scan()
        return [hit[0] for hit in self._rows.values()]


# --- the network ------------------------------------------------------------------------------------


@dataclass
class Network(_core.NetworkCore):
    """All PLMNs of a world, their MMEs/VLRs and the home HSS/AuC.

    ``receive(message, imsi=None)`` is the only entry point; it returns the network's answer, or
    ``None`` for messages that need none (detach); authentication messages carry no IMSI, pass
    the sender's (compiled, see :func:`harness.network.mme_core.receive`). ``profile_versions``
    maps card profile files the caller has just looked at to their version (mtime in ns), see
    :meth:`HSS.provision_sources`.
    """

    world: World
    log: EventLog | None = None
    seed: int = 0x5EED
    hss: HSS = field(init=False)
    registrations: dict[str, Registration] = field(default_factory=dict)
    _procedures: dict[str, AttachProcedure] = field(default_factory=dict, repr=False)
    _counter: int = 0
    profile_versions: InitVar[Mapping[str, int] | None] = None

    def __post_init__(self, profile_versions: Mapping[str, int] | None) -> None:
        self.hss = HSS(seed=self.seed)
        self.hss.provision_sources(self.world.subscribers, profile_versions)

    receive = _core.receive


# ``log`` and ``_counter`` are fields of the compiled base: the class-level defaults the dataclass
# leaves on Network would hide them (its ``__init__`` keeps its own copy of the defaults).
del Network.log, Network._counter


def _rows_of(profile: Any) -> tuple[Row, ...]:
    from csim.profile import load_profile, profile_auth

    prof = load_profile(profile)
    rows = []
    for name, p in prof.imsi_profiles.items():
        auth = profile_auth(prof, name)
        rows.append((p.imsi, bytes(auth.ki), bytes(auth.opc), p.mnc_length, int(auth.sqn), auth.algorithm))
    return tuple(rows)


#: (profile file, version) -> its subscriber rows: a scan of the bundled cards' directory (on an
#: IMSI it does not list, once per HSS) reads 9 profiles, 0.9 ms without the table and 75 us with
#: it, against a 0.6 ms session set-up (bench/scenario_replay.py)
_rows: dict[tuple[str, int], tuple[Row, ...]] = {}


def _profile_rows(path: str, version: int) -> tuple[Row, ...]:
    """Subscriber rows of a profile file at a version (mtime in ns)."""
    rows = _rows.get((path, version))
    if rows is None:
        rows = remember(_rows, (path, version), _rows_of(path), 256)
    return rows


#: the version of a profile file (modification time in ns), 0 when it is missing: compiled, a
#: Python ``os.stat`` was 1.8 % of a power_on step (callgrind, the replay suite)
_version = _core.profile_version


def _source_files(src: Path) -> list[tuple[str, int, tuple[Row, ...]]]:
    """(file, version, rows) of a profile file or of every ``*.yaml`` of a directory."""
    try:
        st = os.stat(src)
    except OSError:
        return [(str(src), 0, _profile_rows(str(src), 0))]  # the profile loader reports the missing file
    if not stat.S_ISDIR(st.st_mode):
        return [(str(src), st.st_mtime_ns, _profile_rows(str(src), st.st_mtime_ns))]
    key = str(src)
    hit = _dir_listing.get(key)
    if hit is None or hit[0] != st.st_mtime_ns:
        files = tuple(str(f) for f in sorted(src.glob("*.yaml")))
        hit = remember(_dir_listing, key, (st.st_mtime_ns, files), 64)
    out = []
    for f in hit[1]:
        version = _version(f)
        out.append((f, version, _profile_rows(f, version)))
    return out


#: directory -> (its version, its ``*.yaml`` files): listing the bundled cards takes 163 us, twice
#: a whole scan with the listing known (bench/scenario_replay.py)
_dir_listing: dict[str, tuple[int, tuple[str, ...]]] = {}
