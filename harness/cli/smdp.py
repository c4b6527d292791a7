"""``simharness smdp serve``: the harness SM-DP+ (GSMA SGP.22 ES9+) over HTTPS on loopback, with
the provider's eSIM orders placed at start (the AlphaLink partner guide, annex "PASSAGE DE
COMMANDE": an eSIM line, its activation e-mail and its SMS)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from csim.yamlsrc import DataError

PARIS = ZoneInfo("Europe/Paris")  # the guide's opening hours are French local time
QUIET = ("smdp_refused", "smdp_order")  # told by the call's line and the order's line


def register(sub: Any) -> None:
    smdp = sub.add_parser("smdp", help="the harness SM-DP+ (GSMA SGP.22 ES9+)",
                          description="The harness SM-DP+ with the provider's eSIM rules "
                                      "(fixtures/smdp/alphalink.yaml).")
    ssub = smdp.add_subparsers(dest="smdp_command", required=True, metavar="SUBCOMMAND")
    serve = ssub.add_parser(
        "serve", help="serve ES9+ over HTTPS on loopback, with eSIM orders placed at start",
        description="Serve ES9+ (SGP.22 §6.5) over HTTPS on a loopback address until Ctrl-C, each "
                    "--order placed first under the provider's line rules and its activation code and "
                    "confirmation code printed; each ES9+ call is logged with its SGP.22 status.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="loopback address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", default="0",
                       help="TCP port (default 0: a free port, printed at start)")
    serve.add_argument("--curve", choices=("nist", "brainpool"), default="nist",
                       help="curve of the test PKI (CI, DPauth, DPpb); the eUICC must use the same one")
    serve.add_argument("--pki-dir", metavar="DIR",
                       help="use the test PKI in DIR if one of the curve is there (written by `card serve "
                            "--euicc --pki-dir DIR`), else write a fresh one; and the TLS certificate "
                            "(DPtls.pem), signed by the CI")
    serve.add_argument("--order", action="append", default=[], metavar="NETWORK[:DEVICE]",
                       help="order an eSIM line on NETWORK (orange) and print its activation code and "
                            "confirmation code; DEVICE (fixtures/devices.yaml, e.g. 'iPhone 13') adds the "
                            "IMEI to give the LPA (lpac -i); repeatable")
    serve.add_argument("--at", metavar="YYYY-MM-DDTHH:MM",
                       help="when the orders are placed, French local time (default now); eSIM orders "
                            "are taken Monday-Friday 9:00-17:30")
    serve.add_argument("--json", action="store_true",
                       help="one JSON object a line: the server, each order, each ES9+ call")
    serve.set_defaults(func=cmd_serve)


class _Out:
    """Lines on stdout, as text or as JSON objects; one writer at a time."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.lock = threading.Lock()

    def line(self, text: str, **data: Any) -> None:
        with self.lock:
            print(json.dumps(data, ensure_ascii=False, default=str) if self.as_json else text, flush=True)


def _fail(text: str) -> int:
    print(f"error: {text}", file=sys.stderr)
    return 2


