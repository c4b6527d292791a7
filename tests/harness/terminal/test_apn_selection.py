import datetime as dt

import pytest

from harness.network.operators import load_all
from harness.terminal.apn_selection import ApnSelectionError, CardIdentity, TerminalApnState, select_apn
from harness.terminal.apns_conf import parse_apns_conf

DB = parse_apns_conf("""<apns version="8">
  <apn carrier="Orange internet" mcc="208" mnc="01" apn="orange" user="orange" password="orange" authtype="1"
       type="default" protocol="IPV6" roaming_protocol="IPV4V6"/>
  <apn carrier="Orange MMS" mcc="208" mnc="01" apn="orange.acte" type="mms"/>
  <apn carrier="Virtual" mcc="208" mnc="01" apn="virtual.example" mvno_type="spn" mvno_match_data="Virtual"/>
  <apn carrier="Range" mcc="208" mnc="01" apn="range.example" mvno_type="imsi"
       mvno_match_data="2080177xxxxxxxx"/>
  <apn carrier="Group" mcc="208" mnc="01" apn="gid.example" mvno_type="gid" mvno_match_data="A1"/>
  <apn carrier="Bouygues" mcc="208" mnc="20" apn="mmsbouygtel.com" type="default,supl,mms,xcap"/>
  <apn carrier="Intl" mcc="901" mnc="70" apn="internet.intl" type="default"/>
</apns>""")

HOME = CardIdentity(iccid="8933019900000000017", imsi="208019900000001", spn="Orange")
INTL = CardIdentity(iccid="8933019900000000017", imsi="901709900000001", spn="Orange")


def test_by_home_plmn_and_type():
    assert select_apn(DB, HOME).apn == "orange"
    assert select_apn(DB, HOME, apn_type="mms").apn == "orange.acte"
    assert select_apn(DB, CardIdentity("89", "208201234567890")).apn == "mmsbouygtel.com"


def test_mnc_length_from_ef_ad():
    card = CardIdentity("89", "208019900000001", mnc_length=3)   # 208-019: no entry
    with pytest.raises(ApnSelectionError, match="208-019"):
        select_apn(DB, card)


@pytest.mark.parametrize("card, apn", [
    (CardIdentity("89", "208019900000001", spn="virtual"), "virtual.example"),
    (CardIdentity("89", "208017700000001"), "range.example"),
    (CardIdentity("89", "208019900000001", gid1="a1ff"), "gid.example"),
])
def test_mvno_match_data(card, apn):
    assert select_apn(DB, card).apn == apn


def test_explicit_configuration_and_sim_reference():
    assert select_apn(DB, HOME, configured="telcomobile.com").apn == "telcomobile.com"
    ops = load_all()
    before = CardIdentity("89", "454001234567890", sim_reference="CSL-SIM",
                          activation_date=dt.date(2022, 6, 1))
    after = CardIdentity("89", "454001234567890", sim_reference="CSL-SIM",
                         activation_date=dt.date(2023, 6, 1))
    assert select_apn(DB, before, operators=ops).apn == "gemenit2.m2m"
    assert select_apn(DB, after, operators=ops).apn == "internet.csliot.com"


def test_profile_switch_keeps_french_profile():
    term = TerminalApnState(DB, keep_on_profile_switch=True)
    assert term.on_card(HOME).setting.apn == "orange"
    choice = term.on_card(INTL)
    assert choice.kept and choice.setting.apn == "orange"
    assert term.on_card(HOME).setting.apn == "orange"


def test_naive_terminal_picks_international_apn_or_none():
    term = TerminalApnState(DB, keep_on_profile_switch=False)
    term.on_card(HOME)
    choice = term.on_card(INTL)
    assert not choice.kept and choice.setting.apn == "internet.intl" and "new card" in choice.reason
    bare = TerminalApnState([s for s in DB if s.mcc != "901"], keep_on_profile_switch=False)
    bare.on_card(HOME)
    lost = bare.on_card(INTL)
    assert lost.setting is None and "901-70" in lost.reason


def test_new_card_reselects_even_when_keeping():
    term = TerminalApnState(DB)
    term.on_card(HOME)
    other = CardIdentity("8933200000000000001", "208201234567890")
    assert term.on_card(other).setting.apn == "mmsbouygtel.com"
