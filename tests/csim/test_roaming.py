"""Multi-IMSI roaming applet (the AlphaLink mobile reference, "Paramétrage du roaming"): country table,
wildcards, limited service, forced profile, REFRESH, EF contents after a switch, persistence."""

import json
from pathlib import Path

import pytest
import yaml
from csim.milenage import generate_vector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csim import Card, stk
from csim import profile as profiles
from csim.roaming import (
    CLEARED_EPSLOCI,
    CLEARED_LOCI,
    CLEARED_PSLOCI,
    Entry,
    Policy,
    RoamingApplet,
    mcc_matches,
    plmn_matches,
)

H = bytes.fromhex
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "cards" / "alphalink-orange.yaml"
FULL = stk.TerminalProfile.build(stk.PROFILE_BITS)
IMSI = "3F00/7FF0/6F07"
LOCI, PSLOCI, EPSLOCI = "3F00/7FF0/6F7E", "3F00/7FF0/6F73", "3F00/7FF0/6FE3"


def load(**applet):
    doc = yaml.safe_load(FIXTURE.read_text())
    doc["applet"].update(applet)
    return profiles.load_profile(doc)


def make_card(profile, active=None):
    """A real card built from ``profile``; ``active`` writes another IMSI profile into the image."""
    image = profiles.build_image(profile)
    if active is not None:
        contents = profiles.profile_files(profile, active)
        for f in image.files:
            if f.path in contents:
                f.data = contents[f.path]
    return Card(image, profile=profile)


def apdu(cla, ins, data=b"", le=None):
    out = bytes([cla, ins, 0, 0])
    if data:
        out += bytes([len(data)]) + data
    if le is not None:
        out += bytes([le])
    return out


class Terminal:
    """A terminal driving the card's toolkit through APDUs (TS 102 221 §11.2, T=0 status words):
    TERMINAL PROFILE, ENVELOPE, FETCH on 91xx and a TERMINAL RESPONSE to every proactive command."""

    def __init__(self, card, profile=FULL):
        self.card, self.tp = card, profile
        self.pending = 0
        self.location = None  # (status, LocationInformation | None)
        self.refreshes, self.menu, self.commands = [], [], []

    def send(self, command: bytes) -> tuple[int, bytes]:
        r = self.card.transmit(command)
        sw = int.from_bytes(r[-2:], "big")
        if sw >> 8 == 0x91:
            self.pending = sw & 0xFF
        elif sw == 0x9000:
            self.pending = 0
        return sw, r[:-2]

    def power_on(self, plmn=None, status=stk.LocationStatus.NORMAL_SERVICE):
        if plmn is None:
            status = stk.LocationStatus.NO_SERVICE
        self.location = (status, loc(plmn) if plmn else None)
        sw, _ = self.send(apdu(0x80, 0x10, self.tp.raw))
        assert sw == 0x9000 or sw >> 8 == 0x91
        self.run()

    def run(self):
        while self.pending:
            announced = self.pending
            sw, raw = self.send(apdu(0x80, 0x12, le=announced))
            assert sw == 0x9000 and len(raw) == announced
            cmd = stk.parse_proactive(raw)
            self.commands.append(raw)
            objs, result = [], stk.Result.SUCCESS
            if cmd.type == stk.Command.SET_UP_MENU:
                self.menu = cmd.menu_items()
            elif cmd.type == stk.Command.REFRESH:
                self.refreshes.append(raw)
            elif cmd.type == stk.Command.PROVIDE_LOCAL_INFORMATION:
                status, where = self.location
                if status == stk.LocationStatus.NORMAL_SERVICE:
                    objs = [stk.ctlv(stk.Tag.LOCATION_INFORMATION, where.encode())]
                elif status == stk.LocationStatus.LIMITED_SERVICE:
                    result = stk.Result.LIMITED_SERVICE
                    objs = [stk.ctlv(stk.Tag.LOCATION_INFORMATION, where.encode())] if where else []
                else:
                    result = stk.Result.TERMINAL_UNABLE
            extra = b"\x04" if result == stk.Result.TERMINAL_UNABLE else b""
            response = stk.terminal_response(cmd.details, result, *objs, additional=extra)
            sw, _ = self.send(apdu(0x80, 0x14, response))
            assert sw == 0x9000 or sw >> 8 == 0x91

    def envelope(self, data: bytes) -> int:
        sw, out = self.send(apdu(0x80, 0xC2, data))
        assert out == b""
        return sw

    def event(self, plmn, status=stk.LocationStatus.NORMAL_SERVICE, with_location=None):
        where = loc(plmn) if plmn else None
        self.location = (status, where)
        send = where if (with_location if with_location is not None else status == 0) else None
        sw = self.envelope(stk.event_download_location_status(status, send))
        assert sw == 0x9000 or sw >> 8 == 0x91
        self.run()

    def select(self, text):
        item = dict((t, i) for i, t in self.menu)[text]
        sw = self.envelope(stk.menu_selection(item))
        assert sw == 0x9000 or sw >> 8 == 0x91
        self.run()


