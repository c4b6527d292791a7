"""What one scenario run is made of: a card behind a transport, a world, a network and a modem.

Where the card is comes from a :class:`CardTarget`:

* in-process (the default): a fresh simulated :class:`csim.Card` built from the scenario's
  profile, reached through :class:`~harness.terminal.transport.InProcessTransport`;
* served: the same fresh simulated card, put in the vpcd reader of a private ``pcscd``
  (:mod:`harness.readers.served`) and reached through PC/SC like a real card;
* a PC/SC reader by index or name: whatever card is in it, usually a physical one.

The network stays simulated. With a card in a reader the HSS knows only the keys it is given
(``keys`` or ``expect_profile``); without them, a registration that needs AKA stops with that
reason. Writes a terminal makes in normal use (EF_LOCI, EF_FPLMN...) reach a card in a reader
only with ``allow_terminal_writes``; personalisation files are never written there
(:class:`harness.readers.safety.ScenarioWritePolicy`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from csim.profile import Profile, build_image, load_profile
from harness.events import EventLog
from harness.scenario.keys import SubscriberKeys, load_keys
from harness.terminal.link import UiccLink
from harness.terminal.transport import Transport, TransportError


class CardMismatch(TransportError):
    """The card in the reader is not the card the scenario is written for."""


@dataclass(frozen=True)
class CardTarget:
    """Where a run's card is, and what the harness may do with it.

    ``reader``: a PC/SC reader by index or (part of its) name; ``serve``: serve each scenario's
    simulated card through a private pcscd + vpcd; neither: the in-process card. ``keys``: a
    file of K/OPc by IMSI for the HSS (:mod:`harness.scenario.keys`); ``expect_profile``: the
    profile the card in the reader was personalised from (its keys, PIN1 and ICCID).
    """

    reader: int | str | None = None
    serve: bool = False
    keys: str | None = None
    expect_profile: str | None = None
    allow_terminal_writes: bool = False
    trace: str | None = None
    pin_attempts_ok: bool = False  # present PIN1 even with 1 attempt left (the user vouches for it)

    def __post_init__(self) -> None:
        if self.serve and self.reader is not None:
            raise ValueError("a run uses a reader or a served card, not both")

    @property
    def in_reader(self) -> bool:
        """The card is in a PC/SC reader the harness does not control (physical, or served elsewhere)."""
        return self.reader is not None

    @cached_property
    def subscriber_keys(self) -> tuple[SubscriberKeys, ...]:
        """The entries of ``keys``, read once for the whole run (``file:line`` when wrong)."""
        return tuple(load_keys(self.keys)) if self.keys else ()

    @cached_property
    def expected(self) -> Profile | None:
        """The profile of ``expect_profile``, loaded once for the whole run."""
        return load_profile(self.expect_profile) if self.expect_profile else None

    def describe(self) -> str:
        if self.serve:
            return "simulated card served through pcscd + vpcd"
        if self.reader is not None:
            return f"card in PC/SC reader {self.reader!r}"
        return "simulated card in-process"


IN_PROCESS = CardTarget()


def parse_reader(value: str | None) -> int | str | None:
    """``--reader`` as given: an index (``0``) or a name."""
    if value is None:
        return None
    return int(value) if value.isdigit() else value


class Session:
    """Card transport + event log + world + network + modem for one scenario run.

    ``link`` reads the card for expectations through the same transport as the modem; ``card``
    is the simulated card object when there is one (None for a card in a reader).
    """

    scenario: Any = None  # set by for_scenario; plan and data steps read its settings

    def __init__(self, card: Any, world: Any, modem: Any, log: EventLog, transport: Transport,
                 profile: Profile | None = None, target: CardTarget = IN_PROCESS) -> None:
        self.card = card
        self.world = world
        self.modem = modem
        self.log = log
        self.transport = transport
        self.profile = profile
        self.target = target
        self.link = UiccLink(CheckTransport(transport, log))
        self._imsi_profiles = {p.imsi: name for name, p in profile.imsi_profiles.items()} if profile else {}

    @classmethod
    def build(cls, card: str | Path, world: str | Path, config: Mapping[str, Any] | None = None,
              source: str = ".", target: CardTarget = IN_PROCESS) -> Session:
        """Open the card where ``target`` says, load the world, start the network and the modem."""
        from harness.network.mme import Network
        from harness.network.world import World
        from harness.scenario.loader import resolve_card, resolve_world
        from harness.terminal.modem import Modem, ModemConfig

        card_path = resolve_card(str(card), source)
        profile = load_profile(card_path)
        log = EventLog()
        wld = World.load(str(resolve_world(str(world), source)))
        sim, transport = _open_card(profile, target, log)
        try:
            settings = dict(config or {})
            # the HSS takes the card's subscribers from the profile version just loaded
            network = Network(wld, log=log, profile_versions={str(card_path): card_path.stat().st_mtime_ns})
            if target.in_reader:
                known = _check_identity(CheckTransport(transport, log), profile, target)
                _provision_from_target(network, target, known)
                settings.setdefault("pin", _reader_pin(known))
            else:
                settings.setdefault("pin", user_pin(profile))
            modem = Modem(transport, wld, log=log, config=ModemConfig(**settings), network=network)
        except BaseException:
            transport.close()
            raise
        return cls(sim, wld, modem, log, transport, profile=profile, target=target)

    @classmethod
    def for_scenario(cls, scenario: Any, target: CardTarget = IN_PROCESS) -> Session:
        session = cls.build(scenario.card, scenario.world, scenario.config, scenario.source, target)
        session.scenario = scenario
        return session

    def profile_name(self, imsi: str | None) -> str | None:
        """Which IMSI profile of the card an IMSI belongs to (domestic/international)."""
        if imsi is None:
            return None
        return self._imsi_profiles.get(str(imsi))

    def insert_card(self, profile: Profile) -> None:
        """The user puts another simulated card in the terminal: the terminal is powered off, the
        card of ``profile`` replaces the old one behind a new transport, and a new terminal (same
        settings, PIN1 of the new card) reads it at its next power-on; the world, the network and
        the log stay. Not for a card in a reader, which only a hand can change."""
        self._insert(lambda: _open_card(profile, self.target, self.log), profile, pin=user_pin(profile))
        self.log.record("card_inserted", iccid=profile.iccid)

    def insert_euicc(self, euicc: Any, profile: Profile | None, *, imei: str) -> None:
        """The user puts a device with the eUICC ``euicc`` in the run (a phone, a watch...): like
        :meth:`insert_card`, with the device's IMEI; ``profile`` is the enabled profile's card
        profile (its PIN1 and IMSI profiles), None when no profile is enabled."""
        self._insert(lambda: _simulated(euicc, self.target, self.log), profile,
                     pin=user_pin(profile) if profile else None, imei=imei)
        self.log.record("euicc_inserted", eid=euicc.isdr.credentials.eid, imei=imei)

    def know_pin(self, profile: Profile) -> None:
        """The user knows PIN1 of ``profile`` and types it when the card asks."""
        self.modem.config.pin = user_pin(profile)

    def follow_profile(self, profile: Profile | None) -> None:
        """The card profile now enabled on the terminal's eUICC (its IMSI profiles name the
        subscription the terminal registers with)."""
        self.profile = profile
        self._imsi_profiles = {p.imsi: name for name, p in profile.imsi_profiles.items()} if profile else {}

    def _insert(self, open_card: Any, profile: Profile | None, **settings: Any) -> None:
        """Power the terminal off, open the new card and build a new terminal (same settings but
        ``settings``) on it; the world, the network and the log stay."""
        import dataclasses

        from harness.terminal.modem import Modem

        if self.target.in_reader:
            raise TransportError(f"the {self.target.describe()} cannot be changed by a scenario step")
        old = self.modem
        if old.powered:
            old.power_off()
        self.transport.close()
        self.card, self.transport = open_card()
        self.follow_profile(profile)
        self.link = UiccLink(CheckTransport(self.transport, self.log))
        config = dataclasses.replace(old.config, **settings)
        self.modem = Modem(self.transport, self.world, log=self.log, config=config, network=old.network)

    def restore_selection(self) -> None:
        """After reading files for a check, select ADF.USIM again: the terminal selects its
        files by FID within the application (TS 102 221 §8.4.1)."""
        if getattr(self.modem, "powered", False):
            self.link.select_path("3F00/7FF0")

    def close(self) -> None:
        """Release the card (a reader's connection; nothing for the in-process card)."""
        self.transport.close()


class CheckTransport:
    """The session's transport as the checks use it: their commands are logged as
    ``check_apdu`` events, apart from the terminal's ``apdu`` events, so that reading a file to
    check it never changes what ``sw:`` and ``apdus:`` expectations see."""

    name = "check"

    def __init__(self, transport: Transport, log: EventLog) -> None:
        self.transport = transport
        self.log = log

    @property
    def atr(self) -> bytes:
        return self.transport.atr

    def transmit(self, apdu: bytes) -> bytes:
        with self._unlogged() as inner:
            response = inner.transmit(apdu)
        self.log.record("check_apdu", command=bytes(apdu), response=response)
        return response

    def reset(self) -> bytes:
        with self._unlogged() as inner:
            atr = inner.reset()
        self.log.record("check_reset", atr=atr)
        return atr

    @contextmanager
    def _unlogged(self) -> Iterator[Transport]:
        """The inner transport with its own (the terminal's) log detached meanwhile."""
        inner = self.transport
        terminal_log = inner.log
        inner.log = None
        try:
            yield inner
        finally:
            inner.log = terminal_log

    def close(self) -> None:
        self.transport.close()


def user_pin(profile: Profile) -> str | None:
    """PIN1 the user types at power-on: the profile's value when PIN1 is enabled, else none.

    A terminal asks for PIN1 only when the card says it is enabled (TS 102 221 §9.5.1,
    §11.1.9 VERIFY PIN with an empty body); a disabled PIN is never typed.
    """
    pin1 = profile.pins.get("pin1")
    if pin1 is None or not pin1.enabled:
        return None
    return pin1.value.rstrip(b"\xff").decode("ascii")


def _open_card(profile: Profile, target: CardTarget, log: EventLog) -> tuple[Any, Transport]:
    """The simulated card (or None) and the transport to the card ``target`` names."""
    if target.in_reader:
        from harness.readers.pcsc import PcscTransport
        from harness.readers.safety import ScenarioWritePolicy, required_attempts

        policy = ScenarioWritePolicy(allow_terminal_writes=target.allow_terminal_writes,
                                     min_attempts=required_attempts(target.pin_attempts_ok))
        return None, PcscTransport(target.reader, log=log, trace=target.trace, policy=policy)
    from csim import Card

    return _simulated(Card(build_image(profile), profile=profile), target, log)


def _simulated(card: Any, target: CardTarget, log: EventLog) -> tuple[Any, Transport]:
    """The simulated ``card`` (a UICC or an eUICC) and its transport: the served reader when
    ``target`` serves, else in process."""
    if target.serve:
        from harness.readers.served import served_reader

        return card, served_reader().insert(card, log=log, trace=target.trace)
    from harness.terminal.transport import InProcessTransport

    return card, InProcessTransport(card, log)


def _check_identity(transport: CheckTransport, scenario_profile: Profile,
                    target: CardTarget) -> Profile | None:
    """Reset the card (a scenario starts on a card just inserted: no PIN verified, nothing
    selected, ISO/IEC 7816-3 §6.2.3), then read EF_ICCID (TS 102 221 §13.2) through the link:
    the card must be the scenario's card.

    Returns the profile the card is known to be (``expect_profile``), or None.
    """
    known = target.expected
    link = UiccLink(transport)
    try:
        transport.reset()
        raw = link.read_binary("3F00/2FE2")
    except TransportError as exc:
        raise CardMismatch(f"{target.describe()}: cannot read EF_ICCID: {exc}") from exc
    from csim.encoding import decode_iccid

    iccid = decode_iccid(raw)
    if known is not None and not _same_iccid(iccid, known.iccid):
        raise CardMismatch(f"{target.describe()} has ICCID {iccid}, not {known.iccid} of "
                           f"--expect-profile {target.expect_profile}")
    if not _same_iccid(iccid, scenario_profile.iccid):
        raise CardMismatch(f"{target.describe()} has ICCID {iccid}; the scenario is written for "
                           f"{scenario_profile.name} (ICCID {scenario_profile.iccid})")
    return known


def _same_iccid(a: str, b: str) -> bool:
    return a.upper().rstrip("F") == b.upper().rstrip("F")


def _provision_from_target(network: Any, target: CardTarget, known: Profile | None) -> None:
    """The HSS knows only the keys the user gave for the card in the reader."""
    hss = network.hss
    hss.subscribers = {}
    given = False
    if known is not None:
        hss.provision_profile(known)
        given = True
    if target.keys:
        for entry in target.subscriber_keys:
            hss.provision(entry.imsi, entry.ki, entry.opc, mnc_length=entry.mnc_length, sqn=entry.sqn)
        given = True
    if not given:
        hss.require_keys("the card is in a reader and the HSS has no K/OPc for it: "
                         "give --keys FILE or --expect-profile FILE")


def _reader_pin(known: Profile | None) -> str | None:
    """PIN1 of the card in the reader: ``SIMHARNESS_PIN1``, else the expected profile's."""
    from harness.readers.pcsc import PIN1_ENV

    if os.environ.get(PIN1_ENV):
        return os.environ[PIN1_ENV]
    return user_pin(known) if known is not None else None
