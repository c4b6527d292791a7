# cython: language_level=3, boundscheck=False, wraparound=False
"""The proactive UICC runtime of :mod:`csim.toolkit` (ETSI TS 102 221 §11.2, TS 102 223 §6-7).

:class:`Toolkit` keeps the toolkit session of one card: the terminal profile, the queue of
proactive commands, the command awaiting its TERMINAL RESPONSE and the owner of each menu item;
it routes the four CAT instructions to the installed applets and tells the card the length of
the command FETCH would return (``91xx``, TS 102 221 §7.4.2.2). Queued commands are decoded once
per distinct command (:class:`Template`); numbering a queued command is a byte patch.
"""

from cpython.bytes cimport PyBytes_GET_SIZE

import weakref

from csim import stk

SW_OK = 0x9000
SW_BUSY = 0x9300
SW_WRONG_LENGTH = 0x6700
SW_INCORRECT_DATA = 0x6A80
SW_FUNCTION_NOT_SUPPORTED = 0x6A81
SW_CONDITIONS_NOT_SATISFIED = 0x6985

QUEUE_LIMIT = 8  # proactive commands waiting to be fetched
cdef enum:
    _QUEUE_LIMIT = 8
    _SET_UP_MENU = 0x25  # type of command SET UP MENU, TS 102 223 §9.4
_PREPARED_LIMIT = 512  # distinct command templates remembered (see prepare)

cdef object _parse_envelope = stk.parse_envelope
cdef object _parse_terminal_response = stk.parse_terminal_response
cdef object _parse_proactive = stk.parse_proactive
cdef object _decode_profile = stk.TerminalProfile.decode
# csim.stk's tables of decoded data fields (emptied in place when full, never replaced)
cdef dict _envelopes = stk._envelopes
cdef dict _terminal_responses = stk._terminal_responses
cdef dict _terminal_profiles = stk._terminal_profiles
cdef object _TlvError = stk.TlvError
cdef object _TlvLengthError = stk.TlvLengthError
cdef object _MenuSelection = stk.MenuSelection
cdef object _OtherEnvelope = stk.OtherEnvelope


cdef class Template:
    """A proactive command as an applet queues it, decoded once (TS 102 223 §6.6).

    ``canonical`` is the command re-encoded as the card sends it; ``positions`` are the offsets
    of the command number in each 3-byte command details object (§8.6). ``regular`` commands
    decode as proactive commands: their ``type`` and, for SET UP MENU, their item identifiers
    (``menu``) are kept. Others take the general decoder at FETCH and TERMINAL RESPONSE, which
    reports what is wrong with them.
    """

    def __init__(self, bytes canonical, tuple positions, bint regular, kind, tuple menu):
        self.canonical = canonical
        self.positions = positions
        self.regular = regular
        self.type = kind
        self.menu = menu
        self._numbered = {}

    cpdef bytes numbered(self, int number):
        """The command with command number ``number`` (01-FE)."""
        cdef bytes command = self._numbered.get(number)
        cdef bytearray b
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


cdef dict _prepared = {}
IRREGULAR = Template(b"", (), False, None, ())


def prepare(command) -> Template:
    """The template of a ``D0`` command (remembered: applets queue the same commands again).

    Raises :class:`csim.stk.TlvError` when the command is not one BER-TLV of COMPREHENSION-TLVs.
    """
    key = command if type(command) is bytes else bytes(command)
    template = _prepared.get(key)
    if template is not None:
        return template
    tag, value = stk.parse_ber(key)
    body = bytearray()
    numbers = []
    for t in stk.parse_ctlvs(value):
        body += t.encode()
        if t.tag == stk.Tag.COMMAND_DETAILS and len(t.value) == 3:
            numbers.append(len(body) - 3)
    canonical = stk.ber_tlv(tag, bytes(body))
    head = len(canonical) - len(body)
    regular, kind, menu = True, None, ()
    try:
        cmd = stk.parse_proactive(canonical)
        kind = int(cmd.type)
        if kind == _SET_UP_MENU:
            menu = tuple([ident for ident, _ in cmd.menu_items()])
    except Exception:  # TlvError, an undecodable item text: the general path reports it
        regular = False
    template = Template(canonical, tuple([head + n for n in numbers]), regular, kind, menu)
    if len(_prepared) >= _PREPARED_LIMIT:
        _prepared.clear()
    _prepared[key] = template
    return template


cdef class Entry:
    """A queued proactive command: its owner, the numbered command, its number and template."""

    def __init__(self, str owner, bytes command, int number, Template template):
        self.owner = owner
        self.command = command
        self.number = number
        self.template = template

    def __getitem__(self, int i):
        return (self.owner, self.command, self.number, self.template)[i]

    def __len__(self):
        return 4


cdef inline Entry _entry(str owner, bytes command, int number, Template template, applet):
    cdef Entry e = Entry.__new__(Entry)
    e.applet = applet
    e.owner = owner
    e.command = command
    e.number = number
    e.template = template
    return e


