"""The bundled data scenarios on the wire: ``simharness run --pcap`` and the real tshark."""

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import cli
from harness.scenario import data_steps, runner
from harness.scenario import loader as scenario

TSHARK = shutil.which("tshark")
if TSHARK is None and os.environ.get("SIMHARNESS_REQUIRE_TSHARK"):
    raise RuntimeError("tshark is required (SIMHARNESS_REQUIRE_TSHARK is set) but not installed")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")

DATA = Path(__file__).resolve().parents[3] / "scenarios" / "data"
FIELDS = [
    "frame.number", "_ws.malformed", "_ws.col.Protocol", "gtpv2.apn", "gtp.apn", "pap.peer_id",
    "radius.User_Name", "chap.name", "gtpv2.pdn_addr_and_prefix.ipv4", "gtpv2.pdn_addr_and_prefix.ipv6",
    "gtp.user_ipv4", "radius.Framed-IP-Address", "ipcp.opt.ip_address", "l2tp.avp.calling_number",
    "e212.imsi",
]


def tshark(path: Path) -> list[dict[str, str]]:
    cmd = [TSHARK, "-r", str(path), "-o", "radius.shared_secret:testing123", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(FIELDS, line.split("\t"), strict=True)) for line in out.splitlines()]
    assert rows, f"tshark read no packet from {path.name}"
    for row in rows:
        assert row["_ws.malformed"] == "", f"{path.name} frame {row['frame.number']} malformed: {row}"
    return rows


def column(rows: list[dict[str, str]], *fields: str) -> list[str]:
    return [v for r in rows for f in fields for v in r[f].split("|") if v]


def data_scenarios() -> list[scenario.Scenario]:
    return [s for p in scenario.iter_files([DATA]) for s in scenario.load_file(p)]


def test_run_writes_one_clean_pcap_per_data_scenario(tmp_path):
    """The CLI writes a pcap for every scenario whose terminal reached the network; all decode."""
    assert cli.main(["run", str(DATA), "--pcap", str(tmp_path), "-q"]) == 0
    written = sorted(p.name for p in tmp_path.glob("*.pcap"))
    assert len(written) >= 25
    for path in tmp_path.glob("*.pcap"):
        rows = tshark(path)
        assert {"GTPv2", "GTP"} & set(column(rows, "_ws.col.Protocol")), path.name


@pytest.mark.parametrize("scn", data_scenarios(), ids=lambda s: s.test_id)
def test_apn_login_and_address_where_wireshark_shows_them(scn, tmp_path):
    """Every request of the run: its APN in the GTP APN IE, its login in the PCO PAP/CHAP (and
    RADIUS or PPP when the network checks it), the allocated address in PAA / End User Address."""
    session = runner.Session.for_scenario(scn)
    runner.run(scn, session)
    path = data_steps.write_pcap(session, tmp_path)
    results = session._data_context.terminal.results()
    if not results:
        assert path is None
        return
    rows = tshark(path)
    apns = column(rows, "gtpv2.apn", "gtp.apn")
    logins = column(rows, "pap.peer_id", "chap.name", "radius.User_Name")
    v4 = column(rows, "gtpv2.pdn_addr_and_prefix.ipv4", "gtp.user_ipv4")
    v6 = column(rows, "gtpv2.pdn_addr_and_prefix.ipv6")
    imsis = column(rows, "e212.imsi")
    for r in results:
        assert r.request.apn in apns
        assert r.imsi in imsis
        if r.request.username and r.request.auth != "none":
            assert r.request.username in logins
        if r.radius is not None:
            assert r.radius.username in column(rows, "radius.User_Name")
            if r.accepted:
                assert r.ipv4 in column(rows, "radius.Framed-IP-Address")
        if r.l2tp is not None:
            assert r.l2tp.calling_number in column(rows, "l2tp.avp.calling_number")
            if r.accepted:
                assert r.ipv4 in column(rows, "ipcp.opt.ip_address")
        if r.ipv4:
            assert r.ipv4 in v4
        if r.ipv6_prefix:
            # the PAA carries the prefix length and the prefix (TS 29.274 §8.14)
            net = ipaddress.ip_network(r.ipv6_prefix)
            assert str(net.network_address) in v6


def test_known_values_on_the_wire(tmp_path):
    """Literal values from the provider document's examples, read back by tshark."""
    files = ["15_orange_fixed_ip_blocked_plan.yaml", "12_orange_partner_delivery.yaml",
             "14_bouygues_partner_visps.yaml"]
    assert cli.main(["run", *(str(DATA / f) for f in files), "--pcap", str(tmp_path), "-q"]) == 0
    fixed = tshark(tmp_path / "15_orange_fixed_ip_blocked_plan.pcap")
    assert "337000080910112@alpha.otd" in column(fixed, "radius.User_Name")
    assert column(fixed, "radius.Framed-IP-Address")[:1] == ["203.0.113.7"]
    assert set(column(fixed, "gtpv2.apn")) == {"telcomobile.com"}
    orange = tshark(tmp_path / "12_orange_partner_delivery.pcap")
    assert "337000080910112@partenaire.otd" in column(orange, "pap.peer_id")
    assert column(orange, "l2tp.avp.calling_number") == ["337000080910112"]
    assert "10.200.1.2" in column(orange, "ipcp.opt.ip_address")
    bytel = tshark(tmp_path / "14_bouygues_partner_visps.pcap")
    peers = column(bytel, "pap.peer_id")
    assert "33639980001@partenaire.btd" in peers and "33639980001@partenaire2.btd" in peers
    assert set(column(bytel, "gtpv2.apn")) == {"mmsbouygtel.com"}
