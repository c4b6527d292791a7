"""``simharness smdp serve`` as a QA engineer runs it: a child process, its printed activation and
confirmation codes, a download by the harness's own LPA over HTTPS, its log, a clean stop."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.events import EventLog

from csim.euicc import Euicc, TestPki
from harness.network.smdp import Es9Error
from harness.network.smdp.http import Es9Client
from harness.network.world import World
from harness.terminal.lpa import Lpa
from harness.terminal.modem import Modem, ModemConfig
from harness.terminal.transport import InProcessTransport

ROOT = Path(__file__).resolve().parents[3]
MONDAY = "2026-12-07T10:00"  # inside the AlphaLink eSIM hours (Monday-Friday 9:00-17:30)


def smdp(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harness.cli", "smdp", "serve", *args], cwd=ROOT,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def until_ready(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    """The JSON lines printed up to ``ready``."""
    assert proc.stdout is not None
    lines: list[dict[str, Any]] = []
    while not lines or lines[-1]["event"] != "ready":
        text = proc.stdout.readline()
        assert text, f"smdp serve ended early: {lines} {proc.stderr.read() if proc.stderr else ''}"
        lines.append(json.loads(text))
    return lines


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[int, list[dict[str, Any]]]:
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=20)
    return proc.returncode, [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[dict[str, Any]]]]:
    proc = smdp("--order", "orange:iPhone 13", "--order", "orange", "--pki-dir", str(tmp_path),
                "--at", MONDAY, "--json")
    try:
        yield proc, until_ready(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def phone(pki_dir: Path, imei: str) -> Lpa:
    """A terminal whose empty eUICC is certified by the test PKI the server wrote."""
    pki = TestPki.load(pki_dir, "nist")
    assert pki is not None
    euicc = Euicc.seeded([], credentials=pki.euicc_credentials(pki.eid(7)))
    log = EventLog()
    modem = Modem(InProcessTransport(euicc, log), World.load("europe"), log=log,
                  config=ModemConfig(imei=imei, pin="0000"))
    modem.power_on(country="FR")
    return Lpa(modem, {}, tac=imei[:8])


def test_the_printed_codes_download_over_https_and_each_call_is_logged(served: Any, tmp_path: Path) -> None:
    proc, lines = served
    serving = lines[0]
    orders = [line for line in lines if line["event"] == "order"]
    assert [o["device"] for o in orders] == ["iPhone 13", None]
    first = orders[0]
    assert first["activation_code"] == f"LPA:1${serving['address']}${first['matching_id']}$$1"
    assert len(first["confirmation_code"]) == 6 and first["confirmation_code"].isdigit()
    assert orders[1]["matching_id"] != first["matching_id"]
    lpa = phone(tmp_path, first["imei"])
    # the client checks CERT.DP.TLS against the CI the server wrote to --pki-dir
    ci = (tmp_path / "CI_nist.pem").read_bytes()
    lpa.servers = {serving["address"]: Es9Client(serving["url"], ca_pem=ci)}
    wrong = "000000" if first["confirmation_code"] != "000000" else "111111"
    with pytest.raises(Es9Error) as refused:
        lpa.download(first["activation_code"], wrong)
    assert (refused.value.status.subject, refused.value.status.reason) == ("8.2.7", "3.8")
    result = lpa.download(first["activation_code"], first["confirmation_code"])
    assert (result.iccid, result.error) == (first["iccid"], None)
    assert lpa.enable(first["iccid"]) == "ok"
    lpa.send_notifications()
    context = ssl.create_default_context(cadata=ci.decode())
    with pytest.raises(urllib.error.HTTPError) as info:  # not an ES9+ function: 404, logged too
        urllib.request.urlopen(urllib.request.Request(f"{serving['url']}/gsma/rsp2/es9plus/listProfiles",  # noqa: S310
                                                      data=b"{}", method="POST"), context=context, timeout=10)
    assert info.value.code == 404
    code, log = stop(proc)
    assert code == 0 and log[-1]["event"] == "stopped"
    calls = [(c["function"], c["status"], c.get("reason")) for c in log if c["event"] == "call"]
    assert calls[:2] == [("initiateAuthentication", "Executed-Success", None),
                         ("authenticateClient", "Executed-Success", None)]
    assert ("getBoundProfilePackage", "Failed", "3.8") in calls  # the wrong code, with its SGP.22 code
    assert calls.count(("getBoundProfilePackage", "Executed-Success", None)) == 1
    events = [e for c in log if c["event"] == "call" for e in c.get("events", [])]
    notes = [e for e in events if e["kind"] == "smdp_notification"]
    assert [(n["event"], n["verified"]) for n in notes] == [("install", True), ("enable", True)]
    not_es9 = log[-2]
    path = "/gsma/rsp2/es9plus/listProfiles"
    assert (not_es9["function"], not_es9["http"], not_es9["subject"]) == (path, 404, "HTTP")


def test_text_output_and_a_clean_stop_on_sigterm(tmp_path: Path) -> None:
    proc = smdp("--order", "orange", "--at", MONDAY, "--curve", "brainpool")
    assert proc.stdout is not None
    head = [proc.stdout.readline() for _ in range(3)]
    assert head[0].startswith("SM-DP+ AlphaLink on https://127.0.0.1:") and "(brainpool)" in head[0]
    assert " activation code LPA:1$127.0.0.1:" in head[1] and " confirmation code " in head[1]
    assert head[2].startswith("serving")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert (proc.returncode, out.strip(), err) == (0, "SM-DP+ stopped", "")


@pytest.mark.parametrize("args,message", [
    (["--order", "sfr"], "--order sfr: unknown network 'sfr'"),
    (["--order", "bouygues"], "SIM type esim is not offered on Bouygues Telecom"),
    (["--order", "orange:Nokia 3310"], "unknown device 'Nokia 3310'"),
    (["--order", "orange", "--at", "2026-12-05T10:00"], "esim is closed on Saturday"),
    (["--order", "orange", "--at", "2026-12-07T18:00"], "refused at Mon 2026-12-07 18:00"),
    (["--host", "192.0.2.1"], "loopback only"),
    (["--port", "70000"], "--port 70000: not a TCP port"),
    (["--pki-dir", "/dev/null/pki"], "--pki-dir /dev/null/pki: cannot write the test PKI there"),
])
def test_bad_options_are_one_error_line_and_exit_2(args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "harness.cli", "smdp", "serve", *args], cwd=ROOT,  # noqa: S603
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr


def test_a_port_in_use_is_one_error_line(served: Any) -> None:
    _, lines = served
    port = lines[0]["address"].rsplit(":", 1)[1]
    done = subprocess.run([sys.executable, "-m", "harness.cli", "smdp", "serve", "--port", port], cwd=ROOT,  # noqa: S603
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"--port {port}: cannot listen there (Address already in use)" in done.stderr


def test_card_serve_and_smdp_serve_share_the_pki_of_one_directory(served: Any, tmp_path: Path) -> None:
    """The second command reads the PKI the first wrote: one CI, so the eUICC trusts the SM-DP+."""
    from harness.cli.card import shared_pki

    written = TestPki.load(tmp_path, "nist")
    pki, loaded = shared_pki("nist", str(tmp_path))
    assert loaded and written is not None
    assert pki.ci_cert == written.ci_cert and pki.eid_prefix == "89049032123451234512"
    assert shared_pki("brainpool", str(tmp_path))[1] is False  # no brainpool PKI there: a fresh one
    (tmp_path / "EUM_nist.pem").write_bytes((tmp_path / "CI_nist.pem").read_bytes())
    with pytest.raises(ValueError, match="EUM_nist.pem: not an EUM certificate of .*CI_nist.pem"):
        shared_pki("nist", str(tmp_path))
