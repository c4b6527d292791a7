"""Data sessions as real packets (scapy), one pcap per scenario.

:func:`session_packets` turns a :class:`harness.network.packet_core.ActivationResult` into the messages a
capture on the packet core would show:

* 4G: GTPv2-C Create Session Request/Response on S11 (MME-SGW) and S5 (SGW-PGW), TS 29.274 §7.2.1;
* 3G: GTPv1-C Create PDP Context Request/Response on Gn (SGSN-GGSN), TS 29.060 §7.3.1;
* the PCO with PAP or CHAP and a DNS request, TS 24.008 §10.5.6.3;
* RADIUS Access-Request (pyrad, :mod:`harness.network.radius`) and Access-Accept/Reject, then
  Accounting-Request Start and Stop with their Accounting-Responses (RFC 2865, RFC 2866);
* for partner delivery, L2TP control (SCCRQ, SCCRP, SCCCN, ICRQ, ICRP, ICCN; CDN on failure) and
  data messages with PPP inside (LCP, PAP or CHAP, IPCP), RFC 2661 / RFC 1661 / RFC 1332;
* the release: Delete Session (TS 29.274 §7.2.9) or Delete PDP Context (TS 29.060 §7.3.5), PPP
  LCP Terminate, L2TP CDN and StopCCN (:func:`release_packets`).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from pathlib import Path

from scapy.contrib.gtp import IE_IMSI as V1_IMSI
from scapy.contrib.gtp import IE_NSAPI as V1_NSAPI
from scapy.contrib.gtp import IE_TEICP as V1_TEICP
from scapy.contrib.gtp import IE_TEIDI as V1_TEIDI
from scapy.contrib.gtp import (
    GTPCreatePDPContextRequest,
    GTPCreatePDPContextResponse,
    GTPDeletePDPContextRequest,
    GTPDeletePDPContextResponse,
)
from scapy.contrib.gtp import GTPHeader as GTPv1Header
from scapy.contrib.gtp import IE_AccessPointName as V1_APN
from scapy.contrib.gtp import IE_Cause as V1_Cause
from scapy.contrib.gtp import IE_ChargingId as V1_ChargingId
from scapy.contrib.gtp import IE_EndUserAddress as V1_EUA
from scapy.contrib.gtp import IE_GSNAddress as V1_GSN
from scapy.contrib.gtp import IE_MSInternationalNumber as V1_MSISDN
from scapy.contrib.gtp import IE_NotImplementedTLV as V1_TLV
from scapy.contrib.gtp import IE_ReorderingRequired as V1_Reordering
from scapy.contrib.gtp import IE_SelectionMode as V1_SelMode
from scapy.contrib.gtp import IE_Teardown as V1_Teardown
from scapy.contrib.gtp_v2 import (
    IE_AMBR,
    IE_APN,
    IE_FTEID,
    IE_IMSI,
    IE_MSISDN,
    IE_RAT,
    GTPHeader,
    GTPV2CreateSessionRequest,
    GTPV2CreateSessionResponse,
    GTPV2DeleteSessionRequest,
    GTPV2DeleteSessionResponse,
    IE_Bearer_QoS,
    IE_BearerContext,
    IE_Cause,
    IE_EPSBearerID,
    IE_NotImplementedTLV,
    IE_PDN_type,
    IE_SelectionMode,
    IE_ServingNetwork,
)
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.ppp import (
    HDLC,
    PPP,
    PPP_IPCP,
    PPP_CHAP_ChallengeResponse,
    PPP_IPCP_Option_DNS1,
    PPP_IPCP_Option_IPAddress,
    PPP_LCP_Auth_Protocol_Option,
    PPP_LCP_Configure,
    PPP_LCP_Magic_Number_Option,
    PPP_LCP_MRU_Option,
    PPP_PAP_Request,
    PPP_PAP_Response,
)
from scapy.layers.radius import Radius
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from harness.network.packet_core import AccountingRecord, ActivationResult, L2tpCall, RadiusExchange, Release

GTPC_PORT = 2123
L2TP_PORT = 1701
RADIUS_PORT = 1812
ACCOUNTING_PORT = 1813
DYNAMIC_AUTHORIZATION_PORT = 3799   # RFC 5176 §3

PDN_TYPE_CODE = {"ipv4": 1, "ipv6": 2, "ipv4v6": 3}      # TS 29.274 §8.34
RAT_CODE = {"3G": 1, "2G": 2, "4G": 6}                      # TS 29.274 §8.17 (UTRAN, GERAN, EUTRAN)
# F-TEID interface types, TS 29.274 §8.22
IF_S11_MME, IF_S11_SGW, IF_S5_SGW, IF_S5_PGW, IF_S1U_SGW = 10, 11, 6, 7, 1

# PCO protocol / container identifiers, TS 24.008 §10.5.6.3
PCO_LCP, PCO_PAP, PCO_CHAP, PCO_IPCP = 0xC021, 0xC023, 0xC223, 0x8021
PCO_DNS_V6, PCO_DNS_V4 = 0x0003, 0x000D


def _mac(ip: str) -> str:
    return "02:00:" + ":".join(f"{b:02x}" for b in ipaddress.ip_address(ip).packed)


def udp(src: str, dst: str, sport: int, dport: int, payload: Packet | bytes) -> Packet:
    """Ethernet/IPv4/UDP around ``payload`` (locally administered MACs derived from the addresses)."""
    pkt = Ether(src=_mac(src), dst=_mac(dst)) / IP(src=src, dst=dst, ttl=64, id=0)
    pkt = pkt / UDP(sport=sport, dport=dport)
    return pkt / (Raw(payload) if isinstance(payload, bytes) else payload)


# -- PCO (TS 24.008 §10.5.6.3) -------------------------------------------------------------------

def _container(cid: int, data: bytes) -> bytes:
    return struct.pack("!HB", cid, len(data)) + data


def _ppp(code: int, ident: int, body: bytes) -> bytes:
    return struct.pack("!BBH", code, ident, 4 + len(body)) + body


def pco_request(result: ActivationResult) -> bytes:
    """MS-to-network PCO: PAP or CHAP credentials, an IPCP DNS request, DNS server address requests."""
    req = result.request
    out = bytearray([0x80])                         # ext bit, configuration protocol 0 (PPP/IP)
    if req.auth == "pap":
        user, pwd = req.username.encode(), req.password.encode()
        out += _container(PCO_PAP, _ppp(1, 0, bytes([len(user)]) + user + bytes([len(pwd)]) + pwd))
    elif req.auth == "chap":
        name = req.username.encode()
        ch = req.chap_challenge
        out += _container(PCO_CHAP, _ppp(1, req.chap_id, bytes([len(ch)]) + ch + name))
        value = req.chap_value
        out += _container(PCO_CHAP, _ppp(2, req.chap_id, bytes([len(value)]) + value + name))
    out += _container(PCO_IPCP, _ppp(1, 0, b"\x81\x06\x00\x00\x00\x00"))   # Primary DNS, 0.0.0.0
    out += _container(PCO_DNS_V4, b"")
    if req.pdn_type != "ipv4":
        out += _container(PCO_DNS_V6, b"")
    return bytes(out)


def pco_response(result: ActivationResult) -> bytes:
    """Network-to-MS PCO: the DNS servers (IPCP Conf-Nak and DNS Server IPv4 Address containers)."""
    out = bytearray([0x80])
    v4 = [d for d in result.dns if ipaddress.ip_address(d).version == 4]
    if v4:
        opts = b"\x81\x06" + ipaddress.ip_address(v4[0]).packed
        if len(v4) > 1:
            opts += b"\x83\x06" + ipaddress.ip_address(v4[1]).packed
        out += _container(PCO_IPCP, _ppp(3, 0, opts))
        for d in v4:
            out += _container(PCO_DNS_V4, ipaddress.ip_address(d).packed)
    return bytes(out)


# -- GTPv2-C (TS 29.274) --------------------------------------------------------------------------

def _plmn(result: ActivationResult) -> tuple[str, str]:
    plmn = result.request.serving_plmn or f"{result.imsi[:3]}-{result.imsi[3:5]}"
    mcc, _, mnc = plmn.partition("-")
    return mcc, mnc


def _paa(pdn_type: str, ipv4: str | None, ipv6: str | None) -> Packet:
    """PDN Address Allocation, TS 29.274 §8.14 (0.0.0.0 / :: request a dynamic address)."""
    code = PDN_TYPE_CODE[pdn_type]
    value = bytes([code])
    if code in (2, 3):
        net = ipaddress.ip_network(ipv6 or "::/64")
        value += bytes([net.prefixlen]) + net.network_address.packed
    if code in (1, 3):
        value += ipaddress.ip_address(ipv4 or 0).packed
    return IE_NotImplementedTLV(ietype=79, data=value)


def gtpv2_create_session(result: ActivationResult, leg: str) -> tuple[Packet, Packet]:
    """Create Session Request and Response on ``leg`` ``"s11"`` or ``"s5"``."""
    req, ids, ep = result.request, result.gtp, _endpoints(result)
    assert ids is not None
    mcc, mnc = _plmn(result)
    peer_teid, seq = 0, ids.seq
    if leg == "s11":
        src, dst, src_if, src_teid = ep["mme"], ep["sgw"], IF_S11_MME, ids.mme_teid
        rsp_if, rsp_teid = IF_S11_SGW, ids.sgw_teid
    else:
        src, dst, src_if, src_teid = ep["sgw"], ep["pgw"], IF_S5_SGW, ids.sgw_s5_teid
        rsp_if, rsp_teid = IF_S5_PGW, ids.pgw_teid
    ies = [
        IE_IMSI(IMSI=result.imsi),
        IE_MSISDN(digits=result.msisdn or "0"),
        IE_RAT(RAT_type=RAT_CODE.get(req.rat, 6)),
        IE_ServingNetwork(MCC=mcc, MNC=mnc),
        IE_FTEID(ipv4_present=1, InterfaceType=src_if, GRE_Key=src_teid, ipv4=src),
    ]
    if leg == "s11":
        ies.append(IE_FTEID(instance=1, ipv4_present=1, InterfaceType=IF_S5_PGW, GRE_Key=0, ipv4=ep["pgw"]))
    ies += [
        IE_APN(APN=(req.apn or result.apn or "")),
        IE_SelectionMode(SelectionMode=0 if req.apn else 2),
        IE_PDN_type(PDN_type=PDN_TYPE_CODE.get(req.pdn_type, 3)),
        _paa(req.pdn_type if req.pdn_type in PDN_TYPE_CODE else "ipv4v6", None, None),
        IE_AMBR(AMBR_Uplink=50000, AMBR_Downlink=150000),
        IE_NotImplementedTLV(ietype=78, data=pco_request(result)),
        IE_BearerContext(IE_list=[
            IE_EPSBearerID(EBI=ids.ebi),
            IE_Bearer_QoS(PriorityLevel=9, PVI=1, QCI=9),
        ]),
    ]
    request = udp(src, dst, GTPC_PORT, GTPC_PORT,
                  GTPHeader(version=2, P=0, T=1, gtp_type=32, teid=peer_teid, seq=seq)
                  / GTPV2CreateSessionRequest(IE_list=ies))
    cause = result.gtpv2_cause
    rsp_ies: list = [IE_Cause(Cause=cause)]
    if result.accepted:
        rsp_ies += [
            IE_FTEID(ipv4_present=1, InterfaceType=rsp_if, GRE_Key=rsp_teid, ipv4=dst),
            _paa(result.pdn_type or "ipv4", result.ipv4, result.ipv6_prefix),
            IE_AMBR(AMBR_Uplink=50000, AMBR_Downlink=150000),
            IE_NotImplementedTLV(ietype=78, data=pco_response(result)),
            IE_BearerContext(IE_list=[
                IE_EPSBearerID(EBI=ids.ebi),
                IE_Cause(Cause=16),
                IE_FTEID(ipv4_present=1, InterfaceType=IF_S1U_SGW, GRE_Key=rsp_teid | 0x10000, ipv4=dst),
            ]),
        ]
    response = udp(dst, src, GTPC_PORT, GTPC_PORT,
                   GTPHeader(version=2, P=0, T=1, gtp_type=33, teid=src_teid, seq=seq)
                   / GTPV2CreateSessionResponse(IE_list=rsp_ies))
    return request, response


# -- GTPv1-C (TS 29.060) --------------------------------------------------------------------------

def _tbcd(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1], 16) << 4 | int(digits[i], 16) for i in range(0, len(digits), 2))


def _v1_tlv(kind: int, data: bytes) -> Packet:
    return V1_TLV(ietype=kind, length=len(data), data=data)


def gtpv1_create_pdp(result: ActivationResult) -> tuple[Packet, Packet]:
    """Create PDP Context Request and Response on Gn (SGSN-GGSN)."""
    req, ids, ep = result.request, result.gtp, _endpoints(result)
    assert ids is not None
    v6 = req.pdn_type == "ipv6"
    eua_req = V1_EUA(length=2, PDPTypeNumber=0x57 if v6 else 0x21)
    qos = _v1_tlv(135, bytes.fromhex("0b921f7396fefe742bffff00"))   # TS 24.008 §10.5.6.5
    request = udp(ep["sgsn"], ep["pgw"], GTPC_PORT, GTPC_PORT,
                  GTPv1Header(version=1, PT=1, S=1, gtp_type=16, teid=0, seq=ids.seq)
                  / GTPCreatePDPContextRequest(IE_list=[
                      V1_IMSI(imsi=result.imsi),
                      V1_SelMode(SelectionMode=0xF0 if req.apn else 0xF2),
                      V1_TEIDI(TEIDI=ids.mme_teid),
                      V1_TEICP(TEICI=ids.mme_teid | 0x10000),
                      V1_NSAPI(NSAPI=ids.ebi),
                      eua_req,
                      V1_APN(APN=(req.apn or result.apn or "")),
                      _v1_tlv(132, pco_request(result)),
                      V1_GSN(ipv4_address=ep["sgsn"]),
                      V1_GSN(ipv4_address=ep["sgsn"]),
                      V1_MSISDN(length=1 + (len(result.msisdn or "0") + 1) // 2, digits=result.msisdn or "0"),
                      qos,
                  ]))
    rsp_ies: list = [V1_Cause(CauseValue=result.gtpv1_cause)]
    if result.accepted:
        if result.ipv4:
            eua = V1_EUA(length=6, PDPTypeNumber=0x21, PDPAddress=result.ipv4)
        else:
            prefix = ipaddress.ip_network(result.ipv6_prefix or "::/64").network_address
            eua = V1_EUA(length=18, PDPTypeNumber=0x57, IPv6_PDPAddress=str(prefix + 1))
        rsp_ies += [
            V1_Reordering(reordering_required=0),
            V1_TEIDI(TEIDI=ids.pgw_teid),
            V1_TEICP(TEICI=ids.pgw_teid | 0x10000),
            V1_ChargingId(Charging_id=ids.seq),
            eua,
            _v1_tlv(132, pco_response(result)),
            V1_GSN(ipv4_address=ep["pgw"]),
            V1_GSN(ipv4_address=ep["pgw"]),
            qos,
        ]
    response = udp(ep["pgw"], ep["sgsn"], GTPC_PORT, GTPC_PORT,
                   GTPv1Header(version=1, PT=1, S=1, gtp_type=17, teid=ids.mme_teid | 0x10000, seq=ids.seq)
                   / GTPCreatePDPContextResponse(IE_list=rsp_ies))
    return request, response


# -- RADIUS (RFC 2865) ----------------------------------------------------------------------------

def radius_exchange(x: RadiusExchange) -> tuple[Packet, Packet]:
    """Access-Request from the PGW/GGSN and the AAA's Access-Accept or Access-Reject: the answer
    as it travelled from a real AAA, else the in-process AAA's verdict encoded (RFC 2865 §4)."""
    from harness.network.radius import access_answer, access_request

    request = access_request(x)
    req_bytes = request.RequestPacket()
    rsp_bytes = x.answer or access_answer(request, x.accepted, x.framed_ip, x.reply_message,
                                           x.interim_interval)
    return (udp(x.nas_ip, x.server_ip, 32768 + x.identifier, RADIUS_PORT, Radius(req_bytes)),
            udp(x.server_ip, x.nas_ip, RADIUS_PORT, 32768 + x.identifier, Radius(rsp_bytes)))


