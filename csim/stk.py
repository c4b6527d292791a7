"""Card Application Toolkit encodings (ETSI TS 101 220 §7, TS 102 223, 3GPP TS 31.111).

BER-TLV templates and COMPREHENSION-TLV data objects, the proactive commands the card
issues (REFRESH, SET UP EVENT LIST, SET UP MENU, PROVIDE LOCAL INFORMATION), and the
parsing of what the terminal sends back: ENVELOPE (event download, menu selection),
TERMINAL RESPONSE and TERMINAL PROFILE. Terminal-side builders are provided too, so a
simulated terminal and the tests speak the same encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from typing import TypeVar

from csim.encoding import GSM7_BASIC
from csim.memo import once, remember


class TlvError(ValueError):
    """Malformed TLV data (the card answers ``6A80``)."""


class TlvLengthError(TlvError):
    """The outer BER-TLV length disagrees with the number of bytes received (``6700``)."""


_T = TypeVar("_T")
_MEMO_LIMIT = 4096  # entries per decode table; a full table starts again empty


def _decoded_once(table: dict[bytes, _T], data: bytes, decode: Callable[[bytes], _T]) -> _T:
    """``decode(data)``, looked up in ``table`` first and remembered there (immutable results)."""
    return once(table, data if type(data) is bytes else bytes(data), decode, _MEMO_LIMIT)


# --- BER-TLV templates, TS 101 220 §7.2 -------------------------------------------------------

PROACTIVE_COMMAND = 0xD0
SMS_PP_DOWNLOAD = 0xD1
MENU_SELECTION = 0xD3
EVENT_DOWNLOAD = 0xD6
ENVELOPE_TEMPLATES = frozenset(range(0xD1, 0xE0))  # D1..DF: terminal -> UICC templates


class Tag(IntEnum):
    """COMPREHENSION-TLV tag values without the CR bit, TS 101 220 §7.3.1."""

    COMMAND_DETAILS = 0x01
    DEVICE_IDENTITIES = 0x02
    RESULT = 0x03
    DURATION = 0x04
    ALPHA_IDENTIFIER = 0x05
    TEXT_STRING = 0x0D
    ITEM = 0x0F
    ITEM_IDENTIFIER = 0x10
    FILE_LIST = 0x12
    LOCATION_INFORMATION = 0x13
    IMEI = 0x14
    HELP_REQUEST = 0x15
    EVENT_LIST = 0x19
    LOCATION_STATUS = 0x1B
    DATE_TIME_TZ = 0x26
    AID = 0x2F
    ACCESS_TECHNOLOGY = 0x3F


class Command(IntEnum):
    """Type of command, TS 102 223 §9.4."""

    REFRESH = 0x01
    MORE_TIME = 0x02
    SET_UP_EVENT_LIST = 0x05
    DISPLAY_TEXT = 0x21
    SELECT_ITEM = 0x24
    SET_UP_MENU = 0x25
    PROVIDE_LOCAL_INFORMATION = 0x26


class Refresh(IntEnum):
    """REFRESH command qualifier, TS 102 223 §8.6."""

    NAA_INIT_FULL_FCN = 0x00
    FCN = 0x01
    NAA_INIT_FCN = 0x02
    NAA_INIT = 0x03
    UICC_RESET = 0x04
    NAA_APPLICATION_RESET = 0x05
    NAA_SESSION_RESET = 0x06
    STEERING_OF_ROAMING = 0x07


class LocalInfo(IntEnum):
    """PROVIDE LOCAL INFORMATION qualifier, TS 102 223 §8.6 / TS 31.111 §8.6."""

    LOCATION = 0x00
    IMEI = 0x01
    NMR = 0x02
    DATE_TIME_TZ = 0x03
    LANGUAGE = 0x04
    ACCESS_TECHNOLOGY = 0x06


class Event(IntEnum):
    """Event list values, TS 102 223 §8.25."""

    MT_CALL = 0x00
    CALL_CONNECTED = 0x01
    CALL_DISCONNECTED = 0x02
    LOCATION_STATUS = 0x03
    USER_ACTIVITY = 0x04
    IDLE_SCREEN_AVAILABLE = 0x05
    ACCESS_TECHNOLOGY_CHANGE = 0x0B
    NETWORK_REJECTION = 0x12


class Device(IntEnum):
    """Device identities, TS 102 223 §8.7."""

    KEYPAD = 0x01
    DISPLAY = 0x02
    EARPIECE = 0x03
    UICC = 0x81
    TERMINAL = 0x82
    NETWORK = 0x83


class LocationStatus(IntEnum):
    """Location status, TS 102 223 §8.27."""

    NORMAL_SERVICE = 0x00
    LIMITED_SERVICE = 0x01
    NO_SERVICE = 0x02


class Result(IntEnum):
    """General result of a TERMINAL RESPONSE, TS 102 223 §8.12 (subset)."""

    SUCCESS = 0x00
    PARTIAL_COMPREHENSION = 0x01
    MISSING_INFORMATION = 0x02
    REFRESH_ADDITIONAL_EFS_READ = 0x03
    ICON_NOT_DISPLAYED = 0x04
    LIMITED_SERVICE = 0x06
    TERMINAL_UNABLE = 0x20
    NETWORK_UNABLE = 0x21
    BEYOND_CAPABILITIES = 0x30
    TYPE_NOT_UNDERSTOOD = 0x31
    DATA_NOT_UNDERSTOOD = 0x32


# Additional information for result 20 "terminal currently unable to process command", §8.12.2
UNABLE_NO_SERVICE = 0x04

# --- lengths, TS 101 220 §7.1.2 ---------------------------------------------------------------


def encode_length(n: int) -> bytes:
    """BER length: ``00``-``7F`` in one byte, ``81 80``-``81 FF``, ``82 0100``-``82 FFFF``."""
    if n < 0:
        raise ValueError("negative length")
    if n < 0x80:
        return bytes([n])
    if n <= 0xFF:
        return bytes([0x81, n])
    if n <= 0xFFFF:
        return bytes([0x82, n >> 8, n & 0xFF])
    raise ValueError(f"length {n} too large for a toolkit TLV")


def decode_length(data: bytes, pos: int) -> tuple[int, int]:
    """Read a BER length at ``pos``; returns (length, position of the value). Rejects non-minimal forms."""
    if pos >= len(data):
        raise TlvError("missing length")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    if first == 0x81:
        if pos + 1 >= len(data):
            raise TlvError("truncated length")
        n = data[pos + 1]
        if n < 0x80:
            raise TlvError(f"length {n} must use the one-byte form")
        return n, pos + 2
    if first == 0x82:
        if pos + 2 >= len(data):
            raise TlvError("truncated length")
        n = data[pos + 1] << 8 | data[pos + 2]
        if n <= 0xFF:
            raise TlvError(f"length {n} must use a shorter form")
        return n, pos + 3
    raise TlvError(f"invalid length byte {first:02X}")


# --- BER-TLV ----------------------------------------------------------------------------------


def ber_tlv(tag: int, value: bytes) -> bytes:
    """One BER-TLV with a single-byte tag (the toolkit templates D0..DF)."""
    if not 0 < tag < 0x100 or tag & 0x1F == 0x1F:
        raise ValueError(f"tag {tag:X} is not a single-byte BER tag")
    return bytes([tag]) + encode_length(len(value)) + bytes(value)


def parse_ber(data: bytes) -> tuple[int, bytes]:
    """Split a command data field made of exactly one single-byte-tag BER-TLV into (tag, value).

    Raises :class:`TlvLengthError` when the announced length does not match the bytes
    received, :class:`TlvError` for any other malformation.
    """
    data = bytes(data)
    if len(data) < 2:
        raise TlvLengthError("BER-TLV shorter than tag and length")
    tag = data[0]
    if tag in (0x00, 0xFF) or tag & 0x1F == 0x1F:
        raise TlvError(f"invalid BER-TLV tag {tag:02X}")
    length, pos = decode_length(data, 1)
    if pos + length != len(data):
        raise TlvLengthError(f"BER-TLV announces {length} bytes, {len(data) - pos} received")
    return tag, data[pos:]


# --- COMPREHENSION-TLV, TS 101 220 §7.1.1 -------------------------------------------------------


@dataclass(frozen=True)
class CTLV:
    """A COMPREHENSION-TLV data object; ``tag`` is without the comprehension-required flag."""

    tag: int
    value: bytes
    cr: bool = False

    def encode(self) -> bytes:
        if 0 < self.tag < 0x7F:
            head = bytes([self.tag | (0x80 if self.cr else 0)])
        elif 0 < self.tag <= 0x7FFF:
            t = self.tag | (0x8000 if self.cr else 0)
            head = bytes([0x7F, t >> 8, t & 0xFF])
        else:
            raise ValueError(f"invalid COMPREHENSION-TLV tag {self.tag:X}")
        return head + encode_length(len(self.value)) + self.value


def ctlv(tag: int, value: bytes | Iterable[int], cr: bool = True) -> bytes:
    """Encode one COMPREHENSION-TLV (CR set by default, as the card sends them)."""
    return CTLV(int(tag), bytes(value), cr).encode()


def parse_ctlvs(data: bytes) -> list[CTLV]:
    """Decode a sequence of COMPREHENSION-TLVs (single-byte and three-byte tag formats)."""
    out: list[CTLV] = []
    append = out.append
    pos = 0
    if type(data) is not bytes:
        data = bytes(data)
    n = len(data)
    while pos < n:
        first = data[pos]
        if first == 0x7F:
            if pos + 3 > n:
                raise TlvError("truncated three-byte tag")
            t = data[pos + 1] << 8 | data[pos + 2]
            tag, cr, pos = t & 0x7FFF, t >= 0x8000, pos + 3
        elif first == 0x00 or first == 0x80 or first == 0xFF:
            raise TlvError(f"invalid COMPREHENSION-TLV tag byte {first:02X} at offset {pos}")
        else:
            tag, cr, pos = first & 0x7F, first >= 0x80, pos + 1
        if pos < n and data[pos] < 0x80:
            length = data[pos]
            pos += 1
        else:
            length, pos = decode_length(data, pos)
        if pos + length > n:
            raise TlvError(f"tag {tag:02X} announces {length} bytes, {n - pos} left")
        append(CTLV(tag, data[pos : pos + length], cr))
        pos += length
    return out


def find(tlvs: Sequence[CTLV], tag: int) -> CTLV | None:
    """First data object with ``tag`` (CR flag ignored)."""
    for t in tlvs:
        if t.tag == tag:
            return t
    return None


# --- PLMN and location information --------------------------------------------------------------


_plmns: dict[bytes, str] = {}


def decode_plmn(b: bytes) -> str:
    """3-byte PLMN (TS 24.008 §10.5.1.3) -> ``"MCC-MNC"``; MNC digit 3 ``F`` means a 2-digit MNC."""
    if type(b) is bytes:
        plmn = _plmns.get(b)
        if plmn is None:
            plmn = _decode_plmn(b)
            if len(_plmns) >= 4096:
                _plmns.clear()
            _plmns[b] = plmn
        return plmn
    return _decode_plmn(b)


def _decode_plmn(b: bytes) -> str:
    if len(b) != 3:
        raise TlvError("PLMN must be 3 bytes")
    digits = [b[0] & 0x0F, b[0] >> 4, b[1] & 0x0F, b[2] & 0x0F, b[2] >> 4, b[1] >> 4]
    mcc, mnc = digits[:3], digits[3:5] + ([] if digits[5] == 0xF else [digits[5]])
    if any(d > 9 for d in mcc + mnc):
        raise TlvError(f"PLMN {b.hex().upper()} is not BCD")
    return "".join(map(str, mcc)) + "-" + "".join(map(str, mnc))


def encode_plmn(plmn: str) -> bytes:
    """``"MCC-MNC"`` -> 3-byte PLMN, TS 24.008 §10.5.1.3."""
    mcc, _, mnc = plmn.partition("-")
    if len(mcc) != 3 or len(mnc) not in (2, 3) or not (mcc + mnc).isdigit():
        raise ValueError(f"bad PLMN {plmn!r}")
    d = [int(c) for c in mcc + mnc] + ([0xF] if len(mnc) == 2 else [])
    return bytes([d[1] << 4 | d[0], d[5] << 4 | d[2], d[4] << 4 | d[3]])


@dataclass(frozen=True)
class LocationInformation:
    """Location information data object, TS 31.111 §8.19.

    Length 7: PLMN, LAC, cell identity (GERAN). Length 9: PLMN, LAC or TAC, then 4 bytes of
    cell identity (UTRAN CI + extended CI, or the 28-bit E-UTRAN cell identity padded with
    ``F``). Length 11: PLMN, 3-byte TAC, 36-bit NR cell identity padded with ``F`` (NG-RAN).
    """

    plmn: str
    area: int  # LAC or TAC
    cell: bytes

    @property
    def mcc(self) -> str:
        return self.plmn[:3]

    @property
    def mnc(self) -> str:
        return self.plmn[4:]

    def encode(self) -> bytes:
        area_len = 3 if len(self.cell) == 5 else 2
        return encode_plmn(self.plmn) + self.area.to_bytes(area_len, "big") + self.cell

    @classmethod
    def decode(cls, b: bytes) -> LocationInformation:
        n = len(b)
        if n == 7 or n == 9:
            return cls(decode_plmn(bytes(b[:3])), b[3] << 8 | b[4], bytes(b[5:]))
        if n == 11:
            return cls(decode_plmn(bytes(b[:3])), b[3] << 16 | b[4] << 8 | b[5], bytes(b[6:]))
        raise TlvError(f"location information of length {n}")


# --- alpha identifiers, TS 102 221 Annex A ----------------------------------------------------------

# SMS default 7-bit alphabet, TS 23.038 §6.2.1 (position = code); 0x1B (escape) is never produced.
_GSM7 = GSM7_BASIC
_GSM7_CODE = {c: i for i, c in enumerate(_GSM7) if i != 0x1B}


def encode_alpha(text: str) -> bytes:
    """Alpha identifier: SMS default alphabet with bit 8 = 0 when possible, else UCS2 (``80`` form)."""
    if all(c in _GSM7_CODE for c in text):
        return bytes(_GSM7_CODE[c] for c in text)
    return b"\x80" + text.encode("utf-16-be")


def decode_alpha(b: bytes) -> str:
    """Decode an alpha identifier in any TS 102 221 Annex A coding (``80``, ``81``, ``82``, default)."""
    b = bytes(b)
    if not b:
        return ""
    if b[0] == 0x80:
        body = b[1:]
        if len(body) % 2:
            body = body[:-1]
        chars = [body[i : i + 2] for i in range(0, len(body), 2)]
        return "".join(c.decode("utf-16-be") for c in chars if c != b"\xff\xff")
    if b[0] in (0x81, 0x82):
        if b[0] == 0x81:
            if len(b) < 3:
                raise TlvError("truncated 81 alpha identifier")
            n, base, body = b[1], b[2] << 7, b[3:]
        else:
            if len(b) < 4:
                raise TlvError("truncated 82 alpha identifier")
            n, base, body = b[1], b[2] << 8 | b[3], b[4:]
        return "".join(chr(base + (c & 0x7F)) if c & 0x80 else _GSM7[c] for c in body[:n])
    return "".join(_GSM7[c] for c in b if c != 0xFF and c < 0x80)


# --- proactive commands, TS 102 223 §6.6 ----------------------------------------------------------------


def proactive(
    command: int,
    qualifier: int = 0,
    *data_objects: bytes,
    number: int = 1,
    destination: int = Device.TERMINAL,
) -> bytes:
    """``D0`` template: command details, device identities (UICC -> destination), then the data objects."""
    body = ctlv(Tag.COMMAND_DETAILS, (number, int(command), qualifier))
    body += ctlv(Tag.DEVICE_IDENTITIES, (Device.UICC, int(destination)))
    return ber_tlv(PROACTIVE_COMMAND, body + b"".join(data_objects))


def file_list(paths: Sequence[str]) -> bytes:
    """File list data object (§8.18): number of files, then each full path from the MF.

    Paths are written as FIDs, e.g. ``"3F00/7FFF/6F07"`` (``7FFF`` = the current ADF).
    """
    value = bytes([len(paths)])
    for path in paths:
        fids = [p for p in path.replace(" ", "").split("/") if p]
        if not fids or fids[0].upper() != "3F00":
            raise ValueError(f"file path {path!r} must start at the MF (3F00)")
        value += b"".join(bytes.fromhex(f) for f in fids)
    return ctlv(Tag.FILE_LIST, value)


def refresh(
    qualifier: int, files: Sequence[str] | None = None, aid: bytes | None = None, number: int = 1
) -> bytes:
    """REFRESH (§6.4.7); a file list only for the file change notification modes (01, 02)."""
    objs: list[bytes] = []
    if qualifier in (Refresh.FCN, Refresh.NAA_INIT_FCN):
        if not files:
            raise ValueError("REFRESH file change notification needs a file list")
        objs.append(file_list(files))
    elif files:
        raise ValueError(f"REFRESH qualifier {qualifier:02X} takes no file list")
    if aid:
        objs.append(ctlv(Tag.AID, aid))
    return proactive(Command.REFRESH, qualifier, *objs, number=number)


def set_up_event_list(events: Iterable[int], number: int = 1) -> bytes:
    """SET UP EVENT LIST (§6.4.16); an empty list removes the current one."""
    return proactive(Command.SET_UP_EVENT_LIST, 0, ctlv(Tag.EVENT_LIST, bytes(events)), number=number)


def provide_local_information(qualifier: int = LocalInfo.LOCATION, number: int = 1) -> bytes:
    """PROVIDE LOCAL INFORMATION (§6.4.15)."""
    return proactive(Command.PROVIDE_LOCAL_INFORMATION, qualifier, number=number)


def set_up_menu(title: str, items: Sequence[tuple[int, str]], number: int = 1) -> bytes:
    """SET UP MENU (§6.4.8): alpha identifier, then one Item data object (identifier + text) per entry."""
    if not items:
        raise ValueError("a menu needs at least one item")
    objs = [ctlv(Tag.ALPHA_IDENTIFIER, encode_alpha(title))]
    for ident, text in items:
        if not 0 < ident < 0x100:
            raise ValueError(f"item identifier {ident} out of range")
        objs.append(ctlv(Tag.ITEM, bytes([ident]) + encode_alpha(text)))
    return proactive(Command.SET_UP_MENU, 0, *objs, number=number)


@dataclass(frozen=True)
class ProactiveCommand:
    """A decoded ``D0`` proactive command (terminal side view)."""

    number: int
    type: int
    qualifier: int
    source: int
    destination: int
    tlvs: tuple[CTLV, ...] = field(default=())

    @cached_property
    def details(self) -> bytes:
        """Command details value: number, type, qualifier (§8.6)."""
        return bytes([self.number, self.type, self.qualifier])

    def menu_items(self) -> list[tuple[int, str]]:
        """SET UP MENU / SELECT ITEM entries as (identifier, text)."""
        return [(t.value[0], decode_alpha(t.value[1:])) for t in self.tlvs if t.tag == Tag.ITEM and t.value]

    def files(self) -> list[str]:
        """REFRESH file list as ``"3F00/7FFF/6F07"`` paths (a path restarts at each ``3F00``)."""
        t = find(self.tlvs, Tag.FILE_LIST)
        if t is None:
            return []
        fids = [t.value[i : i + 2].hex().upper() for i in range(1, len(t.value) - 1, 2)]
        paths: list[list[str]] = []
        for fid in fids:
            if fid == "3F00" or not paths:
                paths.append([])
            paths[-1].append(fid)
        return ["/".join(p) for p in paths]

    def events(self) -> list[int]:
        t = find(self.tlvs, Tag.EVENT_LIST)
        return list(t.value) if t else []


def _details_and_devices(tlvs: list[CTLV]) -> tuple[bytes, bytes]:
    det, dev = find(tlvs, Tag.COMMAND_DETAILS), find(tlvs, Tag.DEVICE_IDENTITIES)
    if det is None or len(det.value) != 3:
        raise TlvError("command details missing or not 3 bytes")
    if dev is None or len(dev.value) != 2:
        raise TlvError("device identities missing or not 2 bytes")
    return det.value, dev.value


_proactive_commands: dict[bytes, ProactiveCommand] = {}


def parse_proactive(data: bytes) -> ProactiveCommand:
    """Decode a FETCH response (``D0`` template); each distinct command is decoded once."""
    return _decoded_once(_proactive_commands, data, _parse_proactive)


def _parse_proactive(data: bytes) -> ProactiveCommand:
    tag, value = parse_ber(data)
    if tag != PROACTIVE_COMMAND:
        raise TlvError(f"proactive command template is D0, not {tag:02X}")
    tlvs = parse_ctlvs(value)
    det, dev = _details_and_devices(tlvs)
    return ProactiveCommand(det[0], det[1], det[2], dev[0], dev[1], tuple(tlvs))


# --- TERMINAL RESPONSE, TS 102 223 §6.8 ----------------------------------------------------------------


@dataclass(frozen=True)
class TerminalResponse:
    number: int
    type: int
    qualifier: int
    source: int
    destination: int
    result: int
    additional: bytes
    location: LocationInformation | None
    tlvs: tuple[CTLV, ...] = field(default=())

    @cached_property
    def details(self) -> bytes:
        """Command details value: number, type, qualifier (§8.6)."""
        return bytes([self.number, self.type, self.qualifier])

    @property
    def successful(self) -> bool:
        """Results ``0x``: the command was performed (§8.12)."""
        return self.result < 0x10


_built: dict[tuple, bytes] = {}  # terminal-side encodings by their arguments


def terminal_response(
    details: bytes, result: int, *data_objects: bytes, additional: bytes = b""
) -> bytes:
    """Build a TERMINAL RESPONSE data field (terminal side): details, devices 82->81, result, objects."""
    key = ("TR", details, result, data_objects, additional)
    try:
        data = _built.get(key)
    except TypeError:  # a mutable argument: encode without remembering
        return _terminal_response(details, result, data_objects, additional)
    if data is None:
        data = remember(_built, key, _terminal_response(details, result, data_objects, additional),
                        _MEMO_LIMIT)
    return data


def _terminal_response(
    details: bytes, result: int, data_objects: tuple[bytes, ...], additional: bytes
) -> bytes:
    return (
        ctlv(Tag.COMMAND_DETAILS, details)
        + ctlv(Tag.DEVICE_IDENTITIES, (Device.TERMINAL, Device.UICC))
        + ctlv(Tag.RESULT, bytes([result]) + additional)
        + b"".join(data_objects)
    )


_terminal_responses: dict[bytes, TerminalResponse] = {}


def parse_terminal_response(data: bytes) -> TerminalResponse:
    """Decode a TERMINAL RESPONSE data field (simple COMPREHENSION-TLVs, no BER template).

    Each distinct data field is decoded once (the result is immutable).
    """
    return _decoded_once(_terminal_responses, data, _parse_terminal_response)


def _parse_terminal_response(data: bytes) -> TerminalResponse:
    resp = _terminal_response_in_order(data)
    if resp is not None:
        return resp
    tlvs = parse_ctlvs(data)
    det, dev = _details_and_devices(tlvs)
    res = find(tlvs, Tag.RESULT)
    if res is None or not res.value:
        raise TlvError("result missing")
    loc = find(tlvs, Tag.LOCATION_INFORMATION)
    return TerminalResponse(
        det[0], det[1], det[2], dev[0], dev[1], res.value[0], res.value[1:],
        LocationInformation.decode(loc.value) if loc else None, tuple(tlvs),
    )


def _terminal_response_in_order(d: bytes) -> TerminalResponse | None:
    """The usual layout of §6.8 decoded directly: command details, device identities, result
    (short lengths), then nothing or one location information object. None: any other layout."""
    n = len(d)
    if (n < 12 or d[1] != 3 or d[6] != 2 or (d[0] != 0x81 and d[0] != 0x01)
            or (d[5] != 0x82 and d[5] != 0x02) or (d[9] != 0x83 and d[9] != 0x03)):
        return None
    length = d[10]
    end = 11 + length
    if length == 0 or length >= 0x80 or end > n:
        return None
    details, devices, result = d[2:5], d[7:9], d[11:end]
    tlvs = (CTLV(1, details, d[0] == 0x81), CTLV(2, devices, d[5] == 0x82), CTLV(3, result, d[9] == 0x83))
    loc = None
    if end < n:
        length = d[end + 1] if end + 1 < n else 0x80
        if (d[end] != 0x93 and d[end] != 0x13) or length >= 0x80 or end + 2 + length != n:
            return None
        value = d[end + 2 :]
        tlvs += (CTLV(0x13, value, d[end] == 0x93),)
        loc = LocationInformation.decode(value)
    return TerminalResponse(details[0], details[1], details[2], devices[0], devices[1], result[0],
                            result[1:], loc, tlvs)


# --- ENVELOPE, TS 102 223 §7 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EventDownload:
    """Event download envelope (§7.5); ``event`` is the single event of the list."""

    event: int
    source: int
    destination: int
    location_status: int | None = None
    location: LocationInformation | None = None
    tlvs: tuple[CTLV, ...] = field(default=())


@dataclass(frozen=True)
class MenuSelection:
    """Menu selection envelope (§7.4)."""

    item: int
    help: bool
    source: int
    destination: int


@dataclass(frozen=True)
class OtherEnvelope:
    """Any other envelope template (SMS-PP download, call control, timer expiration...)."""

    template: int
    tlvs: tuple[CTLV, ...]


Envelope = EventDownload | MenuSelection | OtherEnvelope


def _devices(tlvs: list[CTLV]) -> bytes:
    dev = find(tlvs, Tag.DEVICE_IDENTITIES)
    if dev is None or len(dev.value) != 2:
        raise TlvError("device identities missing or not 2 bytes")
    return dev.value


_envelopes: dict[bytes, Envelope] = {}


def parse_envelope(data: bytes) -> Envelope:
    """Decode an ENVELOPE data field; raises :class:`TlvError` / :class:`TlvLengthError`.

    Each distinct data field is decoded once (the result is immutable).
    """
    return _decoded_once(_envelopes, data, _parse_envelope)


def _parse_envelope(data: bytes) -> Envelope:
    env = _location_status_in_order(data)
    if env is not None:
        return env
    tag, value = parse_ber(data)
    if tag not in ENVELOPE_TEMPLATES:
        raise TlvError(f"{tag:02X} is not an envelope template")
    tlvs = parse_ctlvs(value)
    if tag == EVENT_DOWNLOAD:
        dev = _devices(tlvs)
        ev = find(tlvs, Tag.EVENT_LIST)
        if ev is None or len(ev.value) != 1:
            raise TlvError("event download needs an event list with exactly one event")
        status = loc = None
        if ev.value[0] == Event.LOCATION_STATUS:
            st = find(tlvs, Tag.LOCATION_STATUS)
            if st is None or len(st.value) != 1:
                raise TlvError("location status event without a 1-byte location status")
            status = st.value[0]
            li = find(tlvs, Tag.LOCATION_INFORMATION)
            loc = LocationInformation.decode(li.value) if li else None
        return EventDownload(ev.value[0], dev[0], dev[1], status, loc, tuple(tlvs))
    if tag == MENU_SELECTION:
        dev = _devices(tlvs)
        item = find(tlvs, Tag.ITEM_IDENTIFIER)
        if item is None or len(item.value) != 1:
            raise TlvError("menu selection needs a 1-byte item identifier")
        return MenuSelection(item.value[0], find(tlvs, Tag.HELP_REQUEST) is not None, dev[0], dev[1])
    return OtherEnvelope(tag, tuple(tlvs))


def _location_status_in_order(d: bytes) -> EventDownload | None:
    """Event download - location status in the layout of §7.5.3 decoded directly: event list,
    device identities, location status, then optionally location information, all with short
    lengths. None: any other envelope or layout."""
    n = len(d)
    if (n < 12 or n > 0x81 or d[0] != EVENT_DOWNLOAD or d[1] != n - 2 or d[3] != 1 or d[4] != 0x03
            or d[6] != 2 or d[10] != 1 or (d[2] != 0x19 and d[2] != 0x99)
            or (d[5] != 0x82 and d[5] != 0x02) or (d[9] != 0x9B and d[9] != 0x1B)):
        return None
    devices, status = d[7:9], d[11]
    tlvs = (CTLV(0x19, d[4:5], d[2] == 0x99), CTLV(2, devices, d[5] == 0x82),
            CTLV(0x1B, d[11:12], d[9] == 0x9B))
    loc = None
    if n > 12:
        if n < 14 or (d[12] != 0x93 and d[12] != 0x13) or d[13] != n - 14:
            return None
        value = d[14:]
        tlvs += (CTLV(0x13, value, d[12] == 0x93),)
        loc = LocationInformation.decode(value)
    return EventDownload(d[4], devices[0], devices[1], status, loc, tlvs)


def event_download_location_status(status: int, location: LocationInformation | None = None) -> bytes:
    """ENVELOPE (Event Download - Location Status) data field, terminal side (§7.5.3)."""
    key = ("LS", status, location)
    data = _built.get(key)
    if data is None:
        data = remember(_built, key, _event_download_location_status(status, location), _MEMO_LIMIT)
    return data


def _event_download_location_status(status: int, location: LocationInformation | None) -> bytes:
    objs = ctlv(Tag.EVENT_LIST, (Event.LOCATION_STATUS,), cr=False)
    objs += ctlv(Tag.DEVICE_IDENTITIES, (Device.TERMINAL, Device.UICC))
    objs += ctlv(Tag.LOCATION_STATUS, (status,), cr=False)
    if location is not None:
        objs += ctlv(Tag.LOCATION_INFORMATION, location.encode(), cr=False)
    return ber_tlv(EVENT_DOWNLOAD, objs)


def menu_selection(item: int, help_request: bool = False) -> bytes:
    """ENVELOPE (Menu Selection) data field, terminal side (§7.4): keypad -> UICC, item identifier."""
    objs = ctlv(Tag.DEVICE_IDENTITIES, (Device.KEYPAD, Device.UICC)) + ctlv(Tag.ITEM_IDENTIFIER, (item,))
    if help_request:
        objs += ctlv(Tag.HELP_REQUEST, b"")
    return ber_tlv(MENU_SELECTION, objs)


# --- TERMINAL PROFILE, TS 102 223 §5.2 / TS 31.111 §5.2 ---------------------------------------------

# facility -> (byte, bit), both 1-based as in the specification tables
PROFILE_BITS: dict[str, tuple[int, int]] = {
    "profile_download": (1, 1),
    "sms_pp_download": (1, 2),
    "cb_download": (1, 3),
    "menu_selection": (1, 4),
    "timer_expiration": (1, 6),
    "command_result": (2, 1),
    "call_control": (2, 2),
    "ucs2_display": (2, 7),
    "display_text": (3, 1),
    "get_inkey": (3, 2),
    "get_input": (3, 3),
    "more_time": (3, 4),
    "play_tone": (3, 5),
    "poll_interval": (3, 6),
    "polling_off": (3, 7),
    "refresh": (3, 8),
    "select_item": (4, 1),
    "send_short_message": (4, 2),
    "set_up_call": (4, 5),
    "set_up_menu": (4, 6),
    "provide_local_information": (4, 7),
    "provide_local_information_nmr": (4, 8),
    "set_up_event_list": (5, 1),
    "event_mt_call": (5, 2),
    "event_call_connected": (5, 3),
    "event_call_disconnected": (5, 4),
    "event_location_status": (5, 5),
    "event_user_activity": (5, 6),
    "event_idle_screen": (5, 7),
    "event_access_technology_change": (6, 5),
    "provide_local_information_access_technology": (9, 8),
}


@dataclass(frozen=True)
class TerminalProfile:
    """The terminal's capabilities as sent in TERMINAL PROFILE; bytes not sent read as 0."""

    raw: bytes = b""

    @classmethod
    def decode(cls, data: bytes) -> TerminalProfile:
        """The profile of a TERMINAL PROFILE data field; each distinct field is decoded once."""
        return _decoded_once(_terminal_profiles, data, cls)

    @cached_property
    def _supported(self) -> frozenset[str]:
        raw = self.raw
        return frozenset(f for f, (byte, bit) in PROFILE_BITS.items()
                         if len(raw) >= byte and raw[byte - 1] >> (bit - 1) & 1)

    def supports(self, facility: str) -> bool:
        """Is ``facility`` (a key of :data:`PROFILE_BITS`) set? KeyError for an unknown one."""
        if facility in self._supported:
            return True
        if facility not in PROFILE_BITS:
            raise KeyError(facility)
        return False

    @classmethod
    def build(cls, facilities: Iterable[str], length: int = 20) -> TerminalProfile:
        """Profile with exactly these facilities set (terminal side)."""
        b = bytearray(length)
        for f in facilities:
            byte, bit = PROFILE_BITS[f]
            if byte > length:
                raise ValueError(f"{f} needs a profile of at least {byte} bytes")
            b[byte - 1] |= 1 << (bit - 1)
        return cls(bytes(b))

    def facilities(self) -> list[str]:
        return [f for f in PROFILE_BITS if self.supports(f)]


_terminal_profiles: dict[bytes, TerminalProfile] = {}