def _port(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 <= int(text) <= 65535 else None


def _orders(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """Each ``--order`` as (network, device or None); unknown ones are a :class:`DataError`."""
    from harness.lines.rules import load_rules
    from harness.network.smdp import load_devices

    networks, devices = load_rules().networks, load_devices()
    out = []
    for text in args.order:
        network, _, device = text.partition(":")
        if network not in networks:
            raise DataError("<command line>", None, f"--order {text}: unknown network {network!r} "
                                                    f"(known: {', '.join(networks)})")
        if device and device not in devices:
            raise DataError("<command line>", None, f"--order {text}: unknown device {device!r} "
                                                    f"(fixtures/devices.yaml: {', '.join(devices)})")
        out.append((network, devices[device] if device else None))
    return out


def _when(text: str | None) -> datetime:
    from harness.plans.clock import parse_instant

    if text is None:
        return datetime.now(PARIS).replace(tzinfo=None, microsecond=0)
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise DataError("<command line>", None, f"--at {text}: {exc}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    from harness.cli.card import shared_pki
    from harness.events import EventLog
    from harness.lines.fleet import Fleet
    from harness.lines.rules import load_rules
    from harness.network.smdp import Smdp
    from harness.network.smdp.http import Es9Server

    port = _port(args.port)
    if port is None:
        return _fail(f"--port {args.port}: not a TCP port from 0 to 65535")
    try:
        orders, now = _orders(args), _when(args.at)
        pki, loaded = shared_pki(args.curve, args.pki_dir)
    except DataError as exc:
        return _fail(str(exc).removeprefix("<command line>: "))
    out = _Out(args.json)
    log = EventLog()
    smdp = Smdp(pki, log=log)
    seen = [0]

    def observe(function: str, http: int, failure: Any) -> None:
        """One line per ES9+ call: its status, and what the SM-DP+ recorded while answering."""
        events = [e for e in (log[i] for i in range(seen[0], len(log))) if e.kind not in QUIET]
        seen[0] = len(log)
        detail = "; ".join(" ".join([e.kind.removeprefix("smdp_"),
                                     *(f"{k}={v}" for k, v in e.data.items() if v is not None)])
                           for e in events)
        stamp = time.strftime("%H:%M:%S")
        if failure is None:
            out.line(f"{stamp} {function}: Executed-Success" + (f" ({detail})" if detail else ""),
                     event="call", function=function, http=http, status="Executed-Success",
                     events=[{"kind": e.kind, **e.data} for e in events])
        else:
            out.line(f"{stamp} {function}: Failed {failure}", event="call", function=function, http=http,
                     status="Failed", subject=failure.subject, reason=failure.reason, message=failure.message)

    try:
        server = Es9Server(smdp, host=args.host, port=port, observer=observe)
    except ValueError as exc:  # not a loopback address
        return _fail(f"--host {args.host}: {exc}")
    except OSError as exc:  # in use, or an address this machine does not have
        return _fail(f"--host {args.host} --port {args.port}: cannot listen there ({exc.strerror or exc})")
    try:
        smdp.address = server.address  # the activation codes name the loopback server
        placed = _place(args, smdp, Fleet(load_rules(), log), orders, now, loaded, server.tls_pem)
    except DataError as exc:
        server.close()
        return _fail(str(exc).removeprefix("<command line>: "))
    except BaseException:
        server.close()
        raise
    seen[0] = len(log)
    return _serve(args, out, server, smdp, placed, loaded)


def _place(args: argparse.Namespace, smdp: Any, fleet: Any, orders: list[tuple[str, Any]], now: datetime,
           loaded: bool, tls_pem: bytes) -> list[tuple[Any, Any, Any]]:
    """Write ``--pki-dir``, then place each order at the order desk and have the SM-DP+ issue its
    profile; a refusal is a :class:`DataError` with the reason (or the SGP.22 code)."""
    from harness.cli.card import _write_pki
    from harness.network.smdp import Es9Error

    if args.pki_dir:
        _write_pki(args.pki_dir, *([] if loaded else [smdp.pki.write]),
                   lambda d: (Path(d) / "DPtls.pem").write_bytes(tls_pem))
    placed = []
    for network, device in orders:
        answer = fleet.order(now, network, sim="esim")
        if not answer.accepted:
            hint = "" if args.at else " (--at places it at another time)"
            raise DataError("<command line>", None, f"--order {network}: refused at {now:%a %Y-%m-%d %H:%M}: "
                                                    f"{answer.reason}{hint}")
        line = fleet.line(answer.fields["line"])
        try:
            order = smdp.download_order(network, line.sim, line=line.id)
        except Es9Error as exc:
            raise DataError("<command line>", None,
                            f"--order {network}: refused by the SM-DP+: {exc.status}") from None
        placed.append((line, order, device))
    return placed


def _serve(args: argparse.Namespace, out: _Out, server: Any, smdp: Any, placed: list[Any],
           loaded: bool) -> int:
    """Print the server and the orders, then answer until SIGINT or SIGTERM."""
    ci = server.smdp.pki.ci_cert
    out.line(f"SM-DP+ {smdp.rules.provider} on {server.url} ({args.curve}), address {server.address}",
             event="serving", url=server.url, address=server.address, curve=args.curve,
             provider=smdp.rules.provider, pki_dir=args.pki_dir, pki_loaded=loaded,
             ci=ci.subject.rfc4514_string())
    if args.pki_dir:
        out.line(f"test PKI {'read from' if loaded else 'written to'} {args.pki_dir}; TLS certificate "
                 f"{Path(args.pki_dir) / 'DPtls.pem'}", event="pki", pki_dir=args.pki_dir, loaded=loaded)
    for line, order, device in placed:
        code = smdp.activation_code(order)
        extra = f"  device {device.name} IMEI {device.imei}" if device else ""
        out.line(f"{line.id} {line.network} {line.number} ICCID {order.iccid}  activation code {code}  "
                 f"confirmation code {order.confirmation_code}{extra}",
                 event="order", line=line.id, network=line.network, number=line.number, iccid=order.iccid,
                 activation_code=code, matching_id=order.matching_id,
                 confirmation_code=order.confirmation_code,
                 device=device.name if device else None, imei=device.imei if device else None)
    done = threading.Event()
    old = {s: signal.signal(s, lambda signum, frame: done.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with server:
            out.line("serving; Ctrl-C to stop", event="ready")
            while not done.wait(0.5):
                pass
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    out.line("SM-DP+ stopped", event="stopped")
    return 0
