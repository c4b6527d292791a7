"""Multi-IMSI roaming applet: domestic / international profile by country (TS 102 223, TS 31.111, TS 31.102).

The applet holds a country policy as commercial multi-IMSI applets hold it: an ordered table of
PLMN patterns (``"208-*"``, ``"206-01"``, ``"2??-??"``, ``"2**-**"``) each naming an IMSI profile,
a default profile, and a priority profile used while nothing is known of the location.

* After TERMINAL PROFILE it registers for the location status event (SET UP EVENT LIST), puts
  up a menu (Automatic / one item per profile) and asks PROVIDE LOCAL INFORMATION, each only if
  the terminal supports it.
* On ENVELOPE (Event Download - Location Status) or a PROVIDE LOCAL INFORMATION response it
  reads the serving PLMN. Normal service: the first matching table entry (else the default)
  gives the profile. Limited service (no suitable cell): the country's profiles are those its
  entries name, in table order (the default only for a country whose networks can fall through
  to it). A profile other than the country's first moves to the first; the first - or a profile
  already reached by stepping in this country - moves to the next entry for the same country.
  With no further entry the profile stays: no wrap-around, so France stays domestic and a
  country never alternates between two profiles. The choice holds in the country until the
  location moves to another country. No service: nothing changes.
* A switch rewrites the IMSI-dependent EFs from the target profile, clears the TMSI / P-TMSI /
  GUTI and the stored LAI / RAI / TAI with update status "not updated" (TS 31.102 §4.2.17,
  §4.2.23, §4.2.91), invalidates the stored CK/IK (EF_KEYS / EF_KEYSPS KSI = 07), swaps the
  card's subscriber keys (each profile keeps its own SQN state), and queues a REFRESH.
* A menu selection forces a profile (the user's "use the international profile"); "Automatic"
  returns to the policy.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from csim import stk
from csim.apdu import CardCore
from csim.roaming_core import EVENT_LIST_COMMAND as EVENT_LIST_COMMAND
from csim.roaming_core import LOCAL_INFO_COMMAND as LOCAL_INFO_COMMAND
from csim.roaming_core import MENU_TITLE as MENU_TITLE
from csim.roaming_core import RoamingCore
from csim.roaming_core import command_type as command_type
from csim.roaming_core import refresh_path as refresh_path
from csim.toolkit import Applet, Toolkit

ADF_USIM = "3F00/7FF0"
EF_LOCI = f"{ADF_USIM}/6F7E"
EF_PSLOCI = f"{ADF_USIM}/6F73"
EF_EPSLOCI = f"{ADF_USIM}/6FE3"
EF_KEYS = f"{ADF_USIM}/6F08"
EF_KEYSPS = f"{ADF_USIM}/6F09"
EF_IMSI = f"{ADF_USIM}/6F07"
EF_KC = "3F00/7F20/6F20"
EF_KCGPRS = "3F00/7F20/6F52"

# Location data "deleted" after a change of subscriber identity (TS 24.008 §4.1.2.2 / TS 24.301
# §5.5.3.2.6: TMSI/P-TMSI/GUTI invalid = all FF, LAC/TAC FFFE = deleted area, status 01 = not updated)
CLEARED_LOCI = bytes.fromhex("FFFFFFFF" "FFFFFF" "FFFE" "FF" "01")
CLEARED_PSLOCI = bytes.fromhex("FFFFFFFF" "FFFFFF" "FFFFFF" "FFFE" "FF" "01")
CLEARED_EPSLOCI = bytes.fromhex("FF" * 12 + "FFFFFF" "FFFE" "01")
NO_KEYS = bytes([0x07]) + b"\xff" * 32  # KSI 07 "no key available", TS 31.102 §4.2.21
NO_KC = b"\xff" * 8 + bytes([0x07])  # Kc ‖ sequence number 07 "no key", TS 51.011 §10.3.2
# what a switch writes after the profile's own files (subscriber-identity dependent state)
CLEARED_FILES: tuple[tuple[str, bytes], ...] = (
    (EF_LOCI, CLEARED_LOCI), (EF_PSLOCI, CLEARED_PSLOCI), (EF_EPSLOCI, CLEARED_EPSLOCI),
    (EF_KEYS, NO_KEYS), (EF_KEYSPS, NO_KEYS), (EF_KC, NO_KC), (EF_KCGPRS, NO_KC),
)

REFRESH_MODES: dict[str, int] = {
    "naa_init_full_fcn": stk.Refresh.NAA_INIT_FULL_FCN,
    "fcn": stk.Refresh.FCN,
    "naa_init_fcn": stk.Refresh.NAA_INIT_FCN,
    "naa_init": stk.Refresh.NAA_INIT,
    "uicc_reset": stk.Refresh.UICC_RESET,
    "naa_app_reset": stk.Refresh.NAA_APPLICATION_RESET,
    "naa_session_reset": stk.Refresh.NAA_SESSION_RESET,
    "steering_of_roaming": stk.Refresh.STEERING_OF_ROAMING,
}

AUTOMATIC_ITEM = 1


_PATTERN = re.compile(r"^([0-9*?]{3})-(\*|[0-9*?]{2,3})$")


def plmn_matches(pattern: str, plmn: str) -> bool:
    """Does ``plmn`` (``"MCC-MNC"``) match ``pattern``?

    ``?`` or ``*`` stands for one digit; an MNC of a single ``*`` stands for any MNC (2 or 3
    digits); otherwise a pattern MNC only matches an MNC of the same number of digits.
    """
    m = _PATTERN.match(pattern)
    if m is None:
        raise ValueError(f"bad PLMN pattern {pattern!r}")
    mcc, mnc = m.groups()
    p_mcc, _, p_mnc = plmn.partition("-")
    if not _digits_match(mcc, p_mcc):
        return False
    return mnc == "*" or (len(mnc) == len(p_mnc) and _digits_match(mnc, p_mnc))


def mcc_matches(pattern: str, mcc: str) -> bool:
    """Does the pattern's MCC part cover this country code?"""
    m = _PATTERN.match(pattern)
    if m is None:
        raise ValueError(f"bad PLMN pattern {pattern!r}")
    return _digits_match(m.group(1), mcc)


