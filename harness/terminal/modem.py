"""The terminal: a modem that talks to the card only through a :class:`~harness.terminal.transport.Transport`.

What it does, in the order a real ME does it:

* **Power-on** (TS 102 221 §6, TS 31.102 §5.1.1): ATR (reset), EF_DIR and EF_ICCID, SELECT
  ADF.USIM by the AID found in EF_DIR, PIN state from the PS_DO of its FCP (TS 102 221 §9.5.2)
  and VERIFY PIN only for an enabled key reference when the PIN is known, read UST, IMSI,
  AD (MNC length), SPN, the PLMN selector lists, FPLMN, LOCI/PSLOCI/EPSLOCI and HPPLMN, then
  TERMINAL PROFILE and the proactive session (FETCH / TERMINAL RESPONSE).
* **PLMN selection** (TS 23.122 §4.4.3, :mod:`harness.terminal.plmn_selection`) in automatic or manual
  mode, then **registration** with the network (:mod:`harness.network.mme`) including AKA: the
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

The state and the procedures above are compiled (:class:`harness.terminal.modem_core.ModemCore`);
this module adds the settings and the user's commands that act through them.
"""

from __future__ import annotations

from dataclasses import dataclass

from csim import stk
from harness.events import EventLog
from harness.network.mme import Network
from harness.network.world import World
from harness.terminal import plmn_selection as sel
from harness.terminal.link import UiccLink
from harness.terminal.modem_core import (
    APPLICATION_PIN,
    DEFAULT_RATS,
    EF_AD,
    EF_DIR,
    EF_EHPLMN,
    EF_EPSLOCI,
    EF_FPLMN,
    EF_HPLMNWACT,
    EF_HPPLMN,
    EF_ICCID,
    EF_IMSI,
    EF_LOCI,
    EF_OPLMNWACT,
    EF_PLMNWACT,
    EF_PSLOCI,
    EF_SPN,
    EF_UST,
    FORBIDDEN_LA_LIFETIME,
    RETRY_INTERVAL,
    SERVICE_LIMITED,
    SERVICE_NONE,
    SERVICE_NORMAL,
    SIM_INVALID_CAUSES,
    TERMINAL_FACILITIES,
    UNIVERSAL_PIN,
    USE_UNIVERSAL_PIN,
    USIM_AID_PREFIX,
    ModemCore,
    ModemError,
    Usim,
    _pin_to_verify,
)
from harness.terminal.transport import Transport

__all__ = [
    "APPLICATION_PIN", "DEFAULT_RATS", "EF_AD", "EF_DIR", "EF_EHPLMN", "EF_EPSLOCI", "EF_FPLMN",
    "EF_HPLMNWACT", "EF_HPPLMN", "EF_ICCID", "EF_IMSI", "EF_LOCI", "EF_OPLMNWACT", "EF_PLMNWACT",
    "EF_PSLOCI", "EF_SPN", "EF_UST", "FORBIDDEN_LA_LIFETIME", "RETRY_INTERVAL", "SERVICE_LIMITED",
    "SERVICE_NONE", "SERVICE_NORMAL", "SIM_INVALID_CAUSES", "TERMINAL_FACILITIES", "UNIVERSAL_PIN",
    "USE_UNIVERSAL_PIN", "USIM_AID_PREFIX", "Modem", "ModemConfig", "ModemError", "Usim",
    "_pin_to_verify",
]


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


class Modem(ModemCore):
    """A simulated terminal (see module docstring). Scenario steps call its public methods.

    Power and place: :meth:`power_on`, :meth:`power_off`, :meth:`restart`, :meth:`move`,
    :meth:`wait`; observables: :meth:`status`, :attr:`roaming`, :attr:`data_active` (all from
    :class:`~harness.terminal.modem_core.ModemCore`).
    """

    def __init__(self, transport: Transport, world: World, log: EventLog | None = None,
                 config: ModemConfig | None = None, network: Network | None = None) -> None:
        log = log if log is not None else EventLog()
        super().__init__(transport, world, log, config or ModemConfig(),
                         network if network is not None else Network(world, log=log))

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
        sw = self._link.envelope(stk.menu_selection(item))
        self._proactive(sw)
        self._settle()

    @property
    def link(self) -> UiccLink:
        """The terminal's link to the card: the one path its commands take (the LPA's ES10 too)."""
        return self._link

    def poll(self) -> None:
        """STATUS (TS 102 221 §11.1.2), as the terminal polls the card: a pending proactive
        command (SW 91xx) is fetched and carried out (a REFRESH after a profile switch); a card
        whose application no longer answers (an eUICC whose profile was just disabled) is reset
        and read again, as at power-on."""
        if not self.powered:
            return
        sw = self._link.sw(bytes.fromhex("80F2000C00"))
        if sw == 0x9000 or sw >> 8 == 0x91:
            self._proactive(sw)
            self._settle()
        else:
            self.restart()

    def display_name(self) -> str | None:
        """Network name shown to the user (EF_SPN display conditions, TS 31.102 §4.2.12)."""
        if not self.registered:
            return None
        return self._display_name(self.world.operator_name(self.registered), self.roaming)
