"""The terminal: a modem that talks to the card only through a :class:`~harness.transport.Transport`.

What it does, in the order a real ME does it:

* **Power-on** (TS 102 221 §6, TS 31.102 §5.1.1): ATR (reset), EF_DIR and EF_ICCID, SELECT
  ADF.USIM by the AID found in EF_DIR, PIN state from the PS_DO of its FCP (TS 102 221 §9.5.2)
  and VERIFY PIN only for an enabled key reference when the PIN is known, read UST, IMSI,
  AD (MNC length), SPN, the PLMN selector lists, FPLMN, LOCI/PSLOCI/EPSLOCI and HPPLMN, then
  TERMINAL PROFILE and the proactive session (FETCH / TERMINAL RESPONSE).
* **PLMN selection** (TS 23.122 §4.4.3, :mod:`harness.plmn_selection`) in automatic or manual
  mode, then **registration** with the network (:mod:`harness.network`) including AKA: the
  network's RAND/AUTN go to the card in AUTHENTICATE (TS 31.102 §7.1.2), RES goes back; MAC
  failure (SW 9862) and synchronisation failure (AUTS) are reported to the network.
* **Location updates** written back to EF_LOCI / EF_PSLOCI / EF_EPSLOCI (TS 24.008 §4.4.4,
  TS 24.301 §5.5.1), FPLMN updated on reject #11, forbidden LAs for roaming kept on #13.
* **Location status ENVELOPE** (TS 102 223 §7.5.3) on every change of serving PLMN, cell or
  service state (normal / limited / no service) when the card registered the event.
* **Proactive commands**: SET UP EVENT LIST, SET UP MENU (then MENU SELECTION envelopes for
  :meth:`Modem.force_profile`), PROVIDE LOCAL INFORMATION, REFRESH (re-read the USIM, detach
  and re-attach; UICC reset goes through ``transport.reset()``), DISPLAY TEXT, MORE TIME.

Files are read once at initialisation and again only when a REFRESH says they changed; writes
go out only when the contents change. Time is simulated (:meth:`Modem.wait`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from csim import encoding as enc
from csim import stk
from harness import plmn_selection as sel
from harness.events import EventLog
from harness.network import (
    AttachAccept,
    AttachReject,
    AttachRequest,
    AuthenticationFailure,
    AuthenticationReject,
    AuthenticationRequest,
    AuthenticationResponse,
    DetachRequest,
    Network,
)
from harness.transport import Transport
from harness.uicc_link import UiccLink
from harness.world import (
    CAUSE_NAMES,
    CAUSE_NO_SUITABLE_CELLS_IN_LA,
    CAUSE_PLMN_NOT_ALLOWED,
    CAUSE_ROAMING_NOT_ALLOWED_IN_LA,
    Cell,
    World,
    plmn_of_imsi,
)

USIM_AID_PREFIX = bytes.fromhex("A0000000871002")  # TS 101 220 Annex E: 3GPP RID + USIM app code

# file identifiers (TS 102 221 §13, TS 31.102 §4.2)
EF_DIR, EF_ICCID = 0x2F00, 0x2FE2
EF_IMSI, EF_AD, EF_SPN, EF_UST = 0x6F07, 0x6FAD, 0x6F46, 0x6F38
EF_PLMNWACT, EF_OPLMNWACT, EF_HPLMNWACT, EF_EHPLMN = 0x6F60, 0x6F61, 0x6F62, 0x6FD9
EF_FPLMN, EF_LOCI, EF_PSLOCI, EF_EPSLOCI, EF_HPPLMN = 0x6F7B, 0x6F7E, 0x6F73, 0x6FE3, 0x6F31

# services of EF_UST that gate optional files (TS 31.102 §4.2.8)
_SERVICE_OF = {EF_SPN: 19, EF_PLMNWACT: 20, EF_OPLMNWACT: 42, EF_HPLMNWACT: 43, EF_EHPLMN: 71,
               EF_EPSLOCI: 85}

#: the RATs a terminal supports by default
DEFAULT_RATS = ("2G", "3G", "4G", "5G")

# Access technology codes of TS 102 223 §8.62 (PROVIDE LOCAL INFORMATION, qualifier 06)
_ACCESS_TECHNOLOGY = {"2G": 0x00, "3G": 0x03, "4G": 0x08, "5G": 0x0A}

# xPLMNwAcT access technology names (csim.encoding) -> RATs
_ACT_RAT = {"gsm": "2G", "gsm_compact": "2G", "ec_gsm_iot": "2G", "utran": "3G", "eutran": "4G",
            "eutran_wb": "4G", "eutran_nb": "4G", "ngran": "5G"}

# key references (TS 102 221 §9.5.1) and the usage qualifier "use the universal PIN" (§9.5.2)
APPLICATION_PIN, UNIVERSAL_PIN = 0x01, 0x11
USE_UNIVERSAL_PIN = 0x08

#: causes after which the USIM is considered invalid until switch-off (TS 24.008 §4.4.4.7, 24.301 §5.5.1.2.5)
SIM_INVALID_CAUSES = frozenset({2, 3, 6, 8})

#: periodic retry of PLMN selection while out of normal service (T3211/T3402-like), seconds
RETRY_INTERVAL = 60.0
#: forbidden LAs for roaming are erased periodically, 12 to 24 hours (TS 24.008 §4.4.1)
FORBIDDEN_LA_LIFETIME = 12 * 3600.0

TERMINAL_FACILITIES = (
    "profile_download", "menu_selection", "command_result", "display_text", "more_time", "refresh",
    "set_up_menu", "provide_local_information", "set_up_event_list", "event_location_status",
    "event_access_technology_change", "provide_local_information_access_technology",
)

SERVICE_NORMAL, SERVICE_LIMITED, SERVICE_NONE = "normal", "limited", "none"
_LOCATION_STATUS = {SERVICE_NORMAL: stk.LocationStatus.NORMAL_SERVICE,
                    SERVICE_LIMITED: stk.LocationStatus.LIMITED_SERVICE,
                    SERVICE_NONE: stk.LocationStatus.NO_SERVICE}


#: memo tables of values that depend only on their key (bytes in, immutable value out)
_MEMO_LIMIT = 4096
_decoded: dict[tuple[int, bytes], Any] = {}
_proactive_cmds: dict[bytes, stk.ProactiveCommand] = {}
_responses: dict[tuple[Any, ...], bytes] = {}
_envelopes: dict[tuple[Any, ...], bytes] = {}
_MISSING = object()


def _remember(table: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(table) >= _MEMO_LIMIT:
        table.clear()
    table[key] = value
    return value


def _parse_proactive(data: bytes) -> stk.ProactiveCommand:
    """A FETCHed proactive command, decoded (:class:`stk.ProactiveCommand` is immutable)."""
    cmd = _proactive_cmds.get(data)
    if cmd is None:
        cmd = _remember(_proactive_cmds, bytes(data), stk.parse_proactive(data))
    return cmd


# fixed commands of the UICC activation (TS 102 221 §11.1.1, §11.1.5)
_SELECT_MF = bytes.fromhex("00A4000C023F00")
_SELECT_EF_DIR = bytes.fromhex("00A4000C022F00")
_READ_DIR_RECORDS = {n: bytes((0x00, 0xB2, n, 0x04, 0x00)) for n in range(1, 9)}  # absolute mode
_aid_selects: dict[bytes, bytes] = {}
_iccids: dict[bytes, str | None] = {}
_dir_aids: dict[bytes, bytes | None] = {}
_terminal_profiles: dict[tuple[str, ...], bytes] = {}


def _select_aid_apdu(aid: bytes) -> bytes:
    """SELECT by DF name (TS 102 221 §11.1.1, P1 = 04), FCP returned."""
    apdu = _aid_selects.get(aid)
    if apdu is None:
        apdu = _remember(_aid_selects, aid, bytes((0x00, 0xA4, 0x04, 0x04, len(aid))) + aid + b"\x00")
    return apdu


def _iccid(raw: bytes) -> str | None:
    """EF_ICCID decoded (TS 102 221 §13.2)."""
    value = _iccids.get(raw, _MISSING)
    if value is _MISSING:
        value = _remember(_iccids, raw, enc.decode_iccid(raw))
    return value


def _usim_aid_of(record: bytes) -> bytes | None:
    """The AID of an EF_DIR record (TS 102 221 §13.1) when it is a USIM's, else None."""
    aid = _dir_aids.get(record, _MISSING)
    if aid is _MISSING:
        rec = enc.decode_dir_record(record)
        found = bytes.fromhex(rec["aid"]) if rec and rec.get("aid") else None
        aid = _remember(_dir_aids, record, found if found and found.startswith(USIM_AID_PREFIX) else None)
    return aid


