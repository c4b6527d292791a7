"""A simulated SM-DP+ (GSMA SGP.22 §3.1, §5.6): ES9+ initiateAuthentication, authenticateClient,
getBoundProfilePackage, handleNotification and cancelSession, with the request and answer fields of
the JSON binding (SGP.22 §6.5.2: ASN.1 values in base64, transactionId in hex), and the operator's
profile orders (ES2+.DownloadOrder and ConfirmOrder, §5.3.1-§5.3.2) under its rules
(:mod:`harness.network.smdp.inventory`).

Every refusal is an :class:`~harness.network.smdp.status.Es9Error` with its subject and reason
code. The operator's rules enforced here, from the AlphaLink mobile reference: an activation code
(matching ID) serves one download; the confirmation code is disabled after its tries; a deleted
profile is never downloaded again; the profile stays with the first eUICC that downloads it; only
the networks with a profile type get an order; a device of a refused class, or not on the
compatible list, gets no profile.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asn1tools
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from csim.encoding import decode_iccid, unswap_bcd
from csim.euicc.bpp import children
from csim.euicc.bsp import tlv
from csim.euicc.isdr import SPEC
from csim.euicc.pki import ROLE_DP_AUTH, ROLE_DP_PB, TestPki, raw_signature, verify_chain, verify_signature
from csim.euicc.saip import encode as encode_package
from csim.memo import once
from harness.network.smdp import status
from harness.network.smdp.binding import bind
from harness.network.smdp.inventory import (
    Codes,
    Device,
    ProfileOrder,
    SmdpRules,
    esim_profile,
    load_devices,
    load_rules,
)
from harness.network.smdp.status import Es9Error

# the ES9+ functions by their name in the JSON binding (SGP.22 §6.5.2): the method of each
_METHODS = {
    "initiateAuthentication": "initiate_authentication",
    "authenticateClient": "authenticate_client",
    "getBoundProfilePackage": "get_bound_profile_package",
    "handleNotification": "handle_notification",
    "cancelSession": "cancel_session",
}
ES9_FUNCTIONS = tuple(_METHODS)
# what a certificate chain that does not verify raises (:meth:`Smdp._euicc_chain`)
_CHAIN_ERRORS = (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound, IndexError)
# NotificationEvent bits (SGP.22 §5.7.9)
_EVENTS = {0: "install", 1: "enable", 2: "disable", 3: "delete"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(body: Mapping[str, Any], key: str) -> bytes:
    """A base64 field of a request (SGP.22 §6.5.2); missing or malformed: 1.3.1 / 2.2."""
    value = body.get(key)
    if not isinstance(value, str):
        raise Es9Error(*status.MISSING_ELEMENT, f"{key} missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Es9Error(*status.MISSING_ELEMENT, f"{key} is not base64") from None


def _decode(type_name: str, data: bytes) -> Any:
    try:
        return SPEC.decode(type_name, data)
    except (asn1tools.DecodeError, ValueError) as exc:
        raise Es9Error(*status.MISSING_ELEMENT, f"{type_name}: {exc}") from None


@dataclass
class RspSession:
    """One download session (SGP.22 §3.1.3), by transactionId."""

    transaction_id: bytes
    server_challenge: bytes
    order: ProfileOrder | None = None
    eid: str = ""
    euicc_cert: x509.Certificate | None = None
    smdp_signature2: bytes = b""
    delivered: bool = False
    ended: bool = False  # a function failed: the session waits for CancelSession only


@dataclass
class Smdp:
    """The SM-DP+ of one operator: its certificates (DPauth, DPpb from ``pki``), orders and sessions."""

    pki: TestPki
    rules: SmdpRules = field(default_factory=load_rules)
    devices: dict[str, Device] = field(default_factory=load_devices)
    log: Any = None
    seed: int = 0
    entropy: Callable[[int], bytes] = os.urandom  # transaction IDs, challenges, one-time keys

    def __post_init__(self) -> None:
        self.address = self.rules.address
        self.dp_auth_key, self.dp_auth = _dp_credentials(self.pki, ROLE_DP_AUTH, self.address)
        self.dp_pb_key, self.dp_pb = _dp_credentials(self.pki, ROLE_DP_PB, self.address)
        self.ci_ski = self.pki.ci_cert.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value.digest
        self.codes = Codes(self.rules, self.seed)
        self.orders: dict[str, ProfileOrder] = {}
        self.sessions: dict[str, RspSession] = {}
        self._by_tac = {d.tac: d for d in self.devices.values()}

    def _event(self, kind: str, **data: Any) -> None:
        if self.log is not None:
            self.log.record(kind, **data)

    # --- ES2+ (the operator's side) ----------------------------------------------------------

    def download_order(
        self, network: str, iccid: str, *, line: str | None = None, confirmation_code: bool = True
    ) -> ProfileOrder:
        """ES2+.DownloadOrder then ConfirmOrder with releaseFlag (SGP.22 §5.3.1-§5.3.2): a profile of
        the network's profile type with ``iccid``, a fresh matching ID and, when asked, a confirmation
        code. A network without a profile type: 8.2.5 / 3.9."""
        kind = self.rules.profile_types.get(network)
        if kind is None:
            err = Es9Error(
                *status.PROFILE_TYPE_UNKNOWN,
                f"no eSIM profile type for network {network!r} at this SM-DP+ "
                f"(only {', '.join(self.rules.profile_types) or 'none'})",
            )
            self._event("smdp_refused", function="downloadOrder", code=str(err.status))
            raise err
        order = ProfileOrder(
            matching_id=self.codes.matching_id(),
            iccid=iccid,
            network=network,
            line=line,
            profile=esim_profile(kind.template, iccid),
            confirmation_code=self.codes.confirmation_code() if confirmation_code else None,
            tries_left=self.rules.cc_tries,
        )
        self.orders[order.matching_id] = order
        self._event(
            "smdp_order",
            iccid=iccid,
            matching_id=order.matching_id,
            line=line,
            confirmation_code=order.confirmation_code is not None,
        )
        return order

    def activation_code(self, order: ProfileOrder) -> str:
        """The activation code of an order (SGP.22 §4.1), as the activation e-mail writes it."""
        return f"LPA:1${self.address}${order.matching_id}$${'1' if order.confirmation_code else ''}".rstrip(
            "$"
        )

    def cancel_order(self, order: ProfileOrder) -> None:
        """ES2+.CancelOrder (SGP.22 §5.3.4): the profile is no longer downloadable (the operator
        swapped the line to another SIM); an installed one stays where it is."""
        if order.state in ("released", "unavailable"):
            order.state = "cancelled"
        self._event("smdp_order_cancelled", iccid=order.iccid, state=order.state)

    def order_of_iccid(self, iccid: str) -> ProfileOrder | None:
        return next((o for o in self.orders.values() if o.iccid == iccid), None)

    # --- ES9+ dispatch ------------------------------------------------------------------------

    def handle(self, function: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """One ES9+ function by its name in the JSON binding (SGP.22 §6.5.2); its answer without the
        header, None for handleNotification (HTTP 204). Raises :class:`Es9Error`."""
        if function not in ES9_FUNCTIONS:
            raise Es9Error(*status.MISSING_ELEMENT, f"no ES9+ function {function!r}")
        try:
            try:
                return getattr(self, _METHODS[function])(body)
            except (
                KeyError,
                IndexError,
                TypeError,
                AttributeError,
            ) as exc:  # decodable, yet not what SGP.22 asks
                raise Es9Error(*status.MISSING_ELEMENT, f"{function}: malformed request ({exc!r})") from None
        except Es9Error as exc:
            self._event("smdp_refused", function=function, code=str(exc.status))
            tid = body.get("transactionId") if isinstance(body, Mapping) else None
            session = self.sessions.get(tid) if isinstance(tid, str) else None
            if function in ("authenticateClient", "getBoundProfilePackage") and session is not None:
                session.ended = True  # only CancelSession may follow (SGP.22 §3.1.3, §5.6.5)
            raise

    def _session(self, body: Mapping[str, Any], cancelling: bool = False) -> tuple[str, RspSession]:
        tid = body.get("transactionId")
        session = self.sessions.get(tid) if isinstance(tid, str) else None
        if session is None or (session.ended and not cancelling):
            raise Es9Error(*status.TRANSACTION_UNKNOWN, "the RSP session of this transactionId is unknown")
        return str(tid), session

    # --- ES9+ functions -------------------------------------------------------------------------

    def initiate_authentication(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """ES9+.InitiateAuthentication, SGP.22 §5.6.1: check the address and the eUICC's CI keys,
        open a session, sign serverSigned1 with the DPauth key."""
        challenge = unb64(body, "euiccChallenge")
        info1 = _decode("EUICCInfo1", unb64(body, "euiccInfo1"))
        if body.get("smdpAddress") != self.address:
            raise Es9Error(*status.SMDP_ADDRESS_REFUSED, f"this SM-DP+ is {self.address}")
        if self.ci_ski not in info1["euiccCiPKIdListForVerification"]:
            raise Es9Error(*status.CI_KEY_UNSUPPORTED, "none of the eUICC's CI keys is this SM-DP+'s")
        if len(challenge) != 16:
            raise Es9Error(*status.MISSING_ELEMENT, "euiccChallenge is 16 bytes")
        tid = uuid.UUID(bytes=self.entropy(16)).hex.upper()
        server_challenge = self.entropy(16)
        signed1 = SPEC.encode(
            "ServerSigned1",
            {
                "transactionId": bytes.fromhex(tid),
                "euiccChallenge": challenge,
                "serverAddress": self.address,
                "serverChallenge": server_challenge,
            },
        )
        signature = raw_signature(
            self.dp_auth_key.sign(signed1, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        )
        self.sessions[tid] = RspSession(bytes.fromhex(tid), server_challenge)
        return {
            "transactionId": tid,
            "serverSigned1": b64(signed1),
            "serverSignature1": b64(tlv(b"\x5f\x37", signature)),
            "euiccCiPKIdToBeUsed": b64(tlv(b"\x04", self.ci_ski)),
            "serverCertificate": b64(_der(self.dp_auth)),
        }

    def authenticate_client(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """ES9+.AuthenticateClient, SGP.22 §5.6.3: the eUICC's chain and signature, then the matching
        ID, the EID the profile is bound to and the device, under the operator's rules."""
        tid, session = self._session(body)
        raw = unb64(body, "authenticateServerResponse")
        kind, value = _decode("AuthenticateServerResponse", raw)
        if kind != "authenticateResponseOk":
            raise Es9Error(
                *status.EUICC_SIGNATURE,
                f"the eUICC refused the server: authenticateErrorCode {value['authenticateErrorCode']}",
            )
        signed1_raw = children(children(raw)[0])[0]
        try:
            euicc_cert, eid = self._euicc_chain(value)
        except _CHAIN_ERRORS as exc:
            raise Es9Error(
                *status.EUICC_CERTIFICATE, f"eUICC certificate chain: {exc or 'bad signature'}"
            ) from None
        if not verify_signature(euicc_cert, value["euiccSignature1"], signed1_raw):
            raise Es9Error(*status.EUICC_SIGNATURE, "euiccSignature1 does not verify")
        signed1 = value["euiccSigned1"]
        if signed1["transactionId"].hex().upper() != tid:
            raise Es9Error(*status.TRANSACTION_UNKNOWN, "the signed transactionId is not the session's")
        if signed1["serverChallenge"] != session.server_challenge:
            raise Es9Error(*status.EUICC_SIGNATURE, "serverChallenge is not the session's")
        ctx = signed1["ctxParams1"][1]
        order = self._eligible(ctx.get("matchingId"), eid, ctx["deviceInfo"])
        order.eid = eid  # "Impossible d'activer la eSIM sur un autre téléphone"
        session.order, session.eid, session.euicc_cert = order, eid, euicc_cert
        signed2 = SPEC.encode(
            "SmdpSigned2",
            {"transactionId": session.transaction_id, "ccRequiredFlag": order.confirmation_code is not None},
        )
        signature2 = raw_signature(
            self.dp_pb_key.sign(
                signed2 + tlv(b"\x5f\x37", value["euiccSignature1"]),
                ec.ECDSA(hashes.SHA256(), deterministic_signing=True),
            )
        )
        session.smdp_signature2 = signature2
        kind_ = self.rules.profile_types[order.network]
        metadata = SPEC.encode("StoreMetadataRequest", order.metadata(kind_, self.address))
        self._event("smdp_authenticated", eid=eid, matching_id=order.matching_id, iccid=order.iccid)
        return {
            "transactionId": tid,
            "profileMetadata": b64(metadata),
            "smdpSigned2": b64(signed2),
            "smdpSignature2": b64(tlv(b"\x5f\x37", signature2)),
            "smdpCertificate": b64(_der(self.dp_pb)),
        }

    def _euicc_chain(self, value: Mapping[str, Any]) -> tuple[x509.Certificate, str]:
        """The eUICC certificate of a signed answer and its EID, once CERT.EUICC and CERT.EUM
        verify up to this SM-DP+'s CI; :data:`_CHAIN_ERRORS` otherwise."""
        euicc_cert = x509.load_der_x509_certificate(_decoded_der(value["euiccCertificate"]))
        eum_cert = x509.load_der_x509_certificate(_decoded_der(value["eumCertificate"]))
        return euicc_cert, verify_chain(euicc_cert, eum_cert, self.pki.ci_cert)

    def _eligible(self, matching_id: str | None, eid: str, device_info: Mapping[str, Any]) -> ProfileOrder:
        """The order of ``matching_id`` if this eUICC, in this device, may download it now."""
        order = self.orders.get(matching_id or "")
        if order is None:
            raise Es9Error(*status.MATCHING_ID_REFUSED, f"unknown matching ID {matching_id!r}")
        if order.state == "deleted" and not self.rules.reinstall_after_delete:
            raise Es9Error(
                *status.MATCHING_ID_REFUSED,
                "this eSIM was deleted and cannot be installed again: order a new eSIM",
            )
        if order.state == "cancelled":
            raise Es9Error(
                *status.MATCHING_ID_REFUSED, "this eSIM was replaced by a SIM swap: its code no longer works"
            )
        if order.state in ("downloaded", "installed", "error"):
            raise Es9Error(
                *status.MATCHING_ID_REFUSED, f"this activation code was already used (profile {order.state})"
            )
        if order.state == "unavailable":
            raise Es9Error(
                *status.CC_RETRIES_EXCEEDED,
                f"confirmation code disabled after {self.rules.cc_tries} wrong tries: contact the provider",
            )
        if self.rules.one_device and order.eid is not None and order.eid != eid:
            raise Es9Error(
                *status.EID_REFUSED,
                "this eSIM is bound to another device's eUICC: a new device needs a new eSIM",
            )
        # the TAC as the IMEI's first four bytes in TS 24.008 BCD (lpac from -i IMEI), else plain
        tac = unswap_bcd(device_info["tac"])
        device = self._by_tac.get(tac) or self._by_tac.get(device_info["tac"].hex())
        if device is None:
            raise Es9Error(*status.NO_ELIGIBLE_PROFILE, f"device TAC {tac} is not a known terminal")
        if device.kind in self.rules.refused_classes:
            raise Es9Error(
                *status.NO_ELIGIBLE_PROFILE, f"{device.name}: a {device.kind} cannot take this eSIM"
            )
        if device.name not in self.rules.compatible:
            raise Es9Error(
                *status.NO_ELIGIBLE_PROFILE,
                f"{device.name} is not on the compatible terminals the provider lists",
            )
        return order

    def get_bound_profile_package(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """ES9+.GetBoundProfilePackage, SGP.22 §5.6.2: euiccSignature2, the confirmation code
        (hashCc = SHA-256(SHA-256(CC) ‖ transactionId), §3.1.3.2), then the package bound to
        otPK.EUICC.ECKA."""
        tid, session = self._session(body)
        order, cert = session.order, session.euicc_cert
        if order is None or cert is None:
            raise Es9Error(
                *status.TRANSACTION_UNKNOWN, "authenticateClient has not succeeded in this session"
            )
        raw = unb64(body, "prepareDownloadResponse")
        kind, value = _decode("PrepareDownloadResponse", raw)
        if kind != "downloadResponseOk":
            raise Es9Error(
                *status.EUICC_SIGNATURE,
                f"PrepareDownload failed on the eUICC: downloadErrorCode {value['downloadErrorCode']}",
            )
        signed2_raw = children(children(raw)[0])[0]
        if not verify_signature(
            cert, value["euiccSignature2"], signed2_raw + tlv(b"\x5f\x37", session.smdp_signature2)
        ):
            raise Es9Error(*status.EUICC_SIGNATURE, "euiccSignature2 does not verify")
        signed2 = value["euiccSigned2"]
        if signed2["transactionId"] != session.transaction_id:
            raise Es9Error(*status.TRANSACTION_UNKNOWN, "the signed transactionId is not the session's")
        if order.confirmation_code is not None:
            self._check_code(order, signed2.get("hashCc"), session.transaction_id)
        if order.state != "released" or session.delivered:
            raise Es9Error(*status.BPP_NOT_AVAILABLE, f"the profile is {order.state}")
        package = encode_package(order.profile)
        bpp = bind(
            transaction_id=session.transaction_id,
            euicc_otpk=signed2["euiccOtpk"],
            eid=session.eid,
            dp_pb_key=self.dp_pb_key,
            metadata=order.metadata(self.rules.profile_types[order.network], self.address),
            package=package,
            entropy=self.entropy,
        )
        order.state = "downloaded"
        session.delivered = True
        self._event("smdp_bpp", iccid=order.iccid, eid=session.eid, bytes=len(bpp))
        return {"transactionId": tid, "boundProfilePackage": b64(bpp)}

    def _check_code(self, order: ProfileOrder, hash_cc: bytes | None, tid: bytes) -> None:
        """The confirmation code: missing 8.2.7/2.2; wrong 8.2.7/3.8; the last try wrong, and
        every try after, 8.2.7/6.4 ("désactivé après 3 essais erronés")."""
        if order.state == "unavailable" or order.tries_left <= 0:
            raise Es9Error(*status.CC_RETRIES_EXCEEDED, "confirmation code disabled: contact the provider")
        if hash_cc is None:
            raise Es9Error(*status.CC_MISSING, "this profile needs its confirmation code")
        assert order.confirmation_code is not None
        expected = hashlib.sha256(hashlib.sha256(order.confirmation_code.encode()).digest() + tid).digest()
        if hash_cc == expected:
            order.tries_left = self.rules.cc_tries
            return
        order.tries_left -= 1
        if order.tries_left <= 0:
            order.state = "unavailable"
            raise Es9Error(
                *status.CC_RETRIES_EXCEEDED,
                f"wrong confirmation code {self.rules.cc_tries} times: code disabled, contact the provider",
            )
        raise Es9Error(*status.CC_REFUSED, f"wrong confirmation code ({order.tries_left} tries left)")

    def handle_notification(self, body: Mapping[str, Any]) -> None:
        """ES9+.HandleNotification, SGP.22 §5.6.4: the install result (signed by the eUICC over
        profileInstallationResultData) or another signed notification; no answer but HTTP 204."""
        raw = unb64(body, "pendingNotification")
        kind, value = _decode("PendingNotification", raw)
        if kind == "profileInstallationResult":
            data = value["profileInstallationResultData"]
            tid = data["transactionId"].hex().upper()
            session = self.sessions.pop(tid, None)
            if session is None or session.order is None or session.euicc_cert is None:
                self._event("smdp_notification", event="install", verified=False, reason="unknown session")
                return
            signed = children(raw)[0]
            ok = verify_signature(session.euicc_cert, value["euiccSignPIR"], signed)
            result, detail = data["finalResult"]
            if ok:
                session.order.state = "installed" if result == "successResult" else "error"
            self._event(
                "smdp_notification",
                event="install",
                iccid=session.order.iccid,
                verified=ok,
                result=result,
                **(
                    {}
                    if result == "successResult"
                    else {"bpp_command": detail["bppCommandId"], "reason": detail["errorReason"]}
                ),
            )
            return
        meta = value["tbsOtherNotification"]
        try:
            euicc_cert, eid = self._euicc_chain(value)
        except _CHAIN_ERRORS:
            self._event("smdp_notification", verified=False, reason="eUICC certificate chain")
            return
        ok = verify_signature(euicc_cert, value["euiccNotificationSignature"], children(raw)[0])
        bits = meta["profileManagementOperation"]
        event = next((name for n, name in _EVENTS.items() if bits[0] and bits[0][0] & (0x80 >> n)), "unknown")
        iccid = decode_iccid(meta["iccid"]) if "iccid" in meta else None
        order = self.order_of_iccid(iccid) if iccid else None
        if ok and order is not None and order.eid == eid and event == "delete":
            order.state = "deleted"
        self._event("smdp_notification", event=event, iccid=iccid, verified=ok, seq=meta["seqNumber"])

    def cancel_session(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """ES9+.CancelSession, SGP.22 §5.6.5: the eUICC's signed cancellation ends the session;
        a profile not yet delivered stays downloadable."""
        tid, session = self._session(body, cancelling=True)
        raw = unb64(body, "cancelSessionResponse")
        kind, value = _decode("CancelSessionResponse", raw)
        if kind != "cancelSessionResponseOk":
            raise Es9Error(*status.EUICC_SIGNATURE, f"CancelSession failed on the eUICC: {value}")
        signed = value["euiccCancelSessionSigned"]
        if session.euicc_cert is not None and not verify_signature(
            session.euicc_cert, value["euiccCancelSessionSignature"], children(children(raw)[0])[0]
        ):
            raise Es9Error(*status.EUICC_SIGNATURE, "euiccCancelSessionSignature does not verify")
        if signed["transactionId"] != session.transaction_id:
            raise Es9Error(*status.TRANSACTION_UNKNOWN, "the signed transactionId is not the session's")
        del self.sessions[tid]
        self._event("smdp_session_cancelled", reason=signed["reason"])
        return {}


_dp_cache: dict[Any, Any] = {}


def _dp_credentials(pki: TestPki, role: x509.ObjectIdentifier, address: str) -> tuple[Any, x509.Certificate]:
    """CERT.DPauth / CERT.DPpb of this SM-DP+; a seeded PKI gives the same ones each time, so they
    are made once per seed (a scenario's replays)."""
    if pki.seed is None:
        return pki.dp_credentials(role, address)
    key = (pki.seed, pki.curve, role.dotted_string, address)
    return once(_dp_cache, key, lambda _: pki.dp_credentials(role, address), 32)


def _der(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def _decoded_der(value: Any) -> bytes:
    """A ``Certificate ::= ANY`` as asn1tools hands it over: the DER bytes."""
    return bytes(value)


__all__ = ["ES9_FUNCTIONS", "RspSession", "Smdp", "b64", "unb64"]
