"""The simulated eUICC: one card with the ISD-R and ISD-Ps (GSMA SGP.22 §2.2), driven by APDUs.

:class:`Euicc` has csim's card interface (``atr``, ``reset()``, ``transmit(apdu)``) so the same
transports and vpcd serve it. It owns the logical channels (TS 102 221 §11.1.17), answers
SELECT of the ISD-R AID on any channel and STORE DATA to the ISD-R (GlobalPlatform Card
Specification §11.11, SGP.22 §5.7.2: P1 '11' more blocks, '91' last block, blocks numbered in
P2), with the response handed out by 61xx / GET RESPONSE (TS 102 221 §7.3.1.1.4). Every other
command goes to the card of the enabled profile, or is refused when none is enabled.

:meth:`Euicc.save` writes what the eUICC keeps across a power cycle (its credentials, the ISD-Ps
with their metadata, state and whole card, the notifications and their counter, the configured
addresses) atomically; :meth:`Euicc.load` reads it back. A download in progress is not kept.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import asn1tools
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from csim.euicc.isdr import (
    ISDR_AID,
    OPERATIONAL,
    PROFILE_CLASSES,
    SPEC,
    Es10Error,
    IsdP,
    IsdR,
    Notification,
    isdp_aid,
)
from csim.euicc.pki import EuiccCredentials, TestPki, verify_chain

STATE_FORMAT = "simharness-euicc"
STATE_VERSION = 1

NCHAN = 4  # channels 0-3, as csim's card (TS 102 221 §11.1.17)
MAX_COMMAND = 0x10000  # bound on a reassembled ES10 command

SW_OK = b"\x90\x00"
SW_WRONG_LENGTH = 0x6700
SW_CLA = 0x6E00
SW_INS = 0x6D00
SW_P1P2 = 0x6A86
SW_CHANNEL = 0x6881
SW_NO_CHANNEL = 0x6A81
SW_NOT_FOUND = 0x6A82
SW_CONDITIONS = 0x6985
SW_WRONG_DATA = 0x6A80
# commands that change nothing a card keeps (TS 102 221 §10.1.2): SELECT, READ BINARY, READ RECORD,
# GET RESPONSE, STATUS; after any other the enabled profile's card is saved again
READING_INS = frozenset({0xA4, 0xB0, 0xB2, 0xC0, 0xF2})


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")


class Euicc:
    """An eUICC: ISD-R plus ISD-Ps, each ISD-P holding a csim card built from a card profile."""

    def __init__(self, credentials: EuiccCredentials, profiles: Iterable[IsdP] = (),
                 atr: bytes | None = None, default_dp_address: str | None = None) -> None:
        self.isdr = IsdR(credentials, list(profiles), default_dp_address=default_dp_address)
        first = self.isdr.profiles[0].card if self.isdr.profiles else None
        self.atr: bytes = bytes(atr if atr is not None else first.atr if first is not None else DEFAULT_ATR)
        self._open = {0}
        self._isdr_channels: set[int] = set()
        self._block = bytearray()
        self._next_block = 0
        self._pending = b""
        self._card: Any = None  # the card the channels were last opened on
        self._saved: str | None = None  # where the state was last saved, None once it changed

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def seeded(cls, profiles: Iterable[str | os.PathLike[str] | Mapping[str, Any]],
               credentials: EuiccCredentials | None = None, enabled: int | None = 0,
               notification_address: str | None = "testsmdpplus1.example.com",
               default_dp_address: str | None = None) -> Euicc:
        """An eUICC holding bundled card profiles, installed in order; profile ``enabled`` (an
        index, or None) enabled. A profile entry may be a mapping ``{profile, class, nickname,
        ppr}`` (class test/provisioning/operational, ppr a list of 1 and 2)."""
        from csim.card import Card

        if credentials is None:
            pki = TestPki.generate()
            credentials = pki.euicc_credentials(pki.eid(1))
        isdps = []
        for index, entry in enumerate(profiles):
            opts: Mapping[str, Any] = entry if isinstance(entry, Mapping) and "profile" in entry else \
                {"profile": entry}
            card = Card.from_profile(opts["profile"])
            prof = card.profile
            klass = opts.get("class", "operational")
            if klass not in PROFILE_CLASSES:
                raise ValueError(f"profile class {klass!r}: one of {', '.join(PROFILE_CLASSES)}")
            ppr = frozenset(int(n) for n in opts.get("ppr", ()))
            if not ppr <= {1, 2}:
                raise ValueError(f"policy rules {sorted(ppr)}: only PPR1 and PPR2 (1, 2)")
            active = prof.imsi_profiles[prof.active]
            isdps.append(IsdP(
                aid=isdp_aid(index), card=card, iccid=prof.iccid, service_provider=active.spn.name,
                name=prof.name, profile_class=PROFILE_CLASSES[klass],
                nickname=opts.get("nickname"), ppr=ppr,
                notification_address=opts.get("notification_address", notification_address),
                enabled=index == enabled))
        return cls(credentials, isdps, default_dp_address=default_dp_address)

    # --- card interface -------------------------------------------------------------------

    @property
    def card(self) -> Any:
        """The csim card of the enabled profile, or None."""
        enabled = self.isdr.enabled
        return enabled.card if enabled is not None else None

    def reset(self) -> bytes:
        """Card reset: channels closed, ISD-R deselected, pending data dropped; the enabled
        profile's card is reset too."""
        self._open = {0}
        self._isdr_channels.clear()
        self._block.clear()
        self._next_block = 0
        self._pending = b""
        card = self.card
        if card is not None:
            card.reset()
        self._card = card
        return self.atr

    def transmit(self, apdu: bytes) -> bytes:
        """One command APDU → response data and SW1 SW2. Never raises."""
        apdu = bytes(apdu)
        if len(apdu) < 4:
            return _sw(SW_WRONG_LENGTH)
        cla, ins, p1, p2 = apdu[:4]
        if cla == 0xA0 or cla & 0x40 or cla & 0x0C:
            return self._forward(apdu)  # GSM class, extended channels, secure messaging: the profile's
        channel = cla & 0x03
        if ins == 0x70:
            return self._manage_channel(channel, p1, p2, apdu)
        if channel not in self._open:
            return _sw(SW_CHANNEL)
        if ins == 0xC0 and self._pending:
            return self._get_response(apdu)
        if ins != 0xC0:
            self._pending = b""
        if ins == 0xAA and cla & 0x80:
            return SW_OK  # TERMINAL CAPABILITY, TS 102 221 §11.1.19: nothing for the eUICC to keep
        if ins == 0xA4 and p1 == 0x04:
            data = apdu[5:5 + apdu[4]] if len(apdu) > 5 else b""
            if data == ISDR_AID:
                return self._select_isdr(channel, p2)
        if channel in self._isdr_channels:
            if ins == 0xE2 and cla & 0x80:
                return self._store_data(apdu)
            if ins == 0xA4:
                self._isdr_channels.discard(channel)
            elif ins == 0xF2:
                return SW_OK  # STATUS on the ISD-R: the application is there
            else:
                return _sw(SW_INS)
        return self._forward(apdu)

    # --- channels and selection ----------------------------------------------------------

    def _sync_card(self) -> Any:
        """The enabled card, with this eUICC's logical channels open on it (a profile just enabled
        starts with only the basic channel)."""
        card = self.card
        if card is not None and card is not self._card:
            for k in sorted(self._open - {0}):
                card.transmit(bytes([0x00, 0x70, 0x00, k]))
            self._card = card
        return card

    def _forward(self, apdu: bytes) -> bytes:
        if apdu[1] not in READING_INS:
            self._saved = None  # the profile's card may have changed (files, PIN counters, SQN)
        card = self._sync_card()
        if card is None:
            ins = apdu[1]
            return _sw(SW_NOT_FOUND if ins == 0xA4 else SW_CONDITIONS)
        return bytes(card.transmit(apdu))

    def _manage_channel(self, origin: int, p1: int, p2: int, apdu: bytes) -> bytes:
        """MANAGE CHANNEL open/close, TS 102 221 §11.1.17."""
        if origin not in self._open:
            return _sw(SW_CHANNEL)
        card = self._sync_card()
        if p1 == 0x00:
            if p2 == 0:
                free = [k for k in range(1, NCHAN) if k not in self._open]
                if not free:
                    return _sw(0x6A81)
                k = free[0]
            elif p2 >= NCHAN:
                return _sw(SW_CHANNEL)
            elif p2 in self._open:
                return _sw(SW_CONDITIONS)
            else:
                k = p2
            if card is not None:
                card.transmit(bytes([0x00 | origin, 0x70, 0x00, k]))
            self._open.add(k)
            if origin in self._isdr_channels:
                self._isdr_channels.add(k)
            return bytes([k]) + SW_OK if p2 == 0 else SW_OK
        if p1 == 0x80:
            k = p2
            if k == 0 or k >= NCHAN or k not in self._open:
                return _sw(SW_CHANNEL if k >= NCHAN else SW_P1P2)
            if card is not None:
                card.transmit(bytes([origin, 0x70, 0x80, k]))
            self._open.discard(k)
            self._isdr_channels.discard(k)
            return SW_OK
        return _sw(SW_P1P2)

    def _select_isdr(self, channel: int, p2: int) -> bytes:
        """SELECT by AID of the ISD-R (TS 102 221 §11.1.1, GlobalPlatform §11.9): its FCI on
        P2 '00'/'04', none on '0C'."""
        self._isdr_channels.add(channel)
        self._block.clear()
        self._next_block = 0
        if p2 & 0x0C == 0x0C:
            return SW_OK
        fci = bytes([0x84, len(ISDR_AID)]) + ISDR_AID + bytes.fromhex("A5039F6501FF")
        return self._respond(bytes([0x6F, len(fci)]) + fci)

    # --- STORE DATA and GET RESPONSE -----------------------------------------------------------

    def _store_data(self, apdu: bytes) -> bytes:
        """STORE DATA to the ISD-R: reassemble the blocks, run the ES10 function on the last."""
        p1, p2 = apdu[2], apdu[3]
        if len(apdu) < 6 or len(apdu) not in (5 + apdu[4], 6 + apdu[4]) or apdu[4] == 0:
            return _sw(SW_WRONG_LENGTH)
        if p1 not in (0x11, 0x91):
            return _sw(SW_P1P2)
        if p2 != self._next_block:
            self._block.clear()
            self._next_block = 0
            if p2 != 0:
                return _sw(SW_P1P2)
        self._block += apdu[5:5 + apdu[4]]
        if len(self._block) > MAX_COMMAND:
            self._block.clear()
            self._next_block = 0
            return _sw(SW_WRONG_DATA)
        if p1 == 0x11:
            self._next_block = (p2 + 1) & 0xFF
            return SW_OK
        request = bytes(self._block)
        self._block.clear()
        self._next_block = 0
        before = self.isdr.persistent()
        try:
            response = self.isdr.handle(request)
        except Es10Error as exc:
            return _sw(exc.sw)
        finally:
            if self.isdr.persistent() != before:
                self._saved = None
        return self._respond(response)

    def _respond(self, data: bytes) -> bytes:
        """Case-4 response under T=0: kept for GET RESPONSE, announced by 61xx."""
        if not data:
            return SW_OK
        self._pending = data
        return _sw(0x6100 | min(len(data), 256) & 0xFF)

    def _get_response(self, apdu: bytes) -> bytes:
        """GET RESPONSE, TS 102 221 §11.1.3: up to Le bytes; 61xx while more remain."""
        le = apdu[4] if len(apdu) > 4 else 0
        le = le or 256
        chunk, self._pending = self._pending[:le], self._pending[le:]
        if self._pending:
            return chunk + _sw(0x6100 | min(len(self._pending), 256) & 0xFF)
        return chunk + SW_OK


    # --- state ------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the eUICC keeps across a power cycle, as JSON values (see :meth:`from_state`)."""
        isdr = self.isdr
        creds = isdr.credentials
        return {
            "format": STATE_FORMAT, "version": STATE_VERSION, "atr": self.atr.hex(),
            "credentials": {
                "eid": creds.eid, "curve": creds.curve,
                "key": creds.euicc_key.private_bytes(serialization.Encoding.PEM,
                                                     serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode(),
                **{name: cert.public_bytes(serialization.Encoding.PEM).decode() for name, cert in (
                    ("euicc_cert", creds.euicc_cert), ("eum_cert", creds.eum_cert),
                    ("ci_cert", creds.ci_cert))},
            },
            "default_dp_address": isdr.default_dp_address, "root_ds_address": isdr.root_ds_address,
            "next_seq": isdr.next_seq,
            "notifications": [{
                "seq": n.seq, "event": n.event, "address": n.address, "iccid": n.iccid,
                "result": SPEC.encode("ProfileInstallationResult", n.result).hex() if n.result else None,
            } for n in isdr.notifications],
            "profiles": [{
                "aid": p.aid.hex(), "iccid": p.iccid, "service_provider": p.service_provider, "name": p.name,
                "class": p.profile_class, "nickname": p.nickname, "ppr": sorted(p.ppr),
                "notification_address": p.notification_address, "enabled": p.enabled, "source": p.source,
                "icon_type": p.icon_type, "icon": p.icon.hex() if p.icon is not None else None,
                "card": p.card.state(),
            } for p in isdr.profiles],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`state` to ``path`` atomically (``csim.card.write_atomically``), unless it
        is there already: nothing kept changed since the last save to that path."""
        from csim.card import _json_default, write_atomically

        if self._saved == str(path) and Path(path).exists():
            return
        # one line: with indent=1 the JSON text of two ISD-Ps took 7 of the save's 10 ms
        write_atomically(path, json.dumps(self.state(), default=_json_default).encode())
        self._saved = str(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Euicc:
        """The eUICC written by :meth:`save`; ``ValueError`` saying what is wrong otherwise.

        Read as a card state is (:meth:`csim.card.Card.load`): only a regular file of at most
        :data:`~csim.card.MAX_STATE_BYTES` (a FIFO or a device never hangs the load)."""
        from csim.card import MAX_STATE_BYTES
        from csim.yamlsrc import read_bytes

        try:
            doc = json.loads(read_bytes(path, MAX_STATE_BYTES).decode())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a saved eUICC ({exc})") from exc
        euicc = cls.from_state(doc, str(path))
        euicc._saved = str(path)
        return euicc

    @classmethod
    def from_state(cls, doc: Any, where: str = "<state>") -> Euicc:
        """Rebuild an eUICC from its :meth:`state`."""
        from csim.card import Card

        if not isinstance(doc, dict) or [doc.get("format"), doc.get("version")] != [STATE_FORMAT,
                                                                                    STATE_VERSION]:
            raise ValueError(f"{where}: not a saved eUICC (format/version)")
        try:
            c = doc["credentials"]
            key = serialization.load_pem_private_key(c["key"].encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError("the eUICC key is not an EC key")
            certs = [x509.load_pem_x509_certificate(c[name].encode())
                     for name in ("euicc_cert", "eum_cert", "ci_cert")]
            if verify_chain(*certs) != c["eid"]:
                raise ValueError(f"the eUICC certificate is not that of EID {c['eid']}")
            credentials = EuiccCredentials(c["eid"], c["curve"], key, *certs)
            profiles = [IsdP(
                aid=bytes.fromhex(p["aid"]), card=Card.from_state(p["card"], f"{where}: ISD-P {p['aid']}",
                                                                  profile=p["source"]),
                iccid=p["iccid"], service_provider=p["service_provider"], name=p["name"],
                profile_class=p["class"], nickname=p["nickname"], ppr=frozenset(p["ppr"]),
                notification_address=p["notification_address"], enabled=p["enabled"], source=p["source"],
                icon_type=p["icon_type"], icon=bytes.fromhex(p["icon"]) if p["icon"] is not None else None,
            ) for p in doc["profiles"]]
            euicc = cls(credentials, profiles, atr=bytes.fromhex(doc["atr"]),
                        default_dp_address=doc["default_dp_address"])
            isdr = euicc.isdr
            isdr.root_ds_address = doc["root_ds_address"]
            isdr.next_seq = doc["next_seq"]
            isdr.notifications = [Notification(
                n["seq"], n["event"], n["address"], n["iccid"],
                SPEC.decode("ProfileInstallationResult", bytes.fromhex(n["result"])) if n["result"] else None,
            ) for n in doc["notifications"]]
        except (KeyError, TypeError, AttributeError, asn1tools.Error) as exc:
            raise ValueError(f"{where}: not a saved eUICC (missing or malformed {exc})") from exc
        except ValueError as exc:
            if str(exc).startswith(where):
                raise
            raise ValueError(f"{where}: not a saved eUICC ({exc})") from exc
        if sum(p.enabled for p in profiles) > 1:
            raise ValueError(f"{where}: more than one profile enabled")
        return euicc


DEFAULT_ATR = bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5")

__all__ = ["Euicc", "isdp_aid", "DEFAULT_ATR", "OPERATIONAL"]
