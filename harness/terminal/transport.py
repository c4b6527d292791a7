"""One way to talk to a card: in-process simulated card or a PC/SC reader.

The modem and every scenario reach the card only through a :class:`Transport`.
``transmit`` returns the complete response (data + SW1 SW2) with the T=0 procedure
bytes handled: ``61xx`` is followed by GET RESPONSE and ``6Cxx`` by a resend with the
right Le, so callers see what a T=1 reader would give them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from harness.terminal.errors import CardCommandError, TransportError

# T=0 procedure handling and the in-process transport are compiled (per-APDU hot path)
from harness.terminal.link import InProcessTransport, transmit_t0

__all__ = ["CardCommandError", "InProcessTransport", "Transport", "TransportError", "transmit_t0"]

@runtime_checkable
class Transport(Protocol):
    name: str

    @property
    def atr(self) -> bytes: ...

    def transmit(self, apdu: bytes) -> bytes: ...

    def reset(self) -> bytes: ...

    def close(self) -> None: ...
