"""The harness's LPA (:mod:`harness.terminal.lpa`, through the modem's link into the simulated
eUICC) against osmocom's SM-DP+ (osmo-smdpp, ../shared/oracles) over ES9+ HTTP on loopback.

osmo-smdpp is an SM-DP+ written independently: it checks what our LPA relays (the eUICC's
AuthenticateServer and PrepareDownload answers) and binds a TS.48 profile the LPA loads into the
eUICC. Its refusals are the SGP.22 ones: an unknown matching ID (8.2.6/3.8), a corrupted eUICC
signature (8.1/6.1). It keeps no profile state and has no confirmation code (the oracles' README),
so the code tries and the deleted-profile rule are checked against lpac instead
(test_lpac_harness_smdp.py).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from harness.events import EventLog

from csim.euicc import Euicc
from csim.euicc.bpp import children
from harness.network.smdp import Es9Error
from harness.network.smdp.http import Es9Client
from harness.network.world import World
from harness.terminal.lpa import Lpa
from harness.terminal.modem import Modem, ModemConfig
from harness.terminal.transport import InProcessTransport

from . import test_lpac_smdpp
from .test_lpac_smdpp import MATCHING_ID, SMDP_NAME, TS48_ICCID, credentials

smdpp = test_lpac_smdpp.smdpp  # osmo-smdpp on NIST P-256 and on brainpoolP256r1

pytestmark = pytest.mark.oracle


def terminal(smdpp: tuple[int, Path, str], server: Any = None) -> tuple[Lpa, Euicc]:
    """A phone whose eUICC carries osmo-smdpp's eUICC certificate and holds csl-sim (enabled)."""
    port, pki, curve = smdpp
    euicc = Euicc.seeded(["csl-sim"], credentials=credentials(pki, curve))
    log = EventLog()
    modem = Modem(InProcessTransport(euicc, log), World.load("europe"), log=log,
                  config=ModemConfig(pin="0000"))
    modem.power_on(country="FR")
    client = Es9Client(f"http://127.0.0.1:{port}")
    return Lpa(modem, {SMDP_NAME: server or client}, tac="35290611"), euicc


def test_the_harness_lpa_downloads_a_ts48_profile_from_osmo_smdpp(smdpp: tuple[int, Path, str]) -> None:
    lpa, euicc = terminal(smdpp)
    result = lpa.download(f"LPA:1${SMDP_NAME}${MATCHING_ID}")
    # osmo-smdpp accepted the relayed AuthenticateServer / PrepareDownload answers and bound the
    # package; the eUICC installed it; the install notification went back (HTTP 204)
    assert (result.iccid, result.error) == (TS48_ICCID, None)
    assert [(p["iccid"], p["state"], p["provider"]) for p in lpa.profiles()][-1] == (
        TS48_ICCID, "disabled", "OsmocomSPN")
    assert euicc.isdr.notifications == []  # sent and removed from the eUICC's list
    assert lpa.enable(TS48_ICCID) == "ok"
    assert lpa.send_notifications() >= 1  # disable of csl-sim / enable of the TS.48 profile
    assert euicc.card is not None and euicc.card.profile.iccid == TS48_ICCID


def test_osmo_smdpp_refuses_an_unknown_matching_id(smdpp: tuple[int, Path, str]) -> None:
    lpa, _ = terminal(smdpp)
    with pytest.raises(Es9Error) as info:
        lpa.download(f"LPA:1${SMDP_NAME}$NO-SUCH-PROFILE")
    assert (info.value.status.subject, info.value.status.reason) == ("8.2.6", "3.8")


def test_osmo_smdpp_refuses_a_corrupted_euicc_signature(smdpp: tuple[int, Path, str]) -> None:
    """euiccSignature1 with its last bit flipped on the way: osmo-smdpp answers 8.1/6.1."""
    port, _, _ = smdpp
    client = Es9Client(f"http://127.0.0.1:{port}")

    def tampering(function: str, body: dict[str, Any]) -> Any:
        if function == "authenticateClient":
            raw = base64.b64decode(body["authenticateServerResponse"])
            signature = children(children(raw)[0])[1]  # euiccSignature1, '5F37'
            bad = signature[:-1] + bytes([signature[-1] ^ 1])
            tampered = base64.b64encode(raw.replace(signature, bad)).decode()
            body = {**body, "authenticateServerResponse": tampered}
        return client(function, body)

    lpa, euicc = terminal(smdpp, tampering)
    with pytest.raises(Es9Error) as info:
        lpa.download(f"LPA:1${SMDP_NAME}${MATCHING_ID}")
    assert (info.value.status.subject, info.value.status.reason) == ("8.1", "6.1")
    assert [p["iccid"] for p in lpa.profiles()] == ["8944079900000000024"]  # csl-sim alone
