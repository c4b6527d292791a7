"""Independent oracles: osmocom pySim run as a separate process against simulated cards.

The oracle snapshots live in ``../shared/oracles`` from the project root (see its README).
pySim is unpacked once into ``~/.cache/simharness/oracles/pysim-<rev>-<sha256>/`` with a
virtualenv of its own (its ``requirements.txt`` minus the ``git+`` lines, plus ``asn1tools``
and ``smpp.pdu3``), under a file lock so parallel pytest workers do not race. pySim's code is
never imported here (GPL-2.0+): its programs run as child processes and their output is data.

Cards are served through the real pcscd + vsmartcard-vpcd of the hil plugin's private
``pcscd_service``, in vpcd slot 1 (reader ``Virtual PCD 00 01``).

Without the oracles the tests skip with the reason; with ``SIMHARNESS_REQUIRE_ORACLES=1``
they fail instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ORACLES = ROOT.parent / "shared" / "oracles"
REQUIRE_ENV = "SIMHARNESS_REQUIRE_ORACLES"
SLOT = 1
READER = f"Virtual PCD 00 {SLOT:02d}"
TIMEOUT = 300  # seconds for one pySim run: nothing hangs


def oracle_unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail when the oracles are required."""
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"oracles required ({REQUIRE_ENV} is set) but {reason}", pytrace=False)
    pytest.skip(reason)


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "simharness" / "oracles"


def _requirements(src: Path) -> list[str]:
    """pySim's requirements that PyPI serves: the ``git+`` lines swapped for their PyPI names."""
    lines = (src / "requirements.txt").read_text().splitlines()
    kept = [line.strip() for line in lines if line.strip() and "git+" not in line]
    return [*kept, "asn1tools", "smpp.pdu3"]


def _build(tarball: Path, home: Path) -> None:
    """Unpack ``tarball`` and make its venv in a scratch directory, then move it to ``home``."""
    scratch = home.parent / f".{home.name}.{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        with tarfile.open(tarball) as tar:
            tar.extractall(scratch, filter="data")
        (top,) = [p for p in scratch.iterdir() if p.is_dir()]
        top.rename(scratch / "src")
        subprocess.run([sys.executable, "-m", "venv", str(scratch / "venv")], check=True,  # noqa: S603
                       capture_output=True, text=True, timeout=TIMEOUT)
        pip = [str(scratch / "venv" / "bin" / "python"), "-m", "pip", "install", "-q",
               "--disable-pip-version-check", *_requirements(scratch / "src")]
        subprocess.run(pip, check=True, capture_output=True, text=True, timeout=1200)  # noqa: S603
        scratch.rename(home)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass
class PySim:
    """An unpacked pySim with its own interpreter."""

    src: Path
    python: Path
    revision: str

    def run(self, program: str, args: list[str], env: dict[str, str], cwd: Path | None = None,
            timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run ``program`` (``pySim-shell.py``...) from pySim's tree as a child process."""
        cmd = [str(self.python), str(self.src / program), *args]
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout,  # noqa: S603
                              env=env, cwd=cwd or self.src)


    def run_module(self, args: list[str], env: dict[str, str], cwd: Path,
                   timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
        """``python -m ARGS`` with pySim's interpreter in ``cwd`` (a copy of pySim's tree), first on
        PATH so that the scripts it starts by their ``#!/usr/bin/env python3`` line get it too."""
        cmd = [str(self.python), "-m", *args]
        env = dict(env, PATH=f"{self.python.parent}{os.pathsep}{env.get('PATH', os.defpath)}")
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout,  # noqa: S603
                              env=env, cwd=cwd)


@pytest.fixture(scope="session")
def pysim() -> PySim:
    """pySim from ``../shared/oracles``, unpacked and installed once per tarball."""
    tarballs = sorted(ORACLES.glob("pysim-*.tar.gz"))
    if not tarballs:
        oracle_unavailable(f"no pysim-*.tar.gz in {ORACLES} (the oracle snapshots are not here)")
    tarball = tarballs[-1]
    revision = tarball.name.removeprefix("pysim-").removesuffix(".tar.gz")
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()[:16]
    home = _cache_root() / f"pysim-{revision}-{digest}"
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.parent / f"{home.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not home.is_dir():
            try:
                _build(tarball, home)
            except subprocess.CalledProcessError as exc:
                tail = " | ".join((exc.stderr or "").strip().splitlines()[-5:])
                oracle_unavailable(f"cannot install pySim's requirements ({exc.cmd[0]}...): {tail}")
            except subprocess.TimeoutExpired as exc:
                oracle_unavailable(f"installing pySim timed out: {exc}")
    return PySim(home / "src", home / "venv" / "bin" / "python", revision)


