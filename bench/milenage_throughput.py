"""Milenage and USIM AKA throughput of the compiled csim.milenage module, one core.

Usage: python bench/milenage_throughput.py [--n 200000]

Figures are calls per second made from Python, so they include the Python-to-C call overhead
that the card core avoids when it calls the C-level methods directly.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from csim.milenage import Milenage, UsimAuth, generate_vector, sqn_join

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
AMF = bytes.fromhex("8000")


def rate(label: str, n: int, fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    per_s = n / dt
    print(f"{label:<44} {per_s:>12,.0f} /s   ({dt * 1e9 / n:,.0f} ns each)")
    return per_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="operations per measurement")
    n = ap.parse_args().n

    mil = Milenage(K, OPC)
    rand = os.urandom(16)

    def f2345() -> None:
        f = mil.compute_f2345
        for _ in range(n):
            f(rand)

    def f1() -> None:
        f = mil.compute_f1
        sqn = b"\x00\x00\x00\x00\x00\x21"
        for _ in range(n):
            f(rand, sqn, AMF)

    # fresh challenges: SQN = SEQ || IND with SEQ increasing, as an HLR issues them
    rands = [os.urandom(16) for _ in range(256)]
    vectors = [generate_vector(K, OPC, sqn_join(1 + i // 32, i % 32), AMF, rands[i % 256]) for i in range(n)]
    challenges = [(v["rand"], v["autn"]) for v in vectors]

    def aka_accept() -> None:
        auth = UsimAuth(K, OPC)
        a = auth.authenticate
        for r, autn in challenges:
            a(r, autn, True)

    replay = challenges[0]

    def aka_sync_failure() -> None:
        auth = UsimAuth(K, OPC)
        auth.authenticate(*replay)
        a = auth.authenticate
        r, autn = replay
        for _ in range(n):
            a(r, autn)

    def gsm() -> None:
        g = UsimAuth(K, OPC).authenticate_gsm_context
        for _ in range(n):
            g(rand)

    def network() -> None:
        for i in range(n):
            generate_vector(K, OPC, i + 32, AMF, rand)

    print(f"csim.milenage, {n:,} operations per line")
    rate("f2345 (RES, CK, IK, AK)", n, f2345)
    rate("f1 + f1* (MAC-A, MAC-S)", n, f1)
    rate("USIM AUTHENTICATE 3G, accepted (full AKA)", n, aka_accept)
    rate("USIM AUTHENTICATE 3G, sync failure (AUTS)", n, aka_sync_failure)
    rate("USIM AUTHENTICATE GSM context", n, gsm)
    rate("AuC generate_vector (new key each call)", n, network)


if __name__ == "__main__":
    main()
