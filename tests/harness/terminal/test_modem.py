"""The modem against the simulated card: power-on, selection, AKA, STK, REFRESH, troubleshooting."""

from pathlib import Path

import pytest
import yaml
from harness.events import EventLog

from csim import Card
from csim import encoding as enc
from harness.network.world import World
from harness.terminal.modem import EF_EPSLOCI, EF_FPLMN, EF_LOCI, Modem, ModemConfig, ModemError
from harness.terminal.transport import InProcessTransport

CARD = "fixtures/cards/alphalink-orange.yaml"
DOMESTIC = "208019900000001"
INTERNATIONAL = "901709900000001"


@pytest.fixture(scope="module")
def world():
    return World.load("europe")


def make(world, card_path=CARD, **config):
    log = EventLog()
    card = Card.from_profile(card_path)
    config.setdefault("pin", "0000")
    modem = Modem(InProcessTransport(card, log), world, log=log, config=ModemConfig(**config))
    return modem, card, log


def apdus(log, ins, since=0):
    return [e for e in log.of_kind("apdu", since=since) if e["command"][1] == ins]


def test_power_on_at_home(world):
    modem, card, log = make(world)
    modem.power_on(country="FR")
    st = modem.status()
    assert st["registered"] == "208-01" and st["service"] == "normal" and not st["roaming"]
    assert st["imsi"] == DOMESTIC and st["spn"] == "Orange" and st["data"]
    assert st["menu"] == ["Automatic", "Domestic", "International"] and 3 in st["events"]
    # the power-on sequence went through APDUs: SELECT by AID, VERIFY, TERMINAL PROFILE, AUTHENTICATE
    aid_selects = [e for e in apdus(log, 0xA4) if e["command"][2] == 0x04]
    assert aid_selects and aid_selects[0]["command"][5:12] == bytes.fromhex("A0000000871002")
    assert apdus(log, 0x20) and apdus(log, 0x10) and apdus(log, 0x12)
    auth = apdus(log, 0x88)
    assert len(auth) == 1 and auth[0]["command"][3] == 0x81 and auth[0]["response"][:1] == b"\xdb"
    # location written back to the card
    loci = enc.decode_loci(card.read_file("3F00/7FF0/6F7E"))
    assert loci["plmn"] == "208-01" and loci["status"] == "updated" and loci["tmsi"]
    eps = enc.decode_epsloci(card.read_file("3F00/7FF0/6FE3"))
    assert eps["plmn"] == "208-01" and eps["status"] == "updated" and eps["guti"]
    # one location status envelope carrying normal service and the serving PLMN
    env = apdus(log, 0xC2)
    assert len(env) == 1 and bytes.fromhex("1B0100") in env[0]["command"]
    assert [e["plmn"] for e in log.of_kind("registration")] == ["208-01"]


def test_pin_unknown_leaves_the_sim_locked(world):
    modem, _, log = make(world, pin=None)
    modem.power_on(country="FR")
    st = modem.status()
    assert st["sim"] == "pin_required" and st["registered"] is None and st["service"] == "limited"
    assert not apdus(log, 0x88)


def test_wrong_pin_is_reported_not_retried(world):
    modem, card, _ = make(world, pin="9999")
    modem.power_on(country="FR")
    assert modem.status()["sim"] == "pin_required"
    assert card.pin_status("PIN1") != make(world)[1].pin_status("PIN1")  # one attempt consumed


def test_belgium_keeps_domestic_on_proximus_by_operator_list(world):
    modem, _, log = make(world)
    modem.power_on(country="FR")
    mark = log.mark()
    modem.move(country="BE")
    st = modem.status()
    assert (st["registered"], st["imsi"], st["roaming"], st["zone"]) == ("206-01", DOMESTIC, True, "zone1")
    assert not log.of_kind("refresh", since=mark)


