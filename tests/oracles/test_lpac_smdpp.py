"""Profile download from osmocom's SM-DP+ (osmo-smdpp) into the simulated eUICC, driven by lpac
over the real pcscd + vpcd, with lpac's HTTP relayed by the test (``LPAC_HTTP=stdio``) to
osmo-smdpp on loopback (``--nossl``).

The eUICC carries the eUICC certificate of osmo-smdpp's own test PKI (``generate_smdpp_certs.py``,
EID 89049032123451234512345678901235), so osmo-smdpp checks our AuthenticateServer answer (the
CI → EUM → eUICC chain, the EID range, euiccSignature1) and our PrepareDownload answer
(euiccSignature2, otPK.EUICC.ECKA) before it binds a profile package for us; the eUICC takes
the bound package as a stream of ES10b commands (SGP.22 §5.7.6), installs it and signs the
ProfileInstallationResult.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from csim.euicc import Euicc
from csim.euicc.pki import EuiccCredentials

from . import test_lpac_euicc
from .test_lpac_euicc import (
    CACHE,
    ORACLES,
    _unavailable,
    inserted,
    lpac_binary,
    profiles_by_iccid,
    run_lpac,
)

reader = test_lpac_euicc.reader  # the private pcscd with the vpcd reader

pytestmark = pytest.mark.oracle

PYSIM_TARBALL = "pysim-597f1e0398.tar.gz"
MATCHING_ID = "TS48V2-SAIP2-1-BERTLV-UNIQUE"
SMDP_NAME = "testsmdpplus1.example.com"
TS48_ICCID = "8949449999999990049"  # the ProfileHeader of TS48V2-SAIP2-1-BERTLV-UNIQUE
ORANGE_ICCID = "8933019900000000012"
# an AuC vector of the TS.48 profiles' test algorithm (TS 34.108 §8.1.2) for their K 000102..0f,
# from libosmocore's osmo-auc-gen (-3 -a XOR -k 000102030405060708090a0b0c0d0e0f -s 96 -f 8000
# -r 2d7e8b4f1a93c6e05b17f2a4c8d9e036: SQN 64), and what it gives for RES, CK, IK and Kc
TS48_RAND, TS48_AUTN = "2d7e8b4f1a93c6e05b17f2a4c8d9e036", "4c1e96c0e71380002d7f894c1ed640e7"
TS48_AUTHENTICATED = {"successful_3g_authentication": {
    "res": "2d7f894c1e96c0e7531ef8afc4d4ee39", "ck": "7f894c1e96c0e7531ef8afc4d4ee392d",
    "ik": "894c1e96c0e7531ef8afc4d4ee392d7f", "kc": "109239986cf0a01f"}}


def pysim_tree() -> tuple[Path, Path]:
    """pySim unpacked with a venv of its own for osmo-smdpp, and its generated test PKI."""
    tarball = ORACLES / PYSIM_TARBALL
    if not tarball.is_file():
        _unavailable(f"{tarball} is absent (the independent oracles live in ../shared/oracles)")
    home = CACHE / "pysim-597f1e0398-smdpp"
    python = home / "venv" / "bin" / "python"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".pysim-smdpp.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "ready").exists():
            shutil.rmtree(home, ignore_errors=True)
            with tarfile.open(tarball) as tar:
                top = tar.getnames()[0].split("/")[0]
                tar.extractall(home, filter="data")
            (home / top).rename(home / "src")
            reqs = [r for r in (home / "src" / "requirements.txt").read_text().splitlines()
                    if r.strip() and "git+" not in r]
            steps = [[sys.executable, "-m", "venv", str(home / "venv")],
                     [str(python), "-m", "pip", "install", "-q", *reqs, "asn1tools", "smpp.pdu3", "klein",
                      "requests"],
                     [str(python), "contrib/generate_smdpp_certs.py"]]
            for cmd in steps:
                done = subprocess.run(cmd, cwd=home / "src", capture_output=True, text=True, timeout=900,
                                      check=False)
                if done.returncode != 0:
                    _unavailable(f"setting up osmo-smdpp failed: {' '.join(cmd[:4])}: {done.stderr[-1500:]}")
            (home / "ready").write_text("ok\n")
    return python, home / "src"


@pytest.fixture(scope="module", params=["NIST", "BRP"])
def smdpp(request: pytest.FixtureRequest) -> Iterator[tuple[int, Path, str]]:
    """osmo-smdpp on NIST P-256 or (``-b``) brainpoolP256r1: its port, its PKI, the curve's name
    in that PKI's file names."""
    curve = request.param
    python, src = pysim_tree()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(src / f"osmo-smdpp-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([str(python), "osmo-smdpp.py", "-H", "127.0.0.1", "-p", str(port), "--nossl",  # noqa: S603
                             "-m", "-c", "generated", *(["-b"] if curve == "BRP" else [])],
                            cwd=src, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"osmo-smdpp did not start: {(src / log.name).read_text()[-1500:]}")
                time.sleep(0.2)
        yield port, src / "smdpp-data" / "generated", curve
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def relayed(lpac: Path, service: Any, port: int, *args: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run lpac with ``args``; relay its HTTP to osmo-smdpp. Its JSON lines and, per ES9+
    function, the SM-DP+'s HTTP status and body."""
    env = {**os.environ, **service.env, "LPAC_APDU": "pcsc", "LPAC_HTTP": "stdio"}
    proc = subprocess.Popen([str(lpac), *args],  # noqa: S603
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdin is not None and proc.stdout is not None
    lines, http = [], {}
    for line in proc.stdout:
        msg = json.loads(line)
        if msg["type"] != "http":
            lines.append(msg)
            continue
        payload = msg["payload"]
        url = payload["url"].replace(f"https://{SMDP_NAME}", f"http://127.0.0.1:{port}")
        headers = dict(h.split(": ", 1) for h in payload["headers"])
        request = urllib.request.Request(url, data=bytes.fromhex(payload["tx"]), headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310
                code, body = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            code, body = exc.code, exc.read()
        http[url.rsplit("/", 1)[-1]] = (code, body)
        proc.stdin.write(json.dumps({"type": "http", "payload": {"rcode": code, "rx": body.hex()}}) + "\n")
        proc.stdin.flush()
    proc.wait(60)
    return lines, http


def pysim_shell_json(service: Any, commands: list[str], tmp: Path) -> Any:
    """pySim-shell (osmo-smdpp's pySim tree) running ``commands`` on the card in the vpcd reader
    of ``service``; the last JSON value it prints."""
    from .conftest import last_json

    python, src = pysim_tree()
    script = tmp / "commands.script"
    script.write_text("\n".join(commands) + "\n")
    done = subprocess.run([str(python), "pySim-shell.py", "--pcsc-regex", "Virtual PCD 00 00", "--noprompt",  # noqa: S603
                           "--script", str(script)], cwd=src, env={**os.environ, **service.env},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return last_json(done.stdout)


def credentials(pki: Path, curve: str) -> EuiccCredentials:
    """The eUICC certificate and key of osmo-smdpp's PKI on ``curve`` (NIST or BRP)."""
    return EuiccCredentials.from_files(pki / "eUICC" / f"CERT_EUICC_ECDSA_{curve}.der",
                                       pki / "eUICC" / f"SK_EUICC_ECDSA_{curve}.pem",
                                       pki / "EUM" / f"CERT_EUM_ECDSA_{curve}.der",
                                       pki / "CertificateIssuer" / f"CERT_CI_ECDSA_{curve}.der")


def accepted(http: dict[str, tuple[int, bytes]], function: str) -> bool:
    code, body = http.get(function, (0, b""))
    return code == 200 and b'"Failed"' not in body


def test_lpac_downloads_a_ts48_profile_from_osmo_smdpp(reader: Any, smdpp: tuple[int, Path, str],
                                                      tmp_path: Path) -> None:
    lpac = lpac_binary()
    port, pki, curve = smdpp
    creds = credentials(pki, curve)
    euicc = Euicc.seeded(["alphalink-orange"], credentials=creds)
    with inserted(reader, euicc):
        start = time.monotonic()
        lines, http = relayed(lpac, reader, port, "profile", "download", "-s", SMDP_NAME, "-m", MATCHING_ID)
        elapsed = time.monotonic() - start
        listed = profiles_by_iccid(lpac, reader)
        notes = run_lpac(lpac, reader, "notification", "list")["data"]
        sent, sent_http = relayed(lpac, reader, port, "notification", "process", "-a", "-r")
        left = run_lpac(lpac, reader, "notification", "list")["data"]
        run_lpac(lpac, reader, "profile", "enable", TS48_ICCID)
        after = profiles_by_iccid(lpac, reader)
        # pySim-shell authenticates on the enabled TS.48 profile (PIN1 0000, the package's)
        authenticated = pysim_shell_json(reader, ["verify_chv 0000", "select ADF.USIM",
                                                  f"authenticate {TS48_RAND} {TS48_AUTN}"], tmp_path)
    # ES9+ authenticateClient: osmo-smdpp verified the eUICC's chain, EID range and euiccSignature1
    assert accepted(http, "authenticateClient"), http.get("authenticateClient")
    # ES9+ getBoundProfilePackage: it verified euiccSignature2 and bound the package to our otPK
    assert accepted(http, "getBoundProfilePackage"), http.get("getBoundProfilePackage")
    steps = [m["payload"]["message"] for m in lines if m["type"] == "progress"]
    assert "es10b_load_bound_profile_package" in steps
    # ES10b.LoadBoundProfilePackage: SCP03t checked and deciphered, the package installed; lpac
    # read our signed ProfileInstallationResult as a success for the TS.48 ICCID
    result = lines[-1]["payload"]
    assert result["code"] == 0, result
    assert result["data"]["iccid"] == TS48_ICCID
    print(f"lpac + osmo-smdpp download over PC/SC ({curve}): {elapsed:.2f} s")
    # the installed profile is listed, disabled, with StoreMetadata's names
    ts48 = listed[TS48_ICCID]
    assert ts48["profileState"] == "disabled"
    assert ts48["isdpAid"] == "a0000005591010ffffffff8900001100"
    assert (ts48["profileName"], ts48["serviceProviderName"]) == (MATCHING_ID, "OsmocomSPN")
    # the install notification: listed, then sent to osmo-smdpp (ES9+ handleNotification: 204).
    # osmo-smdpp decodes it but looks its session up by lower-case hex while it stored it in upper
    # case, so it does not check euiccSignPIR ("Unable to find session" in its log);
    # tests/csim/euicc/test_bpp.py checks that signature with cryptography
    assert [(n["profileManagementOperation"], n["iccid"]) for n in notes] == [("install", TS48_ICCID)]
    assert notes[0]["notificationAddress"] == SMDP_NAME
    assert sent[-1]["payload"]["code"] == 0, sent[-1]
    assert sent_http.get("handleNotification", (0, b""))[0] == 204, sent_http
    assert left == []
    # ES10c.EnableProfile on the installed profile: its card (the package's USIM) is the live one
    assert after[TS48_ICCID]["profileState"] == "enabled"
    assert after[ORANGE_ICCID]["profileState"] == "disabled"
    card = euicc.card
    assert card is not None and card.profile.iccid == TS48_ICCID
    # the IMSI of the package's EF_IMSI (TS.48 Generic eUICC Test Profile)
    assert card.profile.imsi_profiles[card.profile.active].imsi == "001010123456063"
    # its akaParameter's usim-test-algorithm (TS 34.108 §8.1.2) answers osmo-auc-gen's vector
    assert authenticated == TS48_AUTHENTICATED


def test_a_harness_made_package_downloads_and_the_modem_attaches(reader: Any,
                                                                 smdpp: tuple[int, Path, str]) -> None:
    """A package made by the harness from the bundled card profile alphalink-orange
    (``csim.euicc.saip.encode``), served by osmo-smdpp from its upp directory, downloaded by lpac
    into an eUICC holding csl-sim, enabled; the modem then attaches on the simulated Orange
    network with the package's IMSI and Milenage keys."""
    from harness.events import EventLog

    from csim.euicc import saip
    from csim.profile import load_profile
    from harness.network.world import World
    from harness.terminal.modem import Modem, ModemConfig
    from harness.terminal.transport import InProcessTransport

    lpac = lpac_binary()
    port, pki, curve = smdpp
    matching_id = f"SIMHARNESS-ALPHALINK-ORANGE-{curve}-{os.getpid()}"
    upp = pki.parent / "upp" / f"{matching_id}.der"
    upp.write_bytes(saip.encode(load_profile("alphalink-orange")))
    creds = credentials(pki, curve)
    euicc = Euicc.seeded(["csl-sim"], credentials=creds)
    try:
        with inserted(reader, euicc):
            lines, _ = relayed(lpac, reader, port, "profile", "download", "-s", SMDP_NAME, "-m", matching_id)
            run_lpac(lpac, reader, "profile", "enable", ORANGE_ICCID)
            listed = profiles_by_iccid(lpac, reader)
    finally:
        upp.unlink()
    assert lines[-1]["payload"]["code"] == 0, lines[-1]
    assert listed[ORANGE_ICCID]["profileState"] == "enabled"
    assert listed[ORANGE_ICCID]["profileName"] == matching_id
    log = EventLog()
    modem = Modem(InProcessTransport(euicc, log), World.load("europe"), log=log,
                  config=ModemConfig(pin="0000"))
    modem.power_on(country="FR")
    status = modem.status()
    assert (status["registered"], status["service"]) == ("208-01", "normal")
    assert status["imsi"] == "208019900000001"
    auth = [e for e in log.of_kind("apdu") if e["command"][1] == 0x88]
    assert auth and auth[0]["response"][:1] == b"\xdb"  # AUTHENTICATE: successful AKA with the keys
