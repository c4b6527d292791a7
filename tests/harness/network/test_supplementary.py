"""Call forwarding state and routing (TS 22.082) and the voicemail (AlphaLink mobile reference,
"RENVOI D'APPEL", "MESSAGERIE")."""

from harness.network.supplementary import SupplementaryServices, Voicemail

ORANGE = ("61", "62", "67", "002", "004")


def test_register_interrogate_route_and_erase():
    ss = SupplementaryServices(ORANGE)
    assert ss.request("A", "registration", "61", "0700000000", "11").accepted
    assert "active, to 0700000000" in ss.request("A", "interrogation", "61").text
    r = ss.route("A", "no_answer")
    assert (r.outcome, r.to, r.condition) == ("forwarded", "0700000000", "no_reply")
    assert ss.route("A", "busy").outcome == "not_forwarded"
    ss.request("A", "registration", "67", "0700000002")
    assert ss.request("A", "erasure", "004").accepted
    assert ss.forwardings("A") == {}


def test_all_forwarding_erasure_and_unknown_codes():
    ss = SupplementaryServices(ORANGE)
    ss.request("A", "registration", "62", "0700000001")
    ss.forward_all("A", "0700000009")
    r = ss.route("A", "answered")
    assert r.condition == "unconditional" and r.out_of_plan is True
    ss.request("A", "erasure", "002")
    assert ss.forwardings("A") == {}
    assert not SupplementaryServices(()).request("A", "registration", "61", "0700000000").accepted


def test_voicemail_code_only_from_france():
    vm = Voicemail("777", "+33660660001", True)
    assert vm.number_from("DE") == "+33660660001" and vm.number_from("FR") == "777"
    assert not vm.set_code("1234", "DE").accepted
    assert vm.set_code("1234", "FR").accepted and vm.secret_code == "1234"