def test_germany_switches_to_international_through_refresh(world):
    modem, card, log = make(world)
    modem.power_on(country="FR")
    mark = log.mark()
    modem.move(country="DE")
    st = modem.status()
    assert st["imsi"] == INTERNATIONAL and st["roaming"] and st["service"] == "normal"
    assert st["registered"] == "262-01"  # first entry of the international OPLMNwAcT
    assert st["refresh_count"] == 1 and log.of_kind("refresh", since=mark)
    assert [e["imsi"] for e in log.of_kind("profile_switch", since=mark)] == [INTERNATIONAL]
    # detached then re-attached with the new identity
    regs = log.of_kind("registration", since=mark)
    assert [r["imsi"] for r in regs][-1] == INTERNATIONAL
    assert enc.decode_imsi(card.read_file("3F00/7FF0/6F07")) == INTERNATIONAL


def test_back_home_switches_back_to_domestic(world):
    modem, _, _ = make(world)
    modem.power_on(country="FR")
    for country in ("DE", "FR"):
        modem.move(country=country)
    st = modem.status()
    got = (st["registered"], st["imsi"], st["roaming"], st["refresh_count"])
    assert got == ("208-01", DOMESTIC, False, 2)


@pytest.mark.parametrize("country", ["CH", "AD", "US"])
def test_international_countries(world, country):
    modem, _, _ = make(world)
    modem.power_on(country="FR")
    modem.move(country=country)
    st = modem.status()
    assert st["imsi"] == INTERNATIONAL and st["service"] == "normal" and st["country"] == country
    assert world.country_of_plmn(st["registered"]).code == country


def test_andorra_rejects_the_domestic_imsi_then_the_applet_recovers(world):
    modem, _, log = make(world)
    modem.power_on(country="FR")
    mark = log.mark()
    modem.move(country="AD")
    rejects = log.of_kind("registration_rejected", since=mark)
    assert rejects and rejects[0]["cause"] == 13 and rejects[0]["plmn"] == "213-03"
    assert modem.status()["registered"] == "213-03"


def test_reject_11_adds_to_fplmn_on_the_card(world):
    modem, _, log = make(world)
    modem.power_on(country="BE")
    mark = log.mark()
    modem.select_manual("206-20")  # BASE has no agreement with the domestic HPLMN
    rejected = log.of_kind("registration_rejected", since=mark)
    assert (rejected[0]["plmn"], rejected[0]["cause"], rejected[0]["imsi"]) == ("206-20", 11, DOMESTIC)
    assert log.of_kind("fplmn", since=mark)[0]["plmns"] == ["208-10", "208-15", "208-20", "206-20"]
    fplmn_writes = [e for e in apdus(log, 0xD6, since=mark) if bytes.fromhex("02F602") in e["command"]]
    assert fplmn_writes, "EF_FPLMN updated through UPDATE BINARY"
    # limited service -> the card's applet falls back to the international profile, which BASE accepts
    assert modem.status()["registered"] == "206-20" and modem.status()["imsi"] == INTERNATIONAL


def test_forbidden_plmns_skipped_in_automatic_mode(world):
    modem, _, log = make(world)
    modem.power_on(country="FR")
    mark = log.mark()
    modem.set_signal(-140, plmn="208-01")
    # the domestic identity never tries the networks of EF_FPLMN
    domestic_tries = [e for e in log.of_kind("registration", "registration_rejected", since=mark)
                      if e["imsi"] == DOMESTIC]
    assert domestic_tries == []
    assert [e["status"] for e in log.of_kind("location_status", since=mark)][0] == "limited"


def test_manual_selection_only_uses_the_chosen_network(world):
    modem, _, _ = make(world)
    modem.power_on(country="FR-border-BE")
    assert modem.status()["registered"] == "208-01"  # automatic mode stays on the weak home network
    modem.select_manual("206-10")
    assert modem.status()["registered"] == "206-10" and modem.status()["selection"] == "manual"
    assert modem.status()["networks"][:1] == ["208-01"]
    modem.move(country="FR")
    assert modem.status()["registered"] is None  # 206-10 not heard: no automatic fallback
    modem.select_automatic()
    assert modem.status()["service"] == "normal" and modem.status()["country"] == "FR"


