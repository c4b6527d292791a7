"""Toolkit runtime: proactive queue, FETCH / TERMINAL RESPONSE, ENVELOPE routing and status words
(TS 102 221 §11.2, TS 102 223 §6-7)."""

import json

import pytest

from csim import stk
from csim.toolkit import QUEUE_LIMIT, Applet, Toolkit, build

H = bytes.fromhex
FULL_PROFILE = stk.TerminalProfile.build(stk.PROFILE_BITS).raw


class PendingCard:
    """Records what the toolkit tells the core about pending proactive commands."""

    def __init__(self):
        self.pending = []

    def set_proactive_pending(self, length):
        self.pending.append(length)

    @property
    def last(self):
        return self.pending[-1] if self.pending else 0


class Probe(Applet):
    """Queues an event list and a menu on TERMINAL PROFILE, records what reaches it."""

    name = "probe"

    def __init__(self):
        self.events, self.responses, self.selections = [], [], []

    def terminal_profile(self, toolkit, profile):
        if profile.supports("set_up_event_list"):
            toolkit.queue(self, stk.set_up_event_list([stk.Event.LOCATION_STATUS]))
        if profile.supports("set_up_menu"):
            toolkit.queue(self, stk.set_up_menu("Probe", [(1, "One"), (2, "Two")]))

    def envelope(self, toolkit, envelope):
        if isinstance(envelope, stk.EventDownload):
            self.events.append(envelope)
            return b""
        return None

    def terminal_response(self, toolkit, response, command):
        self.responses.append((response.result, stk.parse_proactive(command).type))

    def menu_selection(self, toolkit, item, help_request):
        self.selections.append(item)

    def state(self):
        return {"events": len(self.events), "selections": self.selections}

    def restore(self, state):
        self.selections = list(state["selections"])


@pytest.fixture
def rig():
    card, probe = PendingCard(), Probe()
    return card, probe, Toolkit(card, [probe])


def ok(cmd: bytes, result: int = 0) -> bytes:
    return stk.terminal_response(stk.parse_proactive(cmd).details, result)


def test_fetch_with_nothing_pending(rig):
    card, _, tk = rig
    assert tk.fetch() is None
    tk.terminal_profile(b"")  # a terminal supporting nothing: no command
    assert tk.fetch() is None and card.last == 0


def test_proactive_session_sequence(rig):
    card, probe, tk = rig
    tk.terminal_profile(FULL_PROFILE)
    first = stk.set_up_event_list([3])
    assert card.last == len(first) == tk.pending
    cmd = tk.fetch()
    assert cmd == first  # numbered 01
    assert card.last == 0 and tk.busy  # no 91xx while the terminal response is awaited
    assert tk.fetch() is None
    assert tk.terminal_response(ok(cmd)) == 0x9000
    menu = tk.fetch()
    decoded = stk.parse_proactive(menu)
    assert decoded.number == 2 and decoded.type == stk.Command.SET_UP_MENU
    assert card.pending[-2] == len(menu)
    assert tk.terminal_response(ok(menu)) == 0x9000
    assert probe.responses == [(0, 0x05), (0, 0x25)]
    assert card.last == 0 and not tk.busy


def test_envelope_while_session_open_is_busy(rig):
    card, probe, tk = rig
    tk.terminal_profile(FULL_PROFILE)
    cmd = tk.fetch()
    env = stk.event_download_location_status(stk.LocationStatus.NO_SERVICE)
    assert tk.envelope(env) == (0x9300, b"")
    assert probe.events == []
    tk.terminal_response(ok(cmd))
    assert tk.envelope(env) == (0x9000, b"")
    assert probe.events[0].location_status == stk.LocationStatus.NO_SERVICE


@pytest.mark.parametrize(
    "data, sw",
    [
        (H("D614190103820282811B0100"), 0x6700),  # BER length says 20, 10 bytes follow
        (H("D6"), 0x6700),
        (H("D60A190103820282811B01"), 0x6700),
        (H("D609190103820282811B01"), 0x6A80),  # location status TLV truncated
        (H("D607820282811901 03"), 0x6A80),  # location status missing
        (H("D004820282 81"), 0x6A80),  # proactive template sent as an envelope
        (H("D104820283 81"), 0x6A81),  # SMS-PP download: nothing on the card handles it
    ],
)
def test_envelope_status_words(rig, data, sw):
    _, _, tk = rig
    assert tk.envelope(data)[0] == sw


def test_terminal_response_status_words(rig):
    _, probe, tk = rig
    assert tk.terminal_response(stk.terminal_response(H("010500"), 0)) == 0x6985  # nothing awaited
    tk.terminal_profile(FULL_PROFILE)
    cmd = tk.fetch()
    assert tk.terminal_response(H("810301")) == 0x6A80  # malformed
    assert tk.terminal_response(stk.terminal_response(H("090500"), 0)) == 0x6A80  # wrong number
    assert tk.terminal_response(stk.terminal_response(H("012500"), 0)) == 0x6A80  # wrong type
    assert tk.busy and probe.responses == []
    assert tk.terminal_response(ok(cmd)) == 0x9000


def test_menu_selection_routed_to_menu_owner(rig):
    _, probe, tk = rig
    tk.terminal_profile(FULL_PROFILE)
    assert tk.envelope(stk.menu_selection(2))[0] == 0x6A80  # no menu set up yet
    for _ in range(2):
        tk.terminal_response(ok(tk.fetch()))
    assert tk.envelope(stk.menu_selection(2)) == (0x9000, b"")
    assert tk.envelope(stk.menu_selection(7))[0] == 0x6A80
    assert probe.selections == [2]


