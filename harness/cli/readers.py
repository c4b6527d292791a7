"""PC/SC commands: serve simulated cards to pcscd, list readers, read/check real cards, print traces."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from csim.yamlsrc import DataError
from harness.readers.vpcd import VPCD_PORT
from harness.scenario.event_export import jsonable
from harness.terminal.transport import TransportError

VPCD_SLOTS = 2  # one /etc/reader.conf.d/vpcd entry gives two readers
VPCD_LOGGER = "harness.readers.vpcd"  # the served cards' reader events


def _port(text: str) -> int | None:
    """``--port`` as a TCP port with room for the second reader, else None."""
    return int(text) if text.isdigit() and 1 <= int(text) <= 65535 - (VPCD_SLOTS - 1) else None


def _subparsers_of(parser: argparse.ArgumentParser) -> Any:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest="card_command", required=True, metavar="SUBCOMMAND")


def register(sub: Any) -> None:
    card = sub.choices.get("card") or sub.add_parser("card", help="simulated cards",
                                                     description="Simulated cards.")
    serve = _subparsers_of(card).add_parser(
        "serve", help="serve simulated cards to pcscd through vsmartcard-vpcd (one reader each)",
        description="Serve simulated cards to pcscd through vsmartcard-vpcd, one reader each, until "
                    "Ctrl-C. With --state the card state is saved atomically after every command that "
                    "changes it, so it survives a kill.",
    )
    serve.add_argument("profiles", nargs="+", metavar="PROFILE",
                       help="card profile: a bundled name (`simharness list cards`) or a YAML file")
    serve.add_argument("--state", metavar="DIR",
                       help="keep each card's state in DIR/PROFILE.state (with --euicc, the eUICC's in "
                            "DIR/euicc.state): loaded if present, saved after every command that changes "
                            "the card")
    serve.add_argument("--port", default=str(VPCD_PORT),
                       help=f"vpcd port of the first reader (default {VPCD_PORT}); the next card uses port+1")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address of the pcscd/vpcd host (default 127.0.0.1)")
    serve.add_argument("--start-pcscd", action="store_true",
                       help="start a pcscd (-f) with only the vpcd reader while the cards are served")
    from harness.cli.card import add_euicc_arguments

    add_euicc_arguments(serve)
    serve.set_defaults(func=cmd_serve)

    readers = sub.add_parser("readers", help="list PC/SC readers, card presence and ATR",
                             description="List the PC/SC readers with their index (for --reader), whether "
                                         "a card is present and its ATR.")
    readers.set_defaults(func=cmd_readers)

    trace = sub.add_parser("trace", help="pretty-print an APDU trace file",
                           description="Pretty-print an APDU trace (JSON lines written by --trace), with "
                                       "command names and status word meanings.")
    trace.add_argument("file", metavar="FILE", help="trace file written by --trace")
    trace.set_defaults(func=cmd_trace)

    reader = sub.add_parser("reader", help="read or check the card in a PC/SC reader (read-only)",
                            description="Read or check the card in a PC/SC reader. Nothing is written; PIN1 "
                                        "($SIMHARNESS_PIN1) is presented only while 2 attempts remain.")
    rsub = reader.add_subparsers(dest="reader_command", required=True, metavar="SUBCOMMAND")
    read = rsub.add_parser("read", help="read and decode ICCID, IMSI, AD, SPN, PLMN lists, FPLMN, LOCI, "
                                        "MSISDN, UST",
                           description="Read and decode the subscriber files; exits 1 when some could not "
                                       "be read, saying why.")
    check = rsub.add_parser("check", help="check the card against an expected profile (personalisation)",
                            description="Check the card against the profile it was personalised from; exits "
                                        "1 on any difference.")
    check.add_argument("expected_profile", metavar="EXPECTED_PROFILE",
                       help="the profile the card was personalised from (a bundled name or a YAML file)")
    check.add_argument("--imsi-profile", help="IMSI profile expected active (default: the applet priority)")
    for p in (read, check):
        p.add_argument("--reader", default=None, metavar="N|NAME", help="reader index or name (default 0)")
        p.add_argument("--trace", metavar="FILE", help="log every APDU (secrets masked) to FILE")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--pin-attempts-ok", action="store_true",
                       help="present PIN1 ($SIMHARNESS_PIN1) even with a single attempt left (you are sure "
                            "of the value); without it PIN1 is presented only while 2 attempts remain")
    read.set_defaults(func=cmd_read)
    check.set_defaults(func=cmd_check)


# -- card serve ------------------------------------------------------------------------


def _state_path(state_dir: str | None, profile: str) -> Path | None:
    if state_dir is None:
        return None
    return Path(state_dir) / f"{Path(profile).stem}.state"


def cmd_serve(args: argparse.Namespace) -> int:
    from csim import Card
    from harness.readers.vpcd import PcscdService, VpcdServer

    if not args.euicc and len(args.profiles) > VPCD_SLOTS:
        print(f"error: vpcd offers {VPCD_SLOTS} readers per pcscd; got {len(args.profiles)} profiles",
              file=sys.stderr)
        return 2
    port = _port(args.port)
    if port is None:
        print(f"error: --port {args.port}: not a TCP port from 1 to {65536 - VPCD_SLOTS}", file=sys.stderr)
        return 2
    if args.state is not None and Path(args.state).exists() and not Path(args.state).is_dir():
        print(f"error: --state {args.state}: not a directory", file=sys.stderr)
        return 2
    cards, paths = [], []
    if args.euicc:
        from harness.cli.card import serve_euicc

        path = _state_path(args.state, "euicc")
        try:
            cards, paths = [serve_euicc(args, path)], [path]
        except ValueError as exc:  # a saved state that is no eUICC's, or a bad --pki-dir
            advice = "" if isinstance(exc, DataError) and exc.source == "<command line>" else (
                f"; move it away to start again from {' '.join(args.profiles)}")
            print(f"error: {str(exc).splitlines()[0]}{advice}", file=sys.stderr)
            return 2
    for profile in [] if args.euicc else args.profiles:
        path = _state_path(args.state, profile)
        if path is not None and os.path.lexists(path):  # a dangling link or a link loop is reported
            try:
                cards.append(Card.load(str(path)))
            except DataError as exc:  # not read at all: a FIFO, a device, too large, a link loop
                print(f"error: {exc}; move it away to start again from {profile}", file=sys.stderr)
                return 2
            except Exception as exc:  # noqa: BLE001 - whatever the file holds, it is no card state
                reason = ": ".join([type(exc).__name__, *str(exc).splitlines()[:1]])
                print(f"error: {path}: not a saved card state ({reason}); move it away to start again "
                      f"from {profile}", file=sys.stderr)
                return 2
            origin = f"state {path}"
        else:
            cards.append(Card.from_profile(profile))
            origin = profile
        paths.append(path)
        print(f"reader {len(cards) - 1} (vpcd port {port + len(cards) - 1}): {origin}", flush=True)
    server = VpcdServer(cards, base_port=port, host=args.host, state_paths=paths)
    try:
        for slot in server.slots:
            slot.save()  # the state exists from the start; a stale temp file of a killed save goes
    except OSError as exc:
        print(f"error: --state {args.state}: cannot save the card state there ({exc.strerror or exc})",
              file=sys.stderr)
        return 2
    service = None
    if args.start_pcscd:
        service = PcscdService(port=port, isolate=False).start()
    done = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        done.set()

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    reader_log = _log_to(sys.stdout)
    server.start()
    try:
        if not server.wait_connected(5.0):
            print(f"waiting for vpcd on {args.host}:{port} (is pcscd running with vsmartcard-vpcd?)",
                  file=sys.stderr, flush=True)
        else:
            print("cards inserted; Ctrl-C to remove them", flush=True)
        while not done.wait(0.5):
            failed = [slot for slot in server.slots if slot.error is not None]
            if failed:
                print(f"error: card on port {failed[0].port} failed: {failed[0].error!r}", file=sys.stderr)
                return 1
    finally:
        server.stop()
        logging.getLogger(VPCD_LOGGER).removeHandler(reader_log)
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if service is not None:
            service.stop()
        for path in paths:
            if path is not None:
                print(f"state saved to {path}", flush=True)
    return 0


def _log_to(stream: Any) -> logging.Handler:
    """Show the served cards' reader events (connections, power, resets) on ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger(VPCD_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


