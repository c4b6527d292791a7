import datetime as dt

import pytest

from csim.yamlsrc import DataError
from harness.network.operators import OPERATORS_DIR, PlanTraits, load_all, load_operator


@pytest.fixture(scope="module")
def db():
    return load_all()


def test_simalarm_references_by_activation_date(db):
    for ref in ("CSL-SIM", "CSL-SIM-ESTANDAR", "CSL-SIM-MICRO", "CSL-SIM-NANO"):
        assert db.apn_for_reference(ref, dt.date(2022, 11, 15)) == "gemenit2.m2m"
        assert db.apn_for_reference(ref, dt.date(2022, 11, 16)) == "internet.csliot.com"
        assert db.apn_for_reference(ref, dt.date(2024, 1, 1)) == "internet.csliot.com"
    assert db.apn_for_reference("CSL-SIM-DUO", None) == "csl.tma.iot"
    assert db.apn_for_reference("SIMALARM", None) == "iot.1nce.net"
    assert db.apn_for_reference("SIMALARM-2", dt.date(2020, 1, 1)) == "simalarm.tele2.com"
    with pytest.raises(LookupError, match="activation date"):
        db.apn_for_reference("CSL-SIM", None)
    with pytest.raises(LookupError, match="unknown SIM reference"):
        db.apn_for_reference("CSL-SIM-XL", None)


def test_orange_france_internet_apn(db):
    op = db["orange-france"]
    assert op.plmn == "208-01" and db.by_plmn("208-01") is op
    apn = op.apn("ORANGE")
    assert (apn.apn, apn.user, apn.password) == ("orange", "orange", "orange")
    assert (apn.auth, apn.types) == ("pap", ("default",))
    assert apn.pdn_type(roaming=False) == "ipv6" and apn.pdn_type(roaming=True) == "ipv4v6"
    assert apn.mmsc == "http://mms.orange.fr"
    assert op.fixed_ip.apn == "telcomobile.com" and op.fixed_ip.auth == ("pap",)


def test_bouygues_internet_apn(db):
    op = db["bouygues-telecom"]
    apn = op.apn("mmsbouygtel.com")
    assert (apn.mcc, apn.mnc) == ("208", "20")
    assert apn.types == ("default", "supl", "mms", "xcap") and apn.auth == "pap"
    assert apn.pdn_type(roaming=False) == "ipv4v6" and apn.pdn_type(roaming=True) == "ipv4"
    assert apn.mmsc.startswith("http://mms.bouyguestelecom.fr")
    assert op.fixed_ip.apn == "mmsbouygtel.com" and set(op.fixed_ip.auth) == {"pap", "chap"}
    assert op.partner_delivery.lptype == 4 and op.session_cap == 256 and op.cap_lifted_by_fixed_ip


def test_roaming_data_forbidden_on_data_only(db):
    assert not db["orange-france"].roaming_allowed(PlanTraits("data_only"))
    assert db["orange-france"].roaming_allowed(PlanTraits("unlimited"))


def _write(tmp_path, name, text):
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return p


def test_schema_errors_name_file_and_line(tmp_path):
    text = "key: x\nname: X\nplmn: '208-01'\napns:\n  - name: A\n    apn: a\n    auth: md5\n"
    p = _write(tmp_path, "x", text)
    with pytest.raises(DataError) as e:
        load_operator(p)
    assert str(e.value).startswith(f"{p}:7:") and "auth" in str(e.value)


def test_cross_checks(tmp_path):
    p = _write(tmp_path, "y", "key: y\nname: Y\nplmn: '208-01'\napns:\n  - {name: A, apn: a}\n"
               "fixed_ip:\n  apn: b\n  auth: [pap]\n  allowed_plans: [{blocked: true}]\n"
               "  monthly_price_eur: {internet_only: 1, partner_l2tp: 0}\n  cancellation: any_time\n")
    with pytest.raises(DataError, match=r":7: fixed_ip/apn: 'b' is not one of"):
        load_operator(p)
    p = _write(tmp_path, "z", "key: other\nname: Z\n")
    with pytest.raises(DataError, match=":1: key: 'other' does not match"):
        load_operator(p)


def test_every_fixture_loads():
    keys = {load_operator(p).key for p in OPERATORS_DIR.glob("*.yaml")}
    assert {"orange-france", "bouygues-telecom", "simalarm"} <= keys
