"""One way to talk to a card: in-process simulated card or a PC/SC reader.

The modem and every scenario reach the card only through a :class:`Transport`.
``transmit`` returns the complete response (data + SW1 SW2) with the T=0 procedure
bytes handled: ``61xx`` is followed by GET RESPONSE and ``6Cxx`` by a resend with the
right Le, so callers see what a T=1 reader would give them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from harness.events import Event, EventLog


class TransportError(RuntimeError):
    """The link to the card failed (no reader, no card, card removed, timeout)."""


@runtime_checkable
class Transport(Protocol):
    name: str

    @property
    def atr(self) -> bytes: ...

    def transmit(self, apdu: bytes) -> bytes: ...

    def reset(self) -> bytes: ...

    def close(self) -> None: ...


def _get_response_cla(apdu: bytes) -> int:
    # GET RESPONSE keeps the class: GSM A0, or 00 with the command's logical channel bits
    return 0xA0 if apdu[0] == 0xA0 else apdu[0] & 0x03


def _needs_procedure(apdu: bytes, resp: bytes) -> bool:
    """``resp`` is a T=0 procedure status (61xx, GSM 9Fxx, or 6Cxx to a case-2 command)."""
    if len(resp) != 2:
        return False
    sw1 = resp[0]
    return sw1 == 0x61 or (sw1 == 0x9F and apdu[0] == 0xA0) or (sw1 == 0x6C and len(apdu) == 5)


def _complete(raw: Any, apdu: bytes, resp: bytes) -> bytes:
    """TS 102 221 §7.3.1.1.4: resend with the right Le on 6Cxx, GET RESPONSE on 61xx/9Fxx."""
    if len(resp) == 2 and resp[0] == 0x6C and len(apdu) == 5:
        resp = raw(apdu[:4] + bytes((resp[1],)))
    data = b""
    while len(resp) == 2 and (resp[0] == 0x61 or (resp[0] == 0x9F and apdu[0] == 0xA0)):
        resp = raw(bytes((_get_response_cla(apdu), 0xC0, 0x00, 0x00, resp[1])))
        if len(resp) >= 2 and resp[-2] == 0x61:
            data += resp[:-2]
            resp = resp[-2:]
    return data + resp if data else resp


def transmit_t0(raw: Any, apdu: bytes) -> bytes:
    """Run one command through ``raw(apdu) -> response`` handling 61xx/9Fxx and 6Cxx."""
    resp = raw(apdu)
    if _needs_procedure(apdu, resp):
        return _complete(raw, apdu, resp)
    return resp


_PROCEDURE_SW1 = frozenset((0x61, 0x6C, 0x9F))


class InProcessTransport:
    """The simulated :class:`csim.Card` behind the transport interface."""

    def __init__(self, card: Any, log: EventLog | None = None, name: str = "in-process") -> None:
        self.card = card
        self.log = log
        self.name = name

    @property
    def atr(self) -> bytes:
        return bytes(self.card.atr)

    def transmit(self, apdu: bytes) -> bytes:
        if type(apdu) is not bytes:
            apdu = bytes(apdu)
        raw = self.card.transmit
        resp = raw(apdu)
        if len(resp) == 2 and resp[0] in _PROCEDURE_SW1 and _needs_procedure(apdu, resp):
            resp = _complete(raw, apdu, resp)
        log = self.log
        if log is not None:
            events = log._events  # EventLog.record_apdu, inlined: one event per command
            events.append(Event(len(events), log.time, "apdu", {"command": apdu, "response": resp}))
        return resp

    def reset(self) -> bytes:
        atr = self.card.reset()
        if self.log is not None:
            self.log.record("reset", atr=atr)
        return atr

    def close(self) -> None:
        pass
