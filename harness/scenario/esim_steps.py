"""eSIM steps of the scenario language: a device with an eUICC in the terminal, the SM-DP+ that
issues each eSIM line's activation code (the AlphaLink activation e-mail and SMS), the download with
the confirmation code, enable / disable / delete through the terminal's LPA
(:mod:`harness.terminal.lpa`, the modem's own link) and the SM-DP+'s answers
(:mod:`harness.network.smdp`, SGP.22 status codes).

The eSIM line itself is ordered, swapped and timed by the line steps (:mod:`harness.lines`: Orange
only, the eSIM opening hours, the self-care "SIM Swap vers eSIM" permission); each accepted eSIM
order or swap asks this group's SM-DP+ for a profile.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from csim.memo import once
from csim.profile import bundled_profiles
from csim.yamlsrc import DataError
from harness.scenario.checks import Mismatch
from harness.scenario.step_groups import LazyModule, OfRun, group_key, run_context

if TYPE_CHECKING:
    from harness.scenario.loader import Scenario
    from harness.scenario.session import Session

# the SM-DP+, the LPA and the eUICC are imported by the scenarios that use them only
_smdp = LazyModule("harness.network.smdp")
_lpa = LazyModule("harness.terminal.lpa")
_euicc = LazyModule("csim.euicc")

_PKIS: dict[bytes, Any] = {}  # the seeded test PKI of each scenario, made once per process
ESIM_STEPS: tuple[str, ...] = (
    "resend_esim_info",
    "insert_euicc",
    "download_esim",
    "enable_esim",
    "disable_esim",
    "delete_esim",
)
ESIM_EXPECT: tuple[str, ...] = (
    "esim_activation",
    "esim_download",
    "esim_operation",
    "esim_profiles",
    "esim_order",
)


class EsimStepError(RuntimeError):
    """An eSIM step cannot run as written."""


def uses_esim(scn: Scenario) -> bool:
    return any(group_key(step, ESIM_STEPS, ESIM_EXPECT) for step in scn.steps)


def check_scenario(scn: Scenario, doc: Mapping[str, Any]) -> None:
    """Load-time checks, errors as ``file:line``: known devices and cards, a well-formed
    activation code, a confirmation code of ``sms``, ``wrong``, ``none`` or digits."""
    devices = _smdp.load_devices()
    for step in scn.steps:
        a = step.args if isinstance(step.args, Mapping) else {}
        if step.kind == "insert_euicc":
            device = a.get("device", step.args if isinstance(step.args, str) else None)
            if device not in devices:
                raise DataError(
                    scn.source,
                    step.line,
                    f"unknown device {device!r} (fixtures/devices.yaml: {', '.join(devices)})",
                )
            bundled = bundled_profiles()
            for card in a.get("profiles", ()):
                if str(card) not in bundled:
                    raise DataError(
                        scn.source,
                        step.line,
                        f"insert_euicc profile {card!r}: not a bundled card profile ({', '.join(bundled)})",
                    )
        if step.kind == "download_esim":
            if "activation_code" in a:
                try:
                    _lpa.ActivationCode.parse(str(a["activation_code"]))
                except ValueError as exc:
                    raise DataError(scn.source, step.line, str(exc)) from None
            cc = str(a.get("confirmation_code", "sms"))
            if cc not in ("sms", "wrong", "none") and not cc.isdigit():
                raise DataError(
                    scn.source, step.line, f"confirmation_code {cc!r}: sms, wrong, none or the digits typed"
                )


class EsimContext(OfRun):
    """The run's SM-DP+ (one test PKI, its CI also the eUICCs'), the orders by line, the
    device in the terminal and the last answers."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        # one seed per scenario: the same certificates, challenges, one-time keys and (RFC 6979)
        # signatures in every run, so a replay on the served card compares APDU by APDU
        name = str(getattr(session.scenario, "name", None) or "")
        self.seed = hashlib.sha256(b"simharness eSIM " + name.encode()).digest()
        self.pki = once(_PKIS, self.seed, lambda seed: _euicc.TestPki.generate("nist", seed=seed), 64)
        self.smdp = _smdp.Smdp(self.pki, log=session.log, entropy=self._entropy("SM-DP+"))
        self.euicc: Any = None
        self.device: Any = None
        self.euiccs = 0
        self.orders: dict[str, Any] = {}  # line id -> ProfileOrder
        self.numbers: dict[str, str] = {}  # line number -> line id
        self.history: dict[str, list[Any]] = {}  # line id -> its eSIM orders, oldest first
        self.issued: Any = None  # the last order
        self.download: dict[str, Any] | None = None
        self.operation: dict[str, Any] | None = None

    def _entropy(self, who: str) -> Callable[[int], bytes]:
        return random.Random(self.seed + who.encode()).randbytes  # noqa: S311 - reproducible test runs

    def lpa(self) -> Any:
        if self.euicc is None:
            raise EsimStepError("no eUICC in the terminal: insert_euicc first")
        modem = self.session.modem
        return _lpa.Lpa(
            modem, {self.smdp.address: self.smdp.handle}, tac=self.device.tac, log=self.session.log
        )

    def know_pin(self, iccid: str) -> None:
        """The user has the profile's PIN1 (the provider gives it with the eSIM: "PIN1 0000" in the
        AlphaLink reference's 'Ressources' tab) and types it when the new profile asks."""
        isdp = next((p for p in self.euicc.isdr.profiles if p.iccid == iccid), None) if self.euicc else None
        profile = getattr(getattr(isdp, "card", None), "profile", None)
        if profile is not None:
            self.session.know_pin(profile)

    def follow(self) -> None:
        """The session follows the profile now enabled on the eUICC."""
        card = self.euicc.card if self.euicc is not None else None
        self.session.follow_profile(getattr(card, "profile", None))