def accounting_exchange(rec: AccountingRecord) -> tuple[Packet, Packet]:
    """Accounting-Request from the PGW/GGSN and the Accounting-Response (RFC 2866 §4): the answer
    as it travelled from a real AAA, else the in-process AAA's encoded."""
    from harness.network.radius import accounting_answer, accounting_request

    request = accounting_request(rec)
    req_bytes = request.RequestPacket()
    rsp_bytes = rec.answer or accounting_answer(request)
    port = 32768 + 256 + rec.identifier
    return (udp(rec.nas_ip, rec.server_ip, port, ACCOUNTING_PORT, Radius(req_bytes)),
            udp(rec.server_ip, rec.nas_ip, ACCOUNTING_PORT, port, Radius(rsp_bytes)))


# -- L2TP (RFC 2661) with PPP ---------------------------------------------------------------------

def _avp(kind: int, value: bytes, mandatory: bool = True) -> bytes:
    return struct.pack("!HHH", (0x8000 if mandatory else 0) | (6 + len(value)), 0, kind) + value


def _control(tunnel: int, session: int, ns: int, nr: int, avps: bytes) -> bytes:
    return struct.pack("!HHHHHH", 0xC802, 12 + len(avps), tunnel, session, ns, nr) + avps


def _msg(kind: int) -> bytes:
    return _avp(0, struct.pack("!H", kind))