def loc(plmn):
    return stk.LocationInformation(plmn, 0x1234, H("00ABCDEF") if len(plmn) == 6 else H("0ABCDEFF"))


@pytest.fixture
def profile():
    return load()


@pytest.fixture
def card(profile):
    return make_card(profile)


def applet(card) -> RoamingApplet:
    return card.toolkit.applet("roaming")


def imsi_of(profile, name):
    return profiles.profile_files(profile, name)[IMSI]


# --- wildcard matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, plmn, expected",
    [
        ("208-*", "208-01", True), ("208-*", "208-20", True), ("208-*", "206-01", False),
        ("206-01", "206-01", True), ("206-01", "206-10", False), ("206-01", "206-010", False),
        ("2**-**", "262-01", True), ("2**-**", "310-260", False), ("2**-**", "228-010", False),
        ("2??-??", "213-03", True), ("3??-*", "310-260", True), ("3??-*", "302-720", True),
        ("31?-2?0", "310-260", True), ("31?-2?0", "310-261", False), ("***-*", "001-01", True),
    ],
)
def test_plmn_patterns(pattern, plmn, expected):
    assert plmn_matches(pattern, plmn) is expected


@pytest.mark.parametrize("bad", ["208", "2080-1", "208-1", "20A-01", "208-0001"])
def test_bad_patterns_rejected(bad):
    with pytest.raises(ValueError):
        plmn_matches(bad, "208-01")
    with pytest.raises(ValueError):
        Policy("domestic", "international", (Entry(bad, "domestic"),))


def test_policy_from_profile(profile):
    policy = Policy.from_config(profile.applet)
    assert policy.priority == "domestic" and policy.default == "international"
    assert policy.table[1] == Entry("206-01", "domestic")
    assert policy.refresh == stk.Refresh.NAA_INIT_FULL_FCN
    assert policy.candidates("206") == ["domestic", "international"]
    assert policy.candidates("262") == ["international"]
    assert policy.candidates("208") == ["domestic"]  # 208-* takes every French network: no default
    assert mcc_matches("2??-*", "262") and not mcc_matches("208-*", "206")


def test_candidates_include_default_only_where_reachable():
    policy = Policy("domestic", "international", (Entry("208-*", "domestic"), Entry("206-01", "domestic")))
    assert policy.select("206-10") == "international"  # a Belgian network reaches the default
    assert policy.candidates("206") == ["domestic", "international"]
    assert policy.candidates("208") == ["domestic"]
    assert policy.candidates("213") == ["international"]
    assert Policy("domestic", None, (Entry("208-*", "domestic"),)).candidates("213") == []
    wide = Policy("a", "b", (Entry("2??-*", "a"), Entry("206-01", "c")))
    assert wide.candidates("206") == ["a", "c"] and wide.candidates("310") == ["b"]


# --- the country table (the AlphaLink mobile reference: France, Belgium/Proximus -> domestic,
# elsewhere -> international)


@pytest.mark.parametrize(
    "plmn, expected",
    [
        ("208-01", "domestic"),  # France, Orange
        ("208-20", "domestic"),  # France, another operator
        ("206-01", "domestic"),  # Belgium, direct agreement with Proximus
        ("206-10", "international"),  # Belgium, Orange Belgium
        ("206-20", "international"),  # Belgium, BASE
        ("262-01", "international"),  # Germany
        ("228-01", "international"),  # Switzerland
        ("213-03", "international"),  # Andorra
        ("310-260", "international"),  # USA
    ],
)
def test_country_table(profile, card, plmn, expected):
    term = Terminal(card)
    term.power_on("208-01")
    assert applet(card).active == "domestic" and term.refreshes == []
    term.event(plmn)
    a = applet(card)
    assert a.active == expected and a.last_plmn == plmn
    assert card.read_file(IMSI) == imsi_of(profile, expected)
    assert len(term.refreshes) == a.switch_count == (expected != "domestic")