def test_coverage_loss_and_recovery_with_location_status(world):
    modem, _, log = make(world)
    modem.power_on(country="FR")
    modem.lose_coverage()
    assert modem.status()["service"] == "none" and not modem.status()["data"]
    statuses = [e["status"] for e in log.of_kind("location_status")]
    assert statuses[-1] == "none"
    assert bytes.fromhex("1B0102") in apdus(log, 0xC2)[-1]["command"]
    modem.wait(600)
    modem.restore_coverage()
    assert modem.status()["registered"] == "208-01"
    assert [e["status"] for e in log.of_kind("location_status")][-1] == "normal"


def test_data_roaming_switch(world):
    modem, _, _ = make(world, data_roaming=False)
    modem.power_on(country="FR")
    assert modem.status()["data"]
    modem.move(country="BE")
    assert modem.status()["registered"] == "206-01" and not modem.status()["data"]
    modem.set_data_roaming(True)
    assert modem.status()["data"]


def test_force_profile_through_the_menu(world):
    modem, _, log = make(world)
    modem.power_on(country="FR")
    mark = log.mark()
    modem.force_profile("international")
    menu_env = [e for e in apdus(log, 0xC2, since=mark) if e["command"][5] == 0xD3]
    assert len(menu_env) == 1
    st = modem.status()
    assert st["imsi"] == INTERNATIONAL and st["registered"].startswith("208-") and st["roaming"]
    modem.force_profile("automatic")
    st = modem.status()
    assert st["imsi"] == DOMESTIC and not st["roaming"]
    with pytest.raises(ModemError, match="no item 'martian'"):
        modem.force_profile("martian")


def test_troubleshooting_flow_step_by_step(world):
    """Seed procedure: no network after a border -> wait, switch off, wait, force international,
    restart, manual search, back to automatic for the profile and the network search."""
    modem, _, log = make(world)
    modem.power_on(country="FR")
    modem.select_manual("208-01")
    modem.move(country="CH")
    assert modem.status()["registered"] is None
    modem.wait(300)
    assert modem.status()["registered"] is None  # manual mode never falls back
    modem.power_off()
    modem.wait(300)
    modem.force_profile("international")
    modem.restart()
    assert modem.status()["imsi"] == INTERNATIONAL
    assert "228-01" in modem.search_networks()
    modem.select_manual("228-01")
    assert modem.status()["registered"] == "228-01" and modem.status()["service"] == "normal"
    modem.select_automatic()
    modem.force_profile("automatic")
    st = modem.status()
    assert (st["registered"], st["imsi"], st["selection"]) == ("228-01", INTERNATIONAL, "automatic")


def test_sqn_resync_when_the_card_is_ahead(world):
    modem, card, log = make(world)
    modem.network.hss.lookup(DOMESTIC).sqn = 0
    card.auth = type(card.auth)(card.auth.state()["ki"], card.auth.state()["opc"], sqn=(40 << 5))
    modem.power_on(country="FR")
    assert modem.status()["registered"] == "208-01"
    assert [e["cause"] for e in log.of_kind("auth_failure")] == [21]
    assert modem.network.hss.resyncs == 1


def test_mac_failure_makes_the_sim_invalid(world):
    modem, _, log = make(world)
    modem.network.hss.provision(DOMESTIC, bytes(16), bytes(16))
    modem.network.hss.provision(INTERNATIONAL, bytes(16), bytes(16))
    modem.power_on(country="FR")
    st = modem.status()
    assert st["registered"] is None and st["sim"] == "invalid"
    failures = log.of_kind("auth_failure")
    assert failures[:2] and [e["cause"] for e in failures[:2]] == [20, 20]
    assert {e["sw"] for e in failures} == {"9862"}


def pli_responses(log, since=0):
    """TERMINAL RESPONSEs to PROVIDE LOCAL INFORMATION (command details 81 03 nn 26 qq)."""
    return [e["command"][5:] for e in apdus(log, 0x14, since) if e["command"][5:7] == b"\x81\x03"
            and e["command"][8] == 0x26]


