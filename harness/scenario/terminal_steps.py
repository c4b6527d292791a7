"""The terminal's steps: power, place, network selection, the STK menu and raw APDUs.

Each step calls the modem's public API (:class:`harness.terminal.modem.Modem`); ``apdu`` sends
one command through the session's transport and checks its answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from harness.plans.clock import parse_duration
from harness.scenario.checks import Mismatch, clean_hex, hex_matches, sw_matches

if TYPE_CHECKING:
    from harness.scenario.session import Session


def _no_args(method: str) -> Callable[[Session, Any], None]:
    def run(s: Session, _args: Any) -> None:
        getattr(s.modem, method)()

    run.__name__ = method
    return run


def _power_on(s: Session, args: Any) -> None:
    if args:
        s.modem.power_on(**args)
    else:
        s.modem.power_on()


def _move(s: Session, args: Any) -> None:
    s.modem.move(country=args.get("country"), location=args.get("location"))


def _wait(s: Session, args: Any) -> None:
    s.modem.wait(parse_duration(args).total_seconds())


def _select_manual(s: Session, args: Any) -> None:
    s.modem.select_manual(str(args))


def _data_roaming(s: Session, args: Any) -> None:
    s.modem.set_data_roaming(bool(args))


def _force_profile(s: Session, args: Any) -> None:
    s.modem.force_profile(str(args))


def _apdu(s: Session, args: Mapping[str, Any]) -> list[Mismatch]:
    command = bytes.fromhex(clean_hex(args["command"]))
    resp = s.transport.transmit(command)
    out = []
    if "sw" in args and not sw_matches(args["sw"], resp[-2:]):
        out.append(Mismatch("sw", clean_hex(args["sw"]), resp[-2:].hex().upper()))
    if "data" in args and not hex_matches(args["data"], resp[:-2]):
        out.append(Mismatch("data", clean_hex(args["data"]), resp[:-2].hex().upper()))
    return out


#: step kind -> action; an action returns the mismatches of its own checks, if any
ACTIONS: dict[str, Callable[[Session, Any], list[Mismatch] | None]] = {
    "power_on": _power_on,
    "move": _move,
    "wait": _wait,
    "lose_coverage": _no_args("lose_coverage"),
    "restore_coverage": _no_args("restore_coverage"),
    "select_manual": _select_manual,
    "select_automatic": _no_args("select_automatic"),
    "data_roaming": _data_roaming,
    "force_profile": _force_profile,
    "restart": _no_args("restart"),
    "power_off": _no_args("power_off"),
    "apdu": _apdu,
}

#: this group's own expect keys are checked by :mod:`harness.scenario.expectations`
EXPECT: tuple[str, ...] = ()
