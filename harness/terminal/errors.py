"""Failures of the link to the card: the transport failed, or the card refused a command."""

from __future__ import annotations

from csim.sw import sw_meaning


class TransportError(RuntimeError):
    """The link to the card failed (no reader, no card, card removed, timeout)."""


class CardCommandError(TransportError):
    """The card answered a command with an error status word (TS 102 221 §10.2.1)."""

    def __init__(self, what: str, sw: int) -> None:
        super().__init__(f"{what}: SW {sw:04X} ({sw_meaning(sw)})")
        self.sw = sw
