import os
import shutil
import subprocess

import pytest

from harness.network.login import build_login
from harness.network.operators import PlanTraits, load_all
from harness.network.packet_core import ActivationRequest, NetworkDataPlane, PartnerLns, Subscriber
from harness.network.wire import session_packets, sessions_packets, write_pcap

TSHARK = shutil.which("tshark")
if TSHARK is None and os.environ.get("SIMHARNESS_REQUIRE_TSHARK"):
    raise RuntimeError("tshark is required (SIMHARNESS_REQUIRE_TSHARK is set) but not installed")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")

SECRET = "testing123"
FIELDS = [
    "frame.number", "_ws.col.Protocol", "_ws.malformed", "gtpv2.apn", "gtp.apn", "gtpv2.cause", "gtp.cause",
    "gtpv2.pdn_addr_and_prefix.ipv4", "gtp.user_ipv4", "pap.peer_id", "radius.User_Name",
    "radius.User_Password", "radius.Framed-IP-Address", "radius.code", "l2tp.avp.calling_number",
    "l2tp.avp.message_type",
    "ipcp.opt.ip_address", "chap.name", "e212.imsi",
]

OPS = load_all()
ORANGE, BYTEL = OPS["orange-france"], OPS["bouygues-telecom"]
FIXED = Subscriber("208019900000001", "07000009279756", PlanTraits("data_only"), fixed_ip="203.0.113.7",
                   login="337000009279756@alpha.otd", password="s3cret")
PARTNER = Subscriber("208019900000002", "07000080910112", PlanTraits("m2m"), partner="partenaire")
PLAIN = Subscriber("208019900000003", "0612345678", PlanTraits("unlimited"))


def tshark(path):
    cmd = [TSHARK, "-r", str(path), "-o", f"radius.shared_secret:{SECRET}", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(FIELDS, line.split("\t"), strict=True)) for line in out.splitlines()]
    assert rows, "tshark read no packet"
    for row in rows:
        assert row["_ws.malformed"] == "", f"frame {row['frame.number']} malformed: {row}"
    return rows


def column(rows, field):
    return [v for r in rows for v in r[field].split("|") if v]


@pytest.fixture
def orange():
    lns = PartnerLns("partenaire.otd", "198.51.100.1", "lns.partenaire.example",
                     {"337000080910112@partenaire.otd": "pw"})
    return NetworkDataPlane(ORANGE, [FIXED, PARTNER, PLAIN], lns=[lns], aaa_secret=SECRET)


def test_internet_session_4g(orange, tmp_path):
    r = orange.activate(ActivationRequest(PLAIN.imsi, "orange", pdn_type="ipv4v6"))
    rows = tshark(write_pcap(tmp_path / "s.pcap", session_packets(r)))
    assert [x["_ws.col.Protocol"] for x in rows] == ["GTPv2"] * 4
    assert column(rows, "gtpv2.apn") == ["orange", "orange"]
    assert r.ipv4 in column(rows, "gtpv2.pdn_addr_and_prefix.ipv4")
    assert "208019900000003" in column(rows, "e212.imsi")
    assert column(rows, "gtpv2.cause")[-1] == "16"


def test_fixed_ip_session_with_radius(orange, tmp_path):
    login = build_login(ORANGE, "fixed_ip", FIXED.msisdn)
    r = orange.activate(ActivationRequest.with_login(FIXED.imsi, login.apn, "pap", login.username, "s3cret"))
    rows = tshark(write_pcap(tmp_path / "s.pcap", session_packets(r)))
    assert column(rows, "gtpv2.apn") == ["telcomobile.com", "telcomobile.com"]
    assert column(rows, "pap.peer_id")[0] == "337000009279756@alpha.otd"      # PAP inside the PCO
    assert column(rows, "radius.User_Name") == ["337000009279756@alpha.otd"]
    assert column(rows, "radius.User_Password") == ["s3cret"]      # RFC 2865 hiding undone by tshark
    assert column(rows, "radius.Framed-IP-Address") == ["203.0.113.7"]
    assert column(rows, "radius.code") == ["1", "2"]
    assert "203.0.113.7" in column(rows, "gtpv2.pdn_addr_and_prefix.ipv4")
    assert rows[-1]["gtpv2.cause"].split("|")[0] == "18"           # new PDN type (IPv4 only)


def test_wrong_password_access_reject(orange, tmp_path):
    r = orange.activate(ActivationRequest.with_login(FIXED.imsi, "telcomobile.com", "pap",
                                                     "337000009279756@alpha.otd", "guess"))
    rows = tshark(write_pcap(tmp_path / "s.pcap", session_packets(r)))
    assert column(rows, "radius.code") == ["1", "3"]
    assert column(rows, "radius.User_Password") == ["guess"]
    assert column(rows, "gtpv2.cause")[-2:] == ["92", "92"]