def test_menu_refused_by_terminal_is_forgotten(rig):
    _, _, tk = rig
    tk.terminal_profile(FULL_PROFILE)
    tk.terminal_response(ok(tk.fetch()))
    tk.terminal_response(ok(tk.fetch(), result=stk.Result.BEYOND_CAPABILITIES))
    assert tk.envelope(stk.menu_selection(1))[0] == 0x6A80


def test_queue_limit(rig):
    card, probe, tk = rig
    tk.terminal_profile(b"\x01")
    for _ in range(QUEUE_LIMIT):
        assert tk.queue(probe, stk.provide_local_information())
    assert not tk.queue(probe, stk.provide_local_information())
    assert tk.envelope(stk.event_download_location_status(0))[0] == 0x9300
    numbers = [stk.parse_proactive(c).number for c in tk.queued()]
    assert numbers == list(range(1, QUEUE_LIMIT + 1))


def test_command_numbers_wrap_within_01_fe(rig):
    _, probe, tk = rig
    tk.terminal_profile(b"\x01")
    seen = []
    for _ in range(300):
        tk.queue(probe, stk.provide_local_information())
        cmd = tk.fetch()
        seen.append(stk.parse_proactive(cmd).number)
        tk.terminal_response(ok(cmd))
    assert min(seen) == 1 and max(seen) == 0xFE and seen[0xFE] == 1


def test_new_terminal_profile_starts_a_new_session(rig):
    card, probe, tk = rig
    tk.terminal_profile(FULL_PROFILE)
    tk.fetch()
    tk.terminal_profile(FULL_PROFILE)
    assert not tk.busy and len(tk.queued()) == 2 and card.last > 0


def test_reset_ends_session_keeps_applet_state(rig):
    card, probe, tk = rig
    tk.terminal_profile(FULL_PROFILE)
    for _ in range(2):
        tk.terminal_response(ok(tk.fetch()))
    tk.envelope(stk.menu_selection(1))
    tk.reset()
    assert tk.profile is None and card.last == 0 and tk.fetch() is None
    assert probe.selections == [1]
    tk.queue(probe, stk.provide_local_information())
    assert tk.pending == 0  # nothing is announced before the next TERMINAL PROFILE


def test_state_round_trip_through_json(rig):
    card, probe, tk = rig
    tk.terminal_profile(FULL_PROFILE)
    tk.terminal_response(ok(tk.fetch()))
    menu = tk.fetch()
    tk.terminal_response(ok(menu))
    tk.envelope(stk.menu_selection(2))
    tk.queue(probe, stk.provide_local_information())
    saved = json.loads(json.dumps(tk.state()))

    card2, probe2 = PendingCard(), Probe()
    tk2 = Toolkit(card2, [probe2])
    tk2.restore(saved)
    assert probe2.selections == [2]
    assert tk2.profile == tk.profile and tk2.queued() == tk.queued()
    assert card2.last == tk.pending
    assert tk2.envelope(stk.menu_selection(1)) == (0x9000, b"")
    cmd = tk2.fetch()
    assert stk.parse_proactive(cmd).number == 3
    tk2.terminal_response(ok(cmd))
    tk2.queue(probe2, stk.provide_local_information())
    assert stk.parse_proactive(tk2.fetch()).number == 4


def test_duplicate_applet_names_rejected(rig):
    _, probe, tk = rig
    with pytest.raises(ValueError):
        tk.install(probe)


def test_build_without_applets():
    card = PendingCard()
    tk = build(card)
    assert tk.applets == []
    tk.terminal_profile(FULL_PROFILE)
    assert tk.fetch() is None


def test_toolkit_is_the_compiled_runtime():
    from csim import cat

    assert Toolkit is cat.Toolkit


def test_core_drives_the_compiled_runtime_and_other_toolkits_alike():
    """The core calls csim.cat's Toolkit at C level and any other toolkit object through Python:
    the same APDUs get the same answers."""
    from csim import Card
    from csim import profile as profiles

    profile = profiles.load_profile("alphalink-orange")
    image = profiles.build_image(profile)

    class Wrapped:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

    cards = [Card(image, profile=profile), Card(image, profile=profile)]
    cards[1].toolkit = Wrapped(cards[1].toolkit)
    answers = []
    for card in cards:
        card.reset()
        seen = [card.transmit(H("8010000014") + FULL_PROFILE[:20])]
        while seen[-1][-2] == 0x91:
            cmd = card.transmit(bytes([0x80, 0x12, 0, 0, seen[-1][-1]]))
            seen.append(cmd)
            seen.append(card.transmit(bytes([0x80, 0x14, 0, 0, len(ok(cmd[:-2]))]) + ok(cmd[:-2])))
        env = stk.event_download_location_status(0, stk.LocationInformation("262-01", 1, H("0000100100")))
        seen.append(card.transmit(bytes([0x80, 0xC2, 0, 0, len(env)]) + env))
        seen.append(card.transmit(bytes([0x80, 0x14, 0, 0, 3]) + H("010203")))
        answers.append(seen)
    assert answers[0] == answers[1]
    assert answers[0][-2][-2] == 0x91  # REFRESH after the switch to the international profile
