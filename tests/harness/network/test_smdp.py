"""The simulated SM-DP+ (SGP.22 §5.6) driven by the terminal's LPA over the modem's link into the
simulated eUICC (csim.euicc), under the AlphaLink eSIM rules (fixtures/smdp/alphalink.yaml)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from harness.events import EventLog

from csim.encoding import luhn_digit
from csim.euicc import Euicc, TestPki
from csim.euicc.bpp import children
from harness.network.smdp import Es9Error, Smdp
from harness.network.world import World
from harness.terminal.lpa import Lpa
from harness.terminal.modem import Modem, ModemConfig
from harness.terminal.transport import InProcessTransport

IPHONE, WATCH, PIXEL = "35000013000001", "35000090000004", "35000008000003"


def iccid(n: int) -> str:
    body = f"893390{n:012d}"
    return body + luhn_digit(body)


@pytest.fixture(scope="module", params=["nist", "brainpool"])
def pki(request: pytest.FixtureRequest) -> TestPki:
    return TestPki.generate(request.param)


class Phone:
    """A terminal with an empty eUICC, its modem and its LPA, sharing the SM-DP+'s event log."""

    def __init__(self, pki: TestPki, smdp: Smdp, serial: int, imei: str = IPHONE) -> None:
        self.euicc = Euicc.seeded([], credentials=pki.euicc_credentials(pki.eid(serial)))
        self.modem = Modem(InProcessTransport(self.euicc, smdp.log), World.load("europe"), log=smdp.log,
                           config=ModemConfig(imei=imei, pin="0000"))
        self.modem.power_on(country="FR")
        self.lpa = Lpa(self.modem, {smdp.address: smdp.handle}, tac=imei[:8])


@pytest.fixture
def smdp(pki: TestPki) -> Smdp:
    return Smdp(pki, log=EventLog())


def refused(call: Any) -> tuple[str, str]:
    with pytest.raises(Es9Error) as info:
        call()
    return info.value.status.subject, info.value.status.reason


def test_download_enable_and_attach_with_the_esim(smdp: Smdp, pki: TestPki) -> None:
    order = smdp.download_order("orange", iccid(1), line="line-1")
    code = smdp.activation_code(order)
    assert code == f"LPA:1$rsp-0004.oberthur.net${order.matching_id}$$1"
    assert len(order.confirmation_code or "") == 6
    phone = Phone(pki, smdp, 11)
    phone.modem.network.hss.provision_profile(order.profile)
    assert phone.modem.status()["sim"] == "absent"  # an empty eUICC: no profile enabled
    result = phone.lpa.download(code, order.confirmation_code)
    assert (result.iccid, result.error) == (iccid(1), None)
    assert order.state == "installed"  # the install notification reached the SM-DP+, signature checked
    assert [(p["iccid"], p["state"], p["provider"]) for p in phone.lpa.profiles()] == [
        (iccid(1), "disabled", "Orange")]
    assert phone.lpa.enable(iccid(1)) == "ok"
    status = phone.modem.status()
    assert (status["iccid"], status["registered"], status["imsi"]) == (
        iccid(1), "208-01", order.profile.active_profile.imsi)
    # the SM-DP+ heard of the enabling: the eUICC signed it, the SM-DP+ verified it
    phone.lpa.send_notifications()
    notes = [e.data for e in smdp.log.of_kind("smdp_notification")]
    assert [(n["event"], n["verified"]) for n in notes] == [("install", True), ("enable", True)]


def test_the_confirmation_code_is_disabled_after_three_wrong_tries(smdp: Smdp, pki: TestPki) -> None:
    order = smdp.download_order("orange", iccid(2))
    phone = Phone(pki, smdp, 12)
    code = smdp.activation_code(order)
    wrong = "000000" if order.confirmation_code != "000000" else "111111"
    tries = [refused(lambda: phone.lpa.download(code, wrong)) for _ in range(3)]
    assert tries == [("8.2.7", "3.8"), ("8.2.7", "3.8"), ("8.2.7", "6.4")]
    assert order.state == "unavailable"
    assert refused(lambda: phone.lpa.download(code, order.confirmation_code)) == ("8.2.7", "6.4")
    assert phone.lpa.profiles() == []


def test_an_activation_code_serves_one_download_and_one_device(smdp: Smdp, pki: TestPki) -> None:
    order = smdp.download_order("orange", iccid(3))
    code = smdp.activation_code(order)
    first, second = Phone(pki, smdp, 13), Phone(pki, smdp, 14, PIXEL)
    wrong = "000000" if order.confirmation_code != "000000" else "111111"
    refused(lambda: first.lpa.download(code, wrong))  # the profile is now bound to the first eUICC
    assert refused(lambda: second.lpa.download(code, order.confirmation_code)) == ("8.1.1", "3.8")
    assert first.lpa.download(code, order.confirmation_code).error is None
    third = Phone(pki, smdp, 15)
    assert refused(lambda: third.lpa.download(code, order.confirmation_code)) == ("8.2.6", "3.8")
    assert refused(lambda: first.lpa.download(code, order.confirmation_code)) == ("8.2.6", "3.8")


