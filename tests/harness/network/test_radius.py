"""The packet core's RADIUS client and its AAA back-ends: RFC 2865 vectors, tshark's reading of the
packets, and Debian's FreeRADIUS answering on 127.0.0.1."""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from harness.network.aaa import (
    AaaUser,
    FreeRadiusAaa,
    FreeRadiusServer,
    InProcessAaa,
    chap_response,
    freeradius_binary,
)
from harness.network.operators import PlanTraits, load_all
from harness.network.packet_core import (
    AccountingRecord,
    ActivationRequest,
    NetworkDataPlane,
    RadiusExchange,
    Subscriber,
)
from harness.network.radius import RadiusClient, RadiusError, access_request
from harness.network.wire import accounting_exchange, session_packets, sessions_packets, write_pcap

ROOT = Path(__file__).resolve().parents[3]
TSHARK = shutil.which("tshark")
if TSHARK is None and os.environ.get("SIMHARNESS_REQUIRE_TSHARK"):
    raise RuntimeError("tshark is required (SIMHARNESS_REQUIRE_TSHARK is set) but not installed")
FREERADIUS = freeradius_binary()
if FREERADIUS is None and os.environ.get("SIMHARNESS_REQUIRE_FREERADIUS"):
    raise RuntimeError("freeradius is required (SIMHARNESS_REQUIRE_FREERADIUS is set) but not installed")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
needs_freeradius = pytest.mark.skipif(FREERADIUS is None, reason="freeradius is not installed")

SECRET = "testing123"
ORANGE = load_all()["orange-france"]
LOGIN = "337000009279756@alpha.otd"
FIXED = Subscriber("208019900000001", "07000009279756", PlanTraits("data_only"), fixed_ip="203.0.113.7",
                   login=LOGIN, password="s3cret")
USERS = {LOGIN: AaaUser(LOGIN, "s3cret", "203.0.113.7")}


def test_user_password_hidden_as_rfc2865_example():
    """RFC 2865 §7.1: user nemo, password arctangent, secret xyzzy5461."""
    x = RadiusExchange(0, bytes.fromhex("0f403f9473978057bd83d5cb98f4227a"), "xyzzy5461", "192.168.1.16",
                       "192.0.2.40", "nemo", "pap", "arctangent")
    raw = access_request(x).RequestPacket()
    assert bytes.fromhex("02120dbe708d93d413ce3196e43f782a0aee") in raw
    assert raw[4:20] == x.authenticator