def esim(session: Session) -> EsimContext:
    return run_context(session, "_esim_context", EsimContext)


def issue(session: Session, line: Any, contact: Mapping[str, Any] | None = None) -> None:
    """The provider's SM-DP+ prepares the eSIM of ``line`` (ES2+.DownloadOrder, SGP.22 §5.3.1) and
    the activation e-mail and SMS go out (the AlphaLink reference, "RÉCEPTION DU MAIL PAR VOTRE
    CLIENT"); the home network learns the eSIM's subscriber."""
    ctx = esim(session)
    try:
        order = ctx.smdp.download_order(line.network, line.sim, line=line.id)
    except _smdp.Es9Error as exc:
        session.log.record("esim_refused", line=line.id, code=str(exc.status))
        return
    ctx.orders[line.id] = ctx.issued = order
    ctx.history.setdefault(line.id, []).append(order)
    ctx.numbers[line.number] = line.id
    for sub in session.modem.network.hss.provision_profile(order.profile):
        session.log.record("subscriber_added", imsi=sub.imsi, line=line.id, number=line.number)
    _send_activation(session, ctx, line.id, order, contact or {})


def swapped(session: Session, line: Any, to: str, contact: Mapping[str, Any] | None = None) -> None:
    """A SIM swap of ``line`` accepted: its eSIM, if it had one, is never used again (the SM-DP+
    cancels the order, ES2+.CancelOrder; the home network forgets its IMSI), and a swap to an eSIM
    gets a new one (:func:`issue`). A line without an eSIM swapped to a physical SIM costs nothing."""
    ctx: EsimContext | None = getattr(session, "_esim_context", None)
    old = ctx.orders.get(line.id) if ctx is not None else None
    if ctx is not None and old is not None:
        ctx.smdp.cancel_order(old)
        imsi = old.profile.active_profile.imsi
        if session.modem.network.hss.subscribers.pop(imsi, None) is not None:
            session.log.record("subscriber_removed", imsi=imsi, reason="eSIM swapped away")
    if to == "esim":
        issue(session, line, contact)


def _send_activation(
    session: Session, ctx: EsimContext, line: str, order: Any, contact: Mapping[str, Any]
) -> None:
    """The activation e-mail (the activation code) and the SMS (the confirmation code)."""
    session.log.record(
        "esim_activation_email",
        line=line,
        to=contact.get("email"),
        activation_code=ctx.smdp.activation_code(order),
        smdp=ctx.smdp.address,
        matching_id=order.matching_id,
    )
    session.log.record(
        "esim_activation_sms",
        line=line,
        to=contact.get("mobile"),
        text=f"code de confirmation : {order.confirmation_code}",
    )