def _default_terminal_profile() -> bytes:
    """TERMINAL PROFILE of the facilities this terminal supports (TS 102 223 §5.2)."""
    tp = _terminal_profiles.get(TERMINAL_FACILITIES)
    if tp is None:
        tp = _terminal_profiles[TERMINAL_FACILITIES] = stk.TerminalProfile.build(TERMINAL_FACILITIES).raw
    return tp


class ModemError(RuntimeError):
    """The terminal cannot do what was asked (card missing, no such menu item...)."""


@dataclass
class ModemConfig:
    """Terminal settings.

    ``selection``: ``"automatic"`` or ``"manual"`` (then ``manual_plmn`` is the user's choice);
    ``data_roaming``: the user's data roaming switch; ``pin``: PIN1 typed by the user when the
    card asks for it; ``seed``: the random generator of PLMN selection item iv;
    ``rats``: access technologies of the terminal.
    """

    selection: str = "automatic"
    manual_plmn: str | None = None
    data_roaming: bool = True
    pin: str | None = None
    rats: tuple[str, ...] = DEFAULT_RATS
    seed: int = 0
    imei: str = "35693803564380"
    terminal_profile: bytes | None = None

    def __post_init__(self) -> None:
        if self.selection not in ("automatic", "manual"):
            raise ValueError(f"selection is 'automatic' or 'manual', not {self.selection!r}")
        self.rats = tuple(self.rats)
        bad = [r for r in self.rats if r not in DEFAULT_RATS]
        if bad:
            raise ValueError(f"unknown RAT(s) {bad}; known: {', '.join(DEFAULT_RATS)}")


@dataclass
class _Usim:
    """What the terminal read from the USIM (decoded once, updated on REFRESH)."""

    iccid: str | None = None
    imsi: str | None = None
    mnc_length: int = 2
    spn: dict[str, Any] | None = None
    ust: frozenset[int] = frozenset()
    user: tuple[tuple[str, frozenset[str]], ...] = ()
    operator: tuple[tuple[str, frozenset[str]], ...] = ()
    hplmn_act: tuple[tuple[str, frozenset[str]], ...] = ()
    ehplmn: tuple[str, ...] = ()
    fplmn: list[str] = field(default_factory=list)
    fplmn_size: int = 0
    rplmn: str | None = None
    hpplmn_minutes: int = 0

    @property
    def hplmn(self) -> str | None:
        if not self.imsi:
            return None
        key = (self.imsi, self.mnc_length)
        plmn = _hplmns.get(key)
        if plmn is None:
            plmn = _remember(_hplmns, key, plmn_of_imsi(self.imsi, self.mnc_length))
        return plmn


_hplmns: dict[tuple[str, int], str] = {}
_lais: dict[tuple[str, int], bytes] = {}


def _lai(plmn: str, area: int) -> bytes:
    """PLMN and 16-bit LAC/TAC as stored in EF_LOCI/PSLOCI/EPSLOCI (TS 24.008 §10.5.1.3)."""
    key = (plmn, area)
    lai = _lais.get(key)
    if lai is None:
        lai = _remember(_lais, key, enc.encode_plmn(plmn) + (area & 0xFFFF).to_bytes(2, "big"))
    return lai


def _rats(act: Iterable[str]) -> frozenset[str]:
    return frozenset(_ACT_RAT[a] for a in act if a in _ACT_RAT)


def _cell_identity(cell: Cell) -> bytes:
    """Cell identity field of the location information (TS 31.111 §8.19)."""
    if cell.rat == "2G":
        return (cell.cell_id & 0xFFFF).to_bytes(2, "big")
    if cell.rat == "3G":
        return (cell.cell_id & 0xFFFFFFFF).to_bytes(4, "big")  # CI ‖ extended (RNC-id) CI
    if cell.rat == "4G":
        return ((cell.cell_id & 0xFFFFFFF) << 4 | 0xF).to_bytes(4, "big")  # 28-bit ECI, F padded
    return ((cell.cell_id & 0xFFFFFFFFF) << 4 | 0xF).to_bytes(5, "big")  # 36-bit NCI, F padded


def _location_info(plmn: str, cell: Cell) -> stk.LocationInformation:
    return stk.LocationInformation(plmn, cell.area & (0xFFFFFF if cell.rat == "5G" else 0xFFFF),
                                   _cell_identity(cell))


