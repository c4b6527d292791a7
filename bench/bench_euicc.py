"""ES10 commands per second on the in-process eUICC: ListProfileInfo, an Enable/Disable round
trip, GetEID, the eUICC's signing cost (AuthenticateServer's crypto floor), and the install of
a profile package (SAIP decode and card build, LoadBoundProfilePackage's last step).

    python bench/bench_euicc.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

from csim.encoding import encode_iccid
from csim.euicc import Euicc, TestPki


def es10(card: Euicc, request: bytes) -> bytes:
    resp = card.transmit(bytes([0x81, 0xE2, 0x91, 0x00, len(request)]) + request)
    out = b""
    while resp[-2] == 0x61:
        resp = card.transmit(bytes([0x01, 0xC0, 0x00, 0x00, resp[-1]]))
        out += resp[:-2]
    return out


def rate(name: str, fn: Callable[[], object], seconds: float = 1.0) -> None:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        n += 1
    print(f"{name:<34} {n / elapsed:>10,.0f} /s   {elapsed / n * 1e6:8.1f} µs each")


def main() -> None:
    for curve in ("nist", "brainpool"):
        bench_curve(curve)
    bench_package()


def bench_package() -> None:
    """The install side of a download without its crypto: a profile package (of the bundled
    alphalink-orange) decoded and made into the ISD-P's card."""
    from csim.euicc import saip
    from csim.profile import load_profile

    package = saip.encode(load_profile("alphalink-orange"))
    print("-- profile package")
    rate("SAIP decode + card build", lambda: saip.card_for(saip.decode(package), "orange", "Orange"))


def bench_curve(curve: str) -> None:
    pki = TestPki.generate(curve)
    creds = pki.euicc_credentials(pki.eid(1))
    card = Euicc.seeded(["alphalink-orange", "csl-sim"], credentials=creds)
    card.reset()
    card.transmit(bytes.fromhex("0070000001"))
    card.transmit(bytes.fromhex("01A4040010A0000005591010FFFFFFFF8900000100"))
    csl = encode_iccid(card.isdr.profiles[1].iccid)
    orange = encode_iccid(card.isdr.profiles[0].iccid)
    enable_csl = bytes.fromhex("BF3111A00C5A0A") + csl + bytes.fromhex("810100")
    enable_orange = bytes.fromhex("BF3111A00C5A0A") + orange + bytes.fromhex("810100")
    print(f"-- {curve}")
    rate("GetEID", lambda: es10(card, bytes.fromhex("BF3E035C015A")))
    rate("ListProfileInfo", lambda: es10(card, bytes.fromhex("BF2D00")))

    def round_trip() -> None:
        es10(card, enable_csl)
        es10(card, enable_orange)
        card.isdr.notifications.clear()

    rate("Enable/Enable round trip", round_trip)
    rate("eUICC ECDSA signature", lambda: creds.sign(b"x" * 200))


if __name__ == "__main__":
    main()