def test_a_deleted_esim_is_never_installed_again(smdp: Smdp, pki: TestPki) -> None:
    order = smdp.download_order("orange", iccid(4))
    phone = Phone(pki, smdp, 16)
    code = smdp.activation_code(order)
    phone.lpa.download(code, order.confirmation_code)
    assert phone.lpa.delete(iccid(4)) == "ok"
    assert phone.lpa.send_notifications() == 1
    assert order.state == "deleted"
    with pytest.raises(Es9Error, match="order a new eSIM") as info:
        phone.lpa.download(code, order.confirmation_code)
    assert (info.value.status.subject, info.value.status.reason) == ("8.2.6", "3.8")


@pytest.mark.parametrize("imei, why", [(WATCH, "watch"), (PIXEL, "not on the compatible terminals")])
def test_devices_the_provider_refuses(smdp: Smdp, pki: TestPki, imei: str, why: str) -> None:
    order = smdp.download_order("orange", iccid(5))
    phone = Phone(pki, smdp, 17, imei)
    with pytest.raises(Es9Error, match=why) as info:
        phone.lpa.download(smdp.activation_code(order), order.confirmation_code)
    assert (info.value.status.subject, info.value.status.reason) == ("8.2.5", "4.3")
    assert order.eid is None and order.state == "released"


def test_orders_only_on_the_orange_network(smdp: Smdp) -> None:
    assert refused(lambda: smdp.download_order("bouygues", iccid(6))) == ("8.2.5", "3.9")


def test_an_unknown_matching_id_is_refused(smdp: Smdp, pki: TestPki) -> None:
    phone = Phone(pki, smdp, 18)
    assert refused(lambda: phone.lpa.download("LPA:1$rsp-0004.oberthur.net$AAAAA-BBBBB$$1", "123456")) == (
        "8.2.6", "3.8")


def test_a_corrupted_euicc_signature_is_refused(smdp: Smdp, pki: TestPki) -> None:
    """euiccSignature1 with one bit flipped: the SM-DP+ refuses 8.1 / 6.1 (SGP.22 §5.6.3)."""
    order = smdp.download_order("orange", iccid(7))

    def tampering(function: str, body: dict[str, Any]) -> Any:
        if function == "authenticateClient":
            raw = base64.b64decode(body["authenticateServerResponse"])
            signature = children(children(raw)[0])[1]  # euiccSignature1, '5F37'
            bad = signature[:-1] + bytes([signature[-1] ^ 1])
            tampered = base64.b64encode(raw.replace(signature, bad)).decode()
            body = {**body, "authenticateServerResponse": tampered}
        return smdp.handle(function, body)

    phone = Phone(pki, smdp, 19)
    phone.lpa.servers = {smdp.address: tampering}
    assert refused(lambda: phone.lpa.download(smdp.activation_code(order), order.confirmation_code)) == (
        "8.1", "6.1")
    assert order.eid is None and order.state == "released"


def test_a_corrupted_package_is_refused_by_the_euicc_and_reported(smdp: Smdp, pki: TestPki) -> None:
    order = smdp.download_order("orange", iccid(8))

    def tampering(function: str, body: dict[str, Any]) -> Any:
        answer = smdp.handle(function, body)
        if function == "getBoundProfilePackage" and answer is not None:
            bpp = bytearray(base64.b64decode(answer["boundProfilePackage"]))
            bpp[-3] ^= 1  # the C-MAC of the last '86' segment
            answer = {**answer, "boundProfilePackage": base64.b64encode(bytes(bpp)).decode()}
        return answer

    phone = Phone(pki, smdp, 20)
    phone.lpa.servers = {smdp.address: tampering}
    result = phone.lpa.download(smdp.activation_code(order), order.confirmation_code)
    assert (result.error, result.bpp_command) == ("scp03tSecurityError", 5)
    assert order.state == "error" and phone.lpa.profiles() == []