def test_partner_delivery_l2tp_ppp(orange, tmp_path):
    login = build_login(ORANGE, "partner", PARTNER.msisdn, partner="partenaire")
    r = orange.activate(ActivationRequest.with_login(PARTNER.imsi, login.apn, "pap", login.username, "pw",
                                                     pdn_type="ipv4"))
    rows = tshark(write_pcap(tmp_path / "s.pcap", session_packets(r)))
    types = column(rows, "l2tp.avp.message_type")
    assert types[:6] == ["1", "2", "3", "10", "11", "12"]          # SCCRQ SCCRP SCCCN ICRQ ICRP ICCN
    assert column(rows, "l2tp.avp.calling_number") == ["337000080910112"]
    assert column(rows, "pap.peer_id").count("337000080910112@partenaire.otd") == 3   # PCO x2 + PPP PAP
    assert column(rows, "ipcp.opt.ip_address")[-1] == r.ipv4 == "10.200.0.2"
    assert r.ipv4 in column(rows, "gtpv2.pdn_addr_and_prefix.ipv4")


def test_partner_refused_ends_with_cdn(orange, tmp_path):
    r = orange.activate(ActivationRequest.with_login(PARTNER.imsi, "telcomobile.com", "pap",
                                                     "337000080910112@partenaire.otd", "nope"))
    rows = tshark(write_pcap(tmp_path / "s.pcap", session_packets(r)))
    assert column(rows, "l2tp.avp.message_type")[-1] == "14"                 # CDN
    assert column(rows, "gtpv2.cause")[-1] == "92"


def test_3g_pdp_context_and_unknown_apn(orange, tmp_path):
    ok = orange.activate(ActivationRequest(PLAIN.imsi, "orange", pdn_type="ipv4", rat="3G"))
    bad = orange.activate(ActivationRequest(PLAIN.imsi, "internet", rat="3G"))
    rows = tshark(write_pcap(tmp_path / "s.pcap", sessions_packets([ok, bad])))
    assert column(rows, "gtp.apn") == ["orange", "internet"]
    assert column(rows, "gtp.user_ipv4") == [ok.ipv4]
    assert column(rows, "gtp.cause") == ["128", "219"]


def test_chap_session_on_bouygues(tmp_path):
    sub = Subscriber("208201234567890", "0712345678", PlanTraits("data_only", blocked=False),
                     fixed_ip="203.0.113.9", login="ipfixe-42", password="pw")
    dp = NetworkDataPlane(BYTEL, [sub], aaa_secret=SECRET)
    r = dp.activate(ActivationRequest.with_login(sub.imsi, "mmsbouygtel.com", "chap", "ipfixe-42", "pw"))
    assert r.accepted
    rows = tshark(write_pcap(tmp_path / "s.pcap", session_packets(r)))
    assert "ipfixe-42" in column(rows, "chap.name")
    assert column(rows, "radius.Framed-IP-Address") == ["203.0.113.9"]


def _messages(path, *fields):
    """Every value of each field in ``path``, in frame order (one tshark run)."""
    cmd = [TSHARK, "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=|", "-e", "_ws.malformed"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows and all(r[0] == "" for r in rows), "malformed frame"
    return {f: [v for r in rows for v in r[1 + i].split("|") if v] for i, f in enumerate(fields)}


def test_release_of_a_partner_session_on_the_wire(orange, tmp_path):
    """Delete Session on S11 and S5 (TS 29.274 §7.2.9), LCP Terminate (RFC 1661 §5.5), CDN then
    StopCCN (RFC 2661 §5.7), each read back by tshark."""
    login = build_login(ORANGE, "partner", PARTNER.msisdn, partner="partenaire")
    r = orange.activate(ActivationRequest.with_login(PARTNER.imsi, login.apn, "pap", login.username, "pw",
                                                     pdn_type="ipv4"))
    orange.deactivate(r.session_id)
    seen = _messages(write_pcap(tmp_path / "s.pcap", sessions_packets(orange.exchanges)),
                     "gtpv2.message_type", "l2tp.avp.message_type", "ppp.code", "gtpv2.cause",
                     "l2tp.result_code")
    assert seen["gtpv2.message_type"] == ["32", "32", "33", "33", "36", "36", "37", "37"]
    assert seen["l2tp.avp.message_type"] == ["1", "2", "3", "10", "11", "12", "14", "4"]   # ... CDN, StopCCN
    assert seen["ppp.code"][-2:] == ["5", "6"]                                   # Terminate-Request, -Ack
    assert seen["gtpv2.cause"][-2:] == ["16", "16"]
    assert seen["l2tp.result_code"] == ["3", "1"]


def test_release_of_a_3g_pdp_context(orange, tmp_path):
    """Delete PDP Context Request/Response on Gn (TS 29.060 §7.3.5)."""
    r = orange.activate(ActivationRequest(PLAIN.imsi, "orange", pdn_type="ipv4", rat="3G"))
    orange.deactivate(r.session_id)
    seen = _messages(write_pcap(tmp_path / "s.pcap", sessions_packets(orange.exchanges)),
                     "gtp.message", "gtp.nsapi", "gtp.cause")
    assert seen["gtp.message"] == ["0x10", "0x11", "0x14", "0x15"]
    assert seen["gtp.nsapi"][-1] == "5" and seen["gtp.cause"] == ["128", "128"]