class Modem:
    """A simulated terminal (see module docstring). Scenario steps call its public methods."""

    def __init__(self, transport: Transport, world: World, log: EventLog | None = None,
                 config: ModemConfig | None = None, network: Network | None = None) -> None:
        self._efs: dict[int, bytes] = {}
        self._sizes: dict[int, int] = {}
        self.transport = transport  # also builds the link (see the property)
        self.world = world
        self.log = log if log is not None else EventLog()
        self.config = config or ModemConfig()
        self.network = network if network is not None else Network(world, log=self.log)
        self.rng = random.Random(self.config.seed)  # noqa: S311 - reproducible selection order
        self.powered = False
        self.location: str | None = None
        self.coverage = True
        self.signal_overrides: dict[tuple[str | None, str | None], float] = {}
        self.usim = _Usim()
        self.refresh_count = 0
        self.profile_switches = 0
        # radio / registration state
        self.service = SERVICE_NONE
        self.registered: str | None = None
        self.cell: Cell | None = None
        self.camped: Cell | None = None  # cell camped on in limited service
        self.packet = False
        self.last_cause: int | None = None
        self.sim_state = "absent"  # absent | ready | pin_required | blocked | invalid
        self.forbidden_las: dict[tuple[str, int], float] = {}
        self.last_search: list[str] = []
        # toolkit state
        self.events: frozenset[int] = frozenset()
        self.menu: list[tuple[int, str]] = []
        self.menu_title = ""
        self._last_location_status: tuple[Any, ...] | None = None
        self._reinit = False
        self._reselect = False
        self._next_retry = 0.0
        self._next_hplmn_search = 0.0
        self._in_proactive = False
        self._aid: bytes | None = None
        self._sim_cache: tuple[tuple[Any, ...], sel.SimLists] | None = None

    @property
    def transport(self) -> Transport:
        """The transport to the card; setting it rebuilds the terminal's side of the link."""
        return self._link.transport

    @transport.setter
    def transport(self, transport: Transport) -> None:
        self._link = UiccLink(transport, self._sizes, self._efs)

    # ================================================================== public API (scenario steps)
    def power_on(self, country: str | None = None, location: str | None = None,
                 pin: str | None = None) -> None:
        """Switch on at a country (its default location) or a named location of the world."""
        if pin is not None:
            self.config.pin = pin
        self._set_location(country, location, default=self.location)
        if self.powered:
            self.power_off()
        self.powered = True
        self.forbidden_las.clear()  # erased at switch-off (TS 24.008 §4.4.1)
        self.transport.reset()
        self._initialise(send_profile=True)
        self._select_and_register(switch_on=True)
        self._settle()

    def power_off(self) -> None:
        """IMSI detach and switch off (the card keeps its files; the ME forgets LAs/menus)."""
        if not self.powered:
            return
        if self.registered and self.usim.imsi:
            self.network.receive(DetachRequest(self.usim.imsi, self.registered))
            self.log.record("detach", plmn=self.registered, reason="power off")
        self.registered = None
        self.cell = self.camped = None
        self.service = SERVICE_NONE
        self.packet = False
        self.powered = False
        self.events = frozenset()
        self.menu = []
        self._last_location_status = None
        self.forbidden_las.clear()

    def restart(self) -> None:
        """Switch off then on at the same place."""
        self.power_off()
        self.power_on()

    def move(self, country: str | None = None, location: str | None = None) -> None:
        """Change of place: the cells of the new location are heard; cell/PLMN reselection follows."""
        self._set_location(country, location, default=None)
        if self.powered:
            self._reselect_after_change()
            self._settle()

    def set_signal(self, level: float, plmn: str | None = None, rat: str | None = None) -> None:
        """Force the signal level (dBm) of the cells of ``plmn``/``rat`` (None = all) at every location."""
        self.signal_overrides[(plmn, rat)] = float(level)
        if self.powered:
            self._reselect_after_change()
            self._settle()

    def clear_signal(self) -> None:
        """Back to the signal levels of the world."""
        self.signal_overrides.clear()
        if self.powered:
            self._reselect_after_change()
            self._settle()

    def lose_coverage(self) -> None:
        """No cell can be heard any more (tunnel, basement...)."""
        self.coverage = False
        if self.powered:
            self._reselect_after_change()
            self._settle()

    def restore_coverage(self) -> None:
        """Cells are heard again: recovery from lack of coverage (TS 23.122 §4.4.3.1, RPLMN first)."""
        self.coverage = True
        if self.powered:
            self._select_and_register(switch_on=True)
            self._settle()

    def select_manual(self, plmn: str) -> None:
        """Manual network selection of ``plmn`` (TS 23.122 §4.4.3.1.2): the terminal uses only it."""
        self.config.selection = "manual"
        self.config.manual_plmn = plmn
        self.log.record("plmn_selection", mode="manual", plmn=plmn)
        if self.powered:
            self.search_networks()
            if self.registered != plmn:
                self._select_and_register(switch_on=False, user=True)
            self._settle()

    def select_automatic(self) -> None:
        """Back to automatic network selection; a registration already in place is kept."""
        self.config.selection = "automatic"
        self.config.manual_plmn = None
        self.log.record("plmn_selection", mode="automatic", plmn=self.registered)
        if self.powered and self.service != SERVICE_NORMAL:
            self._select_and_register(switch_on=True)
            self._settle()

    def search_networks(self) -> list[str]:
        """Manual network search: every PLMN heard, in priority order (forbidden ones included)."""
        self.last_search = sel.network_list(self._candidates(), self._sim_lists(), rng=self.rng)
        self.log.record("network_search", plmns=list(self.last_search))
        return list(self.last_search)

    def set_data_roaming(self, enabled: bool) -> None:
        """The user's data roaming switch."""
        self.config.data_roaming = bool(enabled)
        self.log.record("data_roaming", enabled=self.config.data_roaming, data=self.data_active)

    def force_profile(self, name: str) -> None:
        """Choose an item of the card's STK menu (SET UP MENU) like a user would: MENU SELECTION.

        ``name`` matches an item text case-insensitively ("international", "domestic",
        "automatic"). The terminal is switched on first if it is off (the menu needs it).
        """
        if not self.powered:
            self.power_on()
        item = next((i for i, text in self.menu if text.strip().lower() == name.strip().lower()), None)
        if item is None:
            raise ModemError(f"the card's menu {self.menu_title!r} has no item {name!r} "
                             f"(items: {', '.join(t for _, t in self.menu) or 'none'})")
        self.log.record("menu_selection", item=item, text=name)
        sw = self._envelope(stk.menu_selection(item))
        self._proactive(sw)
        self._settle()

    def wait(self, seconds: float) -> None:
        """Simulated time passes: retries out of service, periodic HPLMN search (EF_HPPLMN)."""
        end = self.log.time + float(seconds)
        while True:
            due = self._next_timer()
            if due is None or due > end:
                break
            self.log.time = max(self.log.time, due)
            self._on_timer()
        self.log.time = end
        for key, t in list(self.forbidden_las.items()):
            if end - t >= FORBIDDEN_LA_LIFETIME:
                del self.forbidden_las[key]

    @property
    def roaming(self) -> bool:
        """Registered on a PLMN that is neither the HPLMN nor an EHPLMN (TS 23.122 §1.2)."""
        plmn = self.registered
        if plmn is None:
            return False
        u = self.usim
        return not (plmn == u.hplmn or plmn in u.ehplmn)  # sel.is_home on the USIM's lists

    @property
    def data_active(self) -> bool:
        """PS attached and data allowed: registered, packet service granted, roaming switch on if roaming."""
        return (self.service == SERVICE_NORMAL and self.packet
                and (not self.roaming or self.config.data_roaming))

    def status(self) -> dict[str, Any]:
        """Observables for scenario expectations."""
        u = self.usim
        registered = self.registered
        country, opname, zone = self._place(self.location, registered)
        spn = u.spn["name"] if u.spn else None
        roaming = self.roaming
        cell = self.cell if registered else None
        return {
            "powered": self.powered,
            "registered": registered,
            "plmn_name": opname,
            "rat": cell.rat if cell else None,
            "area": cell.area if cell else None,
            "roaming": roaming,
            "service": self.service,
            "data": (self.service == SERVICE_NORMAL and self.packet
                     and (not roaming or self.config.data_roaming)),
            "data_roaming": self.config.data_roaming,
            "imsi": u.imsi,
            "iccid": u.iccid,
            "hplmn": u.hplmn,
            "spn": spn,
            "display_name": self._display_name(opname, roaming) if registered else None,
            "country": country,
            "location": self.location,
            "zone": zone,
            "selection": self.config.selection,
            "manual_plmn": self.config.manual_plmn,
            "forbidden": [p for p in u.fplmn if p],
            "forbidden_las": sorted(f"{p}:{a}" for p, a in self.forbidden_las),
            "last_cause": self.last_cause,
            "sim": self.sim_state,
            "refresh_count": self.refresh_count,
            "profile_switches": self.profile_switches,
            "menu": [t for _, t in self.menu],
            "events": sorted(self.events),
            "networks": list(self.last_search),
            "time": self.log.time,
        }

    def _place(self, location: str | None, registered: str | None) -> tuple[Any, ...]:
        """Country of the location, name of the serving operator and its zone (worlds are immutable)."""
        world = self.world
        key = ("status_place", location, registered)
        place = world.memo.get(key)
        if place is None:
            loc = world.locations.get(location) if location else None
            reg_country = world.country_of_plmn(registered)
            place = world.remember(key, (loc.country if loc else None, world.operator_name(registered),
                                         world.zones[reg_country.zone].key if reg_country else None))
        return place

    def display_name(self) -> str | None:
        """Network name shown to the user (EF_SPN display conditions, TS 31.102 §4.2.12)."""
        if not self.registered:
            return None
        return self._display_name(self.world.operator_name(self.registered), self.roaming)

    def _display_name(self, opname: str | None, roaming: bool) -> str | None:
        spn = self.usim.spn
        if not spn or not spn.get("name"):
            return opname
        if not roaming:
            return spn["name"]
        return f"{opname} ({spn['name']})" if spn.get("display_spn_when_roaming") else opname

    # ================================================================== card access
    def _tx(self, apdu: bytes) -> tuple[bytes, int]:
        return self._link.tx(apdu)

    def _select(self, fid: int, p1: int = 0x00) -> int:
        """SELECT by FID; returns the file size (transparent) or record length, -1 if absent."""
        return self._link.select(fid, p1)

    def _read(self, fid: int, p1: int = 0x00) -> bytes | None:
        """SELECT + READ BINARY of a transparent EF; None if absent or not readable."""
        return self._link.read(fid, p1)

    def _update(self, fid: int, data: bytes) -> bool:
        """UPDATE BINARY when the contents change; returns whether the card accepted it."""
        sw = self._link.update(fid, data)
        if sw >> 8 == 0x91:
            self._proactive(sw)
            return True
        return sw == 0x9000

    def _envelope(self, data: bytes) -> int:
        return self._link.envelope(data)

    # ================================================================== initialisation
    def _initialise(self, send_profile: bool) -> None:
        """USIM application selection and initialisation (TS 31.102 §5.1.1)."""
        self._efs.clear()
        if send_profile or self._aid is None:  # UICC activation: EF_DIR/EF_ICCID; NAA init keeps them
            self._aid = self._usim_aid()
        data, sw = self._tx(_select_aid_apdu(self._aid))
        if sw != 0x9000:
            self.sim_state = "absent"
            self.usim = _Usim()
            self.log.record("sim", state="absent", sw=f"{sw:04X}")
            return
        if not self._user_verification(data):
            self.usim = _Usim(iccid=self.usim.iccid)
            return
        self.sim_state = "ready"
        self._read_usim()
        if send_profile:
            tp = self.config.terminal_profile or _default_terminal_profile()
            self._proactive(self._link.terminal_profile(bytes(tp)))

    def _usim_aid(self) -> bytes:
        """The USIM AID from EF_DIR (TS 102 221 §13.1), and EF_ICCID, both under the MF."""
        link = self._link
        link.sw(_SELECT_MF)
        iccid = link.read(EF_ICCID)
        self.usim.iccid = _iccid(iccid) if iccid else None
        if link.sw(_SELECT_EF_DIR) == 0x9000:
            for n in range(1, 9):
                data, sw = link.tx(_READ_DIR_RECORDS[n])
                if sw != 0x9000:
                    break
                aid = _usim_aid_of(data)
                if aid is not None:
                    return aid
        return USIM_AID_PREFIX  # right-truncated AID selection (TS 102 221 §11.1.1.2)

    def _user_verification(self, fcp: bytes) -> bool:
        """PIN to verify from the PIN status template DO of the ADF's FCP (TS 102 221 §9.5.2).

        Only an enabled key reference is presented; when the FCP has no PIN status template
        the terminal falls back to the status check of the application PIN (key reference 01).
        """
        status = _pin_status_template(fcp)
        if status is None:
            return self._verify_pin(APPLICATION_PIN)
        ref = _pin_to_verify(status)
        return True if ref is None else self._verify_pin(ref)

    def _verify_pin(self, ref: int) -> bool:
        """PIN status check of key reference ``ref``, VERIFY when needed (TS 102 221 §11.1.9)."""
        sw = self._link.sw(bytes((0x00, 0x20, 0x00, ref)))  # case 1: PIN status
        if sw == 0x9000:
            return True
        if sw == 0x6984:
            return True  # reference data not usable: the PIN is disabled, nothing to present
        if sw == 0x6983:
            self.sim_state = "blocked"
        elif sw >> 4 == 0x63C and self.config.pin:
            pin = self.config.pin.encode("ascii").ljust(8, b"\xff")
            _, sw = self._tx(bytes((0x00, 0x20, 0x00, ref, 0x08)) + pin)
            if sw == 0x9000:
                self.log.record("pin", result="verified")
                return True
            self.sim_state = "blocked" if sw == 0x6983 else "pin_required"
            self.log.record("pin", result="rejected", sw=f"{sw:04X}")
            return False
        else:
            self.sim_state = "pin_required"
        self.log.record("sim", state=self.sim_state, sw=f"{sw:04X}")
        return False

    def _read_usim(self, only: Iterable[int] | None = None) -> None:
        """Read and decode the USIM files the terminal uses (all, or ``only`` those)."""
        u = self.usim
        link = self._link
        want = frozenset(only) if only is not None else None
        if want is None or EF_UST in want:
            raw = link.read(EF_UST)
            u.ust = _decode(EF_UST, raw) if raw else frozenset()
        fids, n = _files_to_read(u.ust, want)
        raws = link.read_each(fids)
        values = _usim_values(fids[:n], raws[:n])
        old_imsi = u.imsi
        vars(u).update(values)
        if "spn" in values and u.spn is not None:
            u.spn = dict(u.spn)  # the terminal's own copies of the mutable values
        if "fplmn" in values:
            u.fplmn = list(u.fplmn)
        if want is None or not want.isdisjoint((EF_LOCI, EF_EPSLOCI)):
            # registered PLMN: EPS location information first, then the CS one (TS 23.122 §4.4.3)
            location = dict(zip(fids[n:], raws[n:], strict=True))
            eps, cs = location.get(EF_EPSLOCI), location.get(EF_LOCI)
            rplmn = _decode(EF_EPSLOCI, eps) if eps else None
            u.rplmn = rplmn if rplmn is not None or not cs else _decode(EF_LOCI, cs)
        if old_imsi is not None and u.imsi != old_imsi:
            # a new subscriber identity is a new subscription: the ME's forbidden LA lists go
            # (they are erased at SIM removal, TS 24.008 §4.4.1)
            self.forbidden_las.clear()
            self.profile_switches += 1
            self.log.record("profile_switch", old_imsi=old_imsi, imsi=u.imsi, hplmn=u.hplmn)

    # ================================================================== selection and registration
    def _set_location(self, country: str | None, location: str | None, default: str | None) -> None:
        name = location or country or default
        if name is None:
            if self.location is None:
                raise ModemError("no location: give country= or location=")
            return
        if name not in self.world.locations:
            raise ModemError(f"world {self.world.name!r} has no location {name!r} "
                             f"(known: {', '.join(sorted(self.world.locations))})")
        if country and location and self.world.locations[location].country != country:
            raise ModemError(f"location {location!r} is not in {country}")
        if name != self.location:
            self.location = name
            self.log.record("move", location=name, country=self.world.locations[name].country)

    def _radio(self) -> tuple[Any, ...]:
        """What decides the cells heard: the place, the coverage and the forced signal levels."""
        ov = self.signal_overrides
        return (self.location, self.coverage, tuple(ov.items()) if ov else ())

    def _heard_cells(self, radio: tuple[Any, ...]) -> tuple[Cell, ...]:
        """The cells heard (cached per world and radio situation; worlds are immutable)."""
        memo = self.world.memo
        key = ("heard", radio)
        cells = memo.get(key)
        if cells is not None:
            return cells
        location, coverage, _ = radio
        if not coverage or location is None:
            cells = ()
        else:
            cells = self.world.locations[location].cells
            if self.signal_overrides:
                ov = self.signal_overrides
                out = []
                for c in cells:
                    level = ov.get((c.plmn, c.rat), ov.get((c.plmn, None),
                                                            ov.get((None, c.rat), ov.get((None, None)))))
                    out.append(c if level is None else Cell(c.plmn, c.rat, level, c.area, c.cell_id))
                cells = tuple(out)
        return self.world.remember(key, cells)

    def _heard(self) -> list[Cell]:
        return list(self._heard_cells(self._radio()))

    def _candidates(self) -> list[sel.Candidate]:
        radio = self._radio()
        forbidden = tuple(p for p in self.usim.fplmn if p)
        las = frozenset(self.forbidden_las) if self.forbidden_las else frozenset()
        key = ("candidates", radio, self.config.rats, forbidden, las)
        memo = self.world.memo
        cands = memo.get(key)
        if cands is None:
            cands = self.world.remember(key, tuple(sel.available(
                ((c.plmn, c.rat, c.signal, c.area, c.cell_id) for c in self._heard_cells(radio)),
                supported_rats=self.config.rats, forbidden=forbidden, forbidden_areas=las,
            )))
        return list(cands)

    def _sim_lists(self) -> sel.SimLists:
        u = self.usim
        key = (u.imsi, u.mnc_length, u.ehplmn, u.hplmn_act, u.user, u.operator, tuple(u.fplmn))
        cached = self._sim_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        lists = sel.SimLists(hplmn=u.hplmn or "", ehplmn=u.ehplmn, hplmn_act=u.hplmn_act, user=u.user,
                             operator=u.operator, forbidden=tuple(p for p in u.fplmn if p))
        self._sim_cache = (key, lists)
        return lists

    def _cell_for(self, cand: sel.Candidate) -> Cell:
        radio = self._radio()
        memo = self.world.memo
        key = ("cell_index", radio)
        index = memo.get(key)
        if index is None:
            index = {}
            for c in self._heard_cells(radio):
                index.setdefault((c.plmn, c.rat, c.cell_id), c)
            self.world.remember(key, index)
        cell = index.get((cand.plmn, cand.rat, cand.cell_id))
        if cell is not None:
            return cell
        return Cell(cand.plmn, cand.rat, cand.signal, cand.area, cand.cell_id)

    def _select_and_register(self, switch_on: bool, user: bool = False) -> None:
        """PLMN selection and registration (TS 23.122 §4.4.3) from scratch.

        ``user``: the user has just selected the network (manual mode). Only then is a chosen
        PLMN of the forbidden list attempted (TS 23.122 §3.1, §4.4.3.1.2).
        """
        if self.sim_state != "ready" or not self.usim.imsi:
            self._no_registration()
            return
        candidates = self._candidates()
        sim = self._sim_lists()
        if self.config.selection == "manual" and self.config.manual_plmn:
            order = sel.manual(candidates, self.config.manual_plmn)
            if not user and self._manual_choice_forbidden():
                order = []
            mode = "manual"
        else:
            order = sel.automatic(candidates, sim, rplmn=self.usim.rplmn if switch_on else None, rng=self.rng)
            mode = "automatic"
        self.log.record("plmn_selection", mode=mode, order=[f"{c.plmn}/{c.rat}" for c in order[:8]])
        rejected: set[str] = set()
        skip: set[tuple[str, str]] = set()
        for cand in order:
            if cand.plmn in rejected or (cand.plmn, cand.rat) in skip:
                continue
            if mode == "automatic" and (cand.plmn in self.usim.fplmn
                                        or (cand.plmn, cand.area) in self.forbidden_las):
                continue  # became forbidden during this round
            outcome = self._register(self._cell_for(cand), manual=mode == "manual")
            if outcome == "ok":
                return
            if outcome == "sim_invalid":
                break
            if outcome == "rat":
                skip.add((cand.plmn, cand.rat))
            else:
                rejected.add(cand.plmn)
        self._no_registration(candidates)

    def _manual_choice_forbidden(self) -> bool:
        """Manual mode on a PLMN of EF_FPLMN: limited service until the user selects again."""
        return (self.config.selection == "manual" and self.config.manual_plmn is not None
                and self.config.manual_plmn in self.usim.fplmn)

    def _no_registration(self, candidates: list[sel.Candidate] | None = None) -> None:
        """Limited service on an acceptable cell if any can be heard, else no service."""
        if candidates is None:
            candidates = self._candidates()
        heard = [self._cell_for(c) for c in candidates] or [
            c for c in self._heard() if sel.is_usable(c.rat, c.signal) and c.rat in self.config.rats
        ]
        self.registered = None
        self.cell = None
        self.packet = False
        self.camped = max(heard, key=lambda c: c.signal) if heard else None
        self.service = SERVICE_LIMITED if self.camped else SERVICE_NONE
        self._next_retry = self.log.time + RETRY_INTERVAL

    def _register(self, cell: Cell, manual: bool) -> str:
        """One registration attempt with AKA; returns ok / rejected / rat / sim_invalid."""
        imsi = self.usim.imsi
        assert imsi is not None
        msg: Any = self.network.receive(AttachRequest(imsi, cell.plmn, cell.rat, cell.area, cell.cell_id))
        while isinstance(msg, AuthenticationRequest):
            msg = self.network.receive(self._authenticate(msg), imsi=imsi)
        if isinstance(msg, AttachAccept):
            self._accepted(msg, cell, manual)
            return "ok"
        if isinstance(msg, AuthenticationReject):
            self.last_cause = None
            self.sim_state = "invalid"  # TS 24.301 §5.4.2.5: USIM invalid until switch-off
            self.log.record("registration_rejected", plmn=cell.plmn, rat=cell.rat, cause=None,
                            reason="authentication reject")
            return "sim_invalid"
        assert isinstance(msg, AttachReject)
        return self._rejected(msg.cause, cell)

    def _authenticate(self, req: AuthenticationRequest) -> Any:
        """AUTHENTICATE in 3G/EPS context (TS 31.102 §7.1.2.1): P2 = 81, data L|RAND|L|AUTN."""
        apdu = bytes((0x00, 0x88, 0x00, 0x81, 0x22, 0x10)) + req.rand + b"\x10" + req.autn + b"\x00"
        data, sw = self._tx(apdu)
        if (sw == 0x9000 or sw >> 8 == 0x91) and data[:1] == b"\xdb":
            return AuthenticationResponse(bytes(data[2:2 + data[1]]))
        if (sw == 0x9000 or sw >> 8 == 0x91) and data[:1] == b"\xdc":
            self.log.record("auth_failure", cause=21)
            return AuthenticationFailure(21, bytes(data[2:2 + data[1]]))
        self.log.record("auth_failure", cause=20, sw=f"{sw:04X}")
        return AuthenticationFailure(20)

    def _accepted(self, acc: AttachAccept, cell: Cell, manual: bool) -> None:
        previous = self.registered
        self.registered = acc.plmn
        self.cell = cell
        self.camped = cell
        self.packet = acc.packet
        self.service = SERVICE_NORMAL
        self.last_cause = None
        self.usim.rplmn = acc.plmn
        roaming = self.roaming
        if roaming and self.usim.hpplmn_minutes:
            self._next_hplmn_search = self.log.time + 60.0 * self.usim.hpplmn_minutes
        if manual and acc.plmn in self.usim.fplmn:
            # a PLMN the user chose and registered on leaves the forbidden list (TS 23.122 §3.1)
            self._write_fplmn(sel.remove_forbidden(self.usim.fplmn, acc.plmn))
        lai = _lai(acc.plmn, cell.area)
        self._update(EF_LOCI, acc.tmsi + lai + b"\xff\x00")
        if cell.rat in ("2G", "3G"):
            if acc.packet:
                self._update(EF_PSLOCI, acc.ptmsi + acc.ptmsi_signature + lai + b"\x01\x00")
        elif EF_EPSLOCI in self._efs or self._select(EF_EPSLOCI) > 0:
            # 5G NSA is anchored on the EPC: EPS location information applies
            self._update(EF_EPSLOCI, acc.guti + lai + b"\x00")
        roaming = self.roaming  # the writes may have run proactive commands (REFRESH)
        data = self.service == SERVICE_NORMAL and self.packet and (not roaming or self.config.data_roaming)
        self.log.record("registration", plmn=acc.plmn, rat=cell.rat, area=cell.area, roaming=roaming,
                        previous=previous, imsi=self.usim.imsi, data=data)

    def _rejected(self, cause: int, cell: Cell) -> str:
        """Reject handling, TS 24.008 §4.4.4.7 / TS 24.301 §5.5.1.2.5."""
        self.last_cause = cause
        self.log.record("registration_rejected", plmn=cell.plmn, rat=cell.rat, cause=cause,
                        reason=CAUSE_NAMES.get(cause, "other"), imsi=self.usim.imsi)
        home = sel.is_home(cell.plmn, self._sim_lists())
        plmn_b = enc.encode_plmn(cell.plmn)
        area_b = (cell.area & 0xFFFF).to_bytes(2, "big")
        if cause in SIM_INVALID_CAUSES:
            self.sim_state = "invalid"
            return "sim_invalid"
        if cause == CAUSE_PLMN_NOT_ALLOWED:
            if not home:  # the HPLMN/EHPLMN is never stored in the forbidden list
                self._write_fplmn(sel.add_forbidden(self.usim.fplmn, cell.plmn, self.usim.fplmn_size))
            self._update(EF_LOCI, b"\xff" * 4 + plmn_b + area_b + b"\xff\x02")
            self._update_epsloci_status(plmn_b, area_b, 0x02)
            return "rejected"
        if cause in (CAUSE_ROAMING_NOT_ALLOWED_IN_LA, 12):
            self.forbidden_las[(cell.plmn, cell.area)] = self.log.time
            self._update(EF_LOCI, b"\xff" * 4 + plmn_b + area_b + b"\xff\x03")
            eps_status = 0x02 if cause == CAUSE_ROAMING_NOT_ALLOWED_IN_LA else 0x01
            self._update_epsloci_status(plmn_b, area_b, eps_status)
            return "rejected"
        if cause == CAUSE_NO_SUITABLE_CELLS_IN_LA:
            return "rat"
        return "rejected"

    def _update_epsloci_status(self, plmn_b: bytes, area_b: bytes, status: int) -> None:
        if EF_EPSLOCI in self._efs:
            self._update(EF_EPSLOCI, b"\xff" * 12 + plmn_b + area_b + bytes([status]))

    def _write_fplmn(self, entries: list[str]) -> None:
        """EF_FPLMN write-back (TS 31.102 §4.2.16), only when the list changes."""
        size = self.usim.fplmn_size
        if not size:
            return
        current = list(self.usim.fplmn)[:size] + [""] * max(0, size - len(self.usim.fplmn))
        if list(entries) == current:
            return
        data = b"".join(enc.encode_plmn(p) if p else b"\xff\xff\xff" for p in entries)
        if self._update(EF_FPLMN, data):
            self.usim.fplmn = list(entries)
            self.log.record("fplmn", plmns=[p for p in entries if p])

    def _reselect_after_change(self) -> None:
        """Radio conditions changed: stay on the serving PLMN if it can still be heard, else select."""
        if self.sim_state != "ready":
            self._no_registration()
            return
        if self.registered is not None:
            cands = [c for c in self._candidates() if c.plmn == self.registered]
            manual_ok = self.config.selection != "manual" or self.registered == self.config.manual_plmn
            if cands and manual_ok:
                best = next((c for r in sel.RAT_PREFERENCE for c in cands if c.rat == r), cands[0])
                if self.cell and any(c.rat == self.cell.rat for c in cands):
                    best = next(c for c in cands if c.rat == self.cell.rat)
                cell = self._cell_for(best)
                if self.cell is None or cell.area != self.cell.area or cell.rat != self.cell.rat:
                    # tracking/location area update on the same PLMN (no new authentication)
                    self.cell = self.camped = cell
                    self._update(EF_LOCI, (self._efs.get(EF_LOCI) or b"\xff" * 11)[:4]
                                 + enc.encode_plmn(cell.plmn) + (cell.area & 0xFFFF).to_bytes(2, "big")
                                 + b"\xff\x00")
                    self.log.record("location_update", plmn=cell.plmn, rat=cell.rat, area=cell.area)
                else:
                    self.cell = self.camped = cell
                return
            if self.usim.imsi:
                self.network.receive(DetachRequest(self.usim.imsi, self.registered))
            self.registered = None
        self._select_and_register(switch_on=True)

    # ================================================================== timers
    def _next_timer(self) -> float | None:
        if not self.powered or self.sim_state != "ready":
            return None
        if self.service != SERVICE_NORMAL:
            # no periodic attempt on a forbidden PLMN chosen by the user (TS 23.122 §4.4.3.1.2)
            return None if self._manual_choice_forbidden() else self._next_retry
        if self.roaming and self.config.selection == "automatic" and self.usim.hpplmn_minutes:
            return self._next_hplmn_search
        return None

    def _on_timer(self) -> None:
        if self.service != SERVICE_NORMAL:
            self._select_and_register(switch_on=True)
            if self.service != SERVICE_NORMAL:
                self._next_retry = self.log.time + RETRY_INTERVAL
        else:
            self._next_hplmn_search = self.log.time + 60.0 * self.usim.hpplmn_minutes
            better = sel.higher_priority_than(self.registered or "", self._candidates(), self._sim_lists())
            if better:
                self.log.record("hplmn_search", found=[c.plmn for c in better])
                old = self.registered
                for cand in better:
                    if self._register(self._cell_for(cand), manual=False) == "ok":
                        if old and old != self.registered and self.usim.imsi:
                            self.network.receive(DetachRequest(self.usim.imsi, old))
                        break
        self._settle()

    # ================================================================== toolkit
    def _settle(self) -> None:
        """Report location changes to the card and carry out what REFRESH asked for, until stable."""
        for _ in range(16):
            if self._reinit:
                self._reinit = False
                self._select_and_register(switch_on=True)
                continue
            if self._reselect:
                self._reselect = False
                self._reselect_after_change()
                continue
            if not self._report_location():
                return
        self.log.record("toolkit_loop", note="location/refresh exchanges did not settle")

    def _report_location(self) -> bool:
        """Location status event (TS 102 223 §7.5.3) when PLMN, cell or service state changed."""
        if not self.powered or self.sim_state == "absent":
            return False
        cell = self.cell if self.service == SERVICE_NORMAL else None
        key = (self.service, self.registered, cell.area if cell else None, cell.cell_id if cell else None)
        if key == self._last_location_status:
            return False
        self._last_location_status = key
        status = _LOCATION_STATUS[self.service]
        sent = stk.Event.LOCATION_STATUS in self.events
        self.log.record("location_status", status=self.service, plmn=self.registered, sent=sent)
        if not sent:
            return False
        key = ((status, self.registered, cell.rat, cell.area, cell.cell_id) if cell and self.registered
               else (status, None, None, None, None))
        apdu = _envelopes.get(key)
        if apdu is None:
            info = _location_info(self.registered, cell) if cell and self.registered else None
            data = stk.event_download_location_status(status, info)
            apdu = _remember(_envelopes, key, bytes((0x80, 0xC2, 0x00, 0x00, len(data))) + data)
        self._proactive(self._link.sw(apdu))
        return True

    def _proactive(self, sw: int) -> None:
        """FETCH and answer proactive commands while the card has one pending (SW 91xx)."""
        if self._in_proactive:
            return
        self._in_proactive = True
        fetch = self._link.fetch
        try:
            for _ in range(32):
                if sw >> 8 != 0x91:
                    return
                data, sw = fetch(sw & 0xFF)
                if sw != 0x9000 and sw >> 8 != 0x91:
                    return
                try:
                    cmd = _parse_proactive(data)
                except stk.TlvError:
                    sw = self._terminal_response(b"\x01\x00\x00", stk.Result.DATA_NOT_UNDERSTOOD)
                    continue
                sw = self._handle(cmd)
        finally:
            self._in_proactive = False

    def _terminal_response(self, details: bytes, result: int, *objs: bytes, additional: bytes = b"") -> int:
        key = (details, result, objs, additional)
        apdu = _responses.get(key)
        if apdu is None:
            tr = stk.terminal_response(details, result, *objs, additional=additional)
            apdu = _remember(_responses, key, bytes((0x80, 0x14, 0x00, 0x00, len(tr))) + tr)
        return self._link.sw(apdu)

    def _handle(self, cmd: stk.ProactiveCommand) -> int:
        kind = cmd.type
        self.log.record("proactive", command=f"{kind:02X}", qualifier=cmd.qualifier)
        if kind == stk.Command.SET_UP_EVENT_LIST:
            self.events = frozenset(cmd.events())
            self._last_location_status = None  # the current status is reported after registration
            return self._terminal_response(cmd.details, stk.Result.SUCCESS)
        if kind == stk.Command.SET_UP_MENU:
            items, self.menu_title = _menu_of(cmd)
            self.menu = list(items)
            return self._terminal_response(cmd.details, stk.Result.SUCCESS)
        if kind == stk.Command.PROVIDE_LOCAL_INFORMATION:
            return self._local_information(cmd)
        if kind == stk.Command.REFRESH:
            return self._refresh(cmd)
        if kind in (stk.Command.DISPLAY_TEXT, stk.Command.MORE_TIME):
            return self._terminal_response(cmd.details, stk.Result.SUCCESS)
        return self._terminal_response(cmd.details, stk.Result.BEYOND_CAPABILITIES)

    def _local_information(self, cmd: stk.ProactiveCommand) -> int:
        """PROVIDE LOCAL INFORMATION (TS 102 223 §6.4.15, TS 31.111 §6.4.15)."""
        q = cmd.qualifier
        if q == stk.LocalInfo.LOCATION:
            cell = self.cell if self.service == SERVICE_NORMAL else self.camped
            if cell is None:
                return self._terminal_response(cmd.details, stk.Result.TERMINAL_UNABLE,
                                               additional=bytes([stk.UNABLE_NO_SERVICE]))
            obj = stk.ctlv(stk.Tag.LOCATION_INFORMATION, _location_info(cell.plmn, cell).encode())
            result = stk.Result.SUCCESS if self.service == SERVICE_NORMAL else stk.Result.LIMITED_SERVICE
            return self._terminal_response(cmd.details, result, obj)
        if q == stk.LocalInfo.IMEI:
            imei = _imei_bytes((self.config.imei + "0" * 15)[:15])
            return self._terminal_response(cmd.details, stk.Result.SUCCESS, stk.ctlv(stk.Tag.IMEI, imei))
        if q == stk.LocalInfo.ACCESS_TECHNOLOGY:
            cell = self.cell if self.service == SERVICE_NORMAL else self.camped
            if cell is None:
                return self._terminal_response(cmd.details, stk.Result.TERMINAL_UNABLE,
                                               additional=bytes([stk.UNABLE_NO_SERVICE]))
            act = stk.ctlv(stk.Tag.ACCESS_TECHNOLOGY, bytes([_ACCESS_TECHNOLOGY[cell.rat]]))
            return self._terminal_response(cmd.details, stk.Result.SUCCESS, act)
        return self._terminal_response(cmd.details, stk.Result.BEYOND_CAPABILITIES)

    def _refresh(self, cmd: stk.ProactiveCommand) -> int:
        """REFRESH (TS 102 223 §6.4.7): re-read the USIM, detach and re-attach as the mode requires."""
        q = cmd.qualifier
        files = cmd.files()
        self.refresh_count += 1
        self.log.record("refresh", qualifier=q, files=files)
        if q == stk.Refresh.UICC_RESET:
            # the terminal resets the UICC and runs the whole activation again; no TERMINAL RESPONSE
            self._detach("refresh (UICC reset)")
            self.transport.reset()
            self._sizes.clear()
            self._in_proactive = False
            self._initialise(send_profile=True)
            self._in_proactive = True
            self._reinit = True
            return 0x9000
        if q == stk.Refresh.FCN:
            fids = {int(p.rsplit("/", 1)[-1], 16) for p in files}
            self._read_usim(only=fids)
            if EF_IMSI in fids:
                self._detach("refresh (IMSI changed)")
                self._reinit = True
            elif fids & {EF_FPLMN, EF_OPLMNWACT, EF_PLMNWACT, EF_EHPLMN, EF_HPLMNWACT}:
                self._reselect = True
            return self._terminal_response(cmd.details, stk.Result.SUCCESS)
        if q == stk.Refresh.STEERING_OF_ROAMING:
            self._read_usim(only={EF_OPLMNWACT, EF_FPLMN})
            self._detach("refresh (steering of roaming)")
            self._reinit = True
            return self._terminal_response(cmd.details, stk.Result.SUCCESS)
        # NAA initialisation modes (00, 02, 03) and NAA application / session reset (05, 06)
        self._detach("refresh")
        self._initialise(send_profile=False)
        self._reinit = True
        return self._terminal_response(cmd.details, stk.Result.SUCCESS)

    def _detach(self, reason: str) -> None:
        if self.registered and self.usim.imsi:
            self.network.receive(DetachRequest(self.usim.imsi, self.registered))
            self.log.record("detach", plmn=self.registered, reason=reason)
        self.registered = None
        self.cell = None
        self.packet = False
        self.service = SERVICE_LIMITED if self.camped else SERVICE_NONE
        self._last_location_status = None  # the re-registration is reported again