def test_es9_over_https_on_loopback(smdp: Smdp, pki: TestPki) -> None:
    """The same download through the JSON binding (SGP.22 §6.5) over TLS, the client checking the
    server's CERT.DP.TLS against the CI; a refusal comes back as a Failed header."""
    import json
    import urllib.error
    import urllib.request

    from harness.network.smdp.http import Es9Server

    with Es9Server(smdp) as server:
        smdp.address = server.address  # the activation code names the loopback server
        order = smdp.download_order("orange", iccid(9))
        phone = Phone(pki, smdp, 21)
        phone.lpa.servers = {server.address: server.client()}
        wrong = "000000" if order.confirmation_code != "000000" else "111111"
        assert refused(lambda: phone.lpa.download(smdp.activation_code(order), wrong)) == ("8.2.7", "3.8")
        result = phone.lpa.download(smdp.activation_code(order), order.confirmation_code)
        assert result.error is None and order.state == "installed"
        # without X-Admin-Protocol the server answers 400 (SGP.22 §6.5.1)
        plain = urllib.request.Request(f"{server.url}/gsma/rsp2/es9plus/initiateAuthentication",
                                       data=json.dumps({}).encode(), method="POST")
        import ssl

        context = ssl.create_default_context(cadata=server.ca_pem.decode())
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(plain, context=context, timeout=10)  # noqa: S310
        assert info.value.code == 400


def test_the_http_binding_refuses_what_is_not_es9(smdp: Smdp) -> None:
    """An unknown function is 404; a body that is not JSON gets a Failed header (1.3.1/2.2); the
    server listens on loopback only."""
    import json
    import urllib.error
    import urllib.request

    from harness.network.smdp.http import Es9Server

    with pytest.raises(ValueError, match="loopback"):
        Es9Server(smdp, host="0.0.0.0", tls=False)  # noqa: S104 - the refusal is the point
    with Es9Server(smdp, tls=False) as server:
        headers = {"X-Admin-Protocol": "gsma/rsp/v2.2.0", "Content-Type": "application/json"}
        unknown = urllib.request.Request(f"{server.url}/gsma/rsp2/es9plus/deleteEverything", data=b"{}",
                                         headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(unknown, timeout=10)  # noqa: S310 - loopback test server
        assert info.value.code == 404
        bad = urllib.request.Request(f"{server.url}/gsma/rsp2/es9plus/initiateAuthentication", data=b"{nope",
                                     headers=headers, method="POST")
        with urllib.request.urlopen(bad, timeout=10) as resp:  # noqa: S310 - loopback test server
            header = json.loads(resp.read())["header"]
        assert header["functionExecutionStatus"]["status"] == "Failed"
        assert header["functionExecutionStatus"]["statusCodeData"]["subjectCode"] == "1.3.1"


def test_malformed_requests_are_refused_with_a_status(smdp: Smdp, pki: TestPki) -> None:
    """Requests that decode but lack what the function needs: 1.3.1/2.2, never an exception."""
    phone = Phone(pki, smdp, 22)
    missing = ("1.3.1", "2.2")
    assert refused(lambda: smdp.handle("initiateAuthentication", {"euiccChallenge": "AAAA"})) == missing
    assert refused(lambda: smdp.handle("authenticateClient", {"transactionId": 7})) == ("8.10.1", "3.9")
    assert refused(lambda: smdp.handle("getBoundProfilePackage", [])) == missing
    assert refused(lambda: smdp.handle("handleNotification", {"pendingNotification": "!!"})) == missing
    assert phone.lpa.profiles() == []


def test_an_lpa_without_an_euicc_says_so(smdp: Smdp) -> None:
    """A plain UICC in the terminal: SELECT of the ISD-R fails, the LPA names it."""
    from csim import Card
    from harness.terminal.lpa import LpaError

    log = EventLog()
    modem = Modem(InProcessTransport(Card.from_profile("alphalink-orange"), log), World.load("europe"),
                  log=log, config=ModemConfig(pin="0000"))
    modem.power_on(country="FR")
    with pytest.raises(LpaError, match="no eUICC"):
        Lpa(modem, {smdp.address: smdp.handle}, tac=IPHONE[:8]).profiles()
    assert modem.status()["registered"] == "208-01"  # the card and its session are untouched


def test_a_cancelled_order_no_longer_downloads(smdp: Smdp, pki: TestPki) -> None:
    """ES2+.CancelOrder after a SIM swap: the matching ID is refused (8.2.6/3.8); an installed
    profile's order keeps its state."""
    order = smdp.download_order("orange", iccid(10))
    smdp.cancel_order(order)
    phone = Phone(pki, smdp, 23)
    with pytest.raises(Es9Error, match="replaced by a SIM swap") as info:
        phone.lpa.download(smdp.activation_code(order), order.confirmation_code)
    assert (info.value.status.subject, info.value.status.reason) == ("8.2.6", "3.8")
    installed = smdp.download_order("orange", iccid(11))
    phone.lpa.download(smdp.activation_code(installed), installed.confirmation_code)
    smdp.cancel_order(installed)
    assert (order.state, installed.state) == ("cancelled", "installed")
