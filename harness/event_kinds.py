"""The kinds of event the run's :class:`~harness.events.EventLog` holds, by the modules that record them.

This is the one list of event kinds: ``expect: {events: [{kind: ...}]}`` is checked against it
when a scenario is loaded, so a misspelt kind is a ``file:line`` error instead of an expectation
that can never be met. Emitters write the kind as a literal (the log's append is on the replay
hot path); tests/harness/test_event_kinds.py finds every emitted kind in the sources and in a
run of the bundled scenarios and holds this list to exactly that set.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

_BY_EMITTER: dict[str, dict[str, str]] = {
    "harness.terminal.link, harness.readers.pcsc": {
        "apdu": "one command and its response, as the terminal sent it",
        "reset": "the card was reset; its ATR (and why, when another party reset it)",
    },
    "harness.scenario.session": {
        "card_inserted": "the session's card, by ICCID",
        "check_apdu": "a command sent for a check (ef:, the identity check), not by the terminal",
        "check_reset": "a reset made for a check",
    },
    "harness.terminal.modem, harness.terminal.modem_core": {
        "sim": "the SIM is absent, or waits for a PIN, after power-on; the status word",
        "pin": "PIN1 presented at power-on: verified or rejected",
        "move": "the terminal moved to a location of the world",
        "plmn_selection": "PLMN selection ran (TS 23.122 §4.4.3): mode and the order tried",
        "network_search": "a manual network search and the PLMNs it found",
        "registration": "registered on a PLMN (TS 24.301 attach / tracking area update)",
        "registration_rejected": "a PLMN rejected the registration, with its cause",
        "auth_failure": "the USIM refused AUTHENTICATE (MAC failure #20, synch failure #21)",
        "location_update": "a location update in a new area of the same PLMN",
        "fplmn": "EF_FPLMN updated after a rejection: the forbidden PLMNs",
        "hplmn_search": "the periodic higher-priority PLMN search (TS 23.122 §4.4.3.3) and what it found",
        "location_status": "an ENVELOPE location status sent to the card (TS 102 223 §7.5.1)",
        "proactive": "a proactive command fetched from the card (TS 102 223 §6)",
        "refresh": "a REFRESH from the card: its qualifier and files",
        "profile_switch": "the roaming applet switched IMSI (old and new IMSI, HPLMN)",
        "toolkit_loop": "location and refresh exchanges with the card did not settle",
        "detach": "the terminal detached (power off, or the reason given)",
        "data_roaming": "the user's data roaming switch set",
        "menu_selection": "a SET UP MENU item was selected (ENVELOPE menu selection)",
        "network_name": "the registered network's name (EF_OPL/EF_PNN or the network's) and the name shown",
    },
    "harness.terminal.lpa": {
        "lpa_download": "a profile download from an SM-DP+ (SGP.22 §3.1.3): its outcome",
        "lpa_refused": "an activation code or a download refused, with the SGP.22 status",
        "lpa_enable": "EnableProfile sent to the eUICC (SGP.22 §5.7.16) and its result",
        "lpa_disable": "DisableProfile sent to the eUICC (SGP.22 §5.7.17) and its result",
        "lpa_delete": "DeleteProfile sent to the eUICC (SGP.22 §5.7.18) and its result",
        "lpa_notifications_sent": "notifications handed to the SM-DP+ and removed from the eUICC",
    },
    "harness.network.smdp.server": {
        "smdp_order": "a profile ordered for a line: its ICCID and matching ID",
        "smdp_order_cancelled": "an order cancelled (SIM swap away from the eSIM)",
        "smdp_refused": "an ES9+ or order function refused, with its SGP.22 subject and reason codes",
        "smdp_authenticated": "a client authenticated (authenticateClient): EID and matching ID",
        "smdp_bpp": "a bound profile package sent (getBoundProfilePackage)",
        "smdp_notification": "a notification handled (install, enable, disable, delete), verified or not",
        "smdp_session_cancelled": "an RSP session cancelled by the eUICC, and why",
    },
    "harness.scenario.esim_steps, harness.scenario.session": {
        "euicc_inserted": "an eUICC put in the terminal, by EID",
        "esim_activation_email": "the partner's activation e-mail: the activation code",
        "esim_activation_sms": "the partner's SMS: the confirmation code",
        "esim_download": "a download with an activation code: accepted or not, the ICCID",
        "esim_refused": "an eSIM order or operation refused, and why",
    },
    "harness.network.mme_core": {
        "network_attach": "the MME accepted an attach",
        "network_reject": "the MME rejected an attach, with its cause",
        "network_auth_reject": "the MME rejected the authentication response",
        "network_resync": "the AuC resynchronised SQN after a synch failure (TS 33.102 §6.3.5)",
    },
    "harness.terminal.data_session, harness.scenario.data_steps": {
        "apn_selected": "the APN chosen for a data session and why",
        "pdn_request": "a PDN connectivity request sent to the network",
        "pdn_not_requested": "no PDN request was sent, and why",
        "fixed_ip_option": "whether the operator offers the fixed-IP option to this line",
        "login_refused": "the operator's login format could not be built for this line",
    },
    "harness.network.packet_core": {
        "pdn_activation": "a PDN session opened, with its address",
        "pdn_rejected": "a PDN activation refused, with its cause",
        "pdn_released": "a PDN session closed",
    },
    "harness.plans.engine, harness.scenario.plan_steps": {
        "line_activated": "a line started on its offer",
        "month_start": "a new billing month began for a line",
        "usage": "data, voice or SMS counted on a line",
        "usage_rejected": "usage refused (blocked, out of service, cut-off)",
        "alert": "a consumption alert at a threshold (80 %, 100 %) and its message",
        "block": "a meter reached its limit: usage blocked",
        "throttle": "a meter reached its limit: throughput reduced",
        "unblock": "a block lifted (new limit, option, recharge, new month)",
        "throughput_restored": "throttling lifted",
        "fair_use": "a fair-use rule of the offer applied",
        "sms_suspended": "SMS suspended after too many in an hour",
        "sms_resumed": "SMS allowed again",
        "session_opened": "the plan admitted a data session",
        "session_rejected": "the plan refused a data session",
        "session_closed": "a data session ended",
        "session_cut": "the plan cut a data session (limit reached, line deactivated)",
        "cutoff_changed": "a cut-off amount changed",
        "cutoff_rejected": "a cut-off change refused",
        "option_changed": "a roaming option added or changed",
        "option_rejected": "a roaming option refused",
        "recharge_ordered": "a recharge ordered (visible later)",
        "recharge_applied": "a recharge added to the line",
        "recharge_rejected": "a recharge refused",
        "recharge_warning": "a recharge accepted with a warning",
        "change_requested": "a plan change accepted for a later date",
        "change_applied": "a plan change took effect",
        "change_rejected": "a plan change refused",
        "reboot_required": "the change needs the equipment to reboot",
        "rebooted": "the equipment rebooted",
        "service_suspended": "service suspended on the line",
        "service_resumed": "service resumed on the line",
        "cancellation": "the contract was cancelled; the line stays active until a date",
        "deactivated": "the line ended (contract expired after cancellation)",
        "bill": "a month's bill",
    },
    "harness.lines.fleet, harness.scenario.line_steps": {
        "line_ordered": "a line ordered (network, SIM type, number, when it becomes active)",
        "line_active": "an ordered line became active",
        "line_suspended": "a line suspended",
        "line_reactivated": "a suspended line reactivated",
        "line_terminated": "a line terminated",
        "line_user_changed": "a line's user changed",
        "line_recharge": "a data recharge ordered on a line of the fleet",
        "line_request_refused": "a request on a line refused, and why",
        "partner_email": "the partner's e-mail for a self-care action",
        "sim_swapped": "a line moved to another SIM",
        "subscriber_added": "the home network learnt the IMSIs of a swapped-in SIM",
        "subscriber_removed": "the home network forgot an IMSI swapped away",
        "option_added": "a line option added",
        "mmi_answer": "the network's answer to an MMI code (TS 22.030)",
        "service_refused": "an MMI code or call refused: the line cannot use the service now",
        "call_placed": "a call placed from the line",
        "call_refused": "a call refused",
        "call_received": "a call to the line: its outcome and where it was routed",
        "voicemail_code": "a new voicemail code asked for: accepted or not",
        "voicemail_menu": "keys pressed in the voicemail menu",
    },
}

#: every event kind, with what it records
KINDS: Mapping[str, str] = MappingProxyType(
    {kind: what for kinds in _BY_EMITTER.values() for kind, what in kinds.items()})

#: the modules that record each kind
EMITTER: Mapping[str, str] = MappingProxyType(
    {kind: part for part, kinds in _BY_EMITTER.items() for kind in kinds})


def unknown_kind(kind: str) -> str | None:
    """Why ``kind`` is not an event kind (with the closest one), or None when it is one."""
    if kind in KINDS:
        return None
    close = difflib.get_close_matches(kind, list(KINDS), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "'simharness list events' lists them"
    return f"unknown event kind {kind!r} ({hint})"
