"""RADIUS accounting of the packet core driving the usage counters: the user-plane octets of a
session in Interim-Update and Stop (RFC 2866 §5, RFC 2869 §5.1 Gigawords, §5.16 interval), read
back from what FreeRADIUS logged, and the bundled accounting scenarios' packets as tshark reads them
with either AAA back-end."""

import subprocess
import sys

import pytest
from harness.events import EventLog

from harness.network.aaa import FreeRadiusAaa, FreeRadiusServer, detail_records
from harness.network.packet_core import (
    ACCT_INTERIM,
    TERMINATE_LOST_SERVICE,
    AccountingRecord,
    ActivationRequest,
    NetworkDataPlane,
)

from .test_radius import (
    FIXED,
    FREERADIUS,
    LOGIN,
    ORANGE,
    ROOT,
    SECRET,
    TSHARK,
    USERS,
    needs_freeradius,
    needs_tshark,
)

GIB5 = 5 * 2**30


@pytest.fixture(scope="module")
def freeradius():
    if FREERADIUS is None:
        pytest.skip("freeradius is not installed")
    with FreeRadiusServer(USERS, SECRET) as server:
        yield server


def _session(aaa, log):
    dp = NetworkDataPlane(ORANGE, [FIXED], aaa_secret=SECRET, aaa=aaa, log=log, interim_interval=600)
    r = dp.activate(ActivationRequest.with_login(FIXED.imsi, "telcomobile.com", "pap", LOGIN, "s3cret"))
    assert r.accepted
    return dp, r.session_id


@needs_freeradius
def test_freeradius_logs_the_octets_past_4_gib_and_they_are_read_back(freeradius):
    """What FreeRADIUS wrote in its detail file: 1 gigaword and the rest in Acct-Output-Octets."""
    log = EventLog()
    aaa = FreeRadiusAaa(freeradius, SECRET)
    dp, sid = _session(aaa, log)
    log.time = 300.0
    assert dp.carry(sid, GIB5, 1234)
    log.time = 700.0
    dp.carry(sid, 0)                           # the interval ran out at 600 s: one Interim-Update
    log.time = 900.0
    dp.deactivate(sid, "lost", terminate_cause=TERMINATE_LOST_SERVICE)
    records = [x for x in dp.exchanges if isinstance(x, AccountingRecord)]
    assert [(r.status, r.session_time) for r in records] == [(1, 0), (3, 600), (2, 900)]
    assert aaa.seen(records[0].session_id) == (1234, GIB5)
    logged = [r for r in detail_records((freeradius.directory / "detail").read_text())
              if r.get("Acct-Session-Id") == records[0].session_id]
    stop = logged[-1]
    assert stop["Acct-Status-Type"] == "Stop" and stop["Acct-Terminate-Cause"] == "Lost-Service"
    assert (stop["Acct-Output-Gigawords"], stop["Acct-Output-Octets"]) == ("1", str(2**30))
    assert stop["Acct-Session-Time"] == "900"


def test_no_accounting_without_the_aaa():
    """A session the AAA did not authenticate (plain internet APN) is not accounted."""
    dp = NetworkDataPlane(ORANGE, [FIXED])
    r = dp.activate(ActivationRequest(FIXED.imsi, "orange", "ipv4"))
    assert r.accepted and r.radius is None
    assert dp.carry(r.session_id, 1000) is False
    assert not [x for x in dp.exchanges if isinstance(x, AccountingRecord)]


def _tshark_accounting(pcap):
    fields = ["radius.code", "radius.Acct_Status_Type", "radius.Acct_Session_Time",
              "radius.Acct_Output_Octets", "radius.Acct_Output_Gigawords", "radius.Acct_Terminate_Cause",
              "radius.authenticator.valid", "_ws.malformed"]
    cmd = [TSHARK, "-r", str(pcap), "-o", f"radius.shared_secret:{SECRET}", "-o",
           "radius.validate_authenticator:TRUE", "-Y", "radius.code >= 4", "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(fields, line.split("\t"), strict=True)) for line in out.splitlines()]
    assert all(r["_ws.malformed"] == "" for r in rows), rows
    return rows


def _run(tmp_path, aaa):
    names = ["34_orange_fixed_ip_cut_by_the_plan", "39_orange_fixed_ip_session_crossing_4_gib",
             "40_orange_fixed_ip_interim_updates", "41_orange_fixed_ip_lost_service_stop"]
    out = tmp_path / aaa
    subprocess.run([sys.executable, "-m", "harness.cli.main", "run",
                    *(str(ROOT / "scenarios" / "data" / f"{n}.yaml") for n in names), "-q", "--aaa", aaa,
                    "--pcap", str(out)], check=True, capture_output=True, cwd=ROOT)
    return {n: _tshark_accounting(out / f"{n}.pcap") for n in names}


def _check_accounting_packets(rows):
    interim = [r for r in rows["40_orange_fixed_ip_interim_updates"]
               if r["radius.code"] == "4" and r["radius.Acct_Status_Type"] == str(ACCT_INTERIM)]
    assert [r["radius.Acct_Session_Time"] for r in interim] == ["300", "600", "900", "1200"]
    stop = rows["39_orange_fixed_ip_session_crossing_4_gib"][-2]
    assert (stop["radius.Acct_Status_Type"], stop["radius.Acct_Output_Gigawords"],
            stop["radius.Acct_Output_Octets"]) == ("2", "1", str(2**30))
    cut = [r["radius.code"] for r in rows["34_orange_fixed_ip_cut_by_the_plan"]]
    assert cut[-4:] == ["40", "41", "4", "5"]     # RFC 5176 Disconnect-Request/ACK, then the Stop
    assert rows["34_orange_fixed_ip_cut_by_the_plan"][-2]["radius.Acct_Terminate_Cause"] == "6"
    lost = rows["41_orange_fixed_ip_lost_service_stop"]
    assert [r["radius.Acct_Terminate_Cause"] for r in lost if r["radius.Acct_Status_Type"] == "2"] == ["3"]
    answers = [r for rs in rows.values() for r in rs if r["radius.code"] in ("5", "41")]
    assert answers and all(r["radius.authenticator.valid"] == "1" for r in answers)


@needs_tshark
def test_accounting_scenarios_on_the_wire_in_process(tmp_path):
    _check_accounting_packets(_run(tmp_path, "in-process"))


@needs_tshark
@needs_freeradius
def test_accounting_scenarios_on_the_wire_with_freeradius(tmp_path):
    """The same records travel to FreeRADIUS, and the plan's verdicts come from what it logged."""
    _check_accounting_packets(_run(tmp_path, "freeradius"))
