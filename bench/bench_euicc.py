"""ES10 commands per second on the in-process eUICC (GetEID, ListProfileInfo, SetNickname,
EnableProfile), the eUICC's signing cost (AuthenticateServer's crypto floor), the saving of its
state after a state-changing command (``Euicc.save``), and installs per second of a profile
package (SAIP decode and card build, LoadBoundProfilePackage's last step), for a package seen
for the first time and for one installed before.

    python bench/bench_euicc.py
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from csim.encoding import encode_iccid
from csim.euicc import Euicc, TestPki


def es10(card: Euicc, request: bytes) -> bytes:
    resp = card.transmit(bytes([0x81, 0xE2, 0x91, 0x00, len(request)]) + request)
    out = b""
    while resp[-2] == 0x61:
        resp = card.transmit(bytes([0x01, 0xC0, 0x00, 0x00, resp[-1]]))
        out += resp[:-2]
    return out


def rate(name: str, fn: Callable[[], object], seconds: float = 1.0, per: int = 1) -> None:
    """Calls of ``fn`` per second (``per`` ES10 commands or installs each), best of three runs
    (the machine is shared)."""
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            fn()
            n += per
        best = max(best, n / elapsed)
    print(f"{name:<44} {best:>10,.0f} /s   {1e6 / best:8.1f} µs each")


def main() -> None:
    for curve in ("nist", "brainpool"):
        bench_curve(curve)
    bench_package()


def bench_package() -> None:
    """The install side of a download without its crypto: a profile package (of the bundled
    alphalink-orange) decoded and made into the ISD-P's card."""
    from csim.euicc import saip
    from csim.profile import _by_mapping, load_profile

    package = saip.encode(load_profile("alphalink-orange"))
    print("-- installs of a profile package (alphalink-orange: 2 IMSI profiles, the roaming applet)")

    def first_time() -> None:
        _by_mapping.clear()  # as if this package had never been installed
        saip._decode_element.cache_clear()
        saip.card_for(saip.decode(package), "orange", "Orange")

    rate("SAIP decode + card build, new package", first_time)
    rate("SAIP decode + card build, installed before",
         lambda: saip.card_for(saip.decode(package), "orange", "Orange"))


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
    nickname = bytes.fromhex("BF29135A0A") + orange + bytes.fromhex("9005") + b"bench"
    print(f"-- ES10 commands ({curve})")
    rate("GetEID", lambda: es10(card, bytes.fromhex("BF3E035C015A")))
    rate("ListProfileInfo (2 profiles)", lambda: es10(card, bytes.fromhex("BF2D00")))
    rate("SetNickname", lambda: es10(card, nickname))

    def round_trip() -> None:
        es10(card, enable_csl)
        es10(card, enable_orange)
        card.isdr.notifications.clear()

    rate("EnableProfile (two a round trip)", round_trip, per=2)
    rate("eUICC ECDSA signature", lambda: creds.sign(b"x" * 200))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "euicc.state"

        def saved() -> None:
            for enable in (enable_csl, enable_orange):  # each changes what the eUICC keeps
                es10(card, enable)
                card.save(path)
            card.isdr.notifications.clear()

        rate("EnableProfile + Euicc.save (2 ISD-Ps)", saved, per=2)


if __name__ == "__main__":
    main()
