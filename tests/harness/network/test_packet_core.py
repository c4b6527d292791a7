import hashlib

import pytest
from harness.events import EventLog

from harness.network.login import build_login
from harness.network.operators import PlanTraits, load_all
from harness.network.packet_core import (
    ActivationRequest,
    NetworkDataPlane,
    PartnerLns,
    Subscriber,
    chap_response,
)

OPS = load_all()
ORANGE, BYTEL = OPS["orange-france"], OPS["bouygues-telecom"]
FIXED = Subscriber("208019900000001", "07000009279756", PlanTraits("data_only", blocked=True),
                   fixed_ip="203.0.113.7", login="337000009279756@alpha.otd", password="s3cret")
PARTNER = Subscriber("208019900000002", "07000080910112", PlanTraits("m2m"), partner="partenaire")
PLAIN = Subscriber("208019900000003", "0612345678", PlanTraits("unlimited"))
LNS = PartnerLns("partenaire.otd", "198.51.100.1", "lns.partenaire.example",
                 {"337000080910112@partenaire.otd": "pw"})


@pytest.fixture
def orange():
    return NetworkDataPlane(ORANGE, [FIXED, PARTNER, PLAIN], lns=[LNS], log=EventLog())


def test_rfc1994_chap_response():
    # RFC 1994 §4.1: MD5 over identifier || secret || challenge
    challenge = bytes(range(16))
    expected = hashlib.md5(b"\x07" + b"secret" + challenge).digest()
    assert chap_response(7, "secret", challenge) == expected
    assert chap_response(8, "secret", challenge) != expected


def test_internet_dynamic_addresses(orange):
    a = orange.activate(ActivationRequest(PLAIN.imsi, "orange", pdn_type="ipv4v6"))
    b = orange.activate(ActivationRequest(PLAIN.imsi, "Orange", pdn_type="ipv6"))
    assert a.accepted and a.cause == 0 and a.ipv4 == "100.64.0.1" and a.ipv6_prefix.endswith("/64")
    assert b.accepted and b.ipv4 is None and b.ipv6_prefix != a.ipv6_prefix
    assert orange.log.of_kind("pdn_activation")[0]["ipv4"] == "100.64.0.1"


def test_address_texts_are_the_rfc_forms():
    # RFC 5952 §4.2: the longest run of zero fields is written "::", other zero fields "0";
    # IPv4 in dotted decimal (RFC 791 §3.2)
    dp = NetworkDataPlane(ORANGE, [PLAIN], pool_v4="10.255.255.0/24", prefix_v6="fd00::/48")
    got = [dp.activate(ActivationRequest(PLAIN.imsi, "orange", pdn_type="ipv4v6")) for _ in range(3)]
    assert [(r.ipv4, r.ipv6_prefix) for r in got] == [
        ("10.255.255.1", "fd00:0:0:1::/64"), ("10.255.255.2", "fd00:0:0:2::/64"),
        ("10.255.255.3", "fd00:0:0:3::/64")]
    dp = NetworkDataPlane(ORANGE, [PLAIN], prefix_v6="2001:db8:0:ab00::/56")
    assert dp.activate(ActivationRequest(PLAIN.imsi, "orange", pdn_type="ipv6")).ipv6_prefix == \
        "2001:db8:0:ab01::/64"


def test_missing_apn_uses_default_unknown_apn_rejected(orange):
    assert orange.activate(ActivationRequest(PLAIN.imsi, None)).apn == "orange"
    r = orange.activate(ActivationRequest(PLAIN.imsi, "mmsbouygtel.com"))
    assert (r.accepted, r.cause, r.cause_name) == (False, 27, "missing or unknown APN")
    assert r.gtpv2_cause == 78 and r.gtpv1_cause == 219
    assert orange.log.of_kind("pdn_rejected")[0]["cause"] == 27


def test_fixed_ip_pap(orange):
    login = build_login(ORANGE, "fixed_ip", FIXED.msisdn)
    r = orange.activate(ActivationRequest.with_login(FIXED.imsi, login.apn, "pap", login.username, "s3cret"))
    assert r.accepted and r.ipv4 == "203.0.113.7" and r.delivery == "fixed_ip"
    assert r.cause == 50 and r.pdn_type == "ipv4"          # IPv4v6 asked, IPv4 only on telcomobile.com
    assert r.radius.accepted and r.radius.framed_ip == "203.0.113.7"