# -- readers / trace -----------------------------------------------------------------------


def cmd_readers(args: argparse.Namespace) -> int:
    from harness.readers.pcsc import reader_states

    try:
        states = reader_states()
    except TransportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not states:
        print("no PC/SC reader", file=sys.stderr)
        return 1
    for index, (name, present, atr) in enumerate(states):
        print(f"{index}: {name}  " + (f"card ATR {atr.hex().upper()}" if present else "(no card)"))
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from harness.readers.trace import format_events, read_trace

    try:
        for line in format_events(read_trace(args.file)):
            print(line)
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


# -- reader read / check --------------------------------------------------------------------


def _open_card(args: argparse.Namespace) -> tuple[Any, Any]:
    """The reader's transport and the link over it, PIN1 verified when ``SIMHARNESS_PIN1`` is set."""
    from harness.readers.pcsc import PIN1_ENV, PcscTransport, pin_bytes
    from harness.readers.safety import SafetyPolicy, required_attempts
    from harness.terminal.errors import CardCommandError
    from harness.terminal.link import UiccLink, normal_ending

    pin = os.environ.get(PIN1_ENV)
    try:
        pin1 = pin_bytes(pin) if pin else None
    except ValueError as exc:  # checked before the card is touched
        raise TransportError(f"${PIN1_ENV}: {exc}; nothing was sent to the card") from None
    policy = SafetyPolicy(allow_write=False, min_attempts=required_attempts(args.pin_attempts_ok))
    transport = PcscTransport(args.reader, trace=args.trace, policy=policy)
    link = UiccLink(transport)
    if pin1 is not None:
        sw = link.verify_pin(pin1)
        if not normal_ending(sw):
            transport.close()
            raise CardCommandError("VERIFY PIN", sw)
    return transport, link


