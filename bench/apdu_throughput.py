"""APDU throughput of the compiled card core, one core, in-process.

Prints APDUs per second for a realistic mix (SELECT by FID with P2=0C, READ BINARY,
READ RECORD, STATUS) and AUTHENTICATE per second (3G context, fresh SQNs generated
beforehand with the network-side Milenage).

    python bench/apdu_throughput.py [--profile alphalink-orange] [--seconds 2]
"""

from __future__ import annotations

import argparse
import os
import time

from csim.milenage import generate_vector

from csim import Card

MIX = [
    "00A4000C027FF0",      # SELECT ADF.USIM by FID
    "00A4000C026F07",      # SELECT EF_IMSI
    "00B0000009",          # READ BINARY 9
    "00A4000C026FAD",      # SELECT EF_AD
    "00B0000004",          # READ BINARY 4
    "00A4000C026F40",      # SELECT EF_MSISDN (linear fixed)
    "00B201041C",          # READ RECORD 1 absolute
    "00A4000C026F7E",      # SELECT EF_LOCI
    "00B000000B",          # READ BINARY 11
    "00B0860000",          # READ BINARY EF_ACC by SFI 6 (P3 = 0 -> 6C02)
    "00B0860002",          # READ BINARY EF_ACC by SFI 6
    "80F2000C00",          # STATUS, no data
    "00A4000C023F00",      # SELECT MF
    "00A4000C022FE2",      # SELECT EF_ICCID
    "00B000000A",          # READ BINARY 10
    "80F2000000",          # STATUS P2=00 -> 6Cxx
]


def pin_card(profile: str) -> Card:
    card = Card.from_profile(profile)
    pin = card.pin_values()[0][1]
    assert card.transmit(bytes.fromhex("0020000108") + pin)[-2:] == b"\x90\x00"
    return card


def bench_mix(card: Card, seconds: float) -> tuple[float, int]:
    apdus = [bytes.fromhex(a) for a in MIX] * 64
    t = card.transmit
    for a in apdus:  # sanity: every command answers without error
        sw = t(a)[-2:]
        assert sw[0] in (0x90, 0x6C, 0x91), (a.hex(), sw.hex())
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for a in apdus:
            t(a)
        n += len(apdus)
        if time.perf_counter() >= deadline:
            break
    return n / (time.perf_counter() - start), n


def bench_auth(card: Card, count: int) -> tuple[float, float]:
    st = card.auth.state()
    base = st["sqn"] + 32
    rand = bytes(range(16))
    cmds = []
    for i in range(count):
        v = generate_vector(st["ki"], st["opc"], base + 32 * i, b"\x80\x00", rand)
        cmds.append(bytes.fromhex("008800812210") + v["rand"] + b"\x10" + v["autn"])
    card.transmit(bytes.fromhex("00A4000C027FF0"))
    get = bytes.fromhex("00C0000035")
    t = card.transmit
    first = t(cmds[0])
    assert first[0] == 0x61, first.hex()
    half = count // 2
    start = time.perf_counter()
    for a in cmds[1:half]:
        t(a)
    auth_only = (half - 1) / (time.perf_counter() - start)
    start = time.perf_counter()
    for a in cmds[half:]:
        r = t(a)
        t(get[:4] + r[1:2])
    with_get = (count - half) / (time.perf_counter() - start)
    assert card.counters["sync_failures"] == 0 and card.counters["mac_failures"] == 0
    return auth_only, with_get


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="alphalink-orange")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--auth-count", type=int, default=200_000)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    card = pin_card(args.profile)
    rate, n = bench_mix(card, args.seconds)
    print(f"APDU mix (SELECT 0C / READ BINARY / READ RECORD / STATUS): {rate:,.0f} APDU/s ({n:,} APDUs)")
    auth_only, with_get = bench_auth(card, args.auth_count)
    print(f"AUTHENTICATE 3G (00 88 00 81, answer 61xx):             {auth_only:,.0f} /s")
    print(f"AUTHENTICATE 3G + GET RESPONSE (full T=0 exchange):     {with_get:,.0f} /s")


if __name__ == "__main__":
    main()