def _data(tunnel: int, session: int, ppp: Packet) -> Packet:
    body = bytes(HDLC() / ppp)
    return Raw(struct.pack("!HHHH", 0x4002, 8 + len(body), tunnel, session) + body)


def l2tp_call(c: L2tpCall) -> list[Packet]:
    """Tunnel and session set-up from the LAC to the LNS, then LCP, authentication and IPCP in PPP."""
    lac, lns = c.lac_ip, c.lns_ip

    def to_lns(p: Packet | bytes) -> Packet:
        return udp(lac, lns, L2TP_PORT, L2TP_PORT, p if isinstance(p, Packet) else Raw(p))

    def to_lac(p: Packet | bytes) -> Packet:
        return udp(lns, lac, L2TP_PORT, L2TP_PORT, p if isinstance(p, Packet) else Raw(p))

    common = _avp(2, b"\x01\x00") + _avp(3, struct.pack("!I", 3))
    out = [
        to_lns(_control(0, 0, 0, 0, _msg(1) + common + _avp(7, c.lac_host.encode())
                        + _avp(9, struct.pack("!H", c.lac_tunnel)))),                      # SCCRQ
        to_lac(_control(c.lac_tunnel, 0, 0, 1, _msg(2) + common + _avp(7, c.lns_host.encode())
                        + _avp(9, struct.pack("!H", c.lns_tunnel)))),                      # SCCRP
        to_lns(_control(c.lns_tunnel, 0, 1, 1, _msg(3))),                                   # SCCCN
        to_lns(_control(c.lns_tunnel, 0, 2, 1, _msg(10) + _avp(14, struct.pack("!H", c.lac_session))
                        + _avp(15, struct.pack("!I", c.lac_session))
                        + _avp(21, c.called_number.encode()) + _avp(22, c.calling_number.encode()))),  # ICRQ
        to_lac(_control(c.lac_tunnel, c.lac_session, 1, 3, _msg(11)
                        + _avp(14, struct.pack("!H", c.lns_session)))),                     # ICRP
        to_lns(_control(c.lns_tunnel, c.lns_session, 3, 2, _msg(12) + _avp(24, struct.pack("!I", 100_000_000))
                        + _avp(19, struct.pack("!I", 1)))),                                  # ICCN
        to_lac(_control(c.lac_tunnel, 0, 2, 4, b"")),                                       # ZLB ack
    ]
    at_lns = (c.lns_tunnel, c.lns_session)
    at_lac = (c.lac_tunnel, c.lac_session)
    auth_proto = 0xC223 if c.auth == "chap" else 0xC023
    lac_opts = [PPP_LCP_MRU_Option(max_recv_unit=1500), PPP_LCP_Magic_Number_Option(magic_number=c.lac_magic)]
    auth_opt = (PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC223, algorithm=5) if c.auth == "chap"
                else PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC023))
    lns_opts = [PPP_LCP_MRU_Option(max_recv_unit=1500), auth_opt,
                PPP_LCP_Magic_Number_Option(magic_number=c.lns_magic)]
    out += [
        to_lns(_data(*at_lns, PPP(proto=0xC021) / PPP_LCP_Configure(code=1, id=1, options=lac_opts))),
        to_lac(_data(*at_lac, PPP(proto=0xC021) / PPP_LCP_Configure(code=1, id=1, options=lns_opts))),
        to_lac(_data(*at_lac, PPP(proto=0xC021) / PPP_LCP_Configure(code=2, id=1, options=lac_opts))),
        to_lns(_data(*at_lns, PPP(proto=0xC021) / PPP_LCP_Configure(code=2, id=1, options=lns_opts))),
    ]
    if auth_proto == 0xC023:
        out.append(to_lns(_data(*at_lns, PPP(proto=0xC023) / PPP_PAP_Request(
            id=1, username=c.username.encode(), password=c.password.encode()))))
        out.append(to_lac(_data(*at_lac, PPP(proto=0xC023) / PPP_PAP_Response(
            code=2 if c.accepted else 3, id=1, message=c.message.encode()[:200]))))
    else:
        name = c.lns_host.encode()
        out.append(to_lac(_data(*at_lac, PPP(proto=0xC223) / PPP_CHAP_ChallengeResponse(
            code=1, id=c.chap_id, value=c.chap_challenge, optional_name=name))))
        out.append(to_lns(_data(*at_lns, PPP(proto=0xC223) / PPP_CHAP_ChallengeResponse(
            code=2, id=c.chap_id, value=c.chap_value, optional_name=c.username.encode()))))
        out.append(to_lac(_data(*at_lac, PPP(proto=0xC223) / Raw(
            _ppp(3 if c.accepted else 4, c.chap_id, c.message.encode()[:200])))))
    if not c.accepted:
        terminate = PPP(proto=0xC021) / Raw(_ppp(5, 2, b""))   # LCP Terminate-Request
        out.append(to_lac(_data(*at_lac, terminate)))
        out.append(to_lac(_control(c.lac_tunnel, c.lac_session, 3, 4, _msg(14)
                                   + _avp(1, struct.pack("!HH", 2, 0) + b"authentication failed")
                                   + _avp(14, struct.pack("!H", c.lns_session)))))         # CDN
        return out
    zero = "0.0.0.0"  # noqa: S104 - IPCP "please assign an address", RFC 1332 §3.3
    dns1 = c.dns[0] if c.dns else zero
    out += [
        to_lns(_data(*at_lns, PPP(proto=0x8021) / PPP_IPCP(code=1, id=1, options=[
            PPP_IPCP_Option_IPAddress(data=zero), PPP_IPCP_Option_DNS1(data=zero)]))),
        to_lac(_data(*at_lac, PPP(proto=0x8021) / PPP_IPCP(code=1, id=1, options=[
            PPP_IPCP_Option_IPAddress(data=c.lns_ppp_ip)]))),
        to_lns(_data(*at_lns, PPP(proto=0x8021) / PPP_IPCP(code=2, id=1, options=[
            PPP_IPCP_Option_IPAddress(data=c.lns_ppp_ip)]))),
        to_lac(_data(*at_lac, PPP(proto=0x8021) / PPP_IPCP(code=3, id=1, options=[
            PPP_IPCP_Option_IPAddress(data=c.address or zero), PPP_IPCP_Option_DNS1(data=dns1)]))),
        to_lns(_data(*at_lns, PPP(proto=0x8021) / PPP_IPCP(code=1, id=2, options=[
            PPP_IPCP_Option_IPAddress(data=c.address or zero), PPP_IPCP_Option_DNS1(data=dns1)]))),
        to_lac(_data(*at_lac, PPP(proto=0x8021) / PPP_IPCP(code=2, id=2, options=[
            PPP_IPCP_Option_IPAddress(data=c.address or zero), PPP_IPCP_Option_DNS1(data=dns1)]))),
    ]
    return out


