"""The card's toolkit runtime: TERMINAL PROFILE, the proactive command queue, ENVELOPE routing,
FETCH and TERMINAL RESPONSE (ETSI TS 102 221 §11.2, TS 102 223 §6-7).

The core calls :class:`Toolkit` for the four CAT instructions and turns ``9000`` into ``91xx``
while :meth:`Toolkit.fetch` has a command to give. Applets (such as the roaming applet of
:mod:`csim.roaming`) react to the terminal profile, to envelopes and to terminal responses, and
queue proactive commands through :meth:`Toolkit.queue`.

Status words returned (TS 102 221 §10.2.1): ``9000``; ``9300`` toolkit busy (a proactive
command was fetched and its TERMINAL RESPONSE has not arrived, or the queue is full);
``6700`` when the envelope's BER-TLV length disagrees with the data received; ``6A80``
malformed data (bad TLV, missing mandatory data object, unknown menu item, terminal response
not matching the command); ``6A81`` envelope template nothing on the card handles;
``6985`` TERMINAL RESPONSE with no proactive command awaiting one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol

from csim import stk

SW_OK = 0x9000
SW_BUSY = 0x9300
SW_WRONG_LENGTH = 0x6700
SW_INCORRECT_DATA = 0x6A80
SW_FUNCTION_NOT_SUPPORTED = 0x6A81
SW_CONDITIONS_NOT_SATISFIED = 0x6985

QUEUE_LIMIT = 8  # proactive commands waiting to be fetched
_SET_UP_MENU = int(stk.Command.SET_UP_MENU)
_PREPARED_LIMIT = 512  # distinct command templates remembered (see _prepare)


class ToolkitCard(Protocol):
    """What the toolkit and its applets need from the card."""

    def set_proactive_pending(self, length: int) -> None: ...


class Applet:
    """Base of toolkit applets: every hook does nothing unless overridden.

    ``envelope`` returns ``None`` when the applet does not handle the envelope, else the
    response data (``b""`` for none).
    """

    name = "applet"

    def terminal_profile(self, toolkit: Toolkit, profile: stk.TerminalProfile) -> None:
        return None

    def envelope(self, toolkit: Toolkit, envelope: stk.Envelope) -> bytes | None:
        return None

    def terminal_response(self, toolkit: Toolkit, response: stk.TerminalResponse, command: bytes) -> None:
        return None

    def menu_selection(self, toolkit: Toolkit, item: int, help_request: bool) -> None:
        return None

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        return None


class Toolkit:
    """CAT runtime of one card (TS 102 223 §6: proactive UICC)."""

    def __init__(self, card: ToolkitCard, applets: Iterable[Applet] = ()) -> None:
        self.card = card
        self.profile: stk.TerminalProfile | None = None
        self.applets: list[Applet] = []
        # queue entries: (owner name, command bytes, its command number, its template)
        self._queue: deque[_Entry] = deque()
        self._outstanding: _Entry | None = None
        self._menu: dict[int, str] = {}  # item identifier -> applet name, from the last SET UP MENU
        self._number = 0
        for applet in applets:
            self.install(applet)

    # --- applets -----------------------------------------------------------------------------

    def install(self, applet: Applet) -> None:
        if any(a.name == applet.name for a in self.applets):
            raise ValueError(f"applet {applet.name!r} already installed")
        self.applets.append(applet)

    def applet(self, name: str) -> Applet:
        """The installed applet called ``name`` (KeyError if none)."""
        for a in self.applets:
            if a.name == name:
                return a
        raise KeyError(name)

    # --- proactive queue ---------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Length of the command FETCH would return now (0 = none), i.e. the SW2 of ``91xx``."""
        if self.profile is None or self._outstanding is not None or not self._queue:
            return 0
        return len(self._queue[0][1])

    @property
    def busy(self) -> bool:
        """A proactive session is open: a command was fetched, its TERMINAL RESPONSE is awaited."""
        return self._outstanding is not None

    def queued(self) -> list[bytes]:
        """Commands waiting to be fetched, oldest first (read-only view)."""
        return [e[1] for e in self._queue]

    def queue(self, owner: Applet, command: bytes) -> bool:
        """Queue a ``D0`` proactive command; numbers it (01-FE, §8.6). False if the queue is full."""
        queue = self._queue
        if len(queue) >= QUEUE_LIMIT:
            return False
        self._number = number = self._number % 0xFE + 1
        template = _prepared.get(command) if type(command) is bytes else None
        if template is None:
            template = _prepare(command)
        numbered = template._numbered.get(number)
        if numbered is None:
            numbered = template.numbered(number)
        queue.append((owner.name, numbered, number, template))
        if len(queue) == 1:  # behind another command, the pending length does not change
            self._signal()
        return True

    def _signal(self) -> None:
        """Tell the core the length of the command FETCH would return (:attr:`pending`)."""
        queue = self._queue
        self.card.set_proactive_pending(
            len(queue[0][1]) if queue and self._outstanding is None and self.profile is not None else 0
        )

    # --- the four CAT instructions -----------------------------------------------------------

    def terminal_profile(self, data: bytes) -> None:
        """TERMINAL PROFILE (TS 102 221 §11.2.1): a new toolkit session starts.

        Commands of the previous session are dropped; each applet then queues what it needs.
        """
        self.profile = stk.TerminalProfile.decode(data)
        self._queue.clear()
        self._outstanding = None
        self._menu.clear()
        for applet in self.applets:
            applet.terminal_profile(self, self.profile)
        self._signal()

    def envelope(self, data: bytes) -> tuple[int, bytes]:
        """ENVELOPE (TS 102 221 §11.2.2, TS 102 223 §7) -> (SW, response data)."""
        try:
            env = stk.parse_envelope(data)
        except stk.TlvLengthError:
            return SW_WRONG_LENGTH, b""
        except stk.TlvError:
            return SW_INCORRECT_DATA, b""
        if self._outstanding is not None or len(self._queue) >= QUEUE_LIMIT:
            return SW_BUSY, b""
        kind = type(env)
        if kind is stk.MenuSelection:
            owner = self._menu.get(env.item)
            if owner is None:
                return SW_INCORRECT_DATA, b""
            self.applet(owner).menu_selection(self, env.item, env.help)
            self._signal()
            return SW_OK, b""
        handled = False
        response = b""
        for applet in self.applets:
            r = applet.envelope(self, env)
            if r is not None:
                handled = True
                response += r
        self._signal()
        if kind is stk.OtherEnvelope and not handled:
            return SW_FUNCTION_NOT_SUPPORTED, b""
        return SW_OK, response

    def fetch(self) -> bytes | None:
        """FETCH (TS 102 221 §11.2.3): the next proactive command, or None when none is pending."""
        if self._outstanding is not None or not self._queue or self.profile is None:
            return None
        self._outstanding = entry = self._queue.popleft()
        owner, command, _, template = entry
        if template.regular:
            if template.type == _SET_UP_MENU:
                self._menu = dict.fromkeys(template.menu, owner)
        else:
            cmd = stk.parse_proactive(command)
            if cmd.type == _SET_UP_MENU:
                self._menu = {ident: owner for ident, _ in cmd.menu_items()}
        self._signal()
        return command

    def terminal_response(self, data: bytes) -> int:
        """TERMINAL RESPONSE (TS 102 221 §11.2.4, TS 102 223 §6.8) -> SW."""
        if self._outstanding is None:
            return SW_CONDITIONS_NOT_SATISFIED
        try:
            resp = stk.parse_terminal_response(data)
        except stk.TlvError:
            return SW_INCORRECT_DATA
        owner, command, number, template = self._outstanding
        if template.regular:
            kind = template.type
        else:
            cmd = stk.parse_proactive(command)
            number, kind = cmd.number, cmd.type
        if resp.number != number or resp.type != kind:
            return SW_INCORRECT_DATA
        self._outstanding = None
        if kind == _SET_UP_MENU and resp.result >= 0x10:  # not successful, §8.12
            self._menu.clear()
        self.applet(owner).terminal_response(self, resp, command)
        self._signal()
        return SW_OK

    # --- card life cycle ---------------------------------------------------------------------

    def reset(self) -> None:
        """Card reset: the toolkit session ends (profile, queue, menu); applet state is kept."""
        self.profile = None
        self._queue.clear()
        self._outstanding = None
        self._menu.clear()
        self._signal()

    def state(self) -> dict[str, Any]:
        return {
            "terminal_profile": None if self.profile is None else self.profile.raw.hex(),
            "queue": [[e[0], e[1].hex()] for e in self._queue],
            "outstanding": None if self._outstanding is None else [self._outstanding[0],
                                                                    self._outstanding[1].hex()],
            "menu": {str(k): v for k, v in self._menu.items()},
            "number": self._number,
            "applets": {a.name: a.state() for a in self.applets},
        }

    def restore(self, state: dict[str, Any]) -> None:
        tp = state.get("terminal_profile")
        self.profile = None if tp is None else stk.TerminalProfile.decode(bytes.fromhex(tp))
        self._queue = deque(_restored(o, bytes.fromhex(c)) for o, c in state.get("queue", []))
        out = state.get("outstanding")
        self._outstanding = None if out is None else _restored(out[0], bytes.fromhex(out[1]))
        self._menu = {int(k): v for k, v in state.get("menu", {}).items()}
        self._number = int(state.get("number", 0))
        for name, st in state.get("applets", {}).items():
            if any(a.name == name for a in self.applets):
                self.applet(name).restore(st)
        self._signal()


