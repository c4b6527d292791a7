"""lpac against the two commands a QA engineer starts: ``simharness smdp serve --order orange`` (the
harness SM-DP+ on HTTPS, its test PKI written to a directory) and ``simharness card serve --euicc``
(an eUICC certified by the same CI, read from that directory), each its own process. lpac is given
only what the commands printed: the activation code of the e-mail and the confirmation code of the
SMS, and the IMEI of the ordered device.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from . import test_lpac_euicc
from .test_lpac_euicc import _unavailable, lpac_binary, profiles_by_iccid, run_lpac

reader = test_lpac_euicc.reader  # the private pcscd with the vpcd reader

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]
SIMHARNESS = [sys.executable, "-m", "harness.cli"]  # this checkout's command
MONDAY = "2026-12-07T10:00"  # inside the AlphaLink eSIM hours (Monday-Friday 9:00-17:30)


def _lines(proc: subprocess.Popen[str], last: str) -> list[str]:
    """What ``proc`` printed up to the line starting with ``last``."""
    assert proc.stdout is not None
    lines: list[str] = []
    while not (lines and lines[-1].startswith(last)):
        line = proc.stdout.readline()
        assert line, f"{proc.args} ended early: {lines}"
        lines.append(line)
    return lines


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    return out


@pytest.mark.parametrize("curve", ["nist", "brainpool"])
def test_lpac_downloads_from_smdp_serve_with_its_codes(reader: Any, tmp_path: Path, curve: str) -> None:
    if not reader.isolate or shutil.which("nsenter") is None:
        _unavailable("needs the isolated pcscd (root, unshare) and nsenter")
    binary = lpac_binary()
    smdp = subprocess.Popen([*SIMHARNESS, "smdp", "serve", "--order", "orange:iPhone 13", "--curve", curve,  # noqa: S603
                             "--pki-dir", str(tmp_path), "--at", MONDAY, "--json"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    card, card_out = None, ""
    try:
        head = [json.loads(line) for line in _lines(smdp, '{"event": "ready"')]
        order = next(line for line in head if line["event"] == "order")
        card = subprocess.Popen(["nsenter", f"--net=/proc/{reader.process.pid}/ns/net", *SIMHARNESS,  # noqa: S603, S607
                                 "card", "serve", "--euicc", "csl-sim", "--port", str(reader.port),
                                 "--curve", curve, "--pki-dir", str(tmp_path)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        served = _lines(card, "cards inserted")
        assert any(line.startswith(f"test PKI read from {tmp_path}") for line in served), served
        deadline = time.monotonic() + 10
        env = {**os.environ, **reader.env, "LPAC_APDU": "pcsc", "LPAC_HTTP": "curl"}
        while time.monotonic() < deadline:  # until pcscd has powered the card
            done = subprocess.run([str(binary), "chip", "info"], env=env, capture_output=True, text=True,  # noqa: S603
                                  timeout=60, check=False)
            if '"code":0' in done.stdout:
                break
            time.sleep(0.2)
        start = time.monotonic()
        done = subprocess.run([str(binary), "profile", "download", "-a", order["activation_code"],  # noqa: S603
                               "-c", order["confirmation_code"], "-i", order["imei"]],
                              env=env, capture_output=True, text=True, timeout=120, check=False)
        elapsed = time.monotonic() - start
        final = [json.loads(line) for line in done.stdout.splitlines() if '"type":"lpa"' in line]
        assert final and final[-1]["payload"]["code"] == 0, done.stdout + done.stderr
        print(f"lpac download from smdp serve ({curve}): {elapsed:.2f} s")
        listed = profiles_by_iccid(binary, reader)
        assert listed[order["iccid"]]["serviceProviderName"] == "Orange"
        run_lpac(binary, reader, "notification", "process", "-a", "-r")
    finally:
        if card is not None:
            card_out = _stop(card)
        log = [json.loads(line) for line in _stop(smdp).splitlines() if line.startswith("{")]
    assert "state saved" not in card_out  # no --state: nothing kept
    calls = [(c["function"], c["status"]) for c in log if c["event"] == "call"]
    assert calls == [(f, "Executed-Success") for f in ("initiateAuthentication", "authenticateClient",
                                                       "getBoundProfilePackage", "handleNotification")]
    install = [e for c in log if c["event"] == "call" for e in c.get("events", [])
               if e["kind"] == "smdp_notification"]
    assert [(n["event"], n["verified"], n["iccid"]) for n in install] == [("install", True, order["iccid"])]
