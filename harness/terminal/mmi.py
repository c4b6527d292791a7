"""MMI strings typed on the keypad (TS 22.030 §6.5): supplementary service control codes are told
from numbers to call and parsed into the operation, the service code and the supplementary
information (for call forwarding, TS 22.030 Annex B: SIA = forwarded-to number, SIB = basic
service group, SIC = no-reply timer)."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: TS 22.030 §6.5.2: the procedure by its leading characters
OPERATIONS = {
    "**": "registration",
    "##": "erasure",
    "*#": "interrogation",
    "*": "activation",
    "#": "deactivation",
}
#: TS 22.030 Annex C: basic service group codes (a subset: teleservices)
BASIC_SERVICES = {
    "10": "all teleservices",
    "11": "telephony",
    "12": "all data teleservices",
    "13": "facsimile",
    "16": "short message services",
    "17": "voice group call",
    "19": "all teleservices except SMS",
}
_SS = re.compile(r"^(\*\*|##|\*#|\*|#)(\d{2,3})((?:\*[0-9+]*){0,3})#$")
_NUMBER = re.compile(r"^\+?[0-9]{2,15}$")


class MmiError(ValueError):
    """A keypad string that is neither a service code nor a number to call."""


@dataclass(frozen=True, slots=True)
class MmiRequest:
    """A supplementary service request (TS 22.030 §6.5.2)."""

    operation: str
    code: str
    number: str | None = None
    basic_service: str | None = None
    timer: int | None = None

    @property
    def telephony(self) -> bool:
        return self.basic_service in (None, "10", "11", "19")


@dataclass(frozen=True, slots=True)
class Dialled:
    """A number to call."""

    number: str


def parse(text: str) -> MmiRequest | Dialled:
    """Tell a supplementary service code from a number and parse it; ``MmiError`` otherwise."""
    s = text.replace(" ", "")
    m = _SS.match(s)
    if m:
        op, code, rest = m.groups()
        parts = rest.split("*")[1:] if rest else []
        parts += [""] * (3 - len(parts))
        sia, sib, sic = (p or None for p in parts)
        if sia is not None and not _NUMBER.match(sia):
            raise MmiError(f"{text!r}: {sia!r} is not a directory number (TS 22.030 Annex B, SIA)")
        if sib is not None and sib not in BASIC_SERVICES:
            raise MmiError(
                f"{text!r}: basic service {sib!r} is not a TS 22.030 Annex C code "
                f"({', '.join(BASIC_SERVICES)})"
            )
        timer = None
        if sic is not None:
            timer = int(sic)
            if timer < 5 or timer > 30 or timer % 5:
                raise MmiError(
                    f"{text!r}: no-reply timer {timer}s is not 5..30 in steps of 5 (TS 22.030 Annex B)"
                )
        operation = OPERATIONS[op]
        if operation == "activation" and sia is not None:
            operation = "registration"  # "*SC*SI#" with a number registers it (TS 22.030 §6.5.2)
        return MmiRequest(operation, code, sia, sib, timer)
    if _NUMBER.match(s):
        return Dialled(s)
    raise MmiError(f"{text!r} is neither a supplementary service code (TS 22.030 §6.5.2) nor a number")