def _plmn_act(raw: bytes) -> tuple[tuple[str, frozenset[str]], ...]:
    return tuple((e["plmn"], _rats(e["act"])) for e in enc.decode_plmn_act_list(raw))


def _fplmn(raw: bytes) -> tuple[str, ...]:
    return tuple(enc.decode_plmn(raw[i:i + 3]) or "" for i in range(0, 3 * (len(raw) // 3), 3))


def _ad_mnc_length(raw: bytes) -> int:
    return enc.decode_ad(raw).get("mnc_length", 2) if len(raw) >= 4 else 2


def _eps_rplmn(raw: bytes) -> str | None:
    d = enc.decode_epsloci(raw)
    return d["plmn"] if d["status"] == "updated" else None


def _cs_rplmn(raw: bytes) -> str | None:
    d = enc.decode_loci(raw)
    return d["plmn"] if d["status"] in ("updated", "not_updated") else None


def _spn(raw: bytes) -> tuple[tuple[str, Any], ...] | None:
    spn = enc.decode_spn(raw)
    return tuple(spn.items()) if spn is not None else None


# how the terminal decodes each EF it reads (TS 31.102 §4.2), into immutable values
_DECODERS: dict[int, Any] = {
    EF_UST: lambda raw: frozenset(enc.decode_service_table(raw)),
    EF_IMSI: enc.decode_imsi,
    EF_AD: _ad_mnc_length,
    EF_SPN: _spn,
    EF_PLMNWACT: _plmn_act,
    EF_OPLMNWACT: _plmn_act,
    EF_HPLMNWACT: _plmn_act,
    EF_EHPLMN: lambda raw: tuple(enc.decode_plmn_list(raw)),
    EF_FPLMN: _fplmn,
    EF_HPPLMN: lambda raw: enc.decode_hpplmn(raw)["minutes"],
    EF_EPSLOCI: _eps_rplmn,
    EF_LOCI: _cs_rplmn,
}
#: the bytes a decoder depends on, when it ignores the rest: (start, end) and the least length
#: (EF_EPSLOCI: TAI + status after the GUTI; EF_LOCI: LAI + RFU + status after the TMSI)
_DECODED_SPAN: dict[int, tuple[int, int]] = {EF_EPSLOCI: (12, 18), EF_LOCI: (4, 11)}


def _decode(fid: int, raw: bytes) -> Any:
    """Decoded contents of an EF read from the card (the same bytes always decode the same)."""
    span = _DECODED_SPAN.get(fid)
    if span is not None and len(raw) >= span[1]:
        key: tuple[int, bytes] = (fid, raw[span[0]:span[1]])
    else:
        key = (fid, raw)
    value = _decoded.get(key, _MISSING)
    if value is _MISSING:
        value = _remember(_decoded, key, _DECODERS[fid](raw))
    return value


#: the USIM files read after EF_UST, in the order the terminal reads them: subscription data,
#: then the location information (rewritten at every registration)
_USIM_FILES = (EF_IMSI, EF_AD, EF_SPN, EF_PLMNWACT, EF_OPLMNWACT, EF_HPLMNWACT, EF_EHPLMN, EF_FPLMN,
               EF_HPPLMN, EF_EPSLOCI, EF_PSLOCI, EF_LOCI)
_LOCATION_FILES = frozenset((EF_EPSLOCI, EF_PSLOCI, EF_LOCI))
#: the _Usim field each file sets, and its value when the file is absent or empty
_USIM_FIELD: dict[int, tuple[str, Any]] = {
    EF_IMSI: ("imsi", None), EF_AD: ("mnc_length", 2), EF_SPN: ("spn", None), EF_PLMNWACT: ("user", ()),
    EF_OPLMNWACT: ("operator", ()), EF_HPLMNWACT: ("hplmn_act", ()), EF_EHPLMN: ("ehplmn", ()),
    EF_FPLMN: ("fplmn", ()), EF_HPPLMN: ("hpplmn_minutes", 0),
}
_file_plans: dict[tuple[frozenset[int], frozenset[int] | None], tuple[tuple[int, ...], int]] = {}
_usim_decoded: dict[tuple[Any, ...], dict[str, Any]] = {}


def _files_to_read(ust: frozenset[int], want: frozenset[int] | None) -> tuple[tuple[int, ...], int]:
    """The files to read: those wanted whose service is available in EF_UST (TS 31.102 §4.2.8).

    Also returns how many of them come before the location information files.
    """
    key = (ust, want)
    plan = _file_plans.get(key)
    if plan is None:
        fids = tuple(fid for fid in _USIM_FILES
                     if (want is None or fid in want)
                     and (_SERVICE_OF.get(fid) is None or not ust or _SERVICE_OF[fid] in ust))
        plan = _remember(_file_plans, key, (fids, sum(fid not in _LOCATION_FILES for fid in fids)))
    return plan


def _usim_values(fids: tuple[int, ...], raws: tuple[bytes | None, ...]) -> dict[str, Any]:
    """The :class:`_Usim` fields decoded from subscription files (the same bytes decode the same)."""
    key = (fids, raws)
    values = _usim_decoded.get(key)
    if values is not None:
        return values
    values = {}
    contents = dict(zip(fids, raws, strict=True))
    for fid, raw in contents.items():
        field_ = _USIM_FIELD.get(fid)
        if field_ is not None:
            values[field_[0]] = _decode(fid, raw) if raw else field_[1]
    if EF_FPLMN in contents:
        values["fplmn_size"] = len(values["fplmn"])
    return _remember(_usim_decoded, key, values)


_menus: dict[int, tuple[stk.ProactiveCommand, tuple[tuple[int, str], ...], str]] = {}


def _menu_of(cmd: stk.ProactiveCommand) -> tuple[tuple[tuple[int, str], ...], str]:
    """Items and title of a SET UP MENU (TS 102 223 §6.6.7), decoded once per command object."""
    memo = _menus.get(id(cmd))
    if memo is None or memo[0] is not cmd:
        alpha = stk.find(cmd.tlvs, stk.Tag.ALPHA_IDENTIFIER)
        title = stk.decode_alpha(alpha.value) if alpha else ""
        memo = _remember(_menus, id(cmd), (cmd, tuple(cmd.menu_items()), title))
    return memo[1], memo[2]


def _imei_bytes(digits: str) -> bytes:
    """IMEI data object value (TS 102 223 §8.20 / TS 24.008 §10.5.1.4): type 010 (IMEI), BCD swapped."""
    d = [int(c) for c in digits[:15]]
    first = d[0] << 4 | 0x0A  # odd number of digits (15) + type IMEI
    rest = [d[i + 1] << 4 | d[i] for i in range(1, 15, 2)]
    return bytes([first, *rest])


def _tlvs(data: bytes) -> Iterable[tuple[int, bytes]]:
    """Simple BER-TLV objects (one-byte tags, short or 81/82 lengths) of a FCP (TS 102 221 §11.1.1.3)."""
    i, end = 0, len(data)
    while i + 1 < end:
        tag, n = data[i], data[i + 1]
        i += 2
        if n in (0x81, 0x82):
            width = n - 0x80
            n = int.from_bytes(data[i:i + width], "big")
            i += width
        yield tag, data[i:i + n]
        i += n


_pin_templates: dict[bytes, tuple[tuple[int, bool, int | None], ...] | None] = {}


def _pin_status_template(fcp: bytes) -> tuple[tuple[int, bool, int | None], ...] | None:
    """PIN status template DO (tag C6) of a FCP, TS 102 221 §9.5.2 / §11.1.1.4.10.

    Returns ``(key reference, enabled, usage qualifier or None)`` for every key reference in
    the order listed; None when the FCP has no such template. The PS_DO (tag 90) holds one bit
    per key reference, b8 of its first byte for the first one listed; a bit set means the PIN
    is enabled. A usage qualifier (tag 95) applies to the key reference that follows it.
    """
    key = bytes(fcp)
    if key in _pin_templates:
        return _pin_templates[key]
    found: tuple[tuple[int, bool, int | None], ...] | None = None
    if fcp[:1] == b"\x62":
        body = next((v for t, v in _tlvs(fcp) if t == 0x62), b"")
        template = next((v for t, v in _tlvs(body) if t == 0xC6), None)
        if template is not None:
            ps_do, usage = b"", None
            refs: list[tuple[int, bool, int | None]] = []
            for tag, value in _tlvs(template):
                if tag == 0x90:
                    ps_do = value
                elif tag == 0x95 and value:
                    usage = value[0]
                elif tag == 0x83 and value:
                    j = len(refs)
                    enabled = j // 8 < len(ps_do) and bool(ps_do[j // 8] & (0x80 >> (j % 8)))
                    refs.append((value[0], enabled, usage))
                    usage = None
            found = tuple(refs)
    return _remember(_pin_templates, key, found)


def _pin_to_verify(status: Iterable[tuple[int, bool, int | None]]) -> int | None:
    """Key reference the terminal presents for user verification (TS 102 221 §9.5.2).

    The application PIN (first key reference 01..08) when enabled; when it is disabled, the
    universal PIN if enabled and marked for use (usage qualifier 08); otherwise no PIN at all.
    """
    entries = list(status)
    app = next((e for e in entries if 0x01 <= e[0] <= 0x08), None)
    if app is not None and app[1]:
        return app[0]
    universal = next((e for e in entries if e[0] == UNIVERSAL_PIN), None)
    if universal is not None and universal[1] and universal[2] == USE_UNIVERSAL_PIN:
        return UNIVERSAL_PIN
    return None