def l2tp_release(c: L2tpCall) -> list[Packet]:
    """Teardown of an established call by the LAC: LCP Terminate-Request/Ack in PPP (RFC 1661
    §5.5), CDN for the session then StopCCN for the tunnel (RFC 2661 §5.7, §6.4, §6.14), each
    acknowledged by a ZLB (§5.8). Sequence numbers go on from :func:`l2tp_call`'s."""
    lac, lns = c.lac_ip, c.lns_ip

    def to_lns(p: Packet | bytes) -> Packet:
        return udp(lac, lns, L2TP_PORT, L2TP_PORT, p if isinstance(p, Packet) else Raw(p))

    def to_lac(p: Packet | bytes) -> Packet:
        return udp(lns, lac, L2TP_PORT, L2TP_PORT, p if isinstance(p, Packet) else Raw(p))

    return [
        to_lns(_data(c.lns_tunnel, c.lns_session, PPP(proto=0xC021) / Raw(_ppp(5, 3, b"")))),  # Terminate-Req
        to_lac(_data(c.lac_tunnel, c.lac_session, PPP(proto=0xC021) / Raw(_ppp(6, 3, b"")))),  # Terminate-Ack
        to_lns(_control(c.lns_tunnel, c.lns_session, 4, 2, _msg(14)
                        + _avp(1, struct.pack("!HH", 3, 0))                # administrative reasons
                        + _avp(14, struct.pack("!H", c.lac_session)))),                     # CDN
        to_lac(_control(c.lac_tunnel, 0, 2, 5, b"")),                                       # ZLB ack
        to_lns(_control(c.lns_tunnel, 0, 5, 2, _msg(4) + _avp(1, struct.pack("!HH", 1, 0))  # clear tunnel
                        + _avp(9, struct.pack("!H", c.lac_tunnel)))),                       # StopCCN
        to_lac(_control(c.lac_tunnel, 0, 2, 6, b"")),                                       # ZLB ack
    ]