def test_journey_and_back_home(profile, card):
    term = Terminal(card)
    term.power_on("208-01")
    for plmn in ("206-01", "262-01", "228-01", "208-01"):
        term.event(plmn)
    a = applet(card)
    assert a.active == "domestic" and a.switch_count == 2
    assert [(h["from"], h["to"], h["plmn"]) for h in a.history] == [
        ("domestic", "international", "262-01"),
        ("international", "domestic", "208-01"),
    ]
    assert card.read_file(IMSI) == imsi_of(profile, "domestic")
    assert term.refreshes == [stk.refresh(0, number=stk.parse_proactive(r).number) for r in term.refreshes]


def test_power_on_abroad_learns_location_from_provide_local_information(profile, card):
    term = Terminal(card)
    term.power_on("262-01")
    kinds = [stk.parse_proactive(c).type for c in term.commands]
    assert kinds == [0x05, 0x25, 0x26, 0x01]  # event list, menu, local info, then the REFRESH
    assert applet(card).active == "international" and applet(card).events_registered


def test_no_service_changes_nothing(card):
    term = Terminal(card)
    term.power_on("208-01")
    term.event(None, stk.LocationStatus.NO_SERVICE)
    assert applet(card).active == "domestic" and applet(card).last_status == stk.LocationStatus.NO_SERVICE


# --- limited service: next entry for the same country -----------------------------------------------


def test_limited_service_steps_to_next_entry_for_country(profile, card):
    term = Terminal(card)
    term.power_on("208-01")
    term.event("206-01")
    assert applet(card).active == "domestic"
    # Proximus refuses the domestic IMSI: limited service; the applet asks where the terminal is
    term.event("206-01", stk.LocationStatus.LIMITED_SERVICE)
    a = applet(card)
    assert a.active == "international" and a.history[-1]["reason"] == "limited service"
    assert card.read_file(IMSI) == imsi_of(profile, "international")
    assert stk.parse_proactive(term.commands[-2]).type == stk.Command.PROVIDE_LOCAL_INFORMATION
    # the international profile registers on Proximus: the fallback holds in Belgium
    term.event("206-01")
    assert a.active == "international" and a.switch_count == 1
    # limited service again in Belgium: 206-* is the country's last entry, the profile stays
    term.event("206-01", stk.LocationStatus.LIMITED_SERVICE)
    assert a.active == "international" and a.switch_count == 1 and len(term.refreshes) == 1
    # the fallback ends with the country: France is domestic, Belgium/Proximus domestic again
    term.event("208-01")
    term.event("206-01")
    assert a.active == "domestic" and a.switch_count == 2


def test_limited_service_without_local_information_uses_last_plmn(profile):
    card = make_card(profile)
    tp = stk.TerminalProfile.build(f for f in stk.PROFILE_BITS if f != "provide_local_information")
    term = Terminal(card, tp)
    term.power_on()
    term.event("206-01")
    term.event(None, stk.LocationStatus.LIMITED_SERVICE)
    assert applet(card).active == "international"
    assert not any(stk.parse_proactive(c).type == 0x26 for c in term.commands)


@pytest.mark.parametrize("camped", ["208-01", "208-20", None])
def test_limited_service_in_france_stays_domestic(profile, card, camped):
    """France has one entry (208-*): a network refusing the line at home never brings the
    international profile (the AlphaLink mobile reference: France -> domestic)."""
    term = Terminal(card)
    term.power_on("208-01")
    for _ in range(3):
        term.event(camped, stk.LocationStatus.LIMITED_SERVICE, with_location=camped is not None)
    a = applet(card)
    assert a.active == "domestic" and a.switch_count == 0 and term.refreshes == []
    assert a.last_status == stk.LocationStatus.LIMITED_SERVICE
    assert card.read_file(IMSI) == imsi_of(profile, "domestic")
    term.event("208-01")
    assert a.active == "domestic" and a.switch_count == 0