def _resend(s: Session, args: Any) -> None:
    """The partner sends the line's activation information again, to a contact of its choice
    (the AlphaLink reference, "MON CLIENT N'A PAS REÇU LE MAIL ET LE SMS": "Vous pouvez également
    envoyer à nouveau les informations à un numéro et une adresse email"): the same codes."""
    a = dict(args or {}) if isinstance(args, Mapping) or args is None else {"line": args}
    ctx = esim(s)
    order = _line_order(ctx, a.get("line"))
    _send_activation(s, ctx, order.line, order, a.get("contact") or {})


def _line_order(ctx: EsimContext, ref: Any) -> Any:
    """The eSIM order of a line by its id or number (default: the last line given an eSIM)."""
    if ref is None:
        order = ctx.issued
    else:
        line = ctx.numbers.get(str(ref), str(ref))
        order = ctx.orders.get(line)
    if order is None:
        which = "no line" if ref is None else f"line {ref}"
        raise EsimStepError(f"{which} has no eSIM from the SM-DP+: order one (order_line with sim: esim)")
    return order


def _insert_euicc(s: Session, args: Any) -> None:
    """A device with an eUICC in the terminal, powered off: empty, or holding bundled card profiles
    (the first enabled)."""
    a = dict(args) if isinstance(args, Mapping) else {"device": args}
    ctx = esim(s)
    profiles = [str(p) for p in a.get("profiles", ())]
    ctx.euiccs += 1
    credentials = ctx.pki.euicc_credentials(ctx.pki.eid(ctx.euiccs))
    euicc = _euicc.Euicc.seeded(profiles, credentials=credentials, notification_address=ctx.smdp.address)
    euicc.isdr.entropy = ctx._entropy(credentials.eid)
    ctx.euicc, ctx.device = euicc, _smdp.load_devices()[str(a["device"])]
    card = euicc.card
    s.insert_euicc(euicc, getattr(card, "profile", None), imei=ctx.device.imei)


def _confirmation(order: Any, given: Any) -> str | None:
    value = "sms" if given is None else str(given)
    if value == "sms":
        return order.confirmation_code if order is not None else None
    if value == "none":
        return None
    if value == "wrong":
        right = order.confirmation_code if order is not None else None
        return "000000" if right != "000000" else "111111"
    return value


def _download(s: Session, args: Any) -> None:
    """The user scans the line's QR code (or types ``activation_code``; ``previous``: the code of
    the line's eSIM before its last swap) and enters the confirmation code: ``sms`` (the one
    received), ``wrong``, ``none`` or digits."""
    a = dict(args or {}) if isinstance(args, Mapping) or args is None else {"line": args}
    ctx = esim(s)
    order = None if "activation_code" in a and "line" not in a else _line_order(ctx, a.get("line"))
    if a.get("previous"):  # the code of the line's eSIM before its last swap
        earlier = ctx.history.get(order.line, [])[:-1] if order is not None else []
        if not earlier:
            raise EsimStepError("previous: the line had no eSIM before this one")
        order = earlier[-1]
    code = str(a["activation_code"]) if "activation_code" in a else ctx.smdp.activation_code(order)
    outcome: dict[str, Any] = {"accepted": False, "code": None, "reason": None, "iccid": None}
    try:
        result = ctx.lpa().download(code, _confirmation(order, a.get("confirmation_code")))
    except _smdp.Es9Error as exc:
        outcome.update(code=f"{exc.status.subject}/{exc.status.reason}", reason=exc.status.message)
    except (_lpa.LpaError, ValueError) as exc:
        outcome.update(reason=str(exc))
    else:
        outcome.update(accepted=result.error is None, iccid=result.iccid, reason=result.error)
    ctx.download = outcome
    s.log.record("esim_download", **outcome)


def _manage(operation: str) -> Callable[[Session, Any], None]:
    def run(s: Session, args: Any) -> None:
        a = dict(args or {}) if isinstance(args, Mapping) or args is None else {"line": args}
        ctx = esim(s)
        iccid = str(a["iccid"]) if "iccid" in a else _line_order(ctx, a.get("line")).iccid
        lpa = ctx.lpa()
        if operation == "enable":
            ctx.know_pin(iccid)
        result = getattr(lpa, operation)(iccid)
        ctx.operation = {"operation": operation, "iccid": iccid, "result": result}
        if result != "ok":
            s.log.record("esim_refused", operation=operation, iccid=iccid, result=result)
        ctx.follow()
        lpa.send_notifications()  # the LPA reports to the SM-DP+ as soon as it can (SGP.22 §3.5)

    return run