@dataclass
class OracleReader:
    """pySim's programs against a simulated card served in vpcd slot 1 of the private pcscd."""

    pysim: PySim
    service: Any

    @contextlib.contextmanager
    def serving(self, card: Any) -> Iterator[dict[str, str]]:
        """``card`` in the reader; yields the environment through which a child process reaches it."""
        from harness.readers.pcsc import wait_for_card, wait_for_no_card
        from harness.readers.vpcd import VpcdCard

        slot = VpcdCard(card, port=self.service.port + SLOT, socket_factory=self.service.socket_factory)
        slot.start()
        try:
            try:
                wait_for_card(SLOT, timeout=30)
            except Exception as exc:
                raise AssertionError(f"{exc}: slot connected={slot.connected} connections={slot.connections} "
                                     f"error={slot.error!r}; pcscd: {self.service.log_tail(20)}") from exc
            yield dict(os.environ, **self.service.env, PYTHONUNBUFFERED="1")
        finally:
            _wait_released(READER)
            slot.stop()
            wait_for_no_card(SLOT, timeout=30)

    def shell(self, profile: Any, script: list[str], tmp: Path,
              card: Any = None) -> subprocess.CompletedProcess[str]:
        """pySim-shell running ``script`` (one command a line) on a fresh card built from ``profile``
        (or on ``card``), PIN1 verified first when the profile's PIN1 is enabled."""
        from csim import Card

        path = tmp / "commands.script"
        path.write_text("\n".join([*pin1_commands(profile), *script]) + "\n")
        with self.serving(card if card is not None else Card.from_profile(profile)) as env:
            return self.pysim.run("pySim-shell.py",
                                  ["--pcsc-regex", READER, "--noprompt", "--script", str(path)], env)

    def shell_json(self, profile: Any, script: list[str], tmp: Path, card: Any = None) -> Any:
        """The last JSON value that ``script`` prints (pySim-shell must end normally)."""
        run = self.shell(profile, script, tmp, card)
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        return last_json(run.stdout)

    def read(self, profile: Any) -> subprocess.CompletedProcess[str]:
        """pySim-read.py on a fresh card built from ``profile``."""
        from csim import Card

        with self.serving(Card.from_profile(profile)) as env:
            return self.pysim.run("pySim-read.py", ["--pcsc-regex", READER], env)


@pytest.fixture(scope="session")
def oracle_reader(pysim: PySim, pcscd_service: Any) -> OracleReader:
    """pySim and the private pcscd whose vpcd slot 1 holds the card under test."""
    return OracleReader(pysim, pcscd_service)


def _wait_released(reader: str, timeout: float = 10.0) -> None:
    """Wait until pcscd has released the card: a client that exits without SCardDisconnect has its
    card reset by pcscd afterwards, and removing the card meanwhile wedges the vpcd slot."""
    import smartcard.scard as sc

    hresult, context = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
    if hresult != sc.SCARD_S_SUCCESS:
        return
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hresult, states = sc.SCardGetStatusChange(context, 0, [(reader, sc.SCARD_STATE_UNAWARE)])
            busy = sc.SCARD_STATE_INUSE | sc.SCARD_STATE_EXCLUSIVE
            if hresult != sc.SCARD_S_SUCCESS or not states[0][1] & busy:
                return
            time.sleep(0.05)
    finally:
        sc.SCardReleaseContext(context)


def last_json(text: str) -> Any:
    """The last JSON value pySim printed starting on a line of its own (``{`` or ``[``)."""
    decoder = json.JSONDecoder()
    value: Any = None
    found = False
    pos = 0
    for match in re.finditer(r"^[{\[]$", text, re.MULTILINE):
        if match.start() < pos:
            continue
        value, pos = decoder.raw_decode(text, match.start())
        found = True
    if not found:
        raise AssertionError(f"no JSON value in pySim's output:\n{text[-2000:]}")
    return value


def pin1_commands(profile: Any) -> list[str]:
    """``verify_chv PIN`` when the profile's PIN1 is enabled (pySim then reads PIN-protected files)."""
    pin = profile.pins.get("pin1")
    if pin is None or not pin.enabled:
        return []
    return [f"verify_chv {pin.value.rstrip(bytes([0xFF])).decode()}"]