class _Template:
    """A proactive command as an applet queues it, decoded once (TS 102 223 §6.6).

    ``canonical`` is the command re-encoded as the card sends it; ``positions`` are the offsets
    of the command number in each 3-byte command details object (§8.6), so numbering a queued
    command is a byte patch. ``regular`` commands decode as proactive commands: their ``type``
    and, for SET UP MENU, their item identifiers (``menu``) are kept. Others take the general
    decoder at FETCH and TERMINAL RESPONSE, which reports what is wrong with them.
    """

    __slots__ = ("canonical", "positions", "regular", "type", "menu", "_numbered")

    def __init__(self, canonical: bytes, positions: tuple[int, ...], regular: bool,
                 kind: int | None, menu: tuple[int, ...]) -> None:
        self.canonical = canonical
        self.positions = positions
        self.regular = regular
        self.type = kind
        self.menu = menu
        self._numbered: dict[int, bytes] = {}

    def numbered(self, number: int) -> bytes:
        """The command with command number ``number`` (01-FE)."""
        command = self._numbered.get(number)
        if command is None:
            if self.positions:
                b = bytearray(self.canonical)
                for pos in self.positions:
                    b[pos] = number
                command = bytes(b)
            else:
                command = self.canonical
            self._numbered[number] = command  # at most 254 numbers
        return command


