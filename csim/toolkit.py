"""The card's toolkit runtime: TERMINAL PROFILE, the proactive command queue, ENVELOPE routing,
FETCH and TERMINAL RESPONSE (ETSI TS 102 221 §11.2, TS 102 223 §6-7).

The core calls :class:`Toolkit` for the four CAT instructions and turns ``9000`` into ``91xx``
while :meth:`Toolkit.fetch` has a command to give. Applets react to the terminal profile, to
envelopes and to terminal responses, and queue proactive commands through :meth:`Toolkit.queue`;
the card installs the applets its profile asks for (:func:`build`).

Status words returned (TS 102 221 §10.2.1): ``9000``; ``9300`` toolkit busy (a proactive
command was fetched and its TERMINAL RESPONSE has not arrived, or the queue is full);
``6700`` when the envelope's BER-TLV length disagrees with the data received; ``6A80``
malformed data (bad TLV, missing mandatory data object, unknown menu item, terminal response
not matching the command); ``6A81`` envelope template nothing on the card handles;
``6985`` TERMINAL RESPONSE with no proactive command awaiting one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from csim import stk
from csim.cat import (
    QUEUE_LIMIT,
    SW_BUSY,
    SW_CONDITIONS_NOT_SATISFIED,
    SW_FUNCTION_NOT_SUPPORTED,
    SW_INCORRECT_DATA,
    SW_OK,
    SW_WRONG_LENGTH,
    Entry,
    Template,
    Toolkit,
)

__all__ = [
    "QUEUE_LIMIT", "SW_BUSY", "SW_CONDITIONS_NOT_SATISFIED", "SW_FUNCTION_NOT_SUPPORTED",
    "SW_INCORRECT_DATA", "SW_OK", "SW_WRONG_LENGTH", "Applet", "Entry", "Template", "Toolkit",
    "ToolkitCard", "build",
]


class ToolkitCard(Protocol):
    """What the toolkit and its applets need from the card."""

    def set_proactive_pending(self, length: int) -> None: ...


class Applet:
    """Base of toolkit applets: every hook does nothing unless overridden.

    ``envelope`` returns ``None`` when the applet does not handle the envelope, else the
    response data (``b""`` for none).
    """

    name = "applet"

    def terminal_profile(self, toolkit: Toolkit, profile: stk.TerminalProfile) -> None:
        return None

    def envelope(self, toolkit: Toolkit, envelope: stk.Envelope) -> bytes | None:
        return None

    def terminal_response(self, toolkit: Toolkit, response: stk.TerminalResponse, command: bytes) -> None:
        return None

    def menu_selection(self, toolkit: Toolkit, item: int, help_request: bool) -> None:
        return None

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        return None


def build(card: ToolkitCard, applets: Iterable[Applet] = ()) -> Toolkit:
    """The toolkit of a card with ``applets`` installed, in order."""
    toolkit = Toolkit(card)
    for applet in applets:
        toolkit.install(applet)
    return toolkit
