"""Android ``apns-conf.xml``: how device builds ship their APN database.

The file is ``<apns version="8">`` with one ``<apn .../>`` element per entry; the attributes are
the columns of Android's ``Telephony.Carriers`` (``carrier``, ``mcc``, ``mnc``, ``apn``, ``user``,
``password``, ``authtype`` 0 none / 1 PAP / 2 CHAP / 3 PAP or CHAP, ``type``, ``protocol``,
``roaming_protocol``, ``mmsc``, ``mmsproxy``, ``mmsport``, ``mvno_type``, ``mvno_match_data``,
``carrier_enabled``). Attributes this module does not model are kept for a faithful round trip.

Parsing refuses DTDs and entity declarations, so a hostile file cannot expand entities.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - serialisation only; parsing goes through _parse
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from xml.parsers import expat

from csim.yamlsrc import DataError, read_bytes
from harness.network.operators import ApnSetting

AUTH_TYPE = {"none": "0", "pap": "1", "chap": "2", "pap_or_chap": "3"}
AUTH_NAME = {v: k for k, v in AUTH_TYPE.items()}
_MODELLED = {
    "carrier", "mcc", "mnc", "apn", "user", "password", "authtype", "type", "protocol", "roaming_protocol",
    "mmsc", "mmsproxy", "mmsport", "mvno_type", "mvno_match_data", "carrier_enabled",
}


class ApnsConfError(DataError):
    """A malformed apns-conf.xml; ``str()`` reads ``file:line: what is wrong``."""


def _line(el: ET.Element) -> int | None:
    line = el.get("\0line")
    return int(line) if line else None


def _parse(data: bytes, source: str) -> ET.Element:
    """Build an element tree with expat, refusing DOCTYPE and entity declarations."""
    parser = expat.ParserCreate()
    stack: list[ET.Element] = []
    root: list[ET.Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        el = ET.Element(tag, attrs)
        el.set("\0line", str(parser.CurrentLineNumber))
        if stack:
            stack[-1].append(el)
        else:
            root.append(el)
        stack.append(el)

    def end(tag: str) -> None:
        stack.pop()

    def refuse(*_args: object) -> None:
        raise ApnsConfError(source, parser.CurrentLineNumber,
                            "DTD and entity declarations are not accepted")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        why = expat.errors.messages[exc.code]
        raise ApnsConfError(source, exc.lineno, f"not well-formed XML ({why})") from None
    if not root:
        raise ApnsConfError(source, None, "empty document")
    return root[0]


def _pdn_protocol(value: str, source: str, line: int | None) -> str:
    v = value.upper()
    if v not in ("IP", "IPV6", "IPV4V6"):
        raise ApnsConfError(source, line, f"protocol {value!r} (IP, IPV6 or IPV4V6 expected)")
    return v


def parse_apns_conf(data: bytes | str, source: str = "<apns-conf>") -> list[ApnSetting]:
    """The entries of an apns-conf.xml document."""
    raw = data.encode() if isinstance(data, str) else data
    root = _parse(raw, source)
    if root.tag != "apns":
        raise ApnsConfError(source, _line(root), f"root element is <{root.tag}>, not <apns>")
    out = []
    for el in root:
        line = _line(el)
        del el.attrib["\0line"]
        if el.tag != "apn":
            continue
        a = dict(el.attrib)
        for key in ("mcc", "mnc", "apn"):
            if key not in a:
                raise ApnsConfError(source, line, f"<apn> without {key}")
        if not (a["mcc"].isdigit() and len(a["mcc"]) == 3 and a["mnc"].isdigit() and len(a["mnc"]) in (2, 3)):
            raise ApnsConfError(source, line, f"mcc {a['mcc']!r} / mnc {a['mnc']!r} are not a PLMN")
        auth = a.get("authtype", "-1")
        if auth not in AUTH_NAME and auth != "-1":
            raise ApnsConfError(source, line, f"authtype {auth!r} (0, 1, 2 or 3 expected)")
        port = a.get("mmsport", "")
        out.append(ApnSetting(
            name=a.get("carrier", a["apn"]),
            apn=a["apn"],
            mcc=a["mcc"],
            mnc=a["mnc"],
            user=a.get("user", ""),
            password=a.get("password", ""),
            auth=AUTH_NAME.get(auth, "pap_or_chap" if a.get("user") else "none"),
            types=tuple(t.strip() for t in a.get("type", "default").split(",") if t.strip()),
            protocol=_pdn_protocol(a.get("protocol", "IP"), source, line),
            roaming_protocol=_pdn_protocol(a.get("roaming_protocol", "IP"), source, line),
            mmsc=a.get("mmsc", ""),
            mms_proxy=a.get("mmsproxy", ""),
            mms_port=int(port) if port.isdigit() else None,
            mvno_type=a.get("mvno_type", ""),
            mvno_match_data=a.get("mvno_match_data", ""),
            carrier_enabled=a.get("carrier_enabled", "true").lower() != "false",
            extra=tuple((k, v) for k, v in a.items() if k not in _MODELLED),
        ))
    return out


def load_apns_conf(path: str | Path) -> list[ApnSetting]:
    """The entries of an apns-conf.xml file (a regular file of bounded size,
    :func:`csim.yamlsrc.read_bytes`)."""
    return parse_apns_conf(read_bytes(path), str(path))


def terminal_entry(s: ApnSetting) -> ApnSetting:
    """``s`` without its network-side fields: what an apns-conf.xml entry can hold."""
    return replace(s, login="none", pdn_types=("ipv4", "ipv6", "ipv4v6"), default=False, dns=())


def _attributes(s: ApnSetting) -> dict[str, str]:
    a = {"carrier": s.name, "mcc": s.mcc, "mnc": s.mnc, "apn": s.apn}
    if s.user:
        a["user"] = s.user
    if s.password:
        a["password"] = s.password
    a["authtype"] = AUTH_TYPE[s.auth]
    a["type"] = ",".join(s.types)
    a["protocol"] = s.protocol
    a["roaming_protocol"] = s.roaming_protocol
    if s.mmsc:
        a["mmsc"] = s.mmsc
    if s.mms_proxy:
        a["mmsproxy"] = s.mms_proxy
    if s.mms_port is not None:
        a["mmsport"] = str(s.mms_port)
    if s.mvno_type:
        a["mvno_type"] = s.mvno_type
        a["mvno_match_data"] = s.mvno_match_data
    if not s.carrier_enabled:
        a["carrier_enabled"] = "false"
    a.update(dict(s.extra))
    return a


def dump_apns_conf(settings: Iterable[ApnSetting], version: int = 8) -> str:
    """An apns-conf.xml document listing ``settings``."""
    root = ET.Element("apns", {"version": str(version)})
    for s in settings:
        if not s.mcc or not s.mnc:
            raise ApnsConfError("apns-conf.xml", None,
                                f"APN {s.apn!r} has no MCC/MNC; apns-conf.xml entries are keyed by PLMN")
        ET.SubElement(root, "apn", _attributes(s))
    ET.indent(root, space="    ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_apns_conf(path: str | Path, settings: Iterable[ApnSetting]) -> Path:
    p = Path(path)
    p.write_text(dump_apns_conf(settings), encoding="utf-8")
    return p


@dataclass(frozen=True, slots=True)
class Finding:
    """One difference between a device build's APN list and the reference settings."""

    apn: str
    field: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.apn}: {self.field} is {self.found!r}, expected {self.expected!r}"


_COMPARED = ("user", "password", "auth", "types", "protocol", "roaming_protocol", "mmsc")


def check_device_apns(device: Iterable[ApnSetting], reference: Iterable[ApnSetting]) -> list[Finding]:
    """Compare a device build's entries with the reference settings of the card's operator.

    Every reference entry must exist on the device for the same PLMN and APN name, with the same
    credentials, authentication, types and protocols; the findings list what differs.
    """
    dev = list(device)
    findings: list[Finding] = []
    for ref in reference:
        matches = [d for d in dev if d.numeric == ref.numeric and d.apn.lower() == ref.apn.lower()]
        if not matches:
            findings.append(Finding(ref.apn, "entry", f"{ref.plmn} {ref.apn}", "missing"))
            continue
        d = matches[0]
        for name in _COMPARED:
            want, got = getattr(ref, name), getattr(d, name)
            if name == "types":
                missing = [t for t in want if t not in got and "*" not in got]
                if missing:
                    findings.append(Finding(ref.apn, name, ",".join(want), ",".join(got)))
            elif want != got and (want or name not in ("user", "password", "mmsc")):
                findings.append(Finding(ref.apn, name, str(want), str(got)))
    return findings
