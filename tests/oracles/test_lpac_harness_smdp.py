"""lpac (an LPA written independently, in C) against the harness's SM-DP+ over HTTPS on loopback:
lpac drives the simulated eUICC through the real pcscd + vpcd and talks ES9+ to
:class:`harness.network.smdp.http.Es9Server` with its curl back-end (TLS, no peer check).

lpac checks our ES9+ answers its own way (its own DER, its own base64 and JSON handling): the
AlphaLink rules must hold for it too — the download with the SMS code, the confirmation code
refused three times then disabled, a deleted eSIM never downloaded again, an unknown matching ID.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.events import EventLog

from csim.euicc import Euicc, TestPki
from harness.network.smdp import Smdp
from harness.network.smdp.http import Es9Server

from . import test_lpac_euicc
from .test_lpac_euicc import inserted, lpac_binary, profiles_by_iccid, run_lpac

reader = test_lpac_euicc.reader  # the private pcscd with the vpcd reader

pytestmark = pytest.mark.oracle

IMEI = "35000013000001"  # the iPhone 13 of fixtures/devices.yaml: a terminal the AlphaLink guide installs on
ICCID = "8933900000000000013"


def lpac(binary: Path, reader: Any, *args: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """lpac over PC/SC with its curl HTTP back-end: its result payload (any code) and every line."""
    env = {**os.environ, **reader.env, "LPAC_APDU": "pcsc", "LPAC_HTTP": "curl"}
    done = subprocess.run([str(binary), *args], env=env, capture_output=True, text=True, timeout=120,  # noqa: S603
                          check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    final = [line for line in lines if line.get("type") == "lpa"]
    assert final, f"lpac {' '.join(args)} printed no result: {done.stdout}{done.stderr}"
    return final[-1]["payload"], lines


@pytest.fixture(params=["nist", "brainpool"])
def world(request: pytest.FixtureRequest, reader: Any) -> Iterator[tuple[Smdp, Es9Server, Euicc]]:
    """The SM-DP+ on HTTPS (its PKI on the curve), and an empty eUICC of that PKI in the reader."""
    pki = TestPki.generate(request.param)
    smdp = Smdp(pki, log=EventLog())
    with Es9Server(smdp) as server:
        smdp.address = server.address
        euicc = Euicc.seeded([], credentials=pki.euicc_credentials(pki.eid(3)))
        with inserted(reader, euicc):
            yield smdp, server, euicc


def download(binary: Path, reader: Any, smdp: Smdp, order: Any, code: str | None) -> dict[str, Any]:
    args = ["profile", "download", "-s", smdp.address, "-m", order.matching_id, "-i", IMEI]
    return lpac(binary, reader, *args, *(["-c", code] if code else []))[0]


def refusals(smdp: Smdp) -> list[str]:
    return [e.data["code"].split(" ")[0] for e in smdp.log.of_kind("smdp_refused")]


def test_lpac_downloads_with_the_sms_code_and_notifies(reader: Any, world: Any) -> None:
    smdp, _, euicc = world
    binary = lpac_binary()
    order = smdp.download_order("orange", ICCID)
    start = time.monotonic()
    result = download(binary, reader, smdp, order, order.confirmation_code)
    elapsed = time.monotonic() - start
    assert result["code"] == 0, result
    assert result["data"]["iccid"] == ICCID
    print(f"lpac + harness SM-DP+ download over PC/SC and HTTPS: {elapsed:.2f} s")
    listed = profiles_by_iccid(binary, reader)
    assert (listed[ICCID]["profileState"], listed[ICCID]["serviceProviderName"]) == ("disabled", "Orange")
    assert order.state == "downloaded"
    # lpac sends the install notification (the signed ProfileInstallationResult): verified, installed
    run_lpac(binary, reader, "notification", "process", "-a", "-r")
    assert order.state == "installed"
    run_lpac(binary, reader, "profile", "enable", ICCID)
    run_lpac(binary, reader, "notification", "process", "-a", "-r")
    notes = [(e.data["event"], e.data["verified"]) for e in smdp.log.of_kind("smdp_notification")]
    assert notes == [("install", True), ("enable", True)]
    assert euicc.card is not None and euicc.card.profile.iccid == ICCID


def test_lpac_sees_the_confirmation_code_disabled_after_three_wrong_tries(reader: Any, world: Any) -> None:
    smdp, _, _ = world
    binary = lpac_binary()
    order = smdp.download_order("orange", ICCID)
    wrong = "000000" if order.confirmation_code != "000000" else "111111"
    results = [download(binary, reader, smdp, order, wrong) for _ in range(3)]
    assert all(r["code"] != 0 for r in results), results
    assert refusals(smdp) == ["8.2.7/3.8", "8.2.7/3.8", "8.2.7/6.4"]
    # lpac stops at ES9+ GetBoundProfilePackage and shows the SM-DP+'s statusCodeData message
    assert {r["message"] for r in results} == {"es9p_get_bound_profile_package"}, results
    assert "code disabled" in results[2]["data"], results
    assert download(binary, reader, smdp, order, order.confirmation_code)["code"] != 0
    assert refusals(smdp)[-1] == "8.2.7/6.4" and order.state == "unavailable"
    assert profiles_by_iccid(binary, reader) == {}


def test_lpac_cannot_download_a_deleted_esim_again(reader: Any, world: Any) -> None:
    smdp, _, _ = world
    binary = lpac_binary()
    order = smdp.download_order("orange", ICCID)
    assert download(binary, reader, smdp, order, order.confirmation_code)["code"] == 0
    run_lpac(binary, reader, "profile", "delete", ICCID)
    run_lpac(binary, reader, "notification", "process", "-a", "-r")  # install, then delete
    assert order.state == "deleted"
    assert download(binary, reader, smdp, order, order.confirmation_code)["code"] != 0
    assert refusals(smdp)[-1] == "8.2.6/3.8"
    assert profiles_by_iccid(binary, reader) == {}


def test_lpac_with_an_unknown_matching_id_is_refused(reader: Any, world: Any) -> None:
    smdp, _, _ = world
    binary = lpac_binary()
    unknown = "QFSA0-UGXKF-Y00VV-IYPIK"  # the AlphaLink e-mail's example: never issued here
    result, _ = lpac(binary, reader, "profile", "download", "-s", smdp.address, "-m", unknown, "-i", IMEI,
                     "-c", "829878")
    assert result["code"] != 0, result
    assert refusals(smdp) == ["8.2.6/3.8"]


def test_lpac_in_a_watch_is_refused(reader: Any, world: Any) -> None:
    """"Apple Watch, tablettes & secondary device incompatibles": lpac's DeviceInfo carries the
    watch's TAC (``-i``), the SM-DP+ answers 8.2.5/4.3 and lpac stops at authenticateClient."""
    smdp, _, _ = world
    binary = lpac_binary()
    order = smdp.download_order("orange", ICCID)
    result, _ = lpac(binary, reader, "profile", "download", "-s", smdp.address, "-m", order.matching_id,
                     "-i", "35000090000004", "-c", str(order.confirmation_code))
    assert result["code"] != 0 and result["message"] == "es9p_authenticate_client", result
    assert refusals(smdp) == ["8.2.5/4.3"] and order.eid is None