# -- release (TS 29.274 §7.2.9, TS 29.060 §7.3.5) ------------------------------------------------

def _release_seq(result: ActivationResult) -> int:
    """The Delete request's sequence number: distinct from the Create's (24 bits, TS 29.274 §5.5)."""
    assert result.gtp is not None
    return 0x800000 | result.gtp.seq


def gtpv2_delete_session(result: ActivationResult, leg: str) -> tuple[Packet, Packet]:
    """Delete Session Request (Linked EPS Bearer ID, TS 29.274 §7.2.9.1) and Response (Request
    accepted) on ``leg`` ``"s11"`` (MME-SGW) or ``"s5"`` (SGW-PGW)."""
    ids, ep = result.gtp, _endpoints(result)
    assert ids is not None
    if leg == "s11":
        src, dst, peer_teid, own_teid = ep["mme"], ep["sgw"], ids.sgw_teid, ids.mme_teid
    else:
        src, dst, peer_teid, own_teid = ep["sgw"], ep["pgw"], ids.pgw_teid, ids.sgw_s5_teid
    seq = _release_seq(result)
    request = udp(src, dst, GTPC_PORT, GTPC_PORT,
                  GTPHeader(version=2, P=0, T=1, gtp_type=36, teid=peer_teid, seq=seq)
                  / GTPV2DeleteSessionRequest(IE_list=[IE_EPSBearerID(EBI=ids.ebi)]))
    response = udp(dst, src, GTPC_PORT, GTPC_PORT,
                   GTPHeader(version=2, P=0, T=1, gtp_type=37, teid=own_teid, seq=seq)
                   / GTPV2DeleteSessionResponse(IE_list=[IE_Cause(Cause=16)]))
    return request, response