ACTIONS: dict[str, Callable[[Session, Any], None]] = {
    "insert_euicc": _insert_euicc,
    "download_esim": _download,
    "enable_esim": _manage("enable"),
    "disable_esim": _manage("disable"),
    "delete_esim": _manage("delete"),
    "resend_esim_info": _resend,
}


# --------------------------------------------------------------------------- expectations


def _compare(
    name: str,
    want: Mapping[str, Any],
    actual: Mapping[str, Any],
    line: int | None,
    contains: tuple[str, ...] = ("reason", "activation_code", "text"),
) -> list[Mismatch]:
    out = []
    for key, v in want.items():
        got = actual.get(key)
        if key in contains:
            ok = got is not None and str(v).lower() in str(got).lower()
        elif isinstance(v, bool) or isinstance(got, bool):
            ok = v is got
        else:
            ok = v == got or (v is not None and str(v) == str(got))
        if not ok:
            out.append(Mismatch(f"{name}.{key}", v, got, line))
    return out


def _check_activation(ctx: EsimContext, want: Any, line: int | None) -> list[Mismatch]:
    """The last activation e-mail and SMS: the code, where they went, the confirmation code sent;
    ``count``: how many went out in the run."""
    log = ctx.session.log
    emails, sms = log.of_kind("esim_activation_email"), log.of_kind("esim_activation_sms")
    actual: dict[str, Any] = {"count": len(emails)}
    if emails:
        e, t = emails[-1].data, sms[-1].data
        actual.update(
            line=e["line"],
            email=e["to"],
            mobile=t["to"],
            activation_code=e["activation_code"],
            confirmation_code=ctx.issued is not None and ctx.issued.confirmation_code is not None,
        )
    return _compare("esim_activation", want, actual, line)


def _check_download(ctx: EsimContext, want: Any, line: int | None) -> list[Mismatch]:
    if ctx.download is None:
        return [Mismatch("esim_download", dict(want), "no download tried yet", line)]
    return _compare("esim_download", want, ctx.download, line)


def _check_operation(ctx: EsimContext, want: Any, line: int | None) -> list[Mismatch]:
    if ctx.operation is None:
        return [Mismatch("esim_operation", dict(want), "no enable/disable/delete yet", line)]
    return _compare("esim_operation", want, ctx.operation, line)


def _check_profiles(ctx: EsimContext, want: Any, line: int | None) -> list[Mismatch]:
    """The eUICC's profiles as the LPA lists them through the terminal's link: ``count``, and the
    state of each line's eSIM (or ICCID): enabled, disabled or absent."""
    listed = {p["iccid"]: p["state"] for p in ctx.lpa().profiles()}
    out = []
    for key, v in want.items():
        if key == "count":
            got: Any = len(listed)
        else:
            order = ctx.orders.get(str(key))
            got = listed.get(order.iccid if order is not None else str(key), "absent")
        if str(v) != str(got):
            out.append(Mismatch(f"esim_profiles.{key}", v, got, line))
    return out


def _check_order(ctx: EsimContext, want: Any, line: int | None) -> list[Mismatch]:
    """The SM-DP+'s order of a line's eSIM: ``state`` (released, downloaded, installed, deleted,
    unavailable...), ``tries_left``, ``eid_bound``."""
    spec = dict(want)
    order = _line_order(ctx, spec.pop("line", None))
    actual = {"state": order.state, "tries_left": order.tries_left, "eid_bound": order.eid is not None}
    return _compare("esim_order", spec, actual, line)


_CHECKS: dict[str, Callable[[EsimContext, Any, int | None], list[Mismatch]]] = {
    "esim_activation": _check_activation,
    "esim_download": _check_download,
    "esim_operation": _check_operation,
    "esim_profiles": _check_profiles,
    "esim_order": _check_order,
}


def check(s: Session, key: str, want: Any, line: int | None, window: int) -> list[Mismatch]:
    """Evaluate one eSIM expectation (a key of :data:`ESIM_EXPECT`)."""
    try:
        return _CHECKS[key](esim(s), want, line)
    except (EsimStepError, _lpa.LpaError) as exc:
        return [Mismatch(key, want, str(exc), line)]


#: the step group's interface (:mod:`harness.scenario.steps`)
EXPECT = ESIM_EXPECT
uses = uses_esim
