"""Status words of a UICC and of a GSM SIM, and what they mean.

TS 102 221 §10.2.1 (UICC), TS 102 222 §6 (administrative commands) and TS 51.011 §9.4 (GSM SIM).
"""

from __future__ import annotations

# Fixed status words; the ones carrying a number (61xx, 6Cxx, 63Cx...) are handled in sw_meaning()
STATUS_WORDS: dict[int, str] = {
    0x9000: "normal ending",
    0x6200: "warning: no information given, state of non-volatile memory unchanged",
    0x6281: "warning: part of returned data may be corrupted",
    0x6282: "warning: end of file/record reached before reading Le bytes",
    0x6283: "warning: selected file invalidated",
    0x6285: "warning: selected file in termination state",
    0x62F1: "warning: more data available",
    0x62F2: "warning: more data available and proactive command pending",
    0x62F3: "warning: response data available",
    0x63F1: "warning: more data expected",
    0x63F2: "warning: more data expected and proactive command pending",
    0x6400: "execution error: no information, memory unchanged",
    0x6500: "execution error: no information, memory changed",
    0x6581: "memory problem",
    0x6700: "wrong length",
    0x6800: "function in CLA not supported",
    0x6881: "logical channel not supported",
    0x6882: "secure messaging not supported",
    0x6981: "command incompatible with file structure",
    0x6982: "security status not satisfied",
    0x6983: "authentication/PIN method blocked",
    0x6984: "referenced data invalidated",
    0x6985: "conditions of use not satisfied",
    0x6986: "command not allowed (no EF selected)",
    0x6989: "command not allowed: secure channel security not satisfied",
    0x6A80: "incorrect parameters in the data field",
    0x6A81: "function not supported",
    0x6A82: "file or application not found",
    0x6A83: "record not found",
    0x6A84: "not enough memory space",
    0x6A86: "incorrect parameters P1 to P2",
    0x6A87: "Lc inconsistent with P1 to P2",
    0x6A88: "referenced data not found",
    0x6A89: "file ID already exists",
    0x6A8A: "DF name already exists",
    0x6B00: "wrong parameters P1-P2",
    0x6D00: "instruction code not supported or invalid",
    0x6E00: "class not supported",
    0x6F00: "technical problem, no precise diagnosis",
    0x9240: "memory problem (GSM)",
    0x9300: "SIM Application Toolkit busy",
    0x9400: "no EF selected (GSM)",
    0x9402: "out of range: invalid address (GSM)",
    0x9404: "file ID or pattern not found (GSM)",
    0x9408: "file inconsistent with the command (GSM)",
    0x9802: "no CHV initialised (GSM)",
    0x9804: "access condition not fulfilled / wrong CHV (GSM)",
    0x9808: "in contradiction with CHV status (GSM)",
    0x9810: "in contradiction with invalidation status (GSM)",
    0x9840: "CHV blocked / unsuccessful UNBLOCK (GSM)",
    0x9850: "increase cannot be performed, max value reached (GSM)",
    0x9862: "authentication error, application specific (incorrect MAC)",
    0x9863: "security session or association expired",
    0x9864: "authentication error, security context not supported",
    0x9865: "key freshness failure",
}


def sw_meaning(sw: int) -> str:
    """What a status word means (TS 102 221 §10.2.1)."""
    if sw in STATUS_WORDS:
        return STATUS_WORDS[sw]
    sw1, sw2 = sw >> 8, sw & 0xFF
    if sw1 == 0x61:
        return f"{sw2} response bytes available (GET RESPONSE)"
    if sw1 == 0x6C:
        return f"wrong Le: the exact length is {sw2}"
    if sw1 == 0x91:
        return f"normal ending, proactive command pending ({sw2} bytes)"
    if sw1 == 0x92 and sw2 < 0x10:
        return f"normal ending after {sw2} internal retries (GSM)"
    if sw1 == 0x9F:
        return f"{sw2} response bytes available (GSM GET RESPONSE)"
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        return f"verification failed, {sw2 & 0x0F} attempt(s) left"
    return "unknown status word"