def gtpv1_delete_pdp(result: ActivationResult) -> tuple[Packet, Packet]:
    """Delete PDP Context Request (Teardown Ind, NSAPI; TS 29.060 §7.3.5) and Response (Request
    accepted) on Gn."""
    ids, ep = result.gtp, _endpoints(result)
    assert ids is not None
    seq = _release_seq(result) & 0xFFFF
    request = udp(ep["sgsn"], ep["pgw"], GTPC_PORT, GTPC_PORT,
                  GTPv1Header(version=1, PT=1, S=1, gtp_type=20, teid=ids.pgw_teid | 0x10000, seq=seq)
                  / GTPDeletePDPContextRequest(IE_list=[V1_Teardown(indicator=1), V1_NSAPI(NSAPI=ids.ebi)]))
    response = udp(ep["pgw"], ep["sgsn"], GTPC_PORT, GTPC_PORT,
                   GTPv1Header(version=1, PT=1, S=1, gtp_type=21, teid=ids.mme_teid | 0x10000, seq=seq)
                   / GTPDeletePDPContextResponse(IE_list=[V1_Cause(CauseValue=128)]))
    return request, response


def disconnect_messages(release: Release) -> list[Packet]:
    """The policy side's Disconnect-Request to the PGW/GGSN and its Disconnect-ACK (RFC 5176 §2.1,
    UDP port 3799 §3), for a session the AAA authenticated."""
    from harness.network.radius import disconnect_exchange

    result = release.session
    x = result.radius
    if not release.by_policy or x is None or not x.accepted:
        return []
    n = result.session_id or 0
    rec = AccountingRecord(n & 0xFF, 0, f"{n:08X}", x.secret, x.nas_ip, x.server_ip, x.username, result.ipv4,
                           result.imsi, x.calling_station, x.called_station)
    request, ack = disconnect_exchange(rec)
    port = 32768 + 512 + rec.identifier
    return [udp(x.server_ip, x.nas_ip, port, DYNAMIC_AUTHORIZATION_PORT, Radius(request)),
            udp(x.nas_ip, x.server_ip, DYNAMIC_AUTHORIZATION_PORT, port, Radius(ack))]


