"""lpac (estkme-group, a C LPA with its own DER code) drives the simulated eUICC through the real
pcscd + vsmartcard-vpcd: ``chip info``, ``profile list/enable/disable/nickname`` and
``notification list`` must agree with what the eUICC was seeded with (GSMA SGP.22 ES10a/b/c).

lpac is built from ../shared/oracles into a cache directory on first use (``cmake``, ≈ 15 s).
Skips with the reason where an ingredient is absent; fails instead under
``SIMHARNESS_REQUIRE_ORACLES=1``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from csim.euicc import Euicc, TestPki

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]
ORACLES = ROOT.parent / "shared" / "oracles"
LPAC_TARBALL = "lpac-8f68d5c7e5.tar.gz"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "simharness" / "oracles"
PROFILES = ["alphalink-orange", "csl-sim"]
ORANGE, CSL = "8933019900000000012", "8944079900000000024"


def _unavailable(reason: str) -> None:
    if os.environ.get("SIMHARNESS_REQUIRE_ORACLES") == "1":
        pytest.fail(f"oracle required but unavailable: {reason}")
    pytest.skip(reason)


def lpac_binary() -> Path:
    """lpac built from the oracle tarball (kept in the cache directory between runs)."""
    tarball = ORACLES / LPAC_TARBALL
    if not tarball.is_file():
        _unavailable(f"{tarball} is absent (the independent oracles live in ../shared/oracles)")
    for tool in ("cmake", "cc"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not installed (needed to build lpac)")
    for header in ("/usr/include/PCSC/winscard.h", "/usr/include/cjson/cJSON.h"):
        if not Path(header).exists():
            _unavailable(f"{header} is absent: apt-get install libpcsclite-dev libcurl4-openssl-dev "
                         "libcjson-dev")
    src = CACHE / tarball.name.removesuffix(".tar.gz")
    binary = src / "build" / "src" / "lpac"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lpac.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build even with several test workers
        if not binary.is_file():
            _build(tarball, src)
    return binary


def _build(tarball: Path, src: Path) -> None:
    shutil.rmtree(src, ignore_errors=True)
    unpack = src.parent / ".unpack"
    shutil.rmtree(unpack, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        top = tar.getnames()[0].split("/")[0]
        tar.extractall(unpack, filter="data")
    (unpack / top).rename(src)
    build = str(src / "build")
    for cmd in (["cmake", "-B", build, "-DUSE_SYSTEM_DEPS=ON"], ["cmake", "--build", build, "-j", "2"]):
        done = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            pytest.fail(f"building lpac failed: {' '.join(cmd)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


@pytest.fixture(scope="module")
def lpac() -> Path:
    return lpac_binary()


@pytest.fixture(scope="module")
def reader() -> Iterator[Any]:
    """A private pcscd with the vpcd reader."""
    from harness.readers.vpcd import PcscdService, missing_parts

    missing = missing_parts()
    if missing:
        _unavailable(missing)
    with PcscdService() as service:
        yield service


#: seconds pcscd may take to see a card put in the vpcd reader and power it
PCSCD_WAIT = 10.0
#: pcsc-lite asks its readers whether a card is present every 400 ms (PCSCLITE_STATUS_POLL_RATE):
#: a card taken out is seen gone only at the next poll. A card put in before that poll is taken
#: for the one before, already known (and maybe unpowered by the last client): it is never powered.
PCSCD_POLL = 0.4


@contextlib.contextmanager
def inserted(reader: Any, euicc: Euicc) -> Iterator[None]:
    """``euicc`` in the vpcd reader, powered by pcscd, until the block ends."""
    from harness.readers.vpcd import VpcdCard

    slot = VpcdCard(euicc, port=reader.port, socket_factory=reader.socket_factory).start()
    try:
        assert slot.wait_connected(PCSCD_WAIT), "vpcd did not take the card"
        deadline = time.monotonic() + PCSCD_WAIT
        while not slot.powered and time.monotonic() < deadline:  # pcscd powers a card it has seen
            time.sleep(0.02)
        assert slot.powered, f"pcscd did not power the card up (the served eUICC: {slot.error!r})"
        yield
    finally:
        slot.stop()
        time.sleep(2 * PCSCD_POLL)  # pcscd sees the reader empty before the next card goes in
    assert slot.error is None, f"the eUICC failed: {slot.error!r}"


@pytest.fixture
def served(reader: Any) -> Iterator[tuple[Euicc, TestPki]]:
    """A fresh eUICC holding alphalink-orange (enabled) and csl-sim, in the vpcd reader."""
    pki = TestPki.generate()
    euicc = Euicc.seeded(PROFILES, credentials=pki.euicc_credentials(pki.eid(1)))
    with inserted(reader, euicc):
        yield euicc, pki


def run_lpac(binary: Path, reader: Any, *args: str) -> dict[str, Any]:
    """Run lpac over PC/SC; its last JSON line (``type: lpa``) with ``code`` 0."""
    env = {**os.environ, **reader.env, "LPAC_APDU": "pcsc"}
    done = subprocess.run([str(binary), *args], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    final = [line for line in lines if line.get("type") == "lpa"]
    assert final, f"lpac {' '.join(args)} printed no result: {done.stdout}{done.stderr}"
    payload = final[-1]["payload"]
    assert payload["code"] == 0, f"lpac {' '.join(args)}: {payload}"
    return payload


def profiles_by_iccid(binary: Path, reader: Any) -> dict[str, dict[str, Any]]:
    return {p["iccid"]: p for p in run_lpac(binary, reader, "profile", "list")["data"]}


def test_chip_info(lpac: Path, reader: Any, served: tuple[Euicc, TestPki]) -> None:
    euicc, pki = served
    data = run_lpac(lpac, reader, "chip", "info")["data"]
    assert data["eidValue"] == pki.eid(1)
    info2 = data["EUICCInfo2"]
    assert info2["svn"] == "2.2.2"
    assert info2["profileVersion"] == "2.3.1"
    ski = euicc.isdr.credentials.ci_pkid.hex()
    assert info2["euiccCiPKIdListForVerification"] == [ski]
    assert info2["euiccCiPKIdListForSigning"] == [ski]
    assert data["EuiccConfiguredAddresses"]["rootDsAddress"] == "lpa.ds.gsma.com"


def test_profile_list(lpac: Path, reader: Any, served: tuple[Euicc, TestPki]) -> None:
    profiles = profiles_by_iccid(lpac, reader)
    assert set(profiles) == {ORANGE, CSL}
    orange, csl = profiles[ORANGE], profiles[CSL]
    assert orange["profileState"] == "enabled" and csl["profileState"] == "disabled"
    assert orange["serviceProviderName"] == "Orange" and orange["profileName"] == "alphalink-orange"
    assert orange["isdpAid"] == "a0000005591010ffffffff8900001000"
    assert orange["profileClass"] == "operational"


def test_enable_nickname_disable(lpac: Path, reader: Any, served: tuple[Euicc, TestPki]) -> None:
    euicc, _ = served
    run_lpac(lpac, reader, "profile", "enable", CSL)
    profiles = profiles_by_iccid(lpac, reader)
    assert (profiles[CSL]["profileState"], profiles[ORANGE]["profileState"]) == ("enabled", "disabled")
    run_lpac(lpac, reader, "profile", "nickname", CSL, "alarme")
    assert profiles_by_iccid(lpac, reader)[CSL]["profileNickname"] == "alarme"
    run_lpac(lpac, reader, "profile", "disable", CSL)
    profiles = profiles_by_iccid(lpac, reader)
    assert {p["profileState"] for p in profiles.values()} == {"disabled"}
    assert euicc.card is None
    notes = run_lpac(lpac, reader, "notification", "list")["data"]
    # disable ORANGE, enable CSL, disable CSL: sequence numbers in order of the operations
    assert [(n["seqNumber"], n["profileManagementOperation"], n["iccid"]) for n in notes] == [
        (1, "disable", ORANGE), (2, "enable", CSL), (3, "disable", CSL)]


def test_card_serve_euicc_command(lpac: Path, reader: Any, tmp_path: Path) -> None:
    """``simharness card serve --euicc`` in pcscd's network namespace; lpac reads the eUICC it serves."""
    if not reader.isolate or shutil.which("nsenter") is None:
        _unavailable("needs the isolated pcscd (root, unshare) and nsenter")
    cmd = ["nsenter", f"--net=/proc/{reader.process.pid}/ns/net", "simharness", "card", "serve", "--euicc",
           *PROFILES, "--port", str(reader.port), "--curve", "brainpool", "--pki-dir", str(tmp_path)]
    serve = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
    try:
        assert serve.stdout is not None
        lines: list[str] = []
        while not (lines and lines[-1].startswith("cards inserted")):  # connect logs may come first
            line = serve.stdout.readline()
            assert line, f"card serve ended before inserting the cards: {lines}"
            lines.append(line)
        eid = lines[0].split("EID ")[1].split()[0]
        deadline = time.monotonic() + 10
        while True:  # until pcscd has powered the card
            env = {**os.environ, **reader.env, "LPAC_APDU": "pcsc"}
            done = subprocess.run([str(lpac), "chip", "info"], env=env, capture_output=True, text=True,
                                  timeout=60, check=False)
            if '"code":0' in done.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        data = run_lpac(lpac, reader, "chip", "info")["data"]
        assert data["eidValue"] == eid
        from cryptography import x509

        from csim.euicc.pki import verify_chain

        certs = {n: x509.load_der_x509_certificate((tmp_path / f"{n}_brainpool.der").read_bytes())
                 for n in ("CI", "EUM", "eUICC")}
        assert verify_chain(certs["eUICC"], certs["EUM"], certs["CI"]) == eid
        ski = certs["CI"].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
        assert data["EUICCInfo2"]["euiccCiPKIdListForVerification"] == [ski]
    finally:
        serve.send_signal(2)
        serve.wait(10)