def restored_entry(str owner, bytes command) -> Entry:
    """A queue entry from saved state: the command as saved, numbered as it says."""
    cdef Template template
    try:
        template = prepare(command)
    except ValueError:
        return Entry(owner, command, 0, IRREGULAR)
    if template.canonical != command or not template.regular:
        # decoded through the general path at FETCH / TERMINAL RESPONSE
        return Entry(owner, command, 0, IRREGULAR)
    number = command[template.positions[0]] if template.positions else 0
    return Entry(owner, command, number, template)


cdef class CompiledApplet:
    """Base of applets written in Cython: the toolkit calls these hooks at C level (a Python
    subclass may still override them). Same contract as :class:`csim.toolkit.Applet`."""

    cpdef terminal_profile(self, toolkit, profile):
        return None

    cpdef envelope(self, toolkit, envelope):
        return None

    cpdef terminal_response(self, toolkit, response, command):
        return None


cdef class Toolkit:
    """CAT runtime of one card (TS 102 223 §6: proactive UICC)."""

    def __init__(self, card, applets=()):
        self._card = weakref.ref(card)
        self.profile = None
        self.applets = []
        self._queue = []
        self._outstanding = None
        self._menu = {}
        self._number = 0
        for applet in applets:
            self.install(applet)

    @property
    def card(self):
        """The card of this runtime, None once it is gone. The card owns its runtime and the
        runtime refers back to it weakly, so a card no longer used is freed at once rather than
        by the cycle collector."""
        return self._card()

    # --- applets -----------------------------------------------------------------------------

    def install(self, applet) -> None:
        for a in self.applets:
            if a.name == applet.name:
                raise ValueError(f"applet {applet.name!r} already installed")
        self.applets.append(applet)

    cpdef applet(self, str name):
        """The installed applet called ``name`` (KeyError if none)."""
        for a in self.applets:
            if a.name == name:
                return a
        raise KeyError(name)

    cdef object _owner(self, Entry entry):
        """The first installed applet called ``entry.owner`` (usually the one that queued it)."""
        applet = entry.applet
        if applet is not None:
            for a in self.applets:
                if a is applet or a.name == entry.owner:
                    return a
        return self.applet(entry.owner)

    # --- proactive queue ---------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Length of the command FETCH would return now (0 = none), i.e. the SW2 of ``91xx``."""
        return self._pending()

    @property
    def busy(self) -> bool:
        """A proactive session is open: a command was fetched, its TERMINAL RESPONSE is awaited."""
        return self._outstanding is not None

    def queued(self) -> list:
        """Commands waiting to be fetched, oldest first (read-only view)."""
        return [(<Entry>e).command for e in self._queue]

    cpdef bint queue(self, owner, command) except -1:
        """Queue a ``D0`` proactive command; numbers it (01-FE, §8.6). False if the queue is full."""
        cdef list queue = self._queue
        cdef Template template
        cdef bytes numbered
        cdef int number
        if len(queue) >= _QUEUE_LIMIT:
            return False
        number = self._number % 0xFE + 1
        self._number = number
        template = _prepared.get(command) if type(command) is bytes else None
        if template is None:
            template = prepare(command)
        numbered = template._numbered.get(number)
        if numbered is None:
            numbered = template.numbered(number)
        queue.append(_entry(owner.name, numbered, number, template, owner))
        if len(queue) == 1:  # behind another command, the pending length does not change
            self._signal()
        return True

    cdef int _pending(self):
        if self.profile is None or self._outstanding is not None or not self._queue:
            return 0
        return PyBytes_GET_SIZE((<Entry>self._queue[0]).command)

    cdef int attach(self, object core, int* slot) except -1:
        """A compiled core tells the length of the pending command by writing ``*slot`` (its
        own field) instead of calling ``set_proactive_pending``; used while ``core`` is
        :attr:`card`, alive (``core`` itself is not held: only its address is kept)."""
        self._core = <void*>core
        self._slot = slot
        return 0

    cdef int _signal(self) except -1:
        """Tell the core the length of the command FETCH would return (:attr:`pending`)."""
        cdef int n = self._pending()
        card = self._card()
        if self._slot != NULL and self._core == <void*>card and n <= 256:
            self._slot[0] = n
        elif card is not None:
            card.set_proactive_pending(n)
        return 0

    # --- the four CAT instructions -----------------------------------------------------------

    cpdef terminal_profile(self, data):
        """TERMINAL PROFILE (TS 102 221 §11.2.1): a new toolkit session starts.

        Commands of the previous session are dropped; each applet then queues what it needs.
        """
        profile = _terminal_profiles.get(data) if type(data) is bytes else None
        if profile is None:
            profile = _decode_profile(data)
        self.profile = profile
        self._queue.clear()
        self._outstanding = None
        self._menu.clear()
        for applet in self.applets:
            if isinstance(applet, CompiledApplet):
                (<CompiledApplet>applet).terminal_profile(self, profile)
            else:
                applet.terminal_profile(self, profile)
        self._signal()

    cpdef tuple envelope(self, data):
        """ENVELOPE (TS 102 221 §11.2.2, TS 102 223 §7) -> (SW, response data)."""
        cdef bint handled = False
        env = _envelopes.get(data) if type(data) is bytes else None
        if env is None:
            try:
                env = _parse_envelope(data)
            except _TlvLengthError:
                return SW_WRONG_LENGTH, b""
            except _TlvError:
                return SW_INCORRECT_DATA, b""
        if self._outstanding is not None or len(self._queue) >= _QUEUE_LIMIT:
            return SW_BUSY, b""
        kind = type(env)
        if kind is _MenuSelection:
            owner = self._menu.get(env.item)
            if owner is None:
                return SW_INCORRECT_DATA, b""
            self.applet(owner).menu_selection(self, env.item, env.help)
            self._signal()
            return SW_OK, b""
        response = b""
        for applet in self.applets:
            if isinstance(applet, CompiledApplet):
                r = (<CompiledApplet>applet).envelope(self, env)
            else:
                r = applet.envelope(self, env)
            if r is not None:
                handled = True
                response += r
        self._signal()
        if kind is _OtherEnvelope and not handled:
            return SW_FUNCTION_NOT_SUPPORTED, b""
        return SW_OK, response

    cpdef fetch(self):
        """FETCH (TS 102 221 §11.2.3): the next proactive command, or None when none is pending."""
        cdef Entry entry
        cdef Template template
        cdef list queue
        if self._outstanding is not None or not self._queue or self.profile is None:
            return None
        queue = self._queue
        entry = <Entry>queue[0]
        del queue[0]
        self._outstanding = entry
        template = entry.template
        if template.regular:
            if <int>template.type == _SET_UP_MENU:
                self._menu = dict.fromkeys(template.menu, entry.owner)
        else:
            cmd = _parse_proactive(entry.command)
            if cmd.type == _SET_UP_MENU:
                self._menu = dict.fromkeys([ident for ident, _ in cmd.menu_items()], entry.owner)
        self._signal()
        return entry.command

    cpdef int terminal_response(self, data) except -1:
        """TERMINAL RESPONSE (TS 102 221 §11.2.4, TS 102 223 §6.8) -> SW."""
        cdef Entry entry = self._outstanding
        cdef Template template
        cdef int number, kind
        if entry is None:
            return SW_CONDITIONS_NOT_SATISFIED
        resp = _terminal_responses.get(data) if type(data) is bytes else None
        if resp is None:
            try:
                resp = _parse_terminal_response(data)
            except _TlvError:
                return SW_INCORRECT_DATA
        template = entry.template
        if template.regular:
            number = entry.number
            kind = template.type
        else:
            cmd = _parse_proactive(entry.command)
            number = cmd.number
            kind = cmd.type
        if <int>resp.number != number or <int>resp.type != kind:
            return SW_INCORRECT_DATA
        self._outstanding = None
        if kind == _SET_UP_MENU and resp.result >= 0x10:  # not successful, §8.12
            self._menu.clear()
        applet = self._owner(entry)
        self._answered = entry.command
        self._answered_type = kind
        try:
            if isinstance(applet, CompiledApplet):
                (<CompiledApplet>applet).terminal_response(self, resp, entry.command)
            else:
                applet.terminal_response(self, resp, entry.command)
        finally:
            self._answered = None
        self._signal()
        return SW_OK

    # --- card life cycle ---------------------------------------------------------------------

    cpdef reset(self):
        """Card reset: the toolkit session ends (profile, queue, menu); applet state is kept."""
        self.profile = None
        self._queue.clear()
        self._outstanding = None
        self._menu.clear()
        self._signal()

    def state(self) -> dict:
        out = self._outstanding
        return {
            "terminal_profile": None if self.profile is None else self.profile.raw.hex(),
            "queue": [[(<Entry>e).owner, (<Entry>e).command.hex()] for e in self._queue],
            "outstanding": None if out is None else [out.owner, out.command.hex()],
            "menu": {str(k): v for k, v in self._menu.items()},
            "number": self._number,
            "applets": {a.name: a.state() for a in self.applets},
        }

    def restore(self, state: dict) -> None:
        tp = state.get("terminal_profile")
        self.profile = None if tp is None else _decode_profile(bytes.fromhex(tp))
        self._queue = [restored_entry(o, bytes.fromhex(c)) for o, c in state.get("queue", [])]
        out = state.get("outstanding")
        self._outstanding = None if out is None else restored_entry(out[0], bytes.fromhex(out[1]))
        self._menu = {int(k): v for k, v in state.get("menu", {}).items()}
        self._number = int(state.get("number", 0))
        for name, st in state.get("applets", {}).items():
            if name in [a.name for a in self.applets]:
                self.applet(name).restore(st)
        self._signal()
