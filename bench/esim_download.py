"""Full eSIM downloads per second, in process: the harness's LPA (over the modem's link, STORE
DATA by STORE DATA) and SM-DP+ (ES9+ functions called directly) into the simulated eUICC, on NIST
P-256 and brainpoolP256r1, with the crypto floor printed beside: the elliptic-curve operations one
download needs (SGP.22 §3.1.2-§3.1.3: 9 ECDSA signatures, 12 verifications with the 4 certificate
checks, 2 one-time key pairs, 2 ECDH) timed alone. With ``--lpac``, also lpac + the SM-DP+ over
HTTPS and PC/SC (lpac from ``~/.cache/simharness/oracles``, a private pcscd): seconds per download.

    python bench/esim_download.py [--seconds 3] [--lpac]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from harness.events import EventLog

from csim.encoding import luhn_digit
from csim.euicc import Euicc, TestPki
from csim.euicc.pki import CURVES
from harness.network.smdp import Smdp
from harness.network.world import World
from harness.terminal.lpa import Lpa
from harness.terminal.modem import Modem, ModemConfig
from harness.terminal.transport import InProcessTransport

SIGNS, VERIFIES, KEYGENS, ECDHS = 9, 12, 2, 2
IMEI = "35000013000001"  # iPhone 13, fixtures/devices.yaml


def iccid(n: int) -> str:
    body = f"893390{n:012d}"
    return body + luhn_digit(body)


def crypto_floor(curve: str, n: int = 200) -> float:
    """Seconds of elliptic-curve work in one download."""
    key = ec.generate_private_key(CURVES[curve])
    peer = ec.generate_private_key(CURVES[curve]).public_key()
    data = bytes(200)
    sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
    timings = []
    for op in (
        lambda: key.sign(data, ec.ECDSA(hashes.SHA256())),
        lambda: key.public_key().verify(sig, data, ec.ECDSA(hashes.SHA256())),
        lambda: ec.generate_private_key(CURVES[curve]),
        lambda: key.exchange(ec.ECDH(), peer),
    ):
        start = time.perf_counter()
        for _ in range(n):
            op()
        timings.append((time.perf_counter() - start) / n)
    sign, verify, keygen, ecdh = timings
    return SIGNS * sign + VERIFIES * verify + KEYGENS * keygen + ECDHS * ecdh


def downloads(curve: str, seconds: float) -> tuple[float, float]:
    """Downloads per second, and seconds per download, through the LPA and the SM-DP+ in process."""
    pki = TestPki.generate(curve)
    smdp = Smdp(pki, log=EventLog())
    creds = pki.euicc_credentials(pki.eid(1))
    euicc = Euicc.seeded([], credentials=creds)
    log = EventLog()
    modem = Modem(
        InProcessTransport(euicc, log), World.load("europe"), log=log, config=ModemConfig(imei=IMEI)
    )
    modem.power_on(country="FR")
    lpa = Lpa(modem, {smdp.address: smdp.handle}, tac=IMEI[:8])
    n, spent, start = 0, 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        order = smdp.download_order("orange", iccid(n + 1))
        code = smdp.activation_code(order)
        t = time.perf_counter()
        result = lpa.download(code, order.confirmation_code)
        spent += time.perf_counter() - t
        assert result.error is None, result
        euicc.isdr.profiles.clear()  # room for the next one, outside the timing
        euicc.isdr.notifications.clear()
        n += 1
    return n / spent, spent / n


def bench_lpac(downloads_n: int = 5) -> None:
    """lpac over PC/SC (a private pcscd + vpcd) and HTTPS to the SM-DP+ on loopback."""
    from harness.network.smdp.http import Es9Server
    from harness.readers.vpcd import PcscdService, VpcdCard, missing_parts

    binary = Path.home() / ".cache" / "simharness" / "oracles" / "lpac-8f68d5c7e5" / "build" / "src" / "lpac"
    if missing_parts() or not binary.is_file():
        print(f"lpac: not run ({missing_parts() or f'no {binary}: run the oracle tests once to build it'})")
        return
    pki = TestPki.generate("nist")
    smdp = Smdp(pki, log=EventLog())
    times = []
    with PcscdService() as service, Es9Server(smdp) as server:
        smdp.address = server.address
        env = {**os.environ, **service.env, "LPAC_APDU": "pcsc", "LPAC_HTTP": "curl"}
        for n in range(downloads_n):
            euicc = Euicc.seeded([], credentials=pki.euicc_credentials(pki.eid(n + 1)))
            slot = VpcdCard(euicc, port=service.port, socket_factory=service.socket_factory).start()
            try:
                slot.wait_connected(5.0)
                deadline = time.monotonic() + 5
                while not slot.powered and time.monotonic() < deadline:
                    time.sleep(0.02)
                order = smdp.download_order("orange", iccid(1000 + n))
                start = time.perf_counter()
                done = subprocess.run(
                    [
                        str(binary),
                        "profile",
                        "download",
                        "-s",
                        smdp.address,  # noqa: S603
                        "-m",
                        order.matching_id,
                        "-c",
                        str(order.confirmation_code),
                        "-i",
                        IMEI,
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                times.append(time.perf_counter() - start)
                assert '"code":0' in done.stdout.splitlines()[-1], done.stdout[-500:]
            finally:
                slot.stop()
    print(
        f"lpac + SM-DP+ (PC/SC, HTTPS)  {sum(times) / len(times):6.2f} s per download "
        f"(min {min(times):.2f}, {len(times)} downloads)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--lpac", action="store_true", help="also time lpac over PC/SC and HTTPS")
    args = parser.parse_args()
    print(f"{'in process (one core)':<30} {'downloads/s':>12} {'ms each':>9} {'crypto floor':>13}")
    for curve in ("nist", "brainpool"):
        rate, each = downloads(curve, args.seconds)
        floor = crypto_floor(curve)
        print(f"{'LPA + SM-DP+ ' + curve:<30} {rate:>12.0f} {each * 1e3:>9.1f} {floor * 1e3:>10.1f} ms")
    if args.lpac:
        bench_lpac()


if __name__ == "__main__":
    main()
