"""The LPA in the terminal (GSMA SGP.22 §3.1, §5.7): activation codes (§4.1), profile download
between the SM-DP+ (ES9+) and the eUICC (ES10b), local profile management (ES10c), notifications.

The eUICC is reached through the modem's own link (:class:`harness.terminal.link.UiccLink`): a
logical channel with the ISD-R selected on it, then each ES10 function as STORE DATA blocks
(GlobalPlatform §11.11, SGP.22 §5.7.2), so the same LPA works on the in-process eUICC, on a served
one and on a physical one in a reader. The SM-DP+ is whatever answers ES9+ at its address: a
callable ``(function, body) -> answer`` (:meth:`harness.network.smdp.Smdp.handle` in process,
:class:`harness.network.smdp.http.Es9Client` over HTTPS); a refusal raises
:class:`~harness.network.smdp.status.Es9Error`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from csim.encoding import decode_iccid, encode_iccid, swap_bcd
from csim.euicc.bpp import children
from csim.euicc.bsp import tlv
from csim.euicc.isdr import ISDR_AID, SPEC
from harness.network.smdp.status import Es9Error

Es9 = Callable[[str, Mapping[str, Any]], "dict[str, Any] | None"]

# SGP.22 §4.1.1: the Matching ID's characters; §4.1: the SM-DP+ address is an FQDN (a port is
# accepted for a server on loopback)
_MATCHING_ID = re.compile(r"[0-9A-Z-]*")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
BLOCK = 120  # STORE DATA block, as lpac sends them (SGP.22 §5.7.2 allows up to 255)
# EnableProfile / DisableProfile / DeleteProfile results (SGP.22 §5.7.16-§5.7.18)
PROFILE_RESULTS = {
    0: "ok",
    1: "iccidOrAidNotFound",
    2: "profileNotInDisabledState",
    3: "disallowedByPolicy",
    4: "wrongProfileReenabling",
    5: "catBusy",
    127: "undefinedError",
}
DISABLE_RESULTS = {**PROFILE_RESULTS, 2: "profileNotInEnabledState"}
# ErrorResult.errorReason of a ProfileInstallationResult (SGP.22 §5.7.6)
INSTALL_ERRORS = {
    1: "incorrectInputValues",
    2: "invalidSignature",
    3: "invalidTransactionId",
    4: "unsupportedCrtValues",
    5: "unsupportedRemoteOperationType",
    6: "unsupportedProfileClass",
    7: "scp03tStructureError",
    8: "scp03tSecurityError",
    9: "iccidAlreadyExistsOnEuicc",
    10: "insufficientMemoryForProfile",
    11: "installInterrupted",
    12: "peProcessingError",
    13: "dataMismatch",
    14: "testProfileInstallFailedDueToInvalidNaaKey",
    15: "pprNotAllowed",
    127: "unknownError",
}


class ActivationCodeError(ValueError):
    """A malformed activation code: which part, and what is wrong with it."""


class LpaError(RuntimeError):
    """An LPA operation that cannot go on (the eUICC refused, or a code is missing)."""


@dataclass(frozen=True)
class ActivationCode:
    """An activation code, SGP.22 §4.1: ``1$SM-DP+ address$Matching ID[$SM-DP+ OID[$1]]``,
    ``LPA:`` in front when read from a QR code."""

    address: str
    matching_id: str
    oid: str | None = None
    cc_required: bool = False

    @classmethod
    def parse(cls, text: str) -> ActivationCode:
        """The fields of ``text``; :class:`ActivationCodeError` names the malformed part."""
        body = text.strip()
        if body.startswith("LPA:"):
            body = body[4:]
        parts = body.split("$")
        if len(parts) < 3:
            raise ActivationCodeError(
                f"activation code {text!r}: {len(parts)} field(s), at least 3 "
                "(format $ SM-DP+ address $ matching ID)"
            )
        if len(parts) > 5:
            raise ActivationCodeError(f"activation code {text!r}: {len(parts)} fields, at most 5")
        fmt, address, matching = parts[:3]
        oid = parts[3] if len(parts) > 3 else ""
        flag = parts[4] if len(parts) > 4 else ""
        if fmt != "1":
            raise ActivationCodeError(f"AC_Format {fmt!r}: only format 1 is defined")
        host, _, port = address.partition(":")
        if not host or len(host) > 253 or not all(_LABEL.fullmatch(p) for p in host.split(".")):
            raise ActivationCodeError(f"SM-DP+ address {address!r}: not a fully qualified domain name")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ActivationCodeError(f"SM-DP+ address {address!r}: port {port!r} is not 1-65535")
        if not _MATCHING_ID.fullmatch(matching):
            raise ActivationCodeError(f"matching ID {matching!r}: only 0-9, A-Z and '-'")
        if oid and not _OID.fullmatch(oid):
            raise ActivationCodeError(f"SM-DP+ OID {oid!r}: not a dotted object identifier")
        if flag not in ("", "1"):
            raise ActivationCodeError(f"confirmation code required flag {flag!r}: '1' or empty")
        return cls(address, matching, oid or None, flag == "1")


@dataclass
class DownloadResult:
    """What a download came to: the installed profile, or the eUICC's error."""

    iccid: str | None
    isdp_aid: str | None = None
    error: str | None = None
    bpp_command: int | None = None


