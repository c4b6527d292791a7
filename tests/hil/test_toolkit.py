"""The roaming applet driven as a terminal drives it (TS 102 223, TS 31.111), and AUTHENTICATE.

Location status envelopes move the card between countries; the applet switches IMSI
profile and asks for a REFRESH, which the terminal performs before re-reading the EFs.
"""

import pytest
from harness.terminal.link import normal_ending

from csim import stk
from csim.profile import load_profile
from harness.readers.pcsc import expected_from_profile, read_ef

pytestmark = pytest.mark.hil

TERMINAL = stk.TerminalProfile.build([
    "profile_download", "menu_selection", "command_result", "refresh", "set_up_menu",
    "provide_local_information", "set_up_event_list", "event_location_status",
])
HOME_CELL = b"\x00\x01\x00\x01"


def _sw(resp):
    return int.from_bytes(resp[-2:], "big")


class Terminal:
    """The terminal side of the CAT session: FETCH and TERMINAL RESPONSE until 9000."""

    def __init__(self, transport, location):
        self.t = transport
        self.location = location
        self.commands = []

    def command(self, apdu):
        resp = self.t.transmit(apdu)
        self.drain(resp)
        return resp

    def drain(self, resp):
        while resp[-2] == 0x91:
            fetched = self.t.transmit(bytes([0x80, 0x12, 0x00, 0x00, resp[-1]]))
            assert _sw(fetched) == 0x9000, fetched.hex()
            cmd = stk.parse_proactive(fetched[:-2])
            self.commands.append(cmd)
            objects = []
            if cmd.type == stk.Command.PROVIDE_LOCAL_INFORMATION:
                objects.append(stk.ctlv(stk.Tag.LOCATION_INFORMATION, self.location.encode()))
            data = stk.terminal_response(cmd.details, 0x00, *objects)
            resp = self.t.transmit(bytes([0x80, 0x14, 0x00, 0x00, len(data)]) + data)
            if cmd.type == stk.Command.REFRESH and cmd.qualifier == stk.Refresh.UICC_RESET:
                return
        assert _sw(resp) in (0x9000, 0x9300), resp.hex()

    def move_to(self, plmn):
        self.location = stk.LocationInformation(plmn, 1, HOME_CELL)
        data = stk.event_download_location_status(stk.LocationStatus.NORMAL_SERVICE, self.location)
        return self.command(bytes([0x80, 0xC2, 0x00, 0x00, len(data)]) + data)


@pytest.fixture
def applet_policy(hil_target):
    if hil_target.profile_path is None:
        pytest.skip("no --expect-profile: the applet's country table is unknown")
    roaming = pytest.importorskip("csim.roaming")
    applet = load_profile(hil_target.profile_path).applet
    if applet is None:
        pytest.skip("the expected profile has no roaming applet")
    if hil_target.pin1 is None:
        pytest.skip("PIN1 unknown: set SIMHARNESS_PIN1")
    return roaming.Policy.from_config(applet)


def _session(hil_target, link, plmn):
    terminal = Terminal(hil_target.transport, stk.LocationInformation(plmn, 1, HOME_CELL))
    terminal.command(bytes([0x80, 0x10, 0x00, 0x00, len(TERMINAL.raw)]) + TERMINAL.raw)
    assert normal_ending(link.verify_pin(hil_target.pin1))
    return terminal


def _after_refresh(hil_target, link, terminal):
    refresh = [c for c in terminal.commands if c.type == stk.Command.REFRESH]
    assert refresh, "the applet asked for no REFRESH after switching"
    if refresh[-1].qualifier == stk.Refresh.UICC_RESET:
        hil_target.transport.reset()  # the terminal resets the UICC, then restarts the session
        terminal.commands.clear()
        terminal.command(bytes([0x80, 0x10, 0x00, 0x00, len(TERMINAL.raw)]) + TERMINAL.raw)
        assert normal_ending(link.verify_pin(hil_target.pin1))
    return refresh[-1]


@pytest.mark.parametrize("abroad", ["262-01", "228-01"])
def test_location_change_switches_profile_and_refreshes(hil_target, hil_link, applet_policy, abroad):
    home = "208-01"
    home_profile, abroad_profile = applet_policy.select(home), applet_policy.select(abroad)
    want_home = expected_from_profile(hil_target.profile_path, home_profile)["imsi"]
    want_abroad = expected_from_profile(hil_target.profile_path, abroad_profile)["imsi"]
    terminal = _session(hil_target, hil_link, home)
    terminal.move_to(home)
    assert read_ef(hil_link, "ADF_USIM/EF_IMSI") == want_home

    terminal.commands.clear()
    terminal.move_to(abroad)
    if abroad_profile != home_profile:
        refresh = _after_refresh(hil_target, hil_link, terminal)
        assert refresh.qualifier == applet_policy.refresh
    assert read_ef(hil_link, "ADF_USIM/EF_IMSI") == want_abroad
    loci = read_ef(hil_link, "ADF_USIM/EF_LOCI")
    if abroad_profile != home_profile:
        assert loci["tmsi"] is None and loci["status"] == "not_updated"

    terminal.commands.clear()
    terminal.move_to(home)  # leave the card at home for the next test
    if abroad_profile != home_profile:
        _after_refresh(hil_target, hil_link, terminal)
    assert read_ef(hil_link, "ADF_USIM/EF_IMSI") == want_home


def test_authenticate_3g_with_known_keys(hil_target, hil_link):
    milenage = pytest.importorskip("csim.milenage")
    if not hil_target.keys:
        pytest.skip("subscriber keys unknown (no ki/opc in the expected profile)")
    if hil_target.pin1 is None:
        pytest.skip("PIN1 unknown: set SIMHARNESS_PIN1")
    k, opc = hil_target.keys["ki"], hil_target.keys["opc"]
    rand = bytes(range(0x40, 0x50))
    hil_link.select_path("3F00/7FF0")
    sqn = 1 << 5
    for _ in range(2):
        vector = milenage.generate_vector(k, opc, sqn, b"\x80\x00", rand)
        data = b"\x10" + rand + b"\x10" + vector["autn"]
        resp = hil_target.transport.transmit(bytes([0x00, 0x88, 0x00, 0x81, len(data)]) + data + b"\x00")
        assert _sw(resp) == 0x9000, f"AUTHENTICATE failed: {resp.hex()} (9862: MAC failure, wrong keys)"
        body = resp[:-2]
        if body[:1] == b"\xdc":  # synchronisation failure: resynchronise as the AuC does
            sqn_ms = milenage.resync(k, opc, rand, body[2:16])
            assert sqn_ms is not None, "AUTS with a wrong MAC-S"
            sqn = ((sqn_ms >> 5) + 1) << 5
            continue
        assert body[0] == 0xDB
        res_len = body[1]
        assert body[2 : 2 + res_len] == vector["xres"]
        pos = 2 + res_len
        assert body[pos + 1 : pos + 1 + body[pos]] == vector["ck"]
        pos += 1 + body[pos]
        assert body[pos + 1 : pos + 1 + body[pos]] == vector["ik"]
        return
    pytest.fail("the card kept answering with a synchronisation failure")
