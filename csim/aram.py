"""The Access Rule Application Master (ARA-M) of GlobalPlatform SE Access Control (GPD_SPE_013
v1.1): the access rules a device's access control enforcer reads from the UICC.

The applet is selected by its AID (``A00000015141434C00``, §3.1) on any logical channel and answers:

- GET DATA (CLA ``80``, INS ``CA``, §4.1): ``FF40`` all rules (Response-ALL-REF-AR-DO, Table 4-2;
  ``FF40 00`` when there is none), ``FF60`` the next part of a response longer than one APDU,
  ``DF20`` the refresh tag (Table 4-4), ``DF21`` the ARA-M configuration (its device interface
  version, Table 4-5);
- STORE DATA (CLA ``80``, INS ``E2``, P1 ``90``, §5.1): Command-Store-REF-AR-DO (``F0``, Table 5-2)
  adds a rule, Command-Delete (``F1``, Table 5-4) removes all rules, the rules of an AID-REF-DO, of
  a REF-DO or one REF-AR-DO, Command-Update-Refresh-Tag (``F2``) renews the refresh tag.

Rules are kept as the REF-AR-DOs (``E2``: REF-DO ``E1`` + AR-DO ``E3``) that were stored, and
GET DATA lists the most recently stored first, as the ARA-M whose answers pySim's test suite
recorded (sysmoISIM-SJA5) does. A rule whose REF-DO equals a stored one is refused (``6A89``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

ARAM_AID = bytes.fromhex("A00000015141434C00")
INTERFACE_VERSION = bytes([1, 1, 0])  # GPD_SPE_013 v1.1, Table 6-12
MAX_PART = 255  # response data of one GET DATA; the rest by GET DATA [Next] (§4.1.2.2)

SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_CONDITIONS = 0x6985
SW_BAD_DATA = 0x6A80
SW_P1P2 = 0x6A86
SW_NOT_FOUND = 0x6A88
SW_CONFLICT = 0x6A89
SW_INS = 0x6D00
SW_CLA = 0x6E00

# tags of GPD_SPE_013 v1.1 chapter 6
REF_AR_DO, REF_DO, AR_DO = 0xE2, 0xE1, 0xE3
AID_REF_DO, AID_REF_EMPTY_DO, DEV_APP_ID_REF_DO, PKG_REF_DO = 0x4F, 0xC0, 0xC1, 0xCA
APDU_AR_DO, NFC_AR_DO, PERM_AR_DO = 0xD0, 0xD1, 0xDB
STORE_REF_AR_DO, DELETE, UPDATE_REFRESH_TAG = 0xF0, 0xF1, 0xF2


class TlvError(ValueError):
    """Malformed BER-TLV data."""


def tlv(tag: int, value: bytes) -> bytes:
    """One BER-TLV (ISO/IEC 8825-1): one or two tag bytes, a definite length."""
    head = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    n = len(value)
    if n < 0x80:
        return head + bytes([n]) + value
    if n < 0x100:
        return head + bytes([0x81, n]) + value
    return head + bytes([0x82]) + n.to_bytes(2, "big") + value


def tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """The BER-TLVs of ``data`` in order: tags of one or two bytes, lengths up to ``82 xxxx``."""
    out: list[tuple[int, bytes]] = []
    k = 0
    while k < len(data):
        tag = data[k]
        k += 1
        if tag & 0x1F == 0x1F:
            if k >= len(data):
                raise TlvError("truncated tag")
            tag = (tag << 8) | data[k]
            k += 1
        if k >= len(data):
            raise TlvError(f"tag {tag:X} without a length")
        n = data[k]
        k += 1
        if n > 0x7F:
            width = n & 0x7F
            if width not in (1, 2) or k + width > len(data):
                raise TlvError(f"tag {tag:X}: unsupported length form")
            n = int.from_bytes(data[k:k + width], "big")
            k += width
        if k + n > len(data):
            raise TlvError(f"tag {tag:X} runs past the data")
        out.append((tag, data[k:k + n]))
        k += n
    return out


def check_ref_ar_do(value: bytes) -> None:
    """A REF-AR-DO's content (Table 6-6): a REF-DO then an AR-DO, each well formed; TlvError if not."""
    parts = tlvs(value)
    if [t for t, _ in parts] != [REF_DO, AR_DO]:
        raise TlvError("a REF-AR-DO holds a REF-DO (E1) then an AR-DO (E3)")
    ref = tlvs(parts[0][1])
    tags = [t for t, _ in ref]
    if len([t for t in tags if t in (AID_REF_DO, AID_REF_EMPTY_DO)]) > 1 or DEV_APP_ID_REF_DO not in tags:
        raise TlvError("a REF-DO holds at most one AID-REF-DO and a DeviceAppID-REF-DO (Table 6-5)")
    for tag, v in ref:
        if tag == AID_REF_DO and len(v) not in (0, *range(5, 17)):
            raise TlvError("an AID-REF-DO holds 0 or 5 to 16 bytes (Table 6-3)")
        if tag == AID_REF_EMPTY_DO and v:
            raise TlvError("an AID-REF-DO for the implicitly selected application is empty (C0 00)")
        if tag == DEV_APP_ID_REF_DO and len(v) not in (0, 20, 32):
            raise TlvError("a DeviceAppID-REF-DO holds 0, 20 or 32 bytes (Table 6-4)")
        if tag not in (AID_REF_DO, AID_REF_EMPTY_DO, DEV_APP_ID_REF_DO, PKG_REF_DO):
            raise TlvError(f"tag {tag:X} is not a REF-DO element")
    ar = tlvs(parts[1][1])
    if not ar:
        raise TlvError("an AR-DO holds at least one access rule")
    for tag, v in ar:
        if tag == APDU_AR_DO and not (len(v) == 1 and v[0] in (0, 1)) and (not v or len(v) % 8):
            raise TlvError("an APDU-AR-DO holds 00, 01 or 8-byte APDU filters (Table 6-8)")
        if tag == NFC_AR_DO and not (len(v) == 1 and v[0] in (0, 1)):
            raise TlvError("an NFC-AR-DO holds 00 or 01 (Table 6-9)")
        if tag == PERM_AR_DO and len(v) != 8:
            raise TlvError("a PERM-AR-DO holds 8 bytes")


