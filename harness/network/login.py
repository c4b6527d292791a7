"""Partner-delivery and fixed-IP logins, and the fixed-IP option's rules, per provider.

Formats from the provider's reference (APN ORANGE 2/2, APN BOUYGUES TELECOM 2/2):

* Orange partner delivery: ``msisdn@<partner>.otd``, MSISDN in 15-digit international form
  (``337000080910112``), PAP, APN ``telcomobile.com``;
* Bouygues Telecom partner delivery: ``msisdn@<partner>.btd``, MSISDN in 11-digit form
  (``33`` + the 9 digits after the national ``0``), PAP, lptype 4, APN ``mmsbouygtel.com``;
* several VISPs: ``<partner>``, ``<partner>2``, ``<partner>3``... (VISP 1 has no number);
* Orange fixed IP: ``<15-digit msisdn>@alpha.otd`` on APN ``telcomobile.com``, PAP.

A national number (``06``/``07`` and 10 digits, or ``07`` and 14 digits for data-only and M2M
lines) becomes international by replacing its leading ``0`` with ``33`` (ITU-T E.164, country code
33); the result must have the digit count the provider's format requires. Anything else is refused
with a :class:`LoginError` whose ``reason`` says why.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from harness.network.operators import Operator, PlanTraits

FRANCE_CC = "33"
_PARTNER_NAME = re.compile(r"^[a-z](?:[a-z0-9-]*[a-z])?$")
_SEPARATORS = re.compile(r"[ .\-/()]")


class LoginError(ValueError):
    """A login or number that a provider's format refuses; ``reason`` is the human explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Login:
    """What a terminal or router is configured with for one data delivery."""

    kind: str                 # "partner" | "fixed_ip"
    username: str
    password: str
    apn: str
    auth: tuple[str, ...]     # accepted authentication protocols ("pap", "chap")
    msisdn: str               # international digits, no "+"
    realm: str
    partner: str | None = None
    visp: int | None = None
    lptype: int | None = None


def international_msisdn(number: str, digits: int | None = None) -> str:
    """``number`` in international digits (no ``+``), checked against ``digits`` when given.

    Accepts ``06``/``07`` national numbers of 10 digits, ``07`` numbers of 14 digits, and the same
    numbers written ``+33...``, ``0033...`` or ``33...``; spaces, dots and dashes are ignored.
    """
    raw = number
    text = number.strip()
    if not text.isdigit():
        text = _SEPARATORS.sub("", text)
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    elif text.startswith("0"):
        national = text
        if not national.isdigit():
            raise LoginError(f"{raw!r} is not a phone number (only digits expected)")
        if len(national) not in (10, 14):
            raise LoginError(
                f"{raw!r}: a French mobile number has 10 digits (14 for data-only lines), not {len(national)}"
            )
        if len(national) == 10 and national[1] not in "67":
            raise LoginError(f"{raw!r} is not a mobile number (06 or 07 expected)")
        if len(national) == 14 and national[1] != "7":
            raise LoginError(f"{raw!r}: 14-digit numbers are 07 data-only numbers")
        text = FRANCE_CC + national[1:]
    if not text.isdigit():
        raise LoginError(f"{raw!r} is not a phone number (only digits expected)")
    if not text.startswith(FRANCE_CC):
        raise LoginError(f"{raw!r} is not a French number (country code 33 expected)")
    subscriber = text[len(FRANCE_CC):]
    n = len(subscriber)
    mobile = (n == 9 and subscriber[0] in "67") or (n == 13 and subscriber[0] == "7")
    if not mobile:
        raise LoginError(f"{raw!r} is not a French mobile number in international form")
    if digits is not None and len(text) != digits:
        national_len = len(subscriber) + 1
        raise LoginError(
            f"{raw!r}: the login needs the MSISDN in {digits}-digit international form; this number has "
            f"{national_len} digits nationally, i.e. {len(text)} digits internationally"
        )
    return text


