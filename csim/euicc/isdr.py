"""The ISD-R: the eUICC's Issuer Security Domain Root and its local profile management
(GSMA SGP.22 §5.7, ES10a/ES10b/ES10c), answering one BER-TLV request at a time.

The profiles live in ISD-Ps (:class:`IsdP`), each with a full csim :class:`~csim.card.Card`;
exactly one or none is enabled (SGP.22 §2.4.4). Policy rules PPR1 (no disabling) and PPR2 (no
deletion) are those of SGP.22 §2.9.2.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asn1tools
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from csim import stk
from csim.encoding import decode_iccid, encode_iccid
from csim.euicc import bpp
from csim.euicc.bpp import BoundProfilePackageLoad, BppFailure, Loaded, children
from csim.euicc.pki import (
    CURVES,
    ROLE_DP_AUTH,
    ROLE_DP_PB,
    EuiccCredentials,
    dp_oid,
    one_time_key,
    policy,
    verify_signature,
)
from csim.toolkit import Applet

SPEC = asn1tools.compile_files(str(Path(__file__).with_name("sgp22.asn")), "der")

ISDR_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
SVN = bytes([2, 2, 2])  # SGP.22 v2.2.2

# EUICCResponse (TCA eUICC Profile Package §8.3): one PEStatus 'ok' for the whole package
SIMA_RESPONSE_OK = bytes.fromhex("3007A0053003800100")
# what may start a STORE DATA segment of a bound profile package after the first (SGP.22 §2.5.5)
BPP_SEGMENT_TAGS = {"a0", "a1", "a2", "a3", "86", "87", "88"}
# ProfileClass, SGP.22 §2.4.4.1
TEST, PROVISIONING, OPERATIONAL = 0, 1, 2
PROFILE_CLASSES = {"test": TEST, "provisioning": PROVISIONING, "operational": OPERATIONAL}
# NotificationEvent bits, SGP.22 §5.7.9
INSTALL, ENABLE, DISABLE, DELETE = 0, 1, 2, 3
# ProfileInfo fields by their tag (SGP.22 §5.7.15 tagList)
PROFILE_INFO_TAGS = {
    "5a": "iccid", "4f": "isdpAid", "9f70": "profileState", "90": "profileNickname",
    "91": "serviceProviderName", "92": "profileName", "93": "iconType", "94": "icon", "95": "profileClass",
    "b6": "notificationConfigurationInfo", "b7": "profileOwner", "b8": "dpProprietaryData",
    "99": "profilePolicyRules",
}
DEFAULT_PROFILE_INFO = ("iccid", "isdpAid", "profileState", "profileNickname", "serviceProviderName",
                        "profileName", "iconType", "icon", "profileClass")


class Es10Error(Exception):
    """A request the ISD-R cannot parse: answered with a status word, not a response TLV."""

    def __init__(self, sw: int, reason: str) -> None:
        super().__init__(reason)
        self.sw = sw


def _bits(*numbers: int) -> tuple[bytes, int]:
    """A named-bit BIT STRING with bits ``numbers`` set (bit 0 = the first, most significant bit),
    trailing zero bits removed as DER wants (X.690 §11.2.2)."""
    count = max(numbers) + 1
    data = bytearray((count + 7) // 8)
    for n in numbers:
        data[n // 8] |= 0x80 >> (n % 8)
    return bytes(data), count


def _bit_set(bits: tuple[bytes, int], n: int) -> bool:
    data, length = bits
    return n < length and n // 8 < len(data) and bool(data[n // 8] & (0x80 >> (n % 8)))


def isdp_aid(index: int) -> bytes:
    """The AID of the ``index``-th ISD-P (SGP.02 §2.2.3 numbering, as eUICCs allot them)."""
    return bytes.fromhex("A0000005591010FFFFFFFF890000") + bytes([0x10 + index, 0x00])


@dataclasses.dataclass
class IsdP:
    """One ISD-P: a profile and its metadata (SGP.22 §2.4.4, StoreMetadata §5.5.3)."""

    aid: bytes
    card: Any
    iccid: str
    service_provider: str
    name: str
    profile_class: int = OPERATIONAL
    nickname: str | None = None
    ppr: frozenset[int] = frozenset()  # 1: PPR1, 2: PPR2
    notification_address: str | None = None
    enabled: bool = False
    source: Any = None  # the card profile (a mapping) of a card made from a package, kept with the state
    icon_type: int | None = None  # IconType, SGP.22 §2.4a.1.2: 0 JPG, 1 PNG
    icon: bytes | None = None

    def info(self, fields: tuple[str, ...]) -> dict[str, Any]:
        """ProfileInfo (SGP.22 §5.7.15) restricted to ``fields``."""
        every: dict[str, Any] = {
            "iccid": encode_iccid(self.iccid), "isdpAid": self.aid, "profileState": int(self.enabled),
            "profileNickname": self.nickname, "serviceProviderName": self.service_provider,
            "profileName": self.name, "profileClass": self.profile_class,
            "iconType": self.icon_type, "icon": self.icon,
            "profilePolicyRules": _bits(*self.ppr) if self.ppr else None,
            "notificationConfigurationInfo": [
                {"profileManagementOperation": _bits(ev), "notificationAddress": self.notification_address}
                for ev in (INSTALL, ENABLE, DISABLE, DELETE)] if self.notification_address else None,
        }
        return {k: every[k] for k in fields if every.get(k) is not None}


@dataclasses.dataclass
class Session:
    """What the eUICC keeps of a profile download session (SGP.22 §3.1.3, §3.1.2)."""

    transaction_id: bytes
    server_address: str
    euicc_signature1: bytes
    dp_oid: str
    otsk: ec.EllipticCurvePrivateKey | None = None
    smdp_signature2: bytes = b""
    smdp_otpk: bytes = b""
    dp_pb: x509.Certificate | None = None
    load: BoundProfilePackageLoad | None = None


@dataclasses.dataclass
class Notification:
    """A pending notification (SGP.22 §5.7.9 NotificationMetadata) and what it is signed with."""

    seq: int
    event: int
    address: str
    iccid: str
    result: dict[str, Any] | None = None  # the signed ProfileInstallationResult of an install

    def metadata(self) -> dict[str, Any]:
        value = {"seqNumber": self.seq, "profileManagementOperation": _bits(self.event),
                 "notificationAddress": self.address}
        if self.iccid:  # a failed installation has no profile to name
            value["iccid"] = encode_iccid(self.iccid)
        return value


class IsdR:
    """ES10a/b/c over the eUICC's ISD-Ps, notifications and configured addresses."""

    def __init__(self, credentials: EuiccCredentials, profiles: list[IsdP] | None = None,
                 default_dp_address: str | None = None, root_ds_address: str = "lpa.ds.gsma.com") -> None:
        self.credentials = credentials
        self.profiles: list[IsdP] = list(profiles or [])
        self.notifications: list[Notification] = []
        self.next_seq = 1
        self.default_dp_address = default_dp_address
        self.root_ds_address = root_ds_address
        self.challenge: bytes | None = None
        self.session: Session | None = None
        self.entropy: Callable[[int], bytes] = os.urandom  # challenges and one-time keys
        self._request = b""
        self._handlers: dict[str, tuple[str, Callable[[Any], tuple[str, Any]]]] = {
            "bf20": ("GetEuiccInfo1Request", self.get_euicc_info1),
            "bf22": ("GetEuiccInfo2Request", self.get_euicc_info2),
            "bf3e": ("GetEuiccDataRequest", self.get_eid),
            "bf2e": ("GetEuiccChallengeRequest", self.get_euicc_challenge),
            "bf3c": ("EuiccConfiguredAddressesRequest", self.get_configured_addresses),
            "bf3f": ("SetDefaultDpAddressRequest", self.set_default_dp_address),
            "bf2d": ("ProfileInfoListRequest", self.list_profile_info),
            "bf31": ("EnableProfileRequest", self.enable_profile),
            "bf32": ("DisableProfileRequest", self.disable_profile),
            "bf33": ("DeleteProfileRequest", self.delete_profile),
            "bf29": ("SetNicknameRequest", self.set_nickname),
            "bf34": ("EuiccMemoryResetRequest", self.memory_reset),
            "bf28": ("ListNotificationRequest", self.list_notification),
            "bf2b": ("RetrieveNotificationsListRequest", self.retrieve_notifications),
            "bf30": ("NotificationSentRequest", self.remove_notification),
            "bf43": ("GetRatRequest", self.get_rat),
            "bf38": ("AuthenticateServerRequest", self.authenticate_server),
            "bf21": ("PrepareDownloadRequest", self.prepare_download),
            "bf41": ("CancelSessionRequest", self.cancel_session),
        }

    # --- dispatch -------------------------------------------------------------------------

    def handle(self, request: bytes) -> bytes:
        """Answer one ES10 request (a whole BER-TLV, SGP.22 §5.7.2) with its response TLV; a
        segment of a bound profile package gets nothing until the last one (SGP.22 §5.7.6)."""
        tag = request[:2].hex() if request[:1] == b"\xbf" else request[:1].hex()
        if tag == "bf36" or (tag in BPP_SEGMENT_TAGS and self.session is not None
                             and self.session.load is not None):
            return self.load_bound_profile_package(request)
        if tag not in self._handlers:
            raise Es10Error(0x6A88, f"no ES10 function with tag {tag.upper()}")
        type_name, handler = self._handlers[tag]
        try:
            decoded = SPEC.decode(type_name, request)
        except (asn1tools.DecodeError, ValueError) as exc:
            raise Es10Error(0x6A80, f"{type_name}: {exc}") from exc
        self._request = request
        response_type, value = handler(decoded)
        return SPEC.encode(response_type, value)

    # --- profiles -----------------------------------------------------------------------

    @property
    def enabled(self) -> IsdP | None:
        return next((p for p in self.profiles if p.enabled), None)

    def persistent(self) -> tuple[Any, ...]:
        """What the eUICC keeps across a power cycle, in short: profiles (ISD-P, state, nickname),
        notifications and their counter, default SM-DP+ address. Equal before and after an ES10
        command that changed none of it (the download session is not kept)."""
        return (tuple((p.aid, p.enabled, p.nickname) for p in self.profiles), self.next_seq,
                tuple(n.seq for n in self.notifications), self.default_dp_address)

    def _find(self, ident: tuple[str, bytes]) -> IsdP | None:
        kind, value = ident
        if kind == "iccid":
            iccid = decode_iccid(value)
            return next((p for p in self.profiles if p.iccid == iccid), None)
        return next((p for p in self.profiles if p.aid == value), None)

    def notify(self, profile: IsdP, event: int) -> None:
        """Queue a notification when the profile asks for one (SGP.22 §2.4.6, §3.5)."""
        if profile.notification_address:
            self.notifications.append(Notification(self.next_seq, event, profile.notification_address,
                                                   profile.iccid))
            self.next_seq += 1

    def _enable(self, target: IsdP, refresh: bool) -> None:
        """Switch to ``target``; with ``refresh``, its card raises REFRESH 'UICC reset' (TS 102 223
        §6.4.7) so the terminal restarts on the new profile (SGP.22 §3.2.1). The terminal's
        TERMINAL PROFILE belongs to the eUICC, not to a profile: the new card gets it too."""
        current = self.enabled
        old_toolkit = getattr(current.card, "toolkit", None) if current is not None else None
        terminal_profile = getattr(getattr(old_toolkit, "profile", None), "raw", None)
        if current is not None:
            current.enabled = False
            self.notify(current, DISABLE)
        target.enabled = True
        target.card.reset()
        self.notify(target, ENABLE)
        toolkit = getattr(target.card, "toolkit", None)
        if terminal_profile:
            target.card.transmit(bytes([0x80, 0x10, 0x00, 0x00, len(terminal_profile)]) + terminal_profile)
        if refresh and toolkit is not None:
            sender = next((a for a in toolkit.applets if a.name == IsdRSender.name), None)
            if sender is None:
                sender = IsdRSender()
                toolkit.install(sender)
            toolkit.queue(sender, stk.refresh(stk.Refresh.UICC_RESET))

    # --- ES10c --------------------------------------------------------------------------

    def list_profile_info(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10c.GetProfilesInfo, SGP.22 §5.7.15."""
        fields = DEFAULT_PROFILE_INFO
        if "tagList" in req:
            tags = _split_tags(req["tagList"])
            if tags is None or any(t not in PROFILE_INFO_TAGS for t in tags):
                return "ProfileInfoListResponse", ("profileInfoListError", 1)
            fields = tuple(PROFILE_INFO_TAGS[t] for t in tags)
        chosen = self.profiles
        if "searchCriteria" in req:
            kind, value = req["searchCriteria"]
            if kind == "profileClass":
                chosen = [p for p in self.profiles if p.profile_class == value]
            else:
                found = self._find((kind, value))
                chosen = [found] if found is not None else []
        return "ProfileInfoListResponse", ("profileInfoListOk", [p.info(fields) for p in chosen])

    def enable_profile(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10c.EnableProfile, SGP.22 §5.7.16."""
        target = self._find(req["profileIdentifier"])
        if target is None:
            result = 1
        elif target.enabled:
            result = 2
        elif (current := self.enabled) is not None and 1 in current.ppr:
            result = 3
        elif current is not None and _cat_busy(current.card):
            result = 5
        else:
            self._enable(target, req["refreshFlag"])
            result = 0
        return "EnableProfileResponse", {"enableResult": result}

    def disable_profile(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10c.DisableProfile, SGP.22 §5.7.17."""
        target = self._find(req["profileIdentifier"])
        if target is None:
            result = 1
        elif not target.enabled:
            result = 2
        elif 1 in target.ppr:
            result = 3
        elif _cat_busy(target.card):
            result = 5
        else:
            target.enabled = False
            self.notify(target, DISABLE)
            result = 0
        return "DisableProfileResponse", {"disableResult": result}

    def delete_profile(self, req: tuple[str, bytes]) -> tuple[str, Any]:
        """ES10c.DeleteProfile, SGP.22 §5.7.18."""
        target = self._find(req)
        if target is None:
            result = 1
        elif target.enabled:
            result = 2
        elif 2 in target.ppr:
            result = 3
        else:
            self.profiles.remove(target)
            self.notify(target, DELETE)
            result = 0
        return "DeleteProfileResponse", {"deleteResult": result}

    def memory_reset(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10c.eUICCMemoryReset, SGP.22 §5.7.19: the three reset options; nothingToDelete when
        none of them found anything."""
        options = req["resetOptions"]
        doomed = [p for p in self.profiles
                  if (_bit_set(options, 0) and p.profile_class == OPERATIONAL)
                  or (_bit_set(options, 1) and p.profile_class == TEST)]
        for p in doomed:
            self.profiles.remove(p)
        done = bool(doomed)
        if _bit_set(options, 2) and self.default_dp_address is not None:
            self.default_dp_address = None
            done = True
        if doomed:
            self.notifications.clear()
        return "EuiccMemoryResetResponse", {"resetResult": 0 if done else 1}

    def get_eid(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10c.GetEID, SGP.22 §5.7.20 (tagList '5A')."""
        if req["tagList"] != b"\x5a":
            raise Es10Error(0x6A80, "GetEID: tagList must be '5A'")
        return "GetEuiccDataResponse", {"eidValue": bytes.fromhex(self.credentials.eid)}

    def set_nickname(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10c.SetNickname, SGP.22 §5.7.21 (at most 64 bytes of UTF-8)."""
        target = self._find(("iccid", req["iccid"]))
        nickname = req["profileNickname"]
        if target is None:
            result = 1
        elif len(nickname.encode()) > 64:
            result = 127
        else:
            target.nickname = nickname or None
            result = 0
        return "SetNicknameResponse", {"setNicknameResult": result}

    # --- ES10a --------------------------------------------------------------------------

    def get_configured_addresses(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10a.GetEuiccConfiguredAddresses, SGP.22 §5.7.3."""
        value: dict[str, Any] = {"rootDsAddress": self.root_ds_address}
        if self.default_dp_address:
            value["defaultDpAddress"] = self.default_dp_address
        return "EuiccConfiguredAddressesResponse", value

    def set_default_dp_address(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10a.SetDefaultDpAddress, SGP.22 §5.7.4 (an empty address removes it)."""
        self.default_dp_address = req["defaultDpAddress"] or None
        return "SetDefaultDpAddressResponse", {"setDefaultDpAddressResult": 0}

    # --- ES10b --------------------------------------------------------------------------

    def get_euicc_challenge(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10b.GetEUICCChallenge, SGP.22 §5.7.7: a fresh random challenge for the session."""
        self.challenge = self.entropy(16)
        return "GetEuiccChallengeResponse", {"euiccChallenge": self.challenge}

    def euicc_info1(self) -> dict[str, Any]:
        pkids = [self.credentials.ci_pkid]
        return {"svn": SVN, "euiccCiPKIdListForVerification": pkids, "euiccCiPKIdListForSigning": pkids}

    def get_euicc_info1(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10b.GetEUICCInfo (EUICCInfo1), SGP.22 §5.7.8."""
        return "EUICCInfo1", self.euicc_info1()

    def euicc_info2(self) -> dict[str, Any]:
        pkids = [self.credentials.ci_pkid]
        # ETSI TS 102 226 §8.2.1.7.2: installed applications, free non-volatile and volatile memory
        resource = bytes.fromhex("810100") + bytes.fromhex("8204") + (1 << 20).to_bytes(4, "big") \
            + bytes.fromhex("8304") + (32 << 10).to_bytes(4, "big")
        return {
            "profileVersion": bytes([2, 3, 1]), "svn": SVN, "euiccFirmwareVer": bytes([1, 0, 0]),
            "extCardResource": resource,
            # usimSupport, akaMilenage
            "uiccCapability": _bits(1, 4),
            "globalplatformVersion": bytes([2, 3, 0]),
            # additionalProfile, testProfileSupport
            "rspCapability": _bits(0, 3),
            "euiccCiPKIdListForVerification": pkids, "euiccCiPKIdListForSigning": pkids,
            "euiccCategory": 2, "ppVersion": bytes([1, 0, 0]), "sasAcreditationNumber": "SIMHARNESS-TEST",
        }

    def get_euicc_info2(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10b.GetEUICCInfo (EUICCInfo2), SGP.22 §5.7.8."""
        return "EUICCInfo2", self.euicc_info2()

    def get_rat(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10b.GetRAT, SGP.22 §5.7.22: no operator may set PPR1/PPR2 on this eUICC."""
        return "GetRatResponse", {"rat": []}

    # --- ES10b: common mutual authentication and download (SGP.22 §3.1.2, §3.1.3) -----------

    def _server_cert(self, der: bytes, role: x509.ObjectIdentifier) -> x509.Certificate | None:
        """An SM-DP+ certificate of ``role`` signed by the CI, on the eUICC's curve; else None."""
        try:
            cert = x509.load_der_x509_certificate(bytes(der))
            cert.verify_directly_issued_by(self.credentials.ci_cert)
        except (ValueError, TypeError, InvalidSignature):
            return None
        if policy(cert) != role.dotted_string:
            return None
        return cert

    def authenticate_server(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10b.AuthenticateServer, SGP.22 §5.7.13: check CERT.DPauth against the CI, the server
        signature and the eUICC challenge; answer euiccSigned1 signed by the eUICC."""
        signed1 = req["serverSigned1"]
        tid = signed1["transactionId"]

        def error(code: int) -> tuple[str, Any]:
            self.session = None
            return "AuthenticateServerResponse", ("authenticateResponseError",
                                                  {"transactionId": tid, "authenticateErrorCode": code})

        if req["euiccCiPKIdToBeUsed"] != self.credentials.ci_pkid:
            return error(7)  # ciPKUnknown
        cert = self._server_cert(req["serverCertificate"], ROLE_DP_AUTH)
        if cert is None:
            return error(1)  # invalidCertificate
        if cert.public_key().curve.name != CURVES[self.credentials.curve].name:
            return error(3)  # unsupportedCurve
        if not verify_signature(cert, req["serverSignature1"], children(self._request)[0]):
            return error(2)  # invalidSignature
        if self.challenge is None or signed1["euiccChallenge"] != self.challenge:
            return error(6)  # euiccChallengeMismatch
        self.challenge = None
        euicc_signed1 = {"transactionId": tid, "serverAddress": signed1["serverAddress"],
                         "serverChallenge": signed1["serverChallenge"], "euiccInfo2": self.euicc_info2(),
                         "ctxParams1": req["ctxParams1"]}
        signature = self.credentials.sign(SPEC.encode("EuiccSigned1", euicc_signed1))
        self.session = Session(tid, signed1["serverAddress"], signature, dp_oid(cert) or "")
        creds = self.credentials
        return "AuthenticateServerResponse", ("authenticateResponseOk", {
            "euiccSigned1": euicc_signed1, "euiccSignature1": signature,
            "euiccCertificate": _der(creds.euicc_cert), "eumCertificate": _der(creds.eum_cert)})

    def prepare_download(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10b.PrepareDownload, SGP.22 §5.7.14: check CERT.DPpb and the SM-DP+ signature over
        smdpSigned2 ‖ euiccSignature1; make the one-time key pair otPK/otSK.EUICC.ECKA and sign
        euiccSigned2 ‖ smdpSignature2. hashCc = SHA-256(SHA-256(CC) ‖ transactionId) is passed on."""
        signed2 = req["smdpSigned2"]
        tid = signed2["transactionId"]

        def error(code: int) -> tuple[str, Any]:
            return "PrepareDownloadResponse", ("downloadResponseError",
                                               {"transactionId": tid, "downloadErrorCode": code})

        session = self.session
        if session is None:
            return error(4)  # noSessionContext
        cert = self._server_cert(req["smdpCertificate"], ROLE_DP_PB)
        if cert is None:
            return error(1)
        signed = children(self._request)[0] + _tlv(b"\x5f\x37", session.euicc_signature1)
        if not verify_signature(cert, req["smdpSignature2"], signed):
            return error(2)
        if tid != session.transaction_id:
            return error(5)  # invalidTransactionId
        if signed2["ccRequiredFlag"] and "hashCc" not in req:
            return error(127)
        session.otsk = one_time_key(CURVES[self.credentials.curve], self.entropy)
        session.smdp_signature2 = req["smdpSignature2"]
        session.dp_pb = cert
        otpk = session.otsk.public_key().public_bytes(serialization.Encoding.X962,
                                                      serialization.PublicFormat.UncompressedPoint)
        session.load = BoundProfilePackageLoad(SPEC, transaction_id=tid, otsk=session.otsk, dp_pb=cert,
                                               eid=bytes.fromhex(self.credentials.eid), euicc_otpk=otpk)
        euicc_signed2: dict[str, Any] = {"transactionId": tid, "euiccOtpk": otpk}
        if "hashCc" in req:
            euicc_signed2["hashCc"] = req["hashCc"]
        data = SPEC.encode("EUICCSigned2", euicc_signed2) + _tlv(b"\x5f\x37", req["smdpSignature2"])
        return "PrepareDownloadResponse", ("downloadResponseOk", {
            "euiccSigned2": euicc_signed2, "euiccSignature2": self.credentials.sign(data)})

    def load_bound_profile_package(self, segment: bytes) -> bytes:
        """ES10b.LoadBoundProfilePackage, SGP.22 §5.7.6: one segment of the package; after the
        last '86', or at the first error, the signed ProfileInstallationResult (also queued as
        the install notification, §2.4.6)."""
        session = self.session
        if session is None or session.load is None:
            raise Es10Error(0x6985, "LoadBoundProfilePackage: no download session (PrepareDownload first)")
        try:
            loaded = session.load.feed(segment)
            if loaded is None:
                return b""
            isdp = self._install(loaded, session)
        except BppFailure as exc:
            self.session = None
            return self._installation_result(session, ("errorResult", {
                "bppCommandId": exc.command, "errorReason": exc.reason}), "")
        self.session = None
        return self._installation_result(session, ("successResult", {
            "aid": isdp.aid, "simaResponse": SIMA_RESPONSE_OK}),
            isdp.iccid)

    def _install(self, loaded: Loaded, session: Session) -> IsdP:
        """Create the ISD-P (SGP.22 §5.5.2), record its metadata (§5.5.3) and install the profile
        elements as a csim card (TCA eUICC Profile Package, :mod:`csim.euicc.saip`)."""
        from csim.euicc import saip

        meta = loaded.metadata
        iccid = decode_iccid(meta["iccid"])
        if any(p.iccid == iccid for p in self.profiles):
            raise BppFailure(bpp.STORE_METADATA, bpp.ICCID_ALREADY_EXISTS,
                             f"ICCID {iccid} is already on the eUICC")
        if meta.get("profilePolicyRules") is not None and any(
                _bit_set(meta["profilePolicyRules"], n) for n in (1, 2)):
            raise BppFailure(bpp.STORE_METADATA, bpp.PPR_NOT_ALLOWED,
                             "the rules authorisation table allows no PPR1/PPR2")
        try:
            package = saip.decode(loaded.profile_package)
            name = meta["profileName"] or iccid
            card, source = saip.card_and_profile(package, name, meta["serviceProviderName"])
        except saip.PackageError as exc:
            raise BppFailure(bpp.LOAD_PROFILE_ELEMENTS, bpp.PE_PROCESSING_ERROR, str(exc)) from exc
        used = {p.aid for p in self.profiles}
        index = next(i for i in range(len(self.profiles) + 1) if isdp_aid(i) not in used)
        address = next((n["notificationAddress"] for n in meta.get("notificationConfigurationInfo", ())),
                       None)
        isdp = IsdP(aid=isdp_aid(index), card=card, iccid=iccid,
                    service_provider=meta["serviceProviderName"], name=meta["profileName"],
                    profile_class=meta.get("profileClass", OPERATIONAL), notification_address=address,
                    source=source, icon_type=meta.get("iconType"), icon=meta.get("icon"))
        self.profiles.append(isdp)
        return isdp

    def _installation_result(self, session: Session, result: tuple[str, Any], iccid: str) -> bytes:
        """The ProfileInstallationResult, signed by the eUICC over profileInstallationResultData
        (SGP.22 §5.7.6), queued as the install notification to the session's SM-DP+."""
        note = Notification(self.next_seq, INSTALL, session.server_address, iccid)
        data: dict[str, Any] = {"transactionId": session.transaction_id,
                                "notificationMetadata": note.metadata(), "finalResult": result}
        if session.dp_oid:
            data["smdpOid"] = session.dp_oid
        signature = self.credentials.sign(SPEC.encode("ProfileInstallationResultData", data))
        note.result = {"profileInstallationResultData": data, "euiccSignPIR": signature}
        self.notifications.append(note)
        self.next_seq += 1
        return SPEC.encode("ProfileInstallationResult", note.result)

    def cancel_session(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10b.CancelSession, SGP.22 §5.7.14b: the signed cancellation for the SM-DP+."""
        session = self.session
        if session is None or req["transactionId"] != session.transaction_id:
            return "CancelSessionResponse", ("cancelSessionResponseError", 5)
        self.session = None
        signed = {"transactionId": session.transaction_id, "smdpOid": session.dp_oid, "reason": req["reason"]}
        signature = self.credentials.sign(SPEC.encode("EuiccCancelSessionSigned", signed))
        return "CancelSessionResponse", ("cancelSessionResponseOk", {
            "euiccCancelSessionSigned": signed, "euiccCancelSessionSignature": signature})

    def list_notification(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10b.ListNotification, SGP.22 §5.7.9 (optionally only one operation)."""
        chosen = self.notifications
        if "profileManagementOperation" in req:
            op = req["profileManagementOperation"]
            chosen = [n for n in chosen if _bit_set(op, n.event)]
        return "ListNotificationResponse", ("notificationMetadataList", [n.metadata() for n in chosen])

    def retrieve_notifications(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10b.RetrieveNotificationsList, SGP.22 §5.7.10: each signed by the eUICC."""
        chosen = self.notifications
        if "searchCriteria" in req:
            kind, value = req["searchCriteria"]
            if kind == "seqNumber":
                chosen = [n for n in chosen if n.seq == value]
            else:
                chosen = [n for n in chosen if _bit_set(value, n.event)]
        if not chosen:
            return "RetrieveNotificationsListResponse", ("notificationsListResultError", 1)
        return "RetrieveNotificationsListResponse", ("notificationList", [self._signed(n) for n in chosen])

    def _signed(self, n: Notification) -> tuple[str, Any]:
        if n.result is not None:
            return ("profileInstallationResult", n.result)
        tbs = SPEC.encode("NotificationMetadata", n.metadata())
        creds = self.credentials
        return ("otherSignedNotification", {
            "tbsOtherNotification": n.metadata(), "euiccNotificationSignature": creds.sign(tbs),
            "euiccCertificate": _der(creds.euicc_cert), "eumCertificate": _der(creds.eum_cert)})

    def remove_notification(self, req: dict[str, Any]) -> tuple[str, Any]:
        """ES10b.RemoveNotificationFromList, SGP.22 §5.7.11."""
        before = len(self.notifications)
        self.notifications = [n for n in self.notifications if n.seq != req["seqNumber"]]
        status = 0 if len(self.notifications) < before else 1
        return "NotificationSentResponse", {"deleteNotificationStatus": status}


class IsdRSender(Applet):
    """The ISD-R as the sender of its proactive commands on the enabled profile's card."""

    name = "isd-r"


def _cat_busy(card: Any) -> bool:
    """A proactive session is open on the card (SGP.22 §5.7.16 catBusy)."""
    toolkit = getattr(card, "toolkit", None)
    return toolkit is not None and bool(toolkit.busy)


def _der(cert: Any) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def _tlv(tag: bytes, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return tag + length + value


def _split_tags(data: bytes) -> list[str] | None:
    """The BER tags of a tag list (ISO/IEC 8825-1 §8.1.2), lower-case hex; None if malformed."""
    tags, i = [], 0
    while i < len(data):
        start = i
        if data[i] & 0x1F == 0x1F:
            i += 1
            while i < len(data) and data[i] & 0x80:
                i += 1
            if i >= len(data):
                return None
        i += 1
        tags.append(data[start:i].hex())
    return tags


__all__ = ["ISDR_AID", "IsdP", "IsdR", "Es10Error", "Notification", "SPEC", "PROFILE_CLASSES"]