def test_provide_local_information_before_and_out_of_normal_service(world):
    modem, _, log = make(world)
    modem.power_on(country="FR")
    # asked right after TERMINAL PROFILE, before any registration: "no service" (20 04)
    assert bytes.fromhex("83022004") in pli_responses(log)[0]
    mark = log.mark()
    modem.set_signal(-140, plmn="208-01")
    # limited service: the applet asks where the terminal is; result 06 with the camped cell
    body = pli_responses(log, mark)[0]
    assert bytes.fromhex("830106") in body
    loc = body[body.index(b"\x93") + 2:]
    assert loc[:3] in {enc.encode_plmn(p) for p in ("208-10", "208-15", "208-20")}


def test_restart_keeps_rplmn_and_files_written(world):
    modem, card, log = make(world)
    modem.power_on(country="BE")
    modem.restart()
    order = log.of_kind("plmn_selection")[-1]["order"]
    assert order[0].startswith("206-01/")  # RPLMN first at switch-on
    assert enc.decode_epsloci(card.read_file("3F00/7FF0/6FE3"))["plmn"] == "206-01"


def test_wait_triggers_periodic_higher_priority_search(world):
    modem, _, log = make(world)
    modem.power_on(country="FR-border-BE")
    modem.select_manual("206-01")
    modem.select_automatic()  # stays on 206-01 (registered, domestic profile via OPLMNwAcT)
    assert modem.status()["registered"] == "206-01" and modem.status()["roaming"]
    modem.wait(6 * 3600)
    # periodic search (EF_HPPLMN) brings the terminal back to the HPLMN
    assert modem.status()["registered"] == "208-01" and not modem.status()["roaming"]
    assert log.of_kind("hplmn_search")


def test_unknown_location_is_an_error(world):
    modem, _, _ = make(world)
    with pytest.raises(ModemError, match="no location 'XX'"):
        modem.power_on(country="XX")


def test_file_ids_exported():
    assert (EF_LOCI, EF_EPSLOCI, EF_FPLMN) == (0x6F7E, 0x6FE3, 0x6F7B)


def test_signal_forced_on_one_terminal_leaves_others_in_the_same_world_alone(world):
    weak, _, _ = make(world)
    other, _, _ = make(world)
    weak.power_on(country="FR")
    weak.set_signal(-140.0, plmn="208-01")  # below any camping threshold
    other.power_on(country="FR")
    assert weak.status()["registered"] != "208-01"
    assert other.status()["registered"] == "208-01"
    weak.clear_signal()
    weak.lose_coverage()
    weak.restore_coverage()
    assert weak.status()["registered"] == "208-01"


# ---------------------------------------------------------------- PIN status from the FCP

BUNDLED_CARDS = sorted(Path("fixtures/cards").glob("*.yaml"))
PIN_DISABLED_CARDS = ["csl-sim", "csl-sim-duo", "simalarm", "simalarm-2"]


def adf_fcp(log):
    """FCP returned by SELECT ADF.USIM by AID (P1 04, P2 04)."""
    return next(e["response"][:-2] for e in apdus(log, 0xA4) if e["command"][2:4] == b"\x04\x04")


def pin_status_do(fcp):
    """Value of the PIN status template DO (C6) of a FCP, walked TLV by TLV."""
    i = 2
    while i < len(fcp):
        tag, n = fcp[i], fcp[i + 1]
        if tag == 0xC6:
            return fcp[i + 2:i + 2 + n]
        i += 2 + n
    return None


@pytest.mark.parametrize("name", PIN_DISABLED_CARDS)
def test_pin1_disabled_in_the_ps_do_means_no_pin_presented(world, name):
    modem, card, log = make(world, f"fixtures/cards/{name}.yaml", pin=None)
    modem.power_on(country="FR")
    # TS 102 221 §9.5.2: PS_DO first, then the key references in PS_DO bit order (b8 = first)
    c6 = pin_status_do(adf_fcp(log))
    assert c6[:2] == b"\x90\x01" and c6[3:6] == b"\x83\x01\x01"  # PIN1 listed first
    assert not c6[2] & 0x80 and card.pin_status("PIN1")["enabled"] is False
    assert apdus(log, 0x20) == [] and log.of_kind("pin") == []
    st = modem.status()
    assert st["sim"] == "ready" and st["service"] == "normal" and st["imsi"]
    assert apdus(log, 0x88), "AUTHENTICATE reached: the USIM was initialised"