def partner_realm(operator: Operator, partner: str, visp: int = 1) -> str:
    """Realm of VISP ``visp`` of ``partner``: ``partner.otd``, ``partner2.otd``..."""
    pd = _partner_delivery(operator)
    if not _PARTNER_NAME.match(partner):
        raise LoginError(
            f"partner name {partner!r}: lower-case letters, digits and dashes, ending with a letter"
        )
    if visp < 1:
        raise LoginError(f"VISP number {visp} (1, 2, 3... expected)")
    realm = f"{partner}{visp if visp > 1 else ''}.{pd.realm_suffix}"
    fixed = operator.fixed_ip
    if fixed is not None and fixed.login_domain == realm:
        raise LoginError(f"{realm!r} is {operator.name}'s fixed-IP domain, not a partner realm")
    return realm


def _partner_delivery(operator: Operator):  # noqa: ANN202 - PartnerDelivery
    if operator.partner_delivery is None:
        raise LoginError(f"{operator.name} has no partner-platform delivery")
    return operator.partner_delivery


def build_login(
    operator: Operator,
    kind: str,
    msisdn: str,
    *,
    password: str = "",
    partner: str | None = None,
    visp: int = 1,
) -> Login:
    """The login of ``kind`` (``"partner"`` or ``"fixed_ip"``) for line ``msisdn`` on ``operator``."""
    return _build_login(operator, kind, msisdn, password, partner, visp)


def _build_login(operator: Operator, kind: str, msisdn: str, password: str, partner: str | None,
                 visp: int) -> Login:
    if kind == "partner":
        pd = _partner_delivery(operator)
        if not partner:
            raise LoginError("partner delivery needs the partner's name")
        number = international_msisdn(msisdn, pd.msisdn_digits)
        realm = partner_realm(operator, partner, visp)
        return Login("partner", f"{number}@{realm}", password, pd.apn, pd.auth, number, realm,
                     partner=partner, visp=visp, lptype=pd.lptype)
    if kind == "fixed_ip":
        fixed = operator.fixed_ip
        if fixed is None:
            raise LoginError(f"{operator.name} has no fixed-IP option")
        if fixed.login_domain is None or fixed.login_msisdn_digits is None:
            raise LoginError(
                f"{operator.name}: the fixed-IP login is not built from the number; "
                "it is given in the contract's technical information"
            )
        number = international_msisdn(msisdn, fixed.login_msisdn_digits)
        return Login("fixed_ip", f"{number}@{fixed.login_domain}", password, fixed.apn, fixed.auth,
                     number, fixed.login_domain)
    raise LoginError(f"unknown login kind {kind!r} (partner or fixed_ip)")


def parse_login(operator: Operator, username: str, partners: tuple[str, ...] = ()) -> Login:
    """Check ``username`` against ``operator``'s formats and say what it is.

    With ``partners`` the realm must belong to one of them (VISP numbers appended); without, any
    well-formed ``<name>[n].<suffix>`` realm is read as partner ``name``, VISP ``n``.
    """
    return _parse_login(operator, username, partners)


def _parse_login(operator: Operator, username: str, partners: tuple[str, ...]) -> Login:
    user, at, realm = username.partition("@")
    if not at or not user or not realm:
        raise LoginError(f"{username!r}: a login is msisdn@domain")
    realm = realm.lower()
    fixed = operator.fixed_ip
    if fixed is not None and fixed.login_domain and realm == fixed.login_domain:
        number = _login_number(username, user, fixed.login_msisdn_digits or 0)
        return Login("fixed_ip", username, "", fixed.apn, fixed.auth, number, realm)
    pd = operator.partner_delivery
    if pd is None or not realm.endswith("." + pd.realm_suffix):
        expected = [f"<partner>.{pd.realm_suffix}"] if pd else []
        if fixed is not None and fixed.login_domain:
            expected.append(fixed.login_domain)
        raise LoginError(
            f"{username!r}: unknown domain {realm!r} for {operator.name}"
            + (f" (expected {' or '.join(expected)})" if expected else "")
        )
    label = realm[: -len(pd.realm_suffix) - 1]
    partner, visp = _split_visp(label, partners)
    if partner is None:
        raise LoginError(f"{username!r}: {label!r} is not a known partner realm")
    number = _login_number(username, user, pd.msisdn_digits)
    return Login("partner", username, "", pd.apn, pd.auth, number, realm, partner=partner, visp=visp,
                 lptype=pd.lptype)