def test_arrival_in_limited_service_applies_the_countrys_first_entry(profile, card):
    """Andorra has no entry: the default (international) is its only one."""
    term = Terminal(card)
    term.power_on("208-01")
    term.event("213-03", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    a = applet(card)
    assert a.active == "international" and card.read_file(IMSI) == imsi_of(profile, "international")
    assert (a.history[-1]["reason"], a.history[-1]["plmn"]) == ("limited service", "213-03")
    term.event("213-03", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    term.event("213-03")
    assert a.active == "international" and a.switch_count == 1 and len(term.refreshes) == 1


def test_limited_service_where_the_default_is_the_only_entry_stays(card):
    term = Terminal(card)
    term.power_on("208-01")
    term.event("262-01")
    a = applet(card)
    assert a.active == "international"
    term.event("262-02", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    term.event("262-02", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    assert a.active == "international" and a.switch_count == 1


def test_arrival_in_belgium_from_abroad_steps_through_the_country_once(profile, card):
    term = Terminal(card)
    term.power_on("262-01")
    a = applet(card)
    assert a.active == "international" and a.switch_count == 1
    # limited service in Belgium on the international profile: the country's first entry
    term.event("206-10", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    assert a.active == "domestic"
    # refused again: the next entry for Belgium, then nothing further
    term.event("206-10", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    assert a.active == "international"
    for _ in range(3):
        term.event("206-20", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    assert a.active == "international"
    assert [(h["from"], h["to"]) for h in a.history[1:]] == [
        ("international", "domestic"), ("domestic", "international")]


def test_limited_service_reaches_default_where_the_country_falls_through():
    """Without a 206-* entry, Belgian networks other than Proximus take the default."""
    p = load(table=[{"plmn": "208-*", "profile": "domestic"}, {"plmn": "206-01", "profile": "domestic"},
                    {"default": "international"}])
    card = make_card(p)
    term = Terminal(card)
    term.power_on("206-01")
    term.event("206-01", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    assert applet(card).active == "international"
    term.event("206-01", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    assert applet(card).active == "international" and applet(card).switch_count == 1


def test_two_entries_for_one_country_step_without_wrapping():
    """A card with a second profile for limited service at home (CSL-SIM DUO's table)."""
    card = Card.from_profile("csl-sim-duo")
    term = Terminal(card)
    term.power_on("208-01")
    a = applet(card)
    assert a.active == "primary"
    for _ in range(4):
        term.event("208-10", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    assert a.active == "secondary" and a.switch_count == 1
    term.event("262-01")
    assert a.active == "primary"  # the default, in another country


@pytest.mark.parametrize("start", ["208-01", "262-01"])
@pytest.mark.parametrize("plmn", ["208-01", "206-01", "206-10", "213-03", "262-01", "310-260"])
def test_no_ping_pong_in_limited_service(profile, card, start, plmn):
    """However often limited service is reported in one country, each profile is tried at most
    once: at most as many switches as the country has profiles, never back to an earlier one."""
    term = Terminal(card)
    term.power_on(start)
    a = applet(card)
    before = a.switch_count
    for _ in range(6):
        term.event(plmn, stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    visited = [h["to"] for h in a.history[before:]]
    options = Policy.from_config(profile.applet).candidates(plmn[:3])
    assert len(visited) == len(set(visited)) <= len(options)
    assert set(visited) <= set(options)
    assert card.read_file(IMSI) == imsi_of(profile, a.active)


# --- forced profile (the AlphaLink mobile reference, troubleshooting) and back to automatic ---


def test_menu_items(card):
    term = Terminal(card)
    term.power_on("208-01")
    assert term.menu == [(1, "Automatic"), (2, "Domestic"), (3, "International")]
    menu = next(c for c in term.commands if stk.parse_proactive(c).type == 0x25)
    assert stk.parse_ctlvs(stk.parse_ber(menu)[1])[2] == stk.CTLV(0x05, b"Roaming profile", True)


def test_forced_profile_and_return_to_automatic(profile, card):
    term = Terminal(card)
    term.power_on("208-01")
    term.select("International")
    a = applet(card)
    assert (a.active, a.mode, a.forced) == ("international", "forced", "international")
    assert card.read_file(IMSI) == imsi_of(profile, "international") and len(term.refreshes) == 1
    term.event("208-01")  # at home, but forced
    term.event("206-01", stk.LocationStatus.LIMITED_SERVICE, with_location=True)
    assert a.active == "international" and a.last_plmn == "206-01"
    term.event("208-10")
    term.select("Automatic")
    assert (a.active, a.mode, a.forced) == ("domestic", "automatic", None)
    assert a.switch_count == 2 and len(term.refreshes) == 2


def test_forcing_the_active_profile_does_not_switch(card):
    term = Terminal(card)
    term.power_on("208-01")
    term.select("Domestic")
    assert applet(card).mode == "forced" and applet(card).switch_count == 0 and term.refreshes == []
    term.event("262-01")
    assert applet(card).active == "domestic"


# --- REFRESH command and EF contents after a switch ---------------------------------------------------


@pytest.mark.parametrize(
    "mode, qualifier", [("naa_init_full_fcn", 0x00), ("naa_init", 0x03), ("uicc_reset", 0x04)]
)
def test_refresh_qualifier_from_profile(mode, qualifier):
    card = make_card(load(refresh=mode))
    term = Terminal(card)
    term.power_on("208-01")
    term.event("262-01")
    cmd = term.refreshes[0]
    assert cmd[0] == 0xD0 and cmd[1] == 9
    assert cmd[2:] == H(f"8103{cmd[4]:02X}01{qualifier:02X}82028182")


def test_refresh_file_change_notification_lists_changed_files():
    p = load(refresh="fcn")
    card = make_card(p)
    term = Terminal(card)
    term.power_on("208-01")
    term.event("262-01")
    files = stk.parse_proactive(term.refreshes[0]).files()
    assert stk.parse_proactive(term.refreshes[0]).qualifier == stk.Refresh.FCN
    for fid in ("6F07", "6F46", "6F61", "6F7B", "6F78", "6FAD", "6F7E", "6F73", "6FE3"):
        assert f"3F00/7FFF/{fid}" in files
    assert "3F00/7F20/6F07" in files  # the GSM view of the IMSI


def test_ef_contents_after_switch(profile, card):
    term = Terminal(card)
    term.power_on("208-01")
    # the terminal registered at home: TMSI, P-TMSI, GUTI and areas are stored
    card.write_file(LOCI, H("47D1264A 02F810 3721 FF 00"))
    card.write_file(PSLOCI, H("11223344 AABBCC 02F810 3721 05 00"))
    card.write_file(EPSLOCI, H("02F810800102030405060708 02F8103721 00"))
    term.event("228-01")
    target = profiles.profile_files(profile, "international")
    for path, data in target.items():
        assert card.read_file(path) == data, path
    assert card.read_file(IMSI) == H("089910079900000010")  # 901709900000001
    assert card.read_file(LOCI) == CLEARED_LOCI == H("FFFFFFFF FFFFFF FFFE FF 01")
    assert card.read_file(PSLOCI) == CLEARED_PSLOCI == H("FFFFFFFF FFFFFF FFFFFF FFFE FF 01")
    assert card.read_file(EPSLOCI) == CLEARED_EPSLOCI == H("FF" * 12 + "FFFFFF FFFE 01")
    assert card.read_file("3F00/7FF0/6F08")[0] == 0x07 and card.read_file("3F00/7FF0/6F09")[0] == 0x07
    assert card.read_file("3F00/7F20/6F20")[8] == 0x07
    assert card.read_file("3F00/7F20/6F7E") == CLEARED_LOCI  # DF_GSM view of the same file


def test_each_profile_keeps_its_keys_and_sqn(profile, card):
    term = Terminal(card)
    term.power_on("208-01")
    dom = profiles.profile_auth(profile, "domestic")
    intl = profiles.profile_auth(profile, "international")
    rand = bytes(range(16))
    v = generate_vector(dom.ki, dom.opc, 0x40, b"\x80\x00", rand)
    assert card.auth.authenticate(rand, v["autn"])[0] == 0
    domestic_auth = card.auth
    term.event("262-01")
    assert card.auth is not domestic_auth
    w = generate_vector(intl.ki, intl.opc, 0x20, b"\x80\x00", rand)
    assert card.auth.authenticate(rand, w["autn"])[0] == 0
    assert card.auth.authenticate(rand, v["autn"])[0] == 2  # the domestic key does not verify here
    term.event("208-01")
    assert card.auth is domestic_auth
    assert card.auth.authenticate(rand, v["autn"])[0] == 1  # replayed SQN: sync failure, state kept


# --- priority profile and persistence -----------------------------------------------------------------


def test_priority_profile_when_nothing_is_known(profile):
    card = make_card(profile, active="international")
    assert applet(card).active == "international"  # detected from EF_IMSI
    term = Terminal(card)
    term.power_on()
    a = applet(card)
    assert a.active == "domestic" and a.history[0]["reason"] == "priority"
    assert card.read_file(IMSI) == imsi_of(profile, "domestic") and len(term.refreshes) == 1


def test_restart_abroad_keeps_profile(card):
    term = Terminal(card)
    term.power_on("208-01")
    term.event("262-01")
    card.reset()  # the terminal restarts: a new toolkit session, the applet remembers
    assert card.toolkit.profile is None and card.proactive_pending == 0
    Terminal(card).power_on("262-01")
    assert applet(card).active == "international" and applet(card).switch_count == 1


def test_save_and_load_keep_applet_state(tmp_path, card):
    profile = card.profile
    term = Terminal(card)
    term.power_on("208-01")
    dom = profiles.profile_auth(profile, "domestic")
    rand = bytes(range(16))
    v = generate_vector(dom.ki, dom.opc, 0x40, b"\x80\x00", rand)
    assert card.auth.authenticate(rand, v["autn"])[0] == 0
    term.event("206-01")
    term.event("206-01", stk.LocationStatus.LIMITED_SERVICE)
    term.select("International")
    json.dumps(card.toolkit.state())  # the saved state is plain JSON
    card.save(tmp_path / "card.json")

    again = Card.load(tmp_path / "card.json")
    a, b = applet(card), applet(again)
    assert (b.active, b.mode, b.forced, b.last_plmn, b.switch_count) == (
        a.active, a.mode, a.forced, a.last_plmn, a.switch_count) == (
        "international", "forced", "international", "206-01", 1)
    assert b.history == a.history
    assert again.read_file(IMSI) == imsi_of(profile, "international")
    term2 = Terminal(again)
    term2.power_on("206-01")
    term2.select("Automatic")  # back to automatic in Belgium: Proximus selects the domestic profile
    assert b.mode == "automatic" and b.active == "domestic"
    assert again.auth.authenticate(rand, v["autn"])[0] == 1  # domestic SQN state survived the save


def test_read_binary_shows_new_imsi(profile, card):
    """The terminal's view after the REFRESH: SELECT ADF.USIM, VERIFY PIN1, READ BINARY EF_IMSI."""
    term = Terminal(card)
    term.power_on("208-01")
    term.event("310-260")
    assert term.send(H("00A40004 02 7FF0"))[0] >> 8 == 0x61
    assert term.send(H("0020000108 30303030FFFFFFFF"))[0] == 0x9000
    assert term.send(H("00A4000C 02 6F07"))[0] == 0x9000
    sw, data = term.send(H("00B0000009"))
    assert sw == 0x9000 and data == H("089910079900000010")


# --- robustness: whatever the terminal sends, the toolkit answers a status word --------------------

PLMNS = ["208-01", "206-01", "206-10", "262-01", "310-260"]
ops = st.one_of(
    st.tuples(st.just("envelope"), st.binary(max_size=40)),
    st.tuples(st.just("tr"), st.binary(max_size=30)),
    st.tuples(st.just("event"), st.tuples(st.integers(0, 3), st.sampled_from(PLMNS), st.booleans())),
    st.tuples(st.just("menu"), st.integers(0, 5)),
    st.tuples(st.just("fetch_ok"), st.integers(0, 0x40)),
    st.tuples(st.just("tp"), st.binary(max_size=12)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ops, max_size=25))
def test_random_terminal_traffic(profile, steps):
    card = make_card(profile)
    term = Terminal(card)
    term.send(apdu(0x80, 0x10, FULL.raw))
    for kind, arg in steps:
        if kind == "envelope":
            sw, _ = term.send(apdu(0x80, 0xC2, arg)) if arg else term.send(apdu(0x80, 0xC2, le=0))
        elif kind == "event":
            status, plmn, with_loc = arg
            data = stk.event_download_location_status(status, loc(plmn) if with_loc else None)
            sw, _ = term.send(apdu(0x80, 0xC2, data))
        elif kind == "menu":
            sw, _ = term.send(apdu(0x80, 0xC2, stk.menu_selection(arg)))
        elif kind == "tr":
            sw, _ = term.send(apdu(0x80, 0x14, arg)) if arg else term.send(apdu(0x80, 0x14, le=0))
        elif kind == "fetch_ok":
            sw, raw = term.send(apdu(0x80, 0x12, le=term.pending or 0x10))
            if sw == 0x9000 and raw:
                response = stk.terminal_response(stk.parse_proactive(raw).details, arg)
                sw, _ = term.send(apdu(0x80, 0x14, response))
        else:
            sw, _ = term.send(apdu(0x80, 0x10, arg)) if arg else term.send(apdu(0x80, 0x10, le=0))
        assert sw >> 8 in (0x90, 0x91, 0x93, 0x67, 0x6A, 0x69, 0x6C), hex(sw)
        assert sw >> 8 != 0x6A or sw in (0x6A80, 0x6A81)
        assert card.proactive_pending == card.toolkit.pending
        a = applet(card)
        assert a.active in ("domestic", "international")
        assert card.read_file(IMSI) == imsi_of(profile, a.active)


def test_switch_writes_what_the_card_holds(profile):
    """A profile file the card lacks is skipped, one longer than the EF is cut to its size; a
    later switch to the same profile writes the same (TS 31.102 file sizes are the card's)."""
    card = make_card(profile)
    applet = card.toolkit.applet("roaming")
    real = applet._files
    ef_ad = "3F00/7FF0/6FAD"
    size = len(card.read_file(ef_ad))

    def files(name):
        out = dict(real(name))
        out["3F00/7FF0/6FFF"] = b"\x01\x02"  # no such EF on this card
        out[ef_ad] = out[ef_ad] + b"\x5a" * 4  # longer than the EF
        return out

    cache = {name: files(name) for name in applet.profiles}
    applet._files = cache.__getitem__
    applet.policy = Policy(applet.policy.priority, applet.policy.default, applet.policy.table,
                           stk.Refresh.FCN)
    term = Terminal(card)
    term.power_on("208-01")
    for _ in range(2):
        term.event("262-01")
        assert card.read_file(ef_ad) == cache["international"][ef_ad][:size]
        files_listed = stk.parse_proactive(term.refreshes[-1]).files()
        assert "3F00/7FFF/6FAD" in files_listed and "3F00/7FFF/6FFF" not in files_listed
        term.event("208-01")
        assert card.read_file(ef_ad) == cache["domestic"][ef_ad][:size]
        assert card.read_file(IMSI) == imsi_of(profile, "domestic")
    assert applet.switch_count == 4 and len(term.refreshes) == 4


def test_cards_of_one_profile_and_image_share_derived_data(profile):
    """The policy, files and switch write lists are derived once per profile and card image; a new
    image (as build_image hands out per call) derives them again from the profile as it is."""
    image = profiles.build_image(profile)
    first, second = Card(image, profile=profile), Card(image, profile=profile)
    a, b = first.toolkit.applet("roaming"), second.toolkit.applet("roaming")
    assert a.policy is b.policy and a._writes is b._writes and a._files is b._files
    for card in (first, second):
        term = Terminal(card)
        term.power_on("208-01")
        term.event("262-01")
        assert card.read_file(IMSI) == imsi_of(profile, "international")
    assert a.history == b.history and a._auths is not b._auths
    profile.applet.table.insert(0, type(profile.applet.table[0])("262-*", "domestic"))
    third = Card(profiles.build_image(profile), profile=profile)
    c = third.toolkit.applet("roaming")
    assert c.policy is not a.policy and c.policy.select("262-01") == "domestic"
    assert a.policy.select("262-01") == "international"


def test_refresh_path_names_the_usim_adf_7fff():
    from csim.roaming import refresh_path

    assert refresh_path("3F00/7FF0/6F07") == "3F00/7FFF/6F07"
    assert refresh_path("3F00/7F20/6F07") == "3F00/7F20/6F07"
