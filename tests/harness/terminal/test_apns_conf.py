import pytest

from harness.network.operators import load_all
from harness.terminal.apns_conf import (
    ApnsConfError,
    check_device_apns,
    dump_apns_conf,
    load_apns_conf,
    parse_apns_conf,
    terminal_entry,
    write_apns_conf,
)

DEVICE = """<?xml version="1.0" encoding="utf-8"?>
<apns version="8">
  <apn carrier="Orange World" mcc="208" mnc="01" apn="orange" user="orange" password="orange"
       authtype="1" type="default,supl" protocol="IP" roaming_protocol="IPV4V6"
       mmsc="http://mms.orange.fr" bearer_bitmask="0" />
  <apn carrier="Bouygues Internet" mcc="208" mnc="20" apn="mmsbouygtel.com" authtype="1"
       type="default,supl,mms,xcap" protocol="IPV4V6" roaming_protocol="IP"
       mmsc="http://mms.bouyguestelecom.fr/mms/wapenc" />
  <apn carrier="MVNO" mcc="208" mnc="01" apn="mvno.example" mvno_type="spn" mvno_match_data="Example" />
</apns>
"""


def test_round_trip_of_operator_settings(tmp_path):
    ref = [terminal_entry(s) for s in load_all().apn_settings()]
    path = write_apns_conf(tmp_path / "apns-conf.xml", ref)
    assert load_apns_conf(path) == ref
    assert dump_apns_conf(load_apns_conf(path)) == path.read_text()


def test_device_file_round_trip_keeps_unknown_attributes():
    entries = parse_apns_conf(DEVICE)
    assert [e.apn for e in entries] == ["orange", "mmsbouygtel.com", "mvno.example"]
    assert entries[0].extra == (("bearer_bitmask", "0"),)
    assert entries[2].mvno_type == "spn" and entries[2].auth == "none"
    assert parse_apns_conf(dump_apns_conf(entries)) == entries


def test_check_device_against_card_operator():
    db = load_all()
    device = parse_apns_conf(DEVICE)
    findings = check_device_apns(device, db["orange-france"].apns)
    text = [str(f) for f in findings]
    assert "orange: protocol is 'IP', expected 'IPV6'" in text
    assert any(f.apn == "telcomobile.com" and f.found == "missing" for f in findings)
    assert check_device_apns(device, db["bouygues-telecom"].apns) == []


@pytest.mark.parametrize("xml, message", [
    ('<!DOCTYPE apns [<!ENTITY a "aaaa">]><apns/>', "DTD"),
    ("<apns><apn mcc='208' mnc='01'/></apns>", ":1: <apn> without apn"),
    ("<apns>\n<apn mcc='208' mnc='01' apn='x' authtype='7'/></apns>", ":2: authtype '7'"),
    ("<apns><apn mcc='2O8' mnc='01' apn='x'/></apns>", "not a PLMN"),
    ("<apns><apn></apns>", "not well-formed"),
    ("<carriers/>", "not <apns>"),
])
def test_bad_files_are_refused(xml, message):
    with pytest.raises(ApnsConfError, match=message):
        parse_apns_conf(xml, "dev.xml")
