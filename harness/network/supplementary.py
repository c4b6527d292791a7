"""Supplementary services a network keeps per subscriber: call forwarding (TS 22.082) set by MMI
requests, applied to the calls the subscriber receives, and the voicemail's numbers and secret code.

The network accepts the forwarding codes its operator documents and refuses the others; it never
imports the terminal: it receives the parsed request's fields.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

#: TS 22.030 Annex B: call forwarding service codes -> condition
FORWARDING = {"21": "unconditional", "67": "busy", "61": "no_reply", "62": "not_reachable"}
#: TS 22.030 Annex B: the group codes
GROUPS = {
    "002": ("unconditional", "busy", "no_reply", "not_reachable"),
    "004": ("busy", "no_reply", "not_reachable"),
}
#: the call's outcome at the called line -> the forwarding condition it triggers (TS 22.082 §2-4)
CONDITIONS = {"busy": "busy", "no_answer": "no_reply", "unreachable": "not_reachable"}
DEFAULT_NO_REPLY_TIMER = 20  # seconds (TS 22.082 §2.1: default 20 s when none is given)


@dataclass
class Forwarding:
    number: str
    timer: int | None = None


@dataclass(frozen=True)
class Answer:
    """The network's answer to a request."""

    accepted: bool
    text: str


@dataclass(frozen=True)
class Routed:
    """Where a call to the subscriber went."""

    outcome: str  # answered | forwarded | not_forwarded | refused
    to: str | None = None
    condition: str | None = None
    out_of_plan: bool | None = None  # the forwarded leg; None where the provider does not say
    reason: str | None = None


@dataclass
class SupplementaryServices:
    """Call forwarding state of the subscribers of one network."""

    codes: Collection[str]
    #: permanent forwarding billed out of plan ("Les renvois permanents d'appels ne sont pas inclus")
    unconditional_out_of_plan: bool = True
    state: dict[str, dict[str, Forwarding]] = field(default_factory=dict)

    def forwardings(self, subscriber: str) -> dict[str, Forwarding]:
        return self.state.setdefault(subscriber, {})

    def request(
        self,
        subscriber: str,
        operation: str,
        code: str,
        number: str | None = None,
        basic_service: str | None = None,
        timer: int | None = None,
    ) -> Answer:
        """Register, erase, activate, deactivate or interrogate call forwarding (TS 22.030 §6.5.2)."""
        if code not in self.codes:
            return Answer(False, f"service code {code} not supported by this network")
        if basic_service not in (None, "10", "11", "19"):
            return Answer(False, f"call forwarding for basic service {basic_service} not provided")
        conditions = GROUPS.get(code) or (FORWARDING[code],)
        fw = self.forwardings(subscriber)
        if operation == "registration":
            if code in GROUPS:
                return Answer(False, f"registration of the group code {code} needs one condition")
            if number is None:
                return Answer(False, "registration needs the forwarded-to number")
            (cond,) = conditions
            fw[cond] = Forwarding(number, (timer or DEFAULT_NO_REPLY_TIMER) if cond == "no_reply" else None)
            return Answer(True, f"call forwarding {_label(cond)}: registered, to {number}")
        if operation in ("erasure", "deactivation"):
            for cond in conditions:
                fw.pop(cond, None)
            what = (
                "all call forwarding"
                if code == "002"
                else "all conditional call forwarding"
                if code == "004"
                else f"call forwarding {_label(conditions[0])}"
            )
            return Answer(True, f"{what}: {'erased' if operation == 'erasure' else 'deactivated'}")
        if operation == "interrogation":
            parts = []
            for cond in conditions:
                f = fw.get(cond)
                parts.append(
                    f"call forwarding {_label(cond)}: " + (f"active, to {f.number}" if f else "not active")
                )
            return Answer(True, "; ".join(parts))
        if operation == "activation":
            missing = [c for c in conditions if c not in fw]
            if missing:
                return Answer(False, f"call forwarding {_label(missing[0])}: no number registered")
            return Answer(True, f"call forwarding {_label(conditions[0])}: active")
        return Answer(False, f"unknown operation {operation!r}")

    def forward_all(self, subscriber: str, number: str) -> Answer:
        """Unconditional forwarding set through the operator's voicemail menu rather than an MMI code."""
        self.forwardings(subscriber)["unconditional"] = Forwarding(number)
        return Answer(True, f"call forwarding unconditional: registered, to {number}")

    def route(self, subscriber: str, outcome: str) -> Routed:
        """A call to ``subscriber`` whose line is ``answered``, ``busy``, ``no_answer`` or ``unreachable``:
        unconditional forwarding first, then the condition's (TS 22.082)."""
        fw = self.forwardings(subscriber)
        if "unconditional" in fw:
            return Routed(
                "forwarded", fw["unconditional"].number, "unconditional", self.unconditional_out_of_plan
            )
        if outcome == "answered":
            return Routed("answered")
        cond = CONDITIONS[outcome]
        if cond in fw:
            return Routed("forwarded", fw[cond].number, cond, None)
        return Routed("not_forwarded", condition=cond)


def _label(condition: str) -> str:
    return {
        "unconditional": "unconditional",
        "busy": "on busy",
        "no_reply": "on no reply",
        "not_reachable": "on not reachable",
    }[condition]


@dataclass
class Voicemail:
    """A subscriber's voicemail: the short number at home, the long number from abroad or another
    phone, and the secret code that must be set from France where the operator says so."""

    short: str
    long: str
    secret_code_in_france: bool
    secret_code: str | None = None

    def number_from(self, country: str) -> str:
        """The number that reaches the voicemail from ``country`` (the short number works at home)."""
        return self.short if country == "FR" else self.long

    def set_code(self, code: str, country: str) -> Answer:
        if self.secret_code_in_france and country != "FR":
            return Answer(False, f"the secret code must be set in France (the terminal is in {country})")
        if not code.isdigit() or not 4 <= len(code) <= 8:
            return Answer(False, "the secret code is 4 to 8 digits")
        self.secret_code = code
        return Answer(True, "secret code set")