def _digits_match(pattern: str, digits: str) -> bool:
    if len(pattern) != len(digits):
        return False
    return all(p in ("*", "?", d) for p, d in zip(pattern, digits, strict=True))


@dataclass(frozen=True)
class Entry:
    """One row of the country table: a PLMN pattern and the profile to use there."""

    pattern: str
    profile: str


@dataclass(frozen=True)
class Policy:
    """The applet's country policy."""

    priority: str
    default: str | None  # None: no entry matches -> keep the active profile
    table: tuple[Entry, ...]
    refresh: int = stk.Refresh.NAA_INIT_FULL_FCN

    def __post_init__(self) -> None:
        for e in self.table:
            if _PATTERN.match(e.pattern) is None:
                raise ValueError(f"bad PLMN pattern {e.pattern!r}")

    def profiles(self) -> list[str]:
        """Every profile the policy names, priority first, in order of appearance."""
        return list(self.profile_names)

    @functools.cached_property
    def profile_names(self) -> tuple[str, ...]:
        """:meth:`profiles` as a tuple, computed once (the policy is immutable)."""
        names = [self.priority, *(e.profile for e in self.table)]
        return tuple(dict.fromkeys(names + ([self.default] if self.default else [])))

    def select(self, plmn: str) -> str | None:
        """Profile for normal service on ``plmn``: first matching entry, else the default."""
        for e in self.table:
            if plmn_matches(e.pattern, plmn):
                return e.profile
        return self.default

    def candidates(self, mcc: str) -> list[str]:
        """Profiles of the entries for country ``mcc``, in table order (limited service).

        The default counts as an entry of the country only when some of its networks can reach
        it, i.e. no entry for the country takes every MNC (``208-*`` covers France: France never
        falls to the default; a country with no entry has just the default).
        """
        return list(self.candidate_names(mcc))

    def candidate_names(self, mcc: str) -> tuple[str, ...]:
        """:meth:`candidates` as a tuple, worked out once per country (the policy is immutable)."""
        memo = self._candidate_memo
        names = memo.get(mcc)
        if names is None:
            entries = [e for e in self.table if mcc_matches(e.pattern, mcc)]
            found = [e.profile for e in entries]
            covered = any(e.pattern.partition("-")[2] == "*" for e in entries)
            if self.default is not None and not covered:
                found.append(self.default)
            names = tuple(dict.fromkeys(found))
            if len(memo) >= 1024:  # MCCs are 3 digits: bounded anyway
                memo.clear()
            memo[mcc] = names
        return names

    @functools.cached_property
    def _candidate_memo(self) -> dict[str, tuple[str, ...]]:
        return {}

    @classmethod
    def from_config(cls, config: Any) -> Policy:
        """From the profile's applet configuration (attributes or mapping keys ``priority``,
        ``refresh``, ``default``, ``table`` of ``pattern``/``plmn`` + ``profile``)."""

        def get(obj: Any, *names: str) -> Any:
            for n in names:
                if isinstance(obj, Mapping) and n in obj:
                    return obj[n]
                if not isinstance(obj, Mapping) and hasattr(obj, n):
                    return getattr(obj, n)
            return None

        table: list[Entry] = []
        default = get(config, "default")
        for row in get(config, "table") or ():
            if get(row, "default") is not None and get(row, "pattern", "plmn") is None:
                default = get(row, "default")
                continue
            table.append(Entry(str(get(row, "pattern", "plmn")), str(get(row, "profile"))))
        refresh = get(config, "refresh")
        if refresh is None:
            mode = int(stk.Refresh.NAA_INIT_FULL_FCN)
        elif isinstance(refresh, str):
            if refresh not in REFRESH_MODES:
                raise ValueError(f"unknown refresh mode {refresh!r}")
            mode = REFRESH_MODES[refresh]
        else:
            mode = int(refresh)
        priority = get(config, "priority")
        if priority is None:
            raise ValueError("applet policy needs a priority profile")
        return cls(str(priority), None if default is None else str(default), tuple(table), mode)


