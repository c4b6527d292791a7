"""A simulated card reached through the real PC/SC stack: a private ``pcscd`` with the vpcd
reader (:class:`~harness.readers.vpcd.PcscdService`) and one card in its first slot.

``served_reader().insert(card)`` puts a fresh simulated card in the reader, as a user swaps
cards, and returns a :class:`~harness.readers.pcsc.PcscTransport` to it; every APDU then
crosses pcscd and the vpcd driver exactly as with a card in a physical reader. One reader
per process: the PC/SC client library reads the address of its pcscd once per process.
"""

from __future__ import annotations

import atexit
from typing import Any

from harness.events import EventLog
from harness.readers.safety import SafetyPolicy


class SimulatedCardPolicy(SafetyPolicy):
    """Nothing to guard on a simulated card: every command reaches it as the terminal sent it."""

    def check(self, apdu: bytes, query: Any) -> None:
        return None


class ServedReader:
    """A private pcscd with the vpcd reader and the simulated card it holds."""

    def __init__(self) -> None:
        from harness.readers.vpcd import PcscdService

        self.service = PcscdService().start()
        self.service.activate()
        self._slot: Any = None

    def insert(self, card: Any, log: EventLog | None = None, trace: str | None = None) -> Any:
        """Put ``card`` in the reader in place of the previous one; a transport to it."""
        from harness.readers.pcsc import PcscTransport, wait_for_card
        from harness.readers.vpcd import VpcdCard

        if self._slot is None:
            self._slot = VpcdCard(card, port=self.service.port,
                                  socket_factory=self.service.socket_factory).start()
            wait_for_card(0)
        else:
            self._slot.replace(card)
        return PcscTransport(0, log=log, trace=trace, policy=SimulatedCardPolicy())

    def close(self) -> None:
        if self._slot is not None:
            self._slot.stop()
            self._slot = None
        self.service.stop()


_reader: ServedReader | None = None


def served_reader() -> ServedReader:
    """This process's served reader, started on first use and stopped at exit."""
    global _reader
    if _reader is None:
        _reader = ServedReader()
        atexit.register(_reader.close)
    return _reader
