"""The packet core's RADIUS client, on pyrad.

* Access-Request from the PGW/GGSN (the NAS) with PAP — User-Password hidden as RFC 2865 §5.2 — or
  CHAP — CHAP-Password and CHAP-Challenge, RFC 2865 §5.3 / §5.40 — and the 3GPP attributes of
  TS 29.061 §16.4.7; a Message-Authenticator on every Access-Request (RFC 3579 §3.2);
* Accounting-Request Start / Interim-Update / Stop with octets, Gigawords and session time
  (RFC 2866 §5, RFC 2869 §5.1);
* Disconnect-Request / Disconnect-ACK from the policy side when a block lands mid-session
  (RFC 5176 §2.1);
* answers read back with their Response Authenticator and Message-Authenticator checked
  (RFC 2865 §3, RFC 3579 §3.2).

The Request Authenticator (RFC 2865 §3: unique and unpredictable) is drawn by the caller from its
seeded generator, so a replay writes the same packets and no two requests share one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pyrad import packet
from pyrad.client import Client, Timeout
from pyrad.dictionary import Dictionary

if TYPE_CHECKING:
    from harness.network.packet_core import AccountingRecord, RadiusExchange

AUTH_PORT = 1812
ACCT_PORT = 1813
#: the attributes the packet core sends and reads
DICTIONARY = Dictionary(str(Path(__file__).with_name("radius.dictionary")))

SERVICE_FRAMED = 2           # RFC 2865 §5.6 Framed-User
FRAMED_GPRS = 7              # RFC 2865 §5.7 GPRS PDP Context
NAS_PORT_WIRELESS_OTHER = 18  # RFC 2865 §5.41
GIGAWORD = 1 << 32           # RFC 2869 §5.1 / §5.2


class RadiusError(Exception):
    """No valid answer from the AAA: timeout, or a Response Authenticator that does not match."""


class AccessAnswer(NamedTuple):
    """What the AAA answered an Access-Request (RFC 2865 §4.2, §4.3)."""

    accepted: bool
    framed_ip: str | None
    reply_message: str
    raw: bytes
    interim_interval: int | None = None   # Acct-Interim-Interval, RFC 2869 §5.16


def access_request(x: RadiusExchange) -> packet.AuthPacket:
    """The Access-Request of exchange ``x`` (its identifier and Request Authenticator)."""
    pkt = packet.AuthPacket(code=packet.AccessRequest, id=x.identifier, secret=x.secret.encode(),
                            authenticator=x.authenticator, dict=DICTIONARY, message_authenticator=True)
    pkt["User-Name"] = x.username
    if x.auth == "chap":
        pkt["CHAP-Password"] = bytes([x.chap_id]) + x.chap_value
        pkt["CHAP-Challenge"] = x.chap_challenge
    else:
        pkt["User-Password"] = pkt.PwCrypt(x.password)
    pkt["NAS-IP-Address"] = x.nas_ip
    pkt["Service-Type"] = SERVICE_FRAMED
    pkt["Framed-Protocol"] = FRAMED_GPRS
    pkt["Called-Station-Id"] = x.called_station
    pkt["Calling-Station-Id"] = x.calling_station
    pkt["NAS-Port-Type"] = NAS_PORT_WIRELESS_OTHER
    pkt["3GPP-IMSI"] = x.imsi
    return pkt


def access_answer(request: packet.AuthPacket, accepted: bool, framed_ip: str | None,
                  reply_message: str, interim_interval: int | None = None) -> bytes:
    """Access-Accept (with Framed-IP-Address and Acct-Interim-Interval when given, RFC 2869 §5.16)
    or Access-Reject (with Reply-Message) to ``request``, signed with its Response Authenticator
    and a Message-Authenticator."""
    reply = request.CreateReply()
    if accepted:
        reply.code = packet.AccessAccept
        reply["Service-Type"] = SERVICE_FRAMED
        reply["Framed-Protocol"] = FRAMED_GPRS
        if framed_ip:
            reply["Framed-IP-Address"] = framed_ip
        if interim_interval:
            reply["Acct-Interim-Interval"] = interim_interval
    else:
        reply.code = packet.AccessReject
        if reply_message:
            reply["Reply-Message"] = reply_message[:253]
    return reply.ReplyPacket()


def read_answer(request: packet.AuthPacket, raw: bytes) -> AccessAnswer:
    """Decode the answer ``raw`` to ``request`` after checking its authenticators."""
    reply = request.CreateReply(packet=raw)
    if not request.VerifyReply(reply, raw, enforce_ma=True):
        raise RadiusError("the answer's Response Authenticator or Message-Authenticator does not match "
                          "the request (wrong shared secret?)")
    if reply.code not in (packet.AccessAccept, packet.AccessReject):
        raise RadiusError(f"unexpected RADIUS code {reply.code} in answer to an Access-Request")
    accepted = reply.code == packet.AccessAccept
    framed = reply.get("Framed-IP-Address") if accepted else None
    message = " ".join(reply.get("Reply-Message") or ())
    interval = reply.get("Acct-Interim-Interval") if accepted else None
    return AccessAnswer(accepted, str(framed[0]) if framed else None, message, raw,
                        int(interval[0]) if interval else None)


def accounting_request(rec: AccountingRecord) -> packet.AcctPacket:
    """The Accounting-Request of ``rec``; octet counts past 4 GiB carry Acct-*-Gigawords
    (RFC 2869 §5.1, §5.2). Its authenticator is the MD5 of RFC 2866 §3, computed on encoding."""
    pkt = packet.AcctPacket(code=packet.AccountingRequest, id=rec.identifier, secret=rec.secret.encode(),
                            dict=DICTIONARY)
    pkt["Acct-Status-Type"] = rec.status
    pkt["Acct-Session-Id"] = rec.session_id
    pkt["User-Name"] = rec.username
    pkt["NAS-IP-Address"] = rec.nas_ip
    if rec.framed_ip:
        pkt["Framed-IP-Address"] = rec.framed_ip
    pkt["Calling-Station-Id"] = rec.calling_station
    pkt["Called-Station-Id"] = rec.called_station
    pkt["3GPP-IMSI"] = rec.imsi
    pkt["Acct-Authentic"] = 1
    if rec.carries_octets:
        pkt["Acct-Input-Octets"] = rec.input_octets % GIGAWORD
        pkt["Acct-Output-Octets"] = rec.output_octets % GIGAWORD
        pkt["Acct-Input-Gigawords"] = rec.input_octets // GIGAWORD
        pkt["Acct-Output-Gigawords"] = rec.output_octets // GIGAWORD
        pkt["Acct-Session-Time"] = rec.session_time
    if rec.terminate_cause is not None:
        pkt["Acct-Terminate-Cause"] = rec.terminate_cause
    return pkt


def accounting_answer(request: packet.AcctPacket) -> bytes:
    """The Accounting-Response to ``request`` (RFC 2866 §4.2)."""
    request.authenticator = request.RequestPacket()[4:20]
    return request.CreateReply().ReplyPacket()


def disconnect_exchange(rec: AccountingRecord) -> tuple[bytes, bytes]:
    """Disconnect-Request from the policy side to the NAS naming the session of ``rec`` (User-Name,
    Acct-Session-Id, Framed-IP-Address; RFC 5176 §3) and the NAS's Disconnect-ACK (§2.1), with the
    authenticators of §2.3."""
    pkt = packet.CoAPacket(code=packet.DisconnectRequest, id=rec.identifier, secret=rec.secret.encode(),
                           dict=DICTIONARY)
    pkt["User-Name"] = rec.username
    pkt["Acct-Session-Id"] = rec.session_id
    if rec.framed_ip:
        pkt["Framed-IP-Address"] = rec.framed_ip
    request = pkt.RequestPacket()
    pkt.authenticator = request[4:20]
    reply = pkt.CreateReply()
    reply.code = packet.DisconnectACK
    return request, reply.ReplyPacket()


class RadiusClient:
    """A NAS talking to one RADIUS server over UDP (pyrad's client: retries, reply matching)."""

    def __init__(self, server: str, secret: str, *, auth_port: int = AUTH_PORT, acct_port: int = ACCT_PORT,
                 timeout: float = 2.0, retries: int = 2) -> None:
        self.server, self.auth_port, self.acct_port = server, auth_port, acct_port
        self._client = Client(server, authport=auth_port, acctport=acct_port, secret=secret.encode(),
                              dict=DICTIONARY, retries=retries, timeout=timeout, enforce_ma=True)

    def authenticate(self, request: packet.AuthPacket) -> AccessAnswer:
        """Send ``request`` and read the checked answer."""
        reply = self._send(request, f"no answer from the AAA at {self.server}:{self.auth_port}")
        return read_answer(request, reply.raw_packet)

    def account(self, request: packet.AcctPacket) -> bytes:
        """Send an Accounting-Request; the raw Accounting-Response (its authenticator checked)."""
        return self._send(request, f"no accounting answer from {self.server}:{self.acct_port}").raw_packet

    def _send(self, request: packet.Packet, silence: str) -> packet.Packet:
        """``request`` sent, its reply; a timeout or a socket error is a :class:`RadiusError`."""
        try:
            return self._client.SendPacket(request)
        except (Timeout, OSError) as exc:
            raise RadiusError(f"{silence} ({exc.__class__.__name__})") from None

    def close(self) -> None:
        self._client._CloseSocket()  # noqa: SLF001 - pyrad has no public close