def test_enabled_pin1_is_checked_then_verified_with_its_key_reference(world):
    modem, _, log = make(world)
    modem.power_on(country="FR")
    assert pin_status_do(adf_fcp(log))[2] & 0x80  # PIN1 enabled
    verify = [e["command"] for e in apdus(log, 0x20)]
    assert verify == [bytes.fromhex("00200001"), bytes.fromhex("002000010830303030FFFFFFFF")]
    assert [e["result"] for e in log.of_kind("pin")] == ["verified"]


def test_pin1_disabled_by_the_user_is_no_longer_presented(world):
    log = EventLog()
    card = Card.from_profile(CARD)
    # DISABLE PIN (TS 102 221 §11.1.11) done earlier in another phone; the card keeps it
    assert card.transmit(bytes.fromhex("002600010830303030FFFFFFFF")) == b"\x90\x00"
    modem = Modem(InProcessTransport(card, log), world, log=log, config=ModemConfig(pin=None))
    modem.power_on(country="FR")
    assert not pin_status_do(adf_fcp(log))[2] & 0x80
    assert apdus(log, 0x20) == []
    assert modem.status()["registered"] == "208-01" and modem.status()["sim"] == "ready"


class WithoutPinStatusTemplate(InProcessTransport):
    """A card whose ADF FCP carries no PIN status template DO (tag C6 left out)."""

    def transmit(self, apdu):
        resp = super().transmit(apdu)
        if apdu[1] == 0xA4 and apdu[2] == 0x04 and resp[:1] == b"\x62":
            fcp, sw = resp[:-2], resp[-2:]
            c6 = pin_status_do(fcp)
            if c6 is not None:
                start = fcp.index(b"\xc6" + bytes([len(c6)]) + c6)
                fcp = fcp[:start] + fcp[start + 2 + len(c6):]
                resp = bytes([0x62, len(fcp) - 2]) + fcp[2:] + sw
        return resp


def test_without_ps_do_a_6984_to_verify_means_pin_disabled(world):
    """The status check returns the retry counter even for a disabled PIN (TS 102 221
    §11.1.9.1.2); VERIFY of a disabled PIN answers 6984, so the terminal goes on."""
    log = EventLog()
    card = Card.from_profile("fixtures/cards/csl-sim.yaml")
    pin = yaml.safe_load(Path("fixtures/cards/csl-sim.yaml").read_text())["pins"]["pin1"]["value"]
    modem = Modem(WithoutPinStatusTemplate(card, log), world, log=log, config=ModemConfig(pin=pin))
    modem.power_on(country="FR")
    # (the log holds the card's own answers; the terminal saw the FCP without C6, hence the check)
    checks = apdus(log, 0x20)
    assert [(e["command"][:5], e["response"]) for e in checks] == [
        (bytes.fromhex("00200001"), b"\x63\xc3"), (bytes.fromhex("0020000108"), b"\x69\x84")]
    assert modem.status()["sim"] == "ready" and modem.status()["service"] == "normal"


@pytest.mark.parametrize("path", BUNDLED_CARDS, ids=lambda p: p.stem)
def test_every_bundled_card_registers_in_france(world, path):
    """All bundled cards are French-market lines: normal service in France at switch-on."""
    pin = yaml.safe_load(path.read_text())["pins"]["pin1"]["value"]
    modem, _, _ = make(world, str(path), pin=pin)
    modem.power_on(country="FR")
    st = modem.status()
    assert (st["sim"], st["service"]) == ("ready", "normal")
    assert world.country_of_plmn(st["registered"]).code == "FR"


# ---------------------------------------------------------------- EF_FPLMN written on change only

def ef_writes(log, fid, since=0):
    """UPDATE BINARY commands sent while ``fid`` was the selected EF."""
    out, current = [], None
    for e in log.of_kind("apdu", since=since):
        cmd = e["command"]
        if cmd[1] == 0xA4 and cmd[4] == 2:
            current = int.from_bytes(cmd[5:7], "big")
        elif cmd[1] == 0xD6 and current == fid:
            out.append(cmd)
    return out