class Es10:
    """ES10 functions over the terminal's link: a logical channel to the ISD-R (SGP.22 §5.7.2)."""

    def __init__(self, link: Any) -> None:
        self.link = link
        self.channel: int | None = None

    def _open(self) -> int:
        data, sw = self.link.tx(bytes.fromhex("0070000001"))
        if sw != 0x9000 or not data:
            raise LpaError(f"MANAGE CHANNEL open: SW {sw:04X}")
        channel = data[0]
        _, sw = self.link.tx(bytes([channel, 0xA4, 0x04, 0x00, len(ISDR_AID)]) + ISDR_AID + b"\x00")
        if sw != 0x9000:
            self.link.tx(bytes([0x00, 0x70, 0x80, channel]))
            raise LpaError(f"SELECT ISD-R: SW {sw:04X} (no eUICC in the terminal)")
        self.channel = channel
        return channel

    def call(self, request: bytes) -> bytes:
        """One ES10 request (a whole BER-TLV) as STORE DATA blocks; the response TLV."""
        channel = self.channel if self.channel is not None else self._open()
        blocks = [request[i : i + BLOCK] for i in range(0, len(request), BLOCK)] or [b""]
        data, sw = b"", 0
        for n, chunk in enumerate(blocks):
            last = n == len(blocks) - 1
            apdu = bytes([0x80 | channel, 0xE2, 0x91 if last else 0x11, n, len(chunk)]) + chunk
            data, sw = self.link.tx(apdu + (b"\x00" if last else b""))
            if sw != 0x9000:
                raise LpaError(f"STORE DATA block {n} of {request[:2].hex().upper()}: SW {sw:04X}")
        return data

    def close(self) -> None:
        if self.channel is not None:
            self.link.tx(bytes([0x00, 0x70, 0x80, self.channel]))
            self.channel = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def segments(bpp: bytes) -> list[bytes]:
    """The bound profile package as the LPA sends it (SGP.22 §2.5.5): BF36 header with
    InitialiseSecureChannel, ConfigureISDP, the A1 header then each '88', ReplaceSessionKeys,
    the A3 header then each '86'."""
    parts = children(bpp)
    inner = sum(len(p) for p in parts)
    out = [bpp[: len(bpp) - inner] + parts[0]]
    for part in parts[1:]:
        if part[0] in (0xA1, 0xA3):
            items = children(part)
            out.append(part[: len(part) - sum(len(i) for i in items)])
            out.extend(items)
        else:
            out.append(part)
    return out