_Entry = tuple[str, bytes, int, _Template]  # owner, command, command number, template
_prepared: dict[bytes, _Template] = {}
_IRREGULAR = _Template(b"", (), False, None, ())


def _prepare(command: bytes) -> _Template:
    """The template of a ``D0`` command (remembered: applets queue the same commands again).

    Raises :class:`csim.stk.TlvError` when the command is not one BER-TLV of COMPREHENSION-TLVs.
    """
    key = command if type(command) is bytes else bytes(command)
    template = _prepared.get(key)
    if template is not None:
        return template
    tag, value = stk.parse_ber(key)
    body = bytearray()
    numbers: list[int] = []
    for t in stk.parse_ctlvs(value):
        encoded = t.encode()
        body += encoded
        if t.tag == stk.Tag.COMMAND_DETAILS and len(t.value) == 3:
            numbers.append(len(body) - 3)
    canonical = stk.ber_tlv(tag, bytes(body))
    head = len(canonical) - len(body)
    regular, kind, menu = True, None, ()
    try:
        cmd = stk.parse_proactive(canonical)
        kind = cmd.type
        if kind == stk.Command.SET_UP_MENU:
            menu = tuple(ident for ident, _ in cmd.menu_items())
    except Exception:  # TlvError, an undecodable item text: the general path reports it
        regular = False
    template = _Template(canonical, tuple(head + n for n in numbers), regular, kind, menu)
    if len(_prepared) >= _PREPARED_LIMIT:
        _prepared.clear()
    _prepared[key] = template
    return template


def _restored(owner: str, command: bytes) -> _Entry:
    """A queue entry from saved state: the command as saved, numbered as it says."""
    try:
        template = _prepare(command)
    except ValueError:
        return owner, command, 0, _IRREGULAR
    if template.canonical != command or not template.regular:
        # decoded through the general path at FETCH / TERMINAL RESPONSE
        return owner, command, 0, _IRREGULAR
    number = command[template.positions[0]] if template.positions else 0
    return owner, command, number, template


def build(card: Any, profile: Any = None) -> Toolkit:
    """The toolkit of a card; with the roaming applet installed when ``profile.applet`` is set."""
    toolkit = Toolkit(card)
    if profile is not None and getattr(profile, "applet", None) is not None:
        from csim.roaming import RoamingApplet

        toolkit.install(RoamingApplet.from_profile(card, profile))
    return toolkit