class RoamingCard(Protocol):
    """What the applet needs from the card (TS 31.102 files by path, the active keys)."""

    auth: Any

    def read_file(self, path: str) -> bytes: ...
    def write_file(self, path: str, data: bytes) -> None: ...
    def set_proactive_pending(self, length: int) -> None: ...


ProfileFiles = Callable[[str], Mapping[str, bytes]]
# a switch to a profile: its files (the mapping the writes were made from), the writes, the paths written
_SwitchWrites = tuple[Mapping[str, bytes], tuple[tuple[str, bytes], ...], tuple[str, ...]]
ProfileAuth = Callable[[str], Any]


class RoamingApplet(RoamingCore, Applet):
    """The domestic / international switching applet.

    ``files(name)`` gives the IMSI-dependent EF contents of a profile as ``{path: bytes}``
    (paths from the MF as in ``card.read_file``); ``auth(name)`` builds that profile's
    :class:`csim.milenage.UsimAuth`; ``restore_auth(state)`` rebuilds one from its ``state()``.
    """

    name = "roaming"

    def __init__(
        self,
        card: RoamingCard,
        policy: Policy,
        files: ProfileFiles,
        auth: ProfileAuth,
        active: str | None = None,
        restore_auth: Callable[[dict], Any] | None = None,
    ) -> None:
        self._start(card, policy, files, auth, active, restore_auth, {}, {}, {}, {})

    @classmethod
    def from_profile(cls, card: RoamingCard, profile: Any) -> RoamingApplet:
        """Applet for a card built from a :class:`csim.profile.Profile` with an ``applet`` section."""
        if profile.applet is None:
            raise ValueError(f"profile {profile.name} has no roaming applet configuration")
        setup = _setup_of(card, profile)
        active = setup.active(card)
        if cls.__init__ is not RoamingApplet.__init__:
            applet = cls(card, setup.policy, setup.files, setup.auth, active=active,
                         restore_auth=usim_auth_from_state)
            applet._shared, applet._select = setup.shared, setup.select
            if setup.writes is not None:
                applet._writes, applet._sizes = setup.writes, setup.sizes
            return applet
        applet = cls.__new__(cls)
        writes = setup.writes
        applet._start(card, setup.policy, setup.files, setup.auth, active, usim_auth_from_state,
                      setup.shared, setup.select, {} if writes is None else setup.sizes,
                      {} if writes is None else writes)
        return applet

    # --- introspection -----------------------------------------------------------------------

    @property
    def active(self) -> str:
        return self._active

    @property
    def forced(self) -> str | None:
        """The profile the user forced from the menu, or None in automatic mode."""
        return self._forced

    @property
    def mode(self) -> str:
        return "automatic" if self._forced is None else "forced"

    @property
    def last_plmn(self) -> str | None:
        return self._last_plmn

    @property
    def last_status(self) -> int | None:
        return self._last_status

    @property
    def switch_count(self) -> int:
        return self._switch_count

    @property
    def history(self) -> list[dict[str, Any]]:
        """Switches so far: ``{"from", "to", "reason", "plmn"}`` each."""
        return [dict(h) for h in self._history]

    @property
    def events_registered(self) -> bool:
        return self._events_registered

    def menu_items(self) -> list[tuple[int, str]]:
        """The SET UP MENU items: 1 Automatic, then one per profile."""
        return [(AUTOMATIC_ITEM, "Automatic")] + [
            (i + 2, name.replace("_", " ").capitalize()) for i, name in enumerate(self.profiles)
        ]

    # --- toolkit hooks -----------------------------------------------------------------------

    def menu_selection(self, toolkit: Toolkit, item: int, help_request: bool) -> None:
        """Menu item chosen (TS 102 223 §7.4): force a profile, or return to automatic."""
        if help_request:
            return
        if item == AUTOMATIC_ITEM:
            self._forced = None
            self._fallback = None
            if self._last_plmn is not None and self._last_status == stk.LocationStatus.NORMAL_SERVICE:
                target = self._selected(self._last_plmn) or self._active
            elif self._last_plmn is None:
                target = self.policy.priority
            else:
                target = self._active
            if target != self._active:
                self._switch(toolkit, target, "automatic", self._last_plmn)
            return
        if not AUTOMATIC_ITEM < item <= len(self.profiles) + 1:  # not one of menu_items()
            return
        target = self.profiles[item - 2]
        self._forced = target
        if target != self._active:
            self._switch(toolkit, target, "forced", self._last_plmn)

    # --- the switch --------------------------------------------------------------------------

    def _write_profile(self, target: str, files: Mapping[str, bytes]) -> tuple[str, ...]:
        """Write ``files`` then :data:`CLEARED_FILES`, each cut to the size of the card's EF and
        skipped when the card has no such EF; returns the paths written.

        Data that fits is written as it is: ``write_file`` refuses data longer than the EF
        (ValueError) and names a missing EF with a LookupError, as :class:`csim.apdu.CardCore`
        does. The writes are kept as the write list of later switches to ``target`` on this card (and
        on the other cards of its profile and card image, which have the same file tree); a
        file the card cannot take (not transparent) raises after the writes before it.
        """
        write = self.card.write_file
        writes: list[tuple[str, bytes]] = []
        for path, data in (*files.items(), *CLEARED_FILES):
            try:
                write(path, data)
            except (KeyError, FileNotFoundError, LookupError):
                continue  # the card has no such file
            except ValueError:
                size = self._size(path)
                if size is None:
                    continue
                data = data[:size]
                write(path, data)
            writes.append((path, data))
        changed = tuple(dict.fromkeys(path for path, _ in writes))
        kept: Any = tuple(writes)
        if getattr(type(self.card), "write_file", None) is CardCore.write_file:
            kept = self.card.resolve_writes(kept)  # files looked up once per write list
        self._writes[target] = (files, kept, changed)
        return changed

    def _size(self, path: str) -> int | None:
        """Size of a transparent EF of the card, None when the card has no such file."""
        sizes = self._sizes
        if path in sizes:
            return sizes[path]
        try:
            size: int | None = len(self.card.read_file(path))
        except (KeyError, FileNotFoundError, LookupError):
            size = None
        sizes[path] = size
        return size

    def _detect_active(self) -> str:
        """The profile whose EF_IMSI the card holds, else the priority profile."""
        try:
            imsi = self.card.read_file(EF_IMSI)
        except (KeyError, FileNotFoundError, LookupError):
            return self.policy.priority
        for name in self.profiles:
            if self._files(name).get(EF_IMSI) == imsi:
                return name
        return self.policy.priority

    # --- persistence -------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "active": self._active,
            "forced": self._forced,
            "last_plmn": self._last_plmn,
            "last_status": self._last_status,
            "fallback": None if self._fallback is None else list(self._fallback),
            "switch_count": self._switch_count,
            "history": self.history,
            "events_registered": self._events_registered,
            "auths": {name: _jsonable(a.state()) for name, a in self._auths.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        active = state["active"]
        if active not in self.profiles:
            raise ValueError(f"saved active profile {active!r} is not in the policy")
        self._active = active
        self._forced = state.get("forced")
        self._last_plmn = state.get("last_plmn")
        self._last_status = state.get("last_status")
        fb = state.get("fallback")
        self._fallback = None if fb is None else (fb[0], fb[1])
        self._switch_count = int(state.get("switch_count", 0))
        self._history = [dict(h) for h in state.get("history", [])]
        self._events_registered = bool(state.get("events_registered", False))
        self._auths = {}
        for name, st in state.get("auths", {}).items():
            if self._restore_auth is not None:
                self._auths[name] = self._restore_auth(_from_jsonable(st))


class _ProfileFiles(dict):
    """The files of each IMSI profile of a profile by name, derived on first use.

    Kept in the profile's derived cache: it refers to the profile weakly.
    """

    __slots__ = ("profile_ref",)

    def __init__(self, profile: Any) -> None:
        super().__init__()
        self.profile_ref = weakref.ref(profile)

    def __missing__(self, name: str) -> Mapping[str, bytes]:
        from csim import profile as profiles

        files = self[name] = profiles.profile_files(self.profile_ref(), name)
        return files


class _Setup:
    """What the applets of the cards built from one profile share.

    The policy, each IMSI profile's files and key specification, the SET UP MENU command, the
    policy's choice per PLMN, and - the cards of one profile having one file tree - the writes
    of a switch to each profile and the EF sizes (kept per card class; a card whose tree differs
    is written path by path, see :meth:`csim.apdu.CardCore.write_files`). Derived once per
    profile contents (:func:`csim.profile.derived_cache`).
    """

    __slots__ = ("policy", "files", "auth", "shared", "select", "writes", "sizes", "imsis")

    def __init__(self, card: Any, profile: Any, shared: dict[str, Any], own_tree: bool) -> None:
        from csim import profile as profiles
        from csim.milenage import UsimAuth

        policy = shared.get("policy")
        if policy is None:
            policy = shared["policy"] = Policy.from_config(profile.applet)
        cache = shared.get("files")
        if cache is None:
            cache = shared["files"] = _ProfileFiles(profile)
        files: Callable[[str], Mapping[str, bytes]] = cache.__getitem__

        # each profile's keys as issued; every card gets a copy (its own SQN state)
        issued: dict[str, UsimAuth] = shared.get("issued auth")
        if issued is None:
            issued = shared["issued auth"] = {}
            for name in policy.profile_names:
                spec = profiles.profile_auth(profile, name)
                issued[name] = UsimAuth(spec.ki, spec.opc, sqn=spec.sqn, sqn_array=spec.sqn_array or None,
                                        algorithm=spec.algorithm)

        def auth(name: str) -> UsimAuth:
            return issued[name].copy()

        self.policy = policy
        self.files = files
        self.auth = auth
        self.shared: dict[str, Any] = shared.setdefault(RoamingApplet, {})
        self.select: dict[str, str | None] = shared.setdefault("select", {})
        # a switch's writes, resolved once per profile (bench/scenario_replay.py under callgrind:
        # resolving them on each new card costs 17 % of a move); a card without an image has a
        # file tree of its own
        self.writes: dict[str, _SwitchWrites] | None = (
            None if own_tree else shared.setdefault(("writes", type(card)), {}))
        self.sizes: dict[str, int | None] = {} if own_tree else shared.setdefault(("sizes", type(card)), {})
        self.imsis: dict[bytes, str] = {}  # EF_IMSI contents -> profile, the first in policy order
        for name in reversed(policy.profile_names):
            imsi = files(name).get(EF_IMSI)
            if imsi is not None:
                self.imsis[bytes(imsi)] = name

    def active(self, card: Any) -> str:
        """The profile whose EF_IMSI the card holds, else the priority profile."""
        try:
            imsi = card.read_file(EF_IMSI)
        except (KeyError, FileNotFoundError, LookupError):
            return self.policy.priority
        return self.imsis.get(imsi, self.policy.priority)


def _setup_of(card: Any, profile: Any) -> _Setup:
    """The shared setup of the cards built from ``profile`` (see :class:`_Setup`).

    A card without an image derives from the profile each time (its file tree is its own).
    """
    from csim import profile as profiles

    shared = profiles.derived_cache(profile).setdefault("roaming applet", {})
    if getattr(card, "image", None) is None:
        return _Setup(card, profile, shared, own_tree=True)
    setup = shared.get(("setup", type(card)))
    if setup is None:
        setup = shared[("setup", type(card))] = _Setup(card, profile, shared, own_tree=False)
    return setup


def _jsonable(state: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.hex() if isinstance(v, bytes | bytearray) else v) for k, v in state.items()}


def _from_jsonable(state: dict[str, Any]) -> dict[str, Any]:
    out = dict(state)
    for k in ("ki", "opc"):
        if isinstance(out.get(k), str):
            out[k] = bytes.fromhex(out[k])
    return out


def usim_auth_from_state(state: dict[str, Any]) -> Any:
    """Rebuild a :class:`csim.milenage.UsimAuth` from its ``state()``."""
    from csim.milenage import UsimAuth

    return UsimAuth(**state)