class AraM:
    """The ARA-M applet holding access rules (REF-AR-DO contents, oldest first)."""

    name = "ARA-M"

    def __init__(self, rules: Iterable[bytes] = (), aid: bytes = ARAM_AID) -> None:
        self.aid = bytes(aid)
        self.rules: list[bytes] = []
        for rule in rules:
            check_ref_ar_do(rule)
            self.rules.append(bytes(rule))
        self.refresh_tag = os.urandom(8)
        self._next = b""  # the unsent part of the last GET DATA response

    # --- APDU interface (csim.apdu.CardCore.applet_command) ---------------------------------

    def command(self, cla: int, ins: int, p1: int, p2: int, data: bytes) -> tuple[int, bytes]:
        """One command sent to the selected applet (channel bits cleared from ``cla``)."""
        if cla != 0x80:
            return SW_CLA, b""
        if ins == 0xCA:
            return self._get_data((p1 << 8) | p2, data)
        if ins == 0xE2:
            if p1 != 0x90 or p2 != 0x00:
                return SW_P1P2, b""
            return self._store_data(data)
        return SW_INS, b""

    def _get_data(self, tag: int, data: bytes) -> tuple[int, bytes]:
        """GET DATA, GPD_SPE_013 §4.1."""
        if tag == 0xFF40:
            if data:
                return SW_WRONG_LENGTH, b""
            return self._part(tlv(0xFF40, b"".join(tlv(REF_AR_DO, r) for r in reversed(self.rules))))
        if tag == 0xFF60:
            if not self._next:
                return SW_CONDITIONS, b""
            return self._part(self._next)
        if tag == 0xDF20:
            return SW_OK, tlv(0xDF20, self.refresh_tag)
        if tag == 0xDF21:
            return SW_OK, tlv(0xDF21, tlv(0xE5, tlv(0xE6, INTERFACE_VERSION)))
        return SW_NOT_FOUND, b""

    def _part(self, response: bytes) -> tuple[int, bytes]:
        self._next = response[MAX_PART:]
        return SW_OK, response[:MAX_PART]

    def _store_data(self, data: bytes) -> tuple[int, bytes]:
        """STORE DATA, GPD_SPE_013 §5.1: one command DO per APDU."""
        try:
            parts = tlvs(data)
        except TlvError:
            return SW_BAD_DATA, b""
        if len(parts) != 1:
            return SW_BAD_DATA, b""
        tag, value = parts[0]
        try:
            if tag == STORE_REF_AR_DO:
                return self._store(value), b""
            if tag == DELETE:
                return self._delete(value), b""
        except TlvError:
            return SW_BAD_DATA, b""
        if tag == UPDATE_REFRESH_TAG:
            self._changed()
            return SW_OK, b""
        return SW_BAD_DATA, b""

    def _store(self, value: bytes) -> int:
        new = []
        for tag, rule in tlvs(value):
            if tag != REF_AR_DO:
                raise TlvError("Command-Store-REF-AR-DO holds REF-AR-DOs")
            check_ref_ar_do(rule)
            new.append(rule)
        if not new:
            raise TlvError("Command-Store-REF-AR-DO without a rule")
        refs = {_ref_do(r) for r in self.rules}
        if any(_ref_do(r) in refs for r in new) or len({_ref_do(r) for r in new}) != len(new):
            return SW_CONFLICT
        self.rules.extend(new)
        self._changed()
        return SW_OK

    def _delete(self, value: bytes) -> int:
        if not value:
            self.rules.clear()
            self._changed()
            return SW_OK
        parts = tlvs(value)
        if len(parts) != 1:
            raise TlvError("Command-Delete names one AID-REF-DO, REF-DO or REF-AR-DO")
        tag, v = parts[0]
        if tag in (AID_REF_DO, AID_REF_EMPTY_DO):
            keep = [r for r in self.rules if _aid_of(r) != (tag, v)]
        elif tag == REF_DO:
            keep = [r for r in self.rules if _ref_do(r) != v]
        elif tag == REF_AR_DO:
            keep = [r for r in self.rules if r != v]
        else:
            raise TlvError(f"tag {tag:X} cannot be deleted")
        if len(keep) == len(self.rules):
            return SW_NOT_FOUND
        self.rules = keep
        self._changed()
        return SW_OK

    def _changed(self) -> None:
        """Any change of the rules renews the refresh tag (GPD_SPE_013 §4.1.2.3)."""
        self.refresh_tag = os.urandom(8)
        self._next = b""

    # --- persistence -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {"rules": [r.hex() for r in self.rules], "refresh_tag": self.refresh_tag.hex()}

    def restore(self, state: dict[str, Any]) -> None:
        self.rules = [bytes.fromhex(r) for r in state.get("rules", [])]
        for rule in self.rules:
            check_ref_ar_do(rule)
        self.refresh_tag = bytes.fromhex(state.get("refresh_tag", os.urandom(8).hex()))


