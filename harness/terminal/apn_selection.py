"""Terminal-side APN choice.

A terminal picks its data APN from its APN database (an ``apns-conf.xml`` or the operators'
settings) by the card's home MCC/MNC — the first digits of the IMSI, with the MNC length of EF_AD
(TS 31.102 §4.2.18) — refined by MVNO match data (SPN, IMSI pattern, GID1, ICCID prefix, as
Android's ``mvno_type``/``mvno_match_data``), unless the user configured an APN explicitly or the
provider gives it per SIM reference and activation date.

The provider's warning on the roaming profile switch ("Profil de connexion"): the terminal may take
the switch to the international IMSI for a new card and change its connection profiles; the right
ones stay the French ones. :class:`TerminalApnState` models both terminals: one that keeps the
profile while the card (ICCID) is the same, and a naive one that reselects by the new IMSI's
MCC/MNC and ends up with a wrong APN or none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from csim.encoding import imsi_plmn
from harness.network.operators import ApnSetting, OperatorDB


class ApnSelectionError(LookupError):
    """No usable APN; the message says what was looked for."""


@dataclass(frozen=True, slots=True)
class CardIdentity:
    """What the terminal reads from the card to choose an APN."""

    iccid: str
    imsi: str
    mnc_length: int = 2
    spn: str = ""
    gid1: str = ""                      # EF_GID1 in hex ("" when UST service 17 is off)
    msisdn: str = ""                    # EF_MSISDN (TS 31.102 §4.2.26), as dialled
    sim_reference: str | None = None    # provider's SIM reference (printed on the card / order)
    activation_date: dt.date | None = None

    @property
    def mcc(self) -> str:
        return imsi_plmn(self.imsi, self.mnc_length)[0]

    @property
    def mnc(self) -> str:
        return imsi_plmn(self.imsi, self.mnc_length)[1]

    @property
    def home_plmn(self) -> str:
        return f"{self.mcc}-{self.mnc}"


def mvno_matches(setting: ApnSetting, card: CardIdentity) -> bool:
    """Whether ``card`` matches the entry's MVNO data, as Android's ``ApnSettingUtils.mvnoMatches``
    compares ``mvno_match_data`` (an entry without MVNO data matches no MVNO):

    - ``spn``: EF_SPN's name, ignoring case;
    - ``imsi``: a pattern as long as the IMSI or shorter, ``x`` for any digit;
    - ``gid``: a hex prefix of EF_GID1 (TS 31.102 §4.2.10) as the card holds it, ignoring case;
    - ``iccid``: one of the comma-separated prefixes of the ICCID.
    """
    kind, data = setting.mvno_type.lower(), setting.mvno_match_data
    if kind == "spn":
        return bool(card.spn) and card.spn.strip().lower() == data.strip().lower()
    if kind == "imsi":
        return 0 < len(data) <= len(card.imsi) and all(
            p in "xX" or p == d for p, d in zip(data, card.imsi, strict=False)
        )
    if kind == "gid":
        return bool(card.gid1) and card.gid1.lower().startswith(data.lower())
    if kind == "iccid":
        return any(card.iccid.startswith(prefix) for prefix in data.split(",") if prefix)
    return False


def candidates(
    apn_db: Iterable[ApnSetting], card: CardIdentity, apn_type: str = "default"
) -> list[ApnSetting]:
    """Entries usable for ``apn_type`` on ``card``: MVNO matches first, then the operator's own."""
    mcc, mnc = imsi_plmn(card.imsi, card.mnc_length)
    home = [
        s for s in apn_db
        if s.mcc == mcc and s.mnc == mnc and s.carrier_enabled and s.serves(apn_type)
    ]
    mvno = [s for s in home if s.mvno_type and mvno_matches(s, card)]
    if mvno:
        return mvno
    return [s for s in home if not s.mvno_type]


def select_apn(
    apn_db: Iterable[ApnSetting],
    card_identity: CardIdentity,
    *,
    apn_type: str = "default",
    configured: ApnSetting | str | None = None,
    operators: OperatorDB | None = None,
) -> ApnSetting:
    """The APN a terminal uses for ``apn_type`` data with this card.

    Order: an explicit configuration; the provider's APN for the card's SIM reference and activation
    date (needs ``operators``); the database entry for the home MCC/MNC (MVNO matches first).
    """
    db = list(apn_db)
    card = card_identity
    if isinstance(configured, ApnSetting):
        return configured
    if isinstance(configured, str):
        for s in candidates(db, card, apn_type) + db:
            if s.apn.lower() == configured.lower():
                return s
        return ApnSetting(name=configured, apn=configured, mcc=card.mcc, mnc=card.mnc)
    if card.sim_reference and operators is not None:
        provider, ref = operators.reference(card.sim_reference)
        apn = ref.apn_for(card.activation_date)
        return ApnSetting(name=f"{provider.name} {card.sim_reference}", apn=apn, mcc=card.mcc, mnc=card.mnc)
    found = candidates(db, card, apn_type)
    if not found:
        raise ApnSelectionError(
            f"no {apn_type} APN for {card.home_plmn} (IMSI {card.imsi}) in the terminal's APN database"
        )
    return found[0]


@dataclass(frozen=True, slots=True)
class ApnChoice:
    setting: ApnSetting | None
    kept: bool
    reason: str


class TerminalApnState:
    """A terminal's current connection profile across card changes and profile switches.

    ``keep_on_profile_switch=True``: a card with the same ICCID keeps its connection profile (the
    French APN after a switch to the international IMSI). ``False``: every IMSI change is handled
    as a new card and the APN is chosen again from the new IMSI's MCC/MNC.
    """

    def __init__(
        self,
        apn_db: Iterable[ApnSetting],
        *,
        keep_on_profile_switch: bool = True,
        configured: ApnSetting | str | None = None,
        operators: OperatorDB | None = None,
    ) -> None:
        self.apn_db = tuple(apn_db)
        self.keep_on_profile_switch = keep_on_profile_switch
        self.configured = configured
        self.operators = operators
        self.iccid: str | None = None
        self.imsi: str | None = None
        self.current: ApnSetting | None = None

    def on_card(self, card: CardIdentity) -> ApnChoice:
        """The terminal (re)reads the card: after power-on, a SIM change or a REFRESH."""
        same_card = self.iccid == card.iccid
        if same_card and card.imsi == self.imsi and self.current is not None:
            return ApnChoice(self.current, True, "same subscription")
        if same_card and self.keep_on_profile_switch and self.current is not None:
            self.imsi = card.imsi
            why = f"profile switch to {card.home_plmn}: connection profile {self.current.apn} kept"
            return ApnChoice(self.current, True, why)
        self.iccid, self.imsi = card.iccid, card.imsi
        try:
            self.current = self._select(card)
        except ApnSelectionError as exc:
            self.current = None
            return ApnChoice(None, False, str(exc))
        why = "new card" if not same_card else f"IMSI changed, treated as a new card ({card.home_plmn})"
        return ApnChoice(self.current, False, f"{why}: {self.current.apn}")

    def _select(self, card: CardIdentity) -> ApnSetting:
        """:func:`select_apn` for ``card`` with this terminal's database and configuration."""
        return select_apn(self.apn_db, card, configured=self.configured, operators=self.operators)