_REALM_LABEL = re.compile(r"([a-z](?:[a-z0-9-]*[a-z])?)([2-9]|[1-9][0-9]+)?")


def _split_visp(label: str, partners: tuple[str, ...]) -> tuple[str | None, int]:
    m = _REALM_LABEL.fullmatch(label)
    if not m:
        return None, 0
    name, n = m.group(1), int(m.group(2) or 1)
    if partners and name not in partners:
        return None, 0
    return name, n


def _login_number(username: str, user: str, digits: int) -> str:
    if not user.isdigit():
        raise LoginError(f"{username!r}: the part before @ must be the MSISDN in digits")
    if not user.startswith(FRANCE_CC):
        raise LoginError(f"{username!r}: the MSISDN must be in international form (33...), not national")
    if len(user) != digits:
        raise LoginError(f"{username!r}: the MSISDN must have {digits} digits, not {len(user)}")
    return international_msisdn(user, digits)


# -- the fixed-IP option (L'ADRESSE IP FIXE SUR VOTRE LIGNE) ---------------------------------------

@dataclass(frozen=True, slots=True)
class Availability:
    allowed: bool
    reason: str


def _describe_plan(plan: PlanTraits) -> str:
    state = "blocked" if plan.blocked else "unblocked"
    return f"{state} {plan.kind}{'' if plan.data else ' without data'}"


def fixed_ip_availability(operator: Operator, plan: PlanTraits) -> Availability:
    """Whether the fixed-IP option can be ordered on ``plan`` with ``operator``, and why."""
    fixed = operator.fixed_ip
    if fixed is None:
        return Availability(False, f"{operator.name} has no fixed-IP option")
    if not plan.data:
        return Availability(False, f"a fixed IP needs a plan with data ({_describe_plan(plan)})")
    for rule in fixed.allowed_plans:
        if plan.matches(rule):
            return Availability(True, f"{operator.name}: fixed IP available on {_describe_plan(plan)} plans")
    allowed = " and ".join(_describe_rule(r) for r in fixed.allowed_plans)
    return Availability(
        False,
        f"{operator.name}: the fixed-IP option is only available on {allowed} "
        f"(this plan: {_describe_plan(plan)})",
    )


def _describe_rule(rule: dict) -> str:
    parts = []
    if "blocked" in rule:
        parts.append("blocked" if rule["blocked"] else "unblocked")
    parts.append("/".join(rule["kind"]) if "kind" in rule else "data" if rule.get("data") else "")
    return " ".join(p for p in parts if p) + (" plans" if "kind" not in rule else " offers")


def fixed_ip_monthly_price(operator: Operator, delivery: str) -> float:
    """EUR per month for the fixed IP delivered ``internet_only`` or ``partner_l2tp``."""
    fixed = operator.fixed_ip
    if fixed is None:
        raise LoginError(f"{operator.name} has no fixed-IP option")
    if delivery == "internet_only":
        return fixed.price_internet_only
    if delivery == "partner_l2tp":
        return fixed.price_partner_l2tp
    raise LoginError(f"unknown fixed-IP delivery {delivery!r} (internet_only or partner_l2tp)")


def fixed_ip_cancellation_date(operator: Operator, requested: dt.date) -> dt.date:
    """The day a cancellation asked on ``requested`` takes effect.

    Orange options end only on the 1st of the following month; Bouygues Telecom options at once.
    """
    fixed = operator.fixed_ip
    if fixed is None:
        raise LoginError(f"{operator.name} has no fixed-IP option")
    if fixed.cancellation == "any_time":
        return requested
    year, month = (requested.year + 1, 1) if requested.month == 12 else (requested.year, requested.month + 1)
    return dt.date(year, month, 1)
