"""Access-Requests per second through each AAA back-end, side by side, Interim-Updates per second
recorded and read back as the plan meters them (the freeradius back-end reads its ``detail``
file), and the bundled data scenarios' wall time with each.

* in-process: the packet core's users table (no socket);
* freeradius: Debian's FreeRADIUS on 127.0.0.1, one request at a time through the packet core's
  pyrad client (PAP hidden, Message-Authenticator, the answer's authenticators checked).

Bounded: ``--requests`` per back-end (default 500), on loopback only.

    python bench/aaa_requests.py [--requests 500] [--no-scenarios]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

from harness.network.aaa import AaaUser, FreeRadiusAaa, FreeRadiusServer, InProcessAaa, freeradius_binary
from harness.network.packet_core import ACCT_INTERIM, AccountingRecord, RadiusExchange

SECRET = "testing123"
USERS = {name: AaaUser(name, f"pw{i}", f"203.0.113.{i + 1}")
         for i, name in enumerate(f"3370000{i:08d}@alpha.otd" for i in range(100))}
ROOT = Path(__file__).resolve().parents[1]


def requests(n: int) -> list[RadiusExchange]:
    rng = random.Random(7)
    names = list(USERS)
    out = []
    for i in range(n):
        name = names[i % len(names)]
        password = USERS[name].password if i % 4 else "wrong"   # one in four rejected
        out.append(RadiusExchange(i & 0xFF, rng.randbytes(16), SECRET, "192.0.2.30", "192.0.2.40", name,
                                  "pap", password, calling_station=name[:15],
                                  called_station="telcomobile.com",
                                  imsi="208019900000001"))
    return out


def rate(aaa, batch: list[RadiusExchange]) -> tuple[float, int]:
    t = time.perf_counter()
    accepted = sum(aaa.answer(x).accepted for x in batch)
    return len(batch) / (time.perf_counter() - t), accepted


def interims(n: int) -> list[AccountingRecord]:
    """``n`` Interim-Updates of 10 sessions, 1 MB more each time (RFC 2866 §5.1)."""
    return [AccountingRecord(i & 0xFF, ACCT_INTERIM, f"{i % 10:08X}", SECRET, "192.0.2.30", "192.0.2.40",
                             name, USERS[name].framed_ip, "208019900000001", name[:15], "telcomobile.com",
                             output_octets=10**6 * (i // 10 + 1), session_time=600 * (i // 10 + 1))
            for i, name in ((i, list(USERS)[i % 10]) for i in range(n))]


def accounting_rate(aaa, batch: list[AccountingRecord]) -> float:
    t = time.perf_counter()
    for rec in batch:
        aaa.account(rec)
        assert aaa.seen(rec.session_id) == (0, rec.output_octets)
    return len(batch) / (time.perf_counter() - t)


def scenarios_wall(aaa: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness.cli.main", "run", str(ROOT / "scenarios" / "data"), "-q",
                    "--aaa", aaa], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--no-scenarios", action="store_true", help="skip the bundled data scenarios' wall time")
    args = ap.parse_args()
    batch, acct = requests(args.requests), interims(args.requests)
    r, ok = rate(InProcessAaa(USERS), batch)
    print(f"  in-process   {r:12,.0f} Access-Requests/s  ({ok}/{len(batch)} accepted)")
    print(f"  in-process   {accounting_rate(InProcessAaa(USERS), acct):12,.0f} Interim-Updates/s (read back)")
    if freeradius_binary() is None:
        print("  freeradius   not installed (apt-get install freeradius)")
    else:
        t = time.perf_counter()
        with FreeRadiusServer(USERS, SECRET) as server:
            started = time.perf_counter() - t
            r, ok = rate(FreeRadiusAaa(server, SECRET), batch)
            a = accounting_rate(FreeRadiusAaa(server, SECRET), acct)
        print(f"  freeradius   {r:12,.0f} Access-Requests/s  ({ok}/{len(batch)} accepted; "
              f"server start {started * 1000:.0f} ms)")
        print(f"  freeradius   {a:12,.0f} Interim-Updates/s (read back from its detail file)")
    if not args.no_scenarios:
        for aaa in ("in-process", "freeradius") if freeradius_binary() else ("in-process",):
            print(f"  scenarios/data with --aaa {aaa:<10}: {scenarios_wall(aaa):.2f} s wall")


if __name__ == "__main__":
    main()
