"""APDUs per second and latency percentiles through pyscard to the served simulated card.

Usage: python bench/pcsc_throughput.py [--n 5000] [--profile fixtures/cards/alphalink-orange.yaml]
                                      [--reader N]   # an existing reader instead of a private pcscd

Without ``--reader`` a private pcscd (own namespaces when run as root) is started and the
card is served from this process through vpcd, as the hil fixture does.  Each workload is
measured three ways: the in-process card (``Card.transmit``), the raw PC/SC exchange
(``SCardTransmit`` through pcscd, vpcd and the socket), and the full transport path
(safety check + T=0 handling + event log).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from harness.events import EventLog

from csim import Card
from harness.readers.pcsc import PcscTransport, wait_for_card
from harness.readers.vpcd import PcscdService, VpcdCard
from harness.terminal.transport import transmit_t0

DEFAULT_PROFILE = Path(__file__).resolve().parent.parent / "fixtures" / "cards" / "alphalink-orange.yaml"
SELECT_ICCID = bytes.fromhex("00A4000C022FE2")
READ_ICCID = bytes.fromhex("00B000000A")
STATUS = bytes.fromhex("80F2000C00")


def measure(label: str, n: int, send: Callable[[bytes], bytes], apdu: bytes) -> float:
    for _ in range(min(200, n)):  # warm-up
        send(apdu)
    lat = []
    t_all = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        send(apdu)
        lat.append(time.perf_counter() - t0)
    total = time.perf_counter() - t_all
    q = statistics.quantiles(lat, n=100)
    rate = n / total
    print(f"{label:<40} {rate:>10,.0f} APDU/s   p50 {q[49] * 1e6:7.0f} us   p90 {q[89] * 1e6:7.0f} us"
          f"   p99 {q[98] * 1e6:7.0f} us")
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="APDUs per measurement")
    ap.add_argument("--profile", default=str(DEFAULT_PROFILE))
    ap.add_argument("--reader", default=None, help="use this reader instead of serving a card")
    args = ap.parse_args()

    card = Card.from_profile(args.profile)
    card.transmit(bytes.fromhex("00A40004023F00"))
    card.transmit(SELECT_ICCID)
    print(f"profile {args.profile}, {args.n} APDUs per line")
    measure("in-process READ BINARY (ICCID)", args.n, lambda a: transmit_t0(card.transmit, a), READ_ICCID)

    service = served = None
    if args.reader is None:
        service = PcscdService().start()
        service.activate()
        served = VpcdCard(Card.from_profile(args.profile), port=service.port,
                          socket_factory=service.socket_factory).start()
        reader: str | int = wait_for_card(0)
        print(f"served through {'an isolated ' if service.isolate else 'a '}private pcscd on {reader!r}")
    else:
        reader = args.reader
    try:
        with PcscTransport(reader, log=EventLog()) as t:
            t.transmit(bytes.fromhex("00A40004023F00"))
            t.transmit(SELECT_ICCID)
            rate = measure("pyscard raw READ BINARY (ICCID)", args.n, t.raw, READ_ICCID)
            measure("pyscard raw STATUS", args.n, t.raw, STATUS)
            measure("PcscTransport.transmit READ BINARY", args.n, t.transmit, READ_ICCID)
        print(f"target >= 3,000 APDU/s through pyscard: {'met' if rate >= 3000 else 'NOT met'}")
    finally:
        if served is not None:
            served.stop()
        if service is not None:
            service.stop()


if __name__ == "__main__":
    main()