def cmd_read(args: argparse.Namespace) -> int:
    from harness.readers.pcsc import read_subscriber

    try:
        transport, link = _open_card(args)
        with transport:
            values = read_subscriber(link)
            values = {"reader": transport.name, "atr": transport.atr.hex().upper(), **values}
    except TransportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(jsonable(values), indent=2))
    else:
        for key, value in values.items():
            print(f"{key:10} {json.dumps(jsonable(value), ensure_ascii=False)}")
    unread = _unread(values)
    if unread:
        print(f"error: {unread}", file=sys.stderr)
        return 1
    return 0


def _unread(values: dict[str, Any]) -> str:
    """Why some files could not be read ("" when all were): the names, the status words, the cure."""
    from csim.sw import sw_meaning
    from harness.readers.pcsc import PIN1_ENV, SUBSCRIBER_EFS

    failed = {k: v for k, v in values.items() if isinstance(v, dict) and "error" in v}
    if not failed:
        return ""
    sws = sorted({v["sw"] for v in failed.values() if isinstance(v.get("sw"), int)})
    why = "; ".join(f"SW {sw:04X} {sw_meaning(sw)}" for sw in sws)
    text = f"{len(failed)} of {len(SUBSCRIBER_EFS)} files could not be read ({', '.join(failed)}): {why}"
    if 0x6982 in sws and not os.environ.get(PIN1_ENV):
        text += f"; PIN1 was not presented: set {PIN1_ENV} to the card's PIN1"
    return text


def cmd_check(args: argparse.Namespace) -> int:
    from harness.readers.pcsc import compare_with_profile, expected_from_profile, read_subscriber

    expected = expected_from_profile(args.expected_profile, args.imsi_profile)
    try:
        transport, link = _open_card(args)
        with transport:
            problems = compare_with_profile(read_subscriber(link), expected)
    except TransportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"profile": args.expected_profile, "conforms": not problems, "problems": problems}))
    elif problems:
        print(f"card does NOT match {args.expected_profile} (IMSI profile {expected['profile']}):")
        for problem in problems:
            print(f"  {problem}")
    else:
        print(f"card matches {args.expected_profile} (IMSI profile {expected['profile']})")
    return 1 if problems else 0