def tshark_radius(path):
    fields = ["radius.code", "radius.authenticator", "radius.authenticator.valid",
              "radius.Message_Authenticator", "radius.User_Password", "radius.Framed-IP-Address",
              "radius.Reply_Message", "_ws.malformed"]
    cmd = [TSHARK, "-r", str(path), "-o", f"radius.shared_secret:{SECRET}", "-o",
           "radius.validate_authenticator:TRUE", "-Y", "radius", "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(fields, line.split("\t"), strict=True)) for line in out.splitlines()]
    assert all(r["_ws.malformed"] == "" for r in rows), rows
    return rows


def _plane(aaa=None, seed=0):
    return NetworkDataPlane(ORANGE, [FIXED], aaa_secret=SECRET, aaa=aaa, seed=seed)


@needs_tshark
def test_in_process_answers_signed_and_read_by_tshark(tmp_path):
    dp = _plane(InProcessAaa(USERS))
    ok = dp.activate(ActivationRequest.with_login(FIXED.imsi, "telcomobile.com", "pap", LOGIN, "s3cret"))
    bad = dp.activate(ActivationRequest.with_login(FIXED.imsi, "telcomobile.com", "pap", LOGIN, "nope"))
    assert ok.accepted and ok.ipv4 == "203.0.113.7"
    assert not bad.accepted and bad.cause == 29 and "Access-Reject" in bad.reason
    rows = tshark_radius(write_pcap(tmp_path / "s.pcap", session_packets(ok) + session_packets(bad)))
    assert [r["radius.code"] for r in rows] == ["1", "2", "1", "3"]
    assert [r["radius.User_Password"] for r in rows[::2]] == ["s3cret", "nope"]
    assert all(r["radius.Message_Authenticator"] for r in rows), "RFC 3579 §3.2: on every packet"
    assert [r["radius.authenticator.valid"] for r in rows[1::2]] == ["1", "1"]
    assert rows[1]["radius.Framed-IP-Address"] == "203.0.113.7"
    assert rows[0]["radius.authenticator"] != rows[2]["radius.authenticator"]


def test_authenticators_drawn_from_the_seeded_generator():
    def authenticators(seed):
        dp = _plane(InProcessAaa(USERS), seed)
        return [dp.activate(ActivationRequest.with_login(FIXED.imsi, "telcomobile.com", "pap", LOGIN,
                                                         "s3cret")).radius.authenticator for _ in range(3)]

    assert authenticators(1) == authenticators(1)          # a replay writes the same packets
    assert len(set(authenticators(1) + authenticators(2))) == 6


@pytest.fixture(scope="module")
def freeradius():
    if FREERADIUS is None:
        pytest.skip("freeradius is not installed")
    with FreeRadiusServer(USERS, SECRET) as server:
        yield server


@needs_freeradius
def test_freeradius_decides_pap_and_chap(freeradius, tmp_path):
    aaa = FreeRadiusAaa(freeradius, SECRET)
    dp = _plane(aaa)
    ok = dp.activate(ActivationRequest.with_login(FIXED.imsi, "telcomobile.com", "pap", LOGIN, "s3cret"))
    assert ok.accepted and ok.ipv4 == "203.0.113.7"          # the server's Framed-IP-Address
    bad = dp.activate(ActivationRequest.with_login(FIXED.imsi, "telcomobile.com", "pap", LOGIN, "guess"))
    assert not bad.accepted and bad.cause == 29
    assert "pap: Cleartext password does not match" in bad.reason   # FreeRADIUS's own words
    if TSHARK is not None:
        rows = tshark_radius(write_pcap(tmp_path / "s.pcap", session_packets(ok) + session_packets(bad)))
        assert [r["radius.code"] for r in rows] == ["1", "2", "1", "3"]
        assert [r["radius.authenticator.valid"] for r in rows[1::2]] == ["1", "1"]
        assert all(r["radius.Message_Authenticator"] for r in rows)
        assert rows[3]["radius.Reply_Message"].startswith("pap: ")
    challenge = bytes(range(16))
    chap = RadiusExchange(7, bytes(range(16, 32)), SECRET, "192.0.2.30", "192.0.2.40", LOGIN, "chap", "", 9,
                          challenge, chap_response(9, "s3cret", challenge))
    got = aaa.answer(chap)
    assert (got.accepted, got.framed_ip, got.reply_message) == (True, "203.0.113.7", "")
    wrong = chap._replace(identifier=8, authenticator=bytes(range(32, 48)),
                          chap_value=chap_response(9, "guess", challenge))
    assert "chap: Password comparison failed" in aaa.answer(wrong).reply_message
    assert "Login OK: [" + LOGIN in freeradius.log


@needs_freeradius
def test_wrong_secret_is_an_error_not_a_verdict(freeradius):
    client = RadiusClient("127.0.0.1", "not-the-secret", auth_port=freeradius.auth_port, timeout=0.3,
                          retries=1)
    x = RadiusExchange(1, bytes(16), "not-the-secret", "192.0.2.30", "192.0.2.40", LOGIN, "pap", "s3cret")
    with pytest.raises(RadiusError, match="no answer"):
        client.authenticate(access_request(x))   # FreeRADIUS drops a request whose MA does not verify
    client.close()


def _verdicts(tmp_path, aaa):
    xml = tmp_path / f"{aaa}.xml"
    subprocess.run([sys.executable, "-m", "harness.cli.main", "run", str(ROOT / "scenarios" / "data"), "-q",
                    "--aaa", aaa, "--junitxml", str(xml), "--pcap", str(tmp_path / aaa)],
                   check=True, capture_output=True, cwd=ROOT)
    cases = ET.parse(xml).getroot().iter("testcase")  # noqa: S314 - our own report
    return {c.get("name"): [e.tag for e in c if e.tag in ("failure", "error", "skipped")] for c in cases}


@needs_freeradius
def test_bundled_data_scenarios_same_verdicts_with_freeradius(tmp_path):
    local, real = _verdicts(tmp_path, "in-process"), _verdicts(tmp_path, "freeradius")
    assert len(local) >= 41 and local == real   # with the accounting scenarios 34, 39-41
    assert all(v == [] for v in real.values()), real
    if TSHARK is not None:   # the reject travelled from FreeRADIUS, in its words
        rows = tshark_radius(tmp_path / "freeradius" / "20_orange_fixed_ip_wrong_password.pcap")
        assert rows[-1]["radius.code"] == "3" and rows[-1]["radius.Reply_Message"].startswith("pap: ")


def test_no_authenticator_repeated_across_the_bundled_suite(tmp_path):
    from scapy.layers.radius import Radius
    from scapy.utils import rdpcap

    subprocess.run([sys.executable, "-m", "harness.cli.main", "run", str(ROOT / "scenarios"), "-q",
                    "--pcap", str(tmp_path)], check=True, capture_output=True, cwd=ROOT)
    packets = [p for pcap in sorted(tmp_path.glob("*.pcap")) for p in rdpcap(str(pcap))]
    seen = Counter(p[Radius].authenticator for p in packets if Radius in p and p[Radius].code == 1)
    assert sum(seen.values()) >= 7
    assert [a.hex() for a, n in seen.items() if n > 1] == []
    # Acct-Session-Id (type 44) unique per session (RFC 2866 §5.5): never shared by two runs
    runs_of: dict[bytes, set[str]] = {}
    for pcap in sorted(tmp_path.glob("*.pcap")):
        for p in rdpcap(str(pcap)):
            if Radius in p and p[Radius].code == 4:
                for attr in p[Radius].attributes:
                    if attr.type == 44:
                        runs_of.setdefault(bytes(attr.value), set()).add(pcap.name)
    assert len(runs_of) >= 10
    assert {sid: runs for sid, runs in runs_of.items() if len(runs) > 1} == {}


@needs_freeradius
def test_freeradius_records_accounting_start_and_stop(freeradius):
    dp = _plane(FreeRadiusAaa(freeradius, SECRET))
    r = dp.activate(ActivationRequest.with_login(FIXED.imsi, "telcomobile.com", "pap", LOGIN, "s3cret"))
    dp.deactivate(r.session_id)
    records = [x for x in dp.exchanges if isinstance(x, AccountingRecord)]
    assert [x.status for x in records] == [1, 2]
    assert all(x.answer[0] == 5 for x in records)          # Accounting-Response from the server
    detail = (freeradius.directory / "detail").read_text()
    assert "Acct-Status-Type = Start" in detail and "Acct-Status-Type = Stop" in detail
    assert f'Acct-Session-Id = "{records[0].session_id}"' in detail
    assert "Framed-IP-Address = 203.0.113.7" in detail


@needs_tshark
def test_accounting_octets_past_4_gib_carry_gigawords(tmp_path):
    """RFC 2869 §5.1/§5.2: Acct-Input-Gigawords counts the 2^32 wraps of Acct-Input-Octets."""
    rec = AccountingRecord(9, 2, "0000002A", SECRET, "192.0.2.30", "192.0.2.40", LOGIN, "203.0.113.7",
                           FIXED.imsi, "337000009279756", "telcomobile.com", input_octets=5 * 2**30 + 17,
                           output_octets=123, session_time=3600, terminate_cause=1)
    cmd = [TSHARK, "-r", str(write_pcap(tmp_path / "a.pcap", list(accounting_exchange(rec)))),
           "-o", f"radius.shared_secret:{SECRET}", "-o", "radius.validate_authenticator:TRUE", "-T", "fields",
           "-e", "radius.code", "-e", "radius.Acct_Input_Octets", "-e", "radius.Acct_Input_Gigawords",
           "-e", "radius.Acct_Output_Octets", "-e", "radius.Acct_Session_Time",
           "-e", "radius.authenticator.valid"]
    rows = [line.split("\t") for line in subprocess.run(cmd, capture_output=True, text=True,
                                                         check=True).stdout.splitlines()]
    assert rows[0][:5] == ["4", str(2**30 + 17), "1", "123", "3600"]
    assert rows[1][0] == "5" and rows[1][5] == "1"


@needs_tshark
def test_block_mid_session_disconnects_then_stops_accounting(tmp_path):
    """RFC 5176 §2.1 Disconnect-Request/ACK before the Delete Session; RFC 2866 Stop, Admin-Reset."""
    dp = _plane(InProcessAaa(USERS))
    r = dp.activate(ActivationRequest.with_login(FIXED.imsi, "telcomobile.com", "pap", LOGIN, "s3cret"))
    dp.deactivate(r.session_id, "cut by the plan", terminate_cause=6, by_policy=True)
    cmd = [TSHARK, "-r", str(write_pcap(tmp_path / "c.pcap", sessions_packets(dp.exchanges))),
           "-o", f"radius.shared_secret:{SECRET}", "-o", "radius.validate_authenticator:TRUE", "-T", "fields",
           "-e", "_ws.col.Protocol", "-e", "radius.code", "-e", "gtpv2.message_type",
           "-e", "radius.Acct_Terminate_Cause", "-e", "radius.authenticator.valid", "-e", "_ws.malformed"]
    rows = [line.split("\t") for line in subprocess.run(cmd, capture_output=True, text=True,
                                                         check=True).stdout.splitlines()]
    assert all(r[5] == "" for r in rows)
    tail = [r[1] or r[2] for r in rows[-8:]]
    assert tail == ["40", "41", "36", "36", "37", "37", "4", "5"]   # Disconnect, Delete Session, Stop
    assert rows[-7][4] == "1" and rows[-2][3] == "6"                # ACK authenticated; Admin-Reset