@pytest.mark.parametrize("auth, user, password, cause, text", [
    ("pap", "337000009279756@alpha.otd", "wrong", 29, "wrong password"),
    ("chap", "337000009279756@alpha.otd", "s3cret", 29, "expects PAP"),
    ("pap", "37000009279756@alpha.otd", "s3cret", 29, "international form"),
    ("pap", "337000009279757@alpha.otd", "s3cret", 29, "this line is 337000009279756"),
    ("none", "", "", 29, "needs a login"),
])
def test_fixed_ip_rejections(orange, auth, user, password, cause, text):
    r = orange.activate(ActivationRequest.with_login(FIXED.imsi, "telcomobile.com", auth, user, password))
    assert not r.accepted and r.cause == cause and text in r.reason
    assert r.gtpv2_cause == 92


def test_option_not_subscribed(orange):
    r = orange.activate(ActivationRequest.with_login(PLAIN.imsi, "telcomobile.com", "pap",
                                                     "33612345678@alpha.otd", "x"))
    assert r.cause == 29 and "15 digits" in r.reason
    r = orange.activate(ActivationRequest.with_login(PLAIN.imsi, "telcomobile.com", "pap", "bob", "x"))
    assert r.cause == 33 and "neither" in r.reason and r.gtpv2_cause == 93


def test_partner_delivery_over_l2tp(orange):
    login = build_login(ORANGE, "partner", PARTNER.msisdn, partner="partenaire")
    r = orange.activate(ActivationRequest.with_login(PARTNER.imsi, login.apn, "pap", login.username, "pw",
                                                     pdn_type="ipv4"))
    assert r.accepted and r.delivery == "partner" and r.ipv4 == "10.200.0.2"
    assert r.l2tp.accepted and r.l2tp.lns_ip == "198.51.100.1" and r.l2tp.address == r.ipv4
    bad = orange.activate(ActivationRequest.with_login(PARTNER.imsi, login.apn, "pap", login.username, "no"))
    assert bad.cause == 29 and "LNS refused" in bad.reason and not bad.l2tp.accepted
    visp2 = build_login(ORANGE, "partner", PARTNER.msisdn, partner="partenaire", visp=2)
    r2 = orange.activate(ActivationRequest.with_login(PARTNER.imsi, visp2.apn, "pap", visp2.username, "pw"))
    assert r2.cause == 29 and "partenaire2.otd" in r2.reason


def test_roaming_on_data_only_not_subscribed(orange):
    r = orange.activate(ActivationRequest(FIXED.imsi, "orange", roaming=True))
    assert r.cause == 33 and "roaming" in r.reason


def test_bouygues_fixed_ip_chap_and_session_cap():
    lines = [Subscriber(f"20820{i:010d}", f"07{i:08d}", PlanTraits("data_only"), account="acme")
             for i in range(257)]
    fixed = Subscriber("208209999999999", "0799999999", PlanTraits("data_only", blocked=False),
                       fixed_ip="203.0.113.9", login="ipfixe-42", password="pw", account="acme")
    dp = NetworkDataPlane(BYTEL, [*lines, fixed])
    results = [dp.activate(ActivationRequest(s.imsi, "mmsbouygtel.com")) for s in lines]
    assert all(r.accepted for r in results[:256])
    assert results[256].cause == 26 and "256" in results[256].reason
    r = dp.activate(ActivationRequest.with_login(fixed.imsi, "mmsbouygtel.com", "chap", "ipfixe-42", "pw"))
    assert r.accepted and r.ipv4 == "203.0.113.9" and r.radius.auth == "chap"
    dp.deactivate(results[0].session_id)
    assert dp.activate(ActivationRequest(lines[256].imsi, "mmsbouygtel.com")).accepted


def test_unknown_pdn_type_and_barring(orange):
    assert orange.activate(ActivationRequest(PLAIN.imsi, "orange", pdn_type="x25")).cause == 28
    dp = NetworkDataPlane(ORANGE, [Subscriber("208010000000009", "0611111111", barred=True)])
    assert dp.activate(ActivationRequest("208010000000009", "orange")).cause == 8