def release_packets(release: Release) -> list[Packet]:
    """Every packet of the network's release of a session (the policy side's Disconnect first)."""
    result = release.session
    disconnect = disconnect_messages(release)
    l2tp = l2tp_release(result.l2tp) if result.l2tp is not None and result.l2tp.accepted else []
    if result.request.rat in ("2G", "3G"):
        req, rsp = gtpv1_delete_pdp(result)
        return [*disconnect, req, *l2tp, rsp]
    s11_req, s11_rsp = gtpv2_delete_session(result, "s11")
    s5_req, s5_rsp = gtpv2_delete_session(result, "s5")
    return [*disconnect, s11_req, s5_req, *l2tp, s5_rsp, s11_rsp]


# -- sessions -------------------------------------------------------------------------------------

def _endpoints(result: ActivationResult) -> dict[str, str]:
    ep = result.endpoints
    return {"mme": ep.mme, "sgsn": ep.sgsn, "sgw": ep.sgw, "pgw": ep.pgw, "aaa": ep.aaa}


def session_packets(result: ActivationResult) -> list[Packet]:
    """Every packet of one activation, in the order a capture on the core would show them."""
    aaa: list[Packet] = []
    if result.radius is not None:
        aaa += list(radius_exchange(result.radius))
    if result.l2tp is not None:
        aaa += l2tp_call(result.l2tp)
    if result.request.rat in ("2G", "3G"):
        req, rsp = gtpv1_create_pdp(result)
        return [req, *aaa, rsp]
    s11_req, s11_rsp = gtpv2_create_session(result, "s11")
    s5_req, s5_rsp = gtpv2_create_session(result, "s5")
    return [s11_req, s5_req, *aaa, s5_rsp, s11_rsp]


def write_pcap(path: str | Path, packets: Iterable[Packet], start: float = 1_700_000_000.0) -> Path:
    """Write ``packets`` to a pcap with timestamps 1 ms apart from ``start`` (reproducible files)."""
    pkts = list(packets)
    for i, p in enumerate(pkts):
        p.time = start + i / 1000
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    wrpcap(str(out), pkts)
    return out


def _packets(x: ActivationResult | Release | AccountingRecord) -> list[Packet]:
    if isinstance(x, Release):
        return release_packets(x)
    if isinstance(x, AccountingRecord):
        return list(accounting_exchange(x))
    return session_packets(x)


def sessions_packets(exchanges: Iterable[ActivationResult | Release | AccountingRecord]) -> list[Packet]:
    """The packets of activations, accounting records and releases, one after the other (one pcap
    per scenario)."""
    return [p for x in exchanges for p in _packets(x)]