def _ref_do(rule: bytes) -> bytes:
    return tlvs(rule)[0][1]


def _aid_of(rule: bytes) -> tuple[int, bytes] | None:
    for tag, v in tlvs(_ref_do(rule)):
        if tag in (AID_REF_DO, AID_REF_EMPTY_DO):
            return tag, v
    return None


def ref_ar_do(rule: dict[str, Any]) -> bytes:
    """A REF-AR-DO's content from a profile's rule: ``aid`` (hex, ``""`` for any application, absent
    for the implicitly selected one), ``device_app_id`` (hex hash), optional ``package``; ``apdu``
    (``always``, ``never`` or a list of ``{header, mask}`` hex), optional ``nfc`` (``always`` /
    ``never``) and ``permissions`` (8 bytes hex, Android carrier privileges)."""
    ref = tlv(AID_REF_DO, bytes.fromhex(rule["aid"])) if "aid" in rule else tlv(AID_REF_EMPTY_DO, b"")
    ref += tlv(DEV_APP_ID_REF_DO, bytes.fromhex(rule["device_app_id"]))
    if "package" in rule:
        ref += tlv(PKG_REF_DO, rule["package"].encode("ascii"))
    apdu = rule["apdu"]
    if apdu in ("always", "never"):
        ar = tlv(APDU_AR_DO, bytes([apdu == "always"]))
    else:
        ar = tlv(APDU_AR_DO, b"".join(bytes.fromhex(f["header"]) + bytes.fromhex(f["mask"]) for f in apdu))
    if "nfc" in rule:
        ar += tlv(NFC_AR_DO, bytes([rule["nfc"] == "always"]))
    if "permissions" in rule:
        ar += tlv(PERM_AR_DO, bytes.fromhex(rule["permissions"]))
    value = tlv(REF_DO, ref) + tlv(AR_DO, ar)
    check_ref_ar_do(value)
    return value