def test_fplmn_written_once_when_the_same_reject_comes_back(world):
    modem, card, log = make(world, "fixtures/cards/alphalink-orange-domestic-only.yaml")
    modem.power_on(country="BE")
    modem.select_manual("206-20")  # BASE: #11 for the Orange IMSI, no other identity on the card
    writes = ef_writes(log, EF_FPLMN)
    assert [w[5:] for w in writes] == [bytes.fromhex("02F80102F85102F80202F602")]
    assert [e["plmns"] for e in log.of_kind("fplmn")] == [["208-10", "208-15", "208-20", "206-20"]]
    mark = log.mark()
    modem.select_manual("206-20")  # the user insists: a new attempt, the same #11
    assert [e["cause"] for e in log.of_kind("registration_rejected", since=mark)] == [11]
    assert ef_writes(log, EF_FPLMN, mark) == [] and log.of_kind("fplmn", since=mark) == []
    assert card.read_file("3F00/7FF0/6F7B") == bytes.fromhex("02F80102F85102F80202F602")


def test_already_forbidden_plmn_rejected_again_is_not_rewritten(world):
    modem, _, log = make(world)
    modem.power_on(country="FR")
    mark = log.mark()
    modem.select_manual("208-20")  # in EF_FPLMN already
    assert [e["cause"] for e in log.of_kind("registration_rejected", since=mark)] == [11]
    assert ef_writes(log, EF_FPLMN, mark) == [] and log.of_kind("fplmn", since=mark) == []


# ---------------------------------------------------------------- manual mode after #11

def test_manual_mode_does_not_retry_a_forbidden_choice_on_its_own(world):
    modem, _, log = make(world, "fixtures/cards/alphalink-orange-domestic-only.yaml")
    modem.power_on(country="BE")
    modem.select_manual("206-20")
    assert modem.status()["service"] == "limited" and modem.status()["forbidden"][-1] == "206-20"
    mark = log.mark()
    modem.wait(3600)
    # TS 23.122 §3.1 / §4.4.3.1.2: attempted only on the user's selection; limited service meanwhile
    assert log.of_kind("registration_rejected", "registration", since=mark) == []
    assert apdus(log, 0x88, mark) == [] and apdus(log, 0xD6, mark) == []
    st = modem.status()
    assert (st["selection"], st["service"], st["registered"]) == ("manual", "limited", None)
    modem.select_manual("206-20")  # the user selects it again: exactly one new attempt
    assert [e["plmn"] for e in log.of_kind("registration_rejected", since=mark)] == ["206-20"]
    modem.select_automatic()
    assert modem.status()["registered"] == "206-01" and modem.status()["service"] == "normal"


def test_manual_choice_not_forbidden_is_still_retried_when_out_of_coverage(world):
    modem, _, log = make(world)
    modem.power_on(country="FR")
    modem.select_manual("208-01")
    modem.lose_coverage()
    mark = log.mark()
    modem.wait(120)  # nothing heard: periodic attempts continue (the choice is not forbidden)
    assert [e["mode"] for e in log.of_kind("plmn_selection", since=mark)] == ["manual", "manual"]
    modem.restore_coverage()
    assert modem.status()["registered"] == "208-01"


def test_state_attributes_follow_the_card_and_the_network(world):
    modem, _, _ = make(world)
    assert not modem.powered and modem.service == "none" and modem.usim.imsi is None
    modem.power_on(country="FR")
    assert modem.powered and modem.registered == "208-01" and modem.cell.plmn == "208-01"
    assert modem.usim.imsi == DOMESTIC and modem.usim.hplmn == "208-01" and not modem.roaming
    assert modem.data_active and modem.sim_state == "ready" and modem.events
    assert [t for _, t in modem.menu] == ["Automatic", "Domestic", "International"]
    before = modem.status()
    assert modem.status() == before  # nothing happened: same observables
    modem.usim.fplmn = ["262-01", ""]  # the terminal's copy of EF_FPLMN drives the selection lists
    assert modem._sim_lists().forbidden == ("262-01",)
    modem.wait(1.0)
    assert modem.status()["time"] == before["time"] + 1.0