class Lpa:
    """The LPA of a terminal (see the module docstring). ``servers``: the ES9+ endpoint of each
    SM-DP+ address; ``tac``: the terminal's TAC, sent in DeviceInfo (SGP.22 §5.7.13) as the IMEI's
    first four bytes in the BCD of TS 24.008 §10.5.1.4 (as lpac sends it from ``-i IMEI``)."""

    def __init__(self, modem: Any, servers: Mapping[str, Es9], *, tac: str, log: Any = None) -> None:
        self.modem = modem
        self.servers = servers
        self.tac = tac
        self.log = log if log is not None else getattr(modem, "log", None)
        self.last_status: Es9Error | None = None

    def _event(self, kind: str, **data: Any) -> None:
        if self.log is not None:
            self.log.record(kind, **data)

    def _es10(self) -> Es10:
        return Es10(self.modem.link)

    def _call(self, request: bytes) -> bytes:
        """One ES10 request on a channel to the ISD-R opened for it and closed after."""
        es10 = self._es10()
        try:
            return es10.call(request)
        finally:
            es10.close()

    def _server(self, address: str) -> Es9:
        server = self.servers.get(address)
        if server is None:
            raise LpaError(f"no SM-DP+ answers at {address}")
        return server

    # --- download (SGP.22 §3.1.2-§3.1.3) ----------------------------------------------------

    def download(
        self, activation_code: str | ActivationCode, confirmation_code: str | None = None
    ) -> DownloadResult:
        """Download and install the profile of ``activation_code``; the install notification goes
        to the SM-DP+ at once. Raises :class:`Es9Error` when the SM-DP+ refuses (kept in
        :attr:`last_status`), :class:`LpaError` when the eUICC or the user stops it."""
        ac = (
            activation_code
            if isinstance(activation_code, ActivationCode)
            else ActivationCode.parse(activation_code)
        )
        es10 = self._es10()
        try:
            return self._download(es10, ac, confirmation_code)
        except Es9Error as exc:
            self.last_status = exc
            self._event("lpa_refused", address=ac.address, matching_id=ac.matching_id, code=str(exc.status))
            raise
        finally:
            es10.close()

    def _download(self, es10: Es10, ac: ActivationCode, cc: str | None) -> DownloadResult:
        server = self._server(ac.address)
        self.last_status = None
        info1 = es10.call(bytes.fromhex("BF2000"))
        challenge = SPEC.decode("GetEuiccChallengeResponse", es10.call(bytes.fromhex("BF2E00")))[
            "euiccChallenge"
        ]
        init = (
            server(
                "initiateAuthentication",
                {"euiccChallenge": _b64(challenge), "euiccInfo1": _b64(info1), "smdpAddress": ac.address},
            )
            or {}
        )
        tid = str(init["transactionId"])
        ctx = SPEC.encode(
            "CtxParams1",
            (
                "ctxParamsForCommonAuthentication",
                {
                    "matchingId": ac.matching_id,
                    "deviceInfo": {
                        "tac": swap_bcd(self.tac),
                        "deviceCapabilities": {
                            "gsmSupportedRelease": bytes([15, 0, 0]),
                            "utranSupportedRelease": bytes([15, 0, 0]),
                            "eutranSupportedRelease": bytes([15, 0, 0]),
                        },
                    },
                },
            ),
        )
        request = tlv(
            b"\xbf\x38",
            b"".join(
                base64.b64decode(init[k])
                for k in ("serverSigned1", "serverSignature1", "euiccCiPKIdToBeUsed", "serverCertificate")
            )
            + ctx,
        )
        answer = es10.call(request)
        kind, value = SPEC.decode("AuthenticateServerResponse", answer)
        if kind != "authenticateResponseOk":
            raise LpaError(
                f"AuthenticateServer refused by the eUICC: authenticateErrorCode "
                f"{value['authenticateErrorCode']}"
            )
        client = (
            server("authenticateClient", {"transactionId": tid, "authenticateServerResponse": _b64(answer)})
            or {}
        )
        signed2 = base64.b64decode(client["smdpSigned2"])
        cc_required = SPEC.decode("SmdpSigned2", signed2)["ccRequiredFlag"]
        hash_cc = b""
        if cc_required:
            if cc is None:
                self._cancel(es10, server, tid, reason=1)  # postponed: the user has no code
                raise LpaError("the SM-DP+ asks for the confirmation code and none was entered")
            hash_cc = tlv(
                b"\x04", hashlib.sha256(hashlib.sha256(cc.encode()).digest() + bytes.fromhex(tid)).digest()
            )
        prepare = tlv(
            b"\xbf\x21",
            signed2
            + base64.b64decode(client["smdpSignature2"])
            + hash_cc
            + base64.b64decode(client["smdpCertificate"]),
        )
        prepared = es10.call(prepare)
        kind, value = SPEC.decode("PrepareDownloadResponse", prepared)
        if kind != "downloadResponseOk":
            raise LpaError(
                f"PrepareDownload refused by the eUICC: downloadErrorCode {value['downloadErrorCode']}"
            )
        bound = (
            server(
                "getBoundProfilePackage", {"transactionId": tid, "prepareDownloadResponse": _b64(prepared)}
            )
            or {}
        )
        result = b""
        for seg in segments(base64.b64decode(bound["boundProfilePackage"])):
            result = es10.call(seg)
            if result:
                break
        if not result:
            raise LpaError("LoadBoundProfilePackage: the eUICC gave no ProfileInstallationResult")
        pir = SPEC.decode("ProfileInstallationResult", result)
        data = pir["profileInstallationResultData"]
        outcome, detail = data["finalResult"]
        meta = data["notificationMetadata"]
        server("handleNotification", {"pendingNotification": _b64(result)})
        es10.call(SPEC.encode("NotificationSentRequest", {"seqNumber": meta["seqNumber"]}))
        iccid = decode_iccid(meta["iccid"]) if "iccid" in meta else None
        if outcome == "successResult":
            out = DownloadResult(iccid, detail["aid"].hex().upper())
        else:
            out = DownloadResult(
                iccid,
                error=INSTALL_ERRORS.get(detail["errorReason"], str(detail["errorReason"])),
                bpp_command=detail["bppCommandId"],
            )
        self._event(
            "lpa_download",
            address=ac.address,
            matching_id=ac.matching_id,
            iccid=out.iccid,
            installed=out.error is None,
            error=out.error,
        )
        return out

    def _cancel(self, es10: Es10, server: Es9, tid: str, reason: int) -> None:
        """ES10b.CancelSession then ES9+.CancelSession (SGP.22 §3.1.3, §5.7.14b, §5.6.5)."""
        answer = es10.call(
            SPEC.encode("CancelSessionRequest", {"transactionId": bytes.fromhex(tid), "reason": reason})
        )
        kind, _ = SPEC.decode("CancelSessionResponse", answer)
        if kind == "cancelSessionResponseOk":
            server("cancelSession", {"transactionId": tid, "cancelSessionResponse": _b64(answer)})

    # --- local profile management (ES10c) ------------------------------------------------------

    def profiles(self) -> list[dict[str, Any]]:
        """GetProfilesInfo (SGP.22 §5.7.15): ICCID, state, names and class of each profile."""
        kind, value = SPEC.decode("ProfileInfoListResponse", self._call(bytes.fromhex("BF2D00")))
        if kind != "profileInfoListOk":
            raise LpaError(f"GetProfilesInfo: error {value}")
        return [
            {
                "iccid": decode_iccid(p["iccid"]),
                "state": "enabled" if p.get("profileState") else "disabled",
                "name": p.get("profileName"),
                "provider": p.get("serviceProviderName"),
                "nickname": p.get("profileNickname"),
            }
            for p in value
        ]

    def eid(self) -> str:
        data = SPEC.decode("GetEuiccDataResponse", self._call(bytes.fromhex("BF3E035C015A")))
        return data["eidValue"].hex().upper()

    def _manage(self, request_type: str, response_type: str, value: Any, results: Mapping[int, str]) -> str:
        answer = SPEC.decode(response_type, self._call(SPEC.encode(request_type, value)))
        return results.get(next(iter(answer.values())), "undefinedError")

    def enable(self, iccid: str, refresh: bool = True) -> str:
        """EnableProfile (SGP.22 §5.7.16); with ``refresh`` the modem re-attaches on the new profile."""
        return self._switch("EnableProfile", iccid, refresh, PROFILE_RESULTS)

    def disable(self, iccid: str, refresh: bool = True) -> str:
        """DisableProfile (SGP.22 §5.7.17)."""
        return self._switch("DisableProfile", iccid, refresh, DISABLE_RESULTS)

    def _switch(self, function: str, iccid: str, refresh: bool, results: Mapping[int, str]) -> str:
        """Enable or disable. When the terminal runs a toolkit session with the card, refreshFlag is
        set: the eUICC raises REFRESH (UICC reset) and the modem, polling the card, carries it out
        (SGP.22 §3.2.1, TS 102 223 §6.4.7). Without one (no usable profile at power-on, so no
        TERMINAL PROFILE went out) the flag is cleared and the terminal resets the card itself."""
        toolkit = getattr(self.modem, "sim_state", None) == "ready"
        result = self._manage(
            f"{function}Request",
            f"{function}Response",
            {"profileIdentifier": ("iccid", encode_iccid(iccid)), "refreshFlag": refresh and toolkit},
            results,
        )
        self._event("lpa_enable" if function == "EnableProfile" else "lpa_disable",
                    iccid=iccid, result=result)
        if result == "ok" and refresh and getattr(self.modem, "powered", False):
            if toolkit:
                self.modem.poll()
            else:
                self.modem.restart()
        return result

    def delete(self, iccid: str) -> str:
        """DeleteProfile (SGP.22 §5.7.18); the delete notification waits for :meth:`send_notifications`."""
        result = self._manage(
            "DeleteProfileRequest", "DeleteProfileResponse", ("iccid", encode_iccid(iccid)), PROFILE_RESULTS
        )
        self._event("lpa_delete", iccid=iccid, result=result)
        return result

    # --- notifications (SGP.22 §3.5) -----------------------------------------------------------

    def send_notifications(self) -> int:
        """Each pending notification, retrieved signed from the eUICC, to its SM-DP+ (ES9+
        HandleNotification), then removed from the eUICC's list; the number sent."""
        es10 = self._es10()
        sent = 0
        try:
            kind, listed = SPEC.decode("ListNotificationResponse", es10.call(bytes.fromhex("BF2800")))
            for meta in listed if kind == "notificationMetadataList" else []:
                server = self.servers.get(meta["notificationAddress"])
                if server is None:
                    continue
                raw = es10.call(
                    SPEC.encode(
                        "RetrieveNotificationsListRequest",
                        {"searchCriteria": ("seqNumber", meta["seqNumber"])},
                    )
                )
                kind, _ = SPEC.decode("RetrieveNotificationsListResponse", raw)
                if kind != "notificationList":
                    continue
                for pending in children(children(raw)[0]):
                    server("handleNotification", {"pendingNotification": _b64(pending)})
                es10.call(SPEC.encode("NotificationSentRequest", {"seqNumber": meta["seqNumber"]}))
                sent += 1
        finally:
            es10.close()
        self._event("lpa_notifications_sent", count=sent)
        return sent


__all__ = ["ActivationCode", "ActivationCodeError", "DownloadResult", "Es10", "Lpa", "LpaError", "segments"]
