"""APDU trace files: every exchange with a card, secrets masked, and a pretty-printer.

A trace is JSON Lines: a header ``{"trace": "simharness", "version": 1, ...}`` then one
object per event: ``{"n", "t", "c", "r", "us"}`` for an exchange (command and response
in hex, secrets replaced by ``*``), ``{"n", "t", "reset", "atr"}`` for a reset.

Masked: the PIN/PUK/ADM values of VERIFY, CHANGE/DISABLE/ENABLE/UNBLOCK PIN (TS 102 221
§11.1.9-§11.1.13, TS 51.011 §9.2.9-§9.2.12) and the keys (CK, IK, Kc) of an
AUTHENTICATE response (TS 31.102 §7.1.2), including when they come back through
GET RESPONSE after ``61xx``/``9Fxx``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from csim.sw import sw_meaning
from csim.yamlsrc import open_regular

# INS -> command name (TS 102 221 §10.1.2, TS 51.011 §9.2, TS 102 223 for CAT, TS 31.102)
COMMANDS: dict[int, str] = {
    0xA4: "SELECT",
    0xF2: "STATUS",
    0xB0: "READ BINARY",
    0xB1: "READ BINARY",
    0xD6: "UPDATE BINARY",
    0xD7: "UPDATE BINARY",
    0xB2: "READ RECORD",
    0xB3: "READ RECORD",
    0xDC: "UPDATE RECORD",
    0xDD: "UPDATE RECORD",
    0xA2: "SEARCH RECORD",
    0x32: "INCREASE",
    0xCB: "RETRIEVE DATA",
    0xDB: "SET DATA",
    0x20: "VERIFY PIN",
    0x24: "CHANGE PIN",
    0x26: "DISABLE PIN",
    0x28: "ENABLE PIN",
    0x2C: "UNBLOCK PIN",
    0x04: "DEACTIVATE FILE",
    0x44: "ACTIVATE FILE",
    0x88: "AUTHENTICATE",
    0x89: "AUTHENTICATE",
    0x84: "GET CHALLENGE",
    0xAA: "TERMINAL CAPABILITY",
    0x10: "TERMINAL PROFILE",
    0xC2: "ENVELOPE",
    0x12: "FETCH",
    0x14: "TERMINAL RESPONSE",
    0x70: "MANAGE CHANNEL",
    0x73: "MANAGE SECURE CHANNEL",
    0x75: "TRANSACT DATA",
    0xC0: "GET RESPONSE",
    0xCA: "GET DATA",
    0xE0: "CREATE FILE",
    0xE4: "DELETE FILE",
    0xE6: "TERMINATE DF",
    0xE8: "TERMINATE EF",
    0xFE: "TERMINATE CARD USAGE",
    0xD4: "RESIZE FILE",
    0xFA: "SLEEP",
    0x0E: "ERASE BINARY",
    0xD0: "WRITE BINARY",
    0xD2: "WRITE RECORD",
    0xE2: "APPEND RECORD",
}

# CLA A0 (TS 51.011) names that differ from the UICC ones
GSM_COMMANDS: dict[int, str] = {
    0x88: "RUN GSM ALGORITHM",
    0x04: "INVALIDATE",
    0x44: "REHABILITATE",
    0x2C: "UNBLOCK CHV",
    0x20: "VERIFY CHV",
    0x24: "CHANGE CHV",
    0x26: "DISABLE CHV",
    0x28: "ENABLE CHV",
    0xA2: "SEEK",
}

# Commands whose data field holds a PIN/PUK/ADM value
SECRET_INS = frozenset({0x20, 0x24, 0x26, 0x28, 0x2C})

# Key references in P2 (TS 102 221 §9.5.1, Table 9.3; TS 51.011 CHV numbers)
KEY_REFERENCES: dict[int, str] = {
    0x01: "PIN1",
    0x02: "PIN2",
    0x11: "universal PIN",
    0x81: "PIN2",
    **{0x0A + i: f"ADM{i + 1}" for i in range(5)},
    **{0x8A + i: f"ADM{i + 6}" for i in range(5)},
    **{0x82 + i: f"second PIN{i + 2}" for i in range(7)},
}

def command_name(apdu: bytes) -> str:
    """Name of a command APDU from its class and instruction bytes."""
    if len(apdu) < 4:
        return "(malformed)"
    cla, ins = apdu[0], apdu[1]
    if cla == 0xA0 and ins in GSM_COMMANDS:
        return GSM_COMMANDS[ins]
    name = COMMANDS.get(ins, f"INS {ins:02X}")
    if ins in SECRET_INS:
        name += " " + KEY_REFERENCES.get(apdu[3], f"key {apdu[3]:02X}")
    return name


def mask_command(apdu: bytes) -> str:
    """Hex of a command APDU with PIN/PUK/ADM values replaced by ``*``."""
    text = apdu.hex().upper()
    if len(apdu) > 5 and apdu[1] in SECRET_INS:
        return text[:10] + "*" * (len(text) - 10)
    return text


def mask_response(command: bytes, response: bytes) -> str:
    """Hex of the complete response to ``command`` with the keys an AUTHENTICATE returns masked."""
    if len(command) > 1 and command[1] in (0x88, 0x89) and len(response) >= 2:
        return _mask_auth_data(response[:-2]) + response[-2:].hex().upper()
    return response.hex().upper()


def _mask_auth_data(data: bytes) -> str:
    """Hex of an AUTHENTICATE response with CK, IK and Kc masked (TS 31.102 §7.1.2.1)."""
    text = data.hex().upper()
    if not data:
        return text
    out = list(text)

    def mask(start: int, length: int) -> None:
        for i in range(2 * start, min(len(out), 2 * (start + length))):
            out[i] = "*"

    if data[0] == 0xDB:  # DB L RES L CK L IK [L Kc]
        pos = 1
        for field in range(4):
            if pos >= len(data):
                break
            length = data[pos]
            if field > 0:
                mask(pos + 1, length)
            pos += 1 + length
    elif data[0] == 0x04 and len(data) >= 14:  # GSM context: 04 SRES 08 Kc
        mask(6, 8)
    elif len(data) == 12:  # RUN GSM ALGORITHM: SRES(4) Kc(8)
        mask(4, 8)
    return "".join(out)


class Tracer:
    """Append every exchange with a card to a JSON Lines trace file, secrets masked."""

    def __init__(self, path: str | os.PathLike[str], reader: str = "", atr: bytes = b"") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = open(self.path, "a", encoding="ascii")  # noqa: SIM115
        self._start = time.monotonic()
        self._n = 0
        self._auth_pending = False
        self._write({"trace": "simharness", "version": 1, "reader": reader, "atr": atr.hex().upper(),
                     "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})

    def _write(self, obj: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def exchange(self, command: bytes, response: bytes, seconds: float = 0.0) -> None:
        """Record one exchange as it went on the wire."""
        self._n += 1
        ins = command[1] if len(command) > 1 else -1
        resp_data, sw = response[:-2], response[-2:]
        auth_data = ins in (0x88, 0x89) or (ins == 0xC0 and self._auth_pending)
        if auth_data:
            r = _mask_auth_data(resp_data) + sw.hex().upper()
        else:
            r = response.hex().upper()
        # keys may follow through GET RESPONSE
        self._auth_pending = auth_data and len(sw) == 2 and sw[0] in (0x61, 0x9F)
        self._write({"n": self._n, "t": round(time.monotonic() - self._start, 6), "c": mask_command(command),
                     "r": r, "us": round(seconds * 1e6)})

    def reset(self, atr: bytes, reason: str = "") -> None:
        self._n += 1
        self._auth_pending = False
        event: dict[str, Any] = {"n": self._n, "t": round(time.monotonic() - self._start, 6), "reset": True,
                                 "atr": atr.hex().upper()}
        if reason:
            event["reason"] = reason
        self._write(event)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Tracer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


#: the longest line a trace file may have (an APDU line is well under 1 kB)
MAX_LINE = 64 * 1024


def read_trace(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The events of a trace file (the header first); a regular file only, read line by line
    (:class:`ValueError` with ``file:line`` on a line that is no trace event)."""
    with open_regular(path) as f:
        lineno = 0
        while raw := _line(f, path):
            lineno += 1
            if len(raw) > MAX_LINE:
                raise ValueError(f"{path}:{lineno}: not a trace line: longer than {MAX_LINE} bytes")
            try:
                line = raw.decode("ascii").strip()
            except UnicodeDecodeError:
                raise ValueError(f"{path}:{lineno}: not a trace line: not ASCII text") from None
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not a trace line: {exc.msg}") from None


def _line(f: IO[bytes], path: str | os.PathLike[str]) -> bytes:
    try:
        return f.readline(MAX_LINE + 1)
    except OSError as exc:  # a regular file the kernel will not read (/proc/self/mem: EIO)
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None


def _hex_bytes(text: str) -> bytes:
    try:
        return bytes.fromhex(text.replace("*", "0"))
    except ValueError:
        return b""


def format_events(events: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Human-readable lines for trace events: number, time, command name, APDUs, SW meaning."""
    for ev in events:
        if "trace" in ev:
            reader = ev.get("reader") or "-"
            yield f"trace v{ev.get('version')} reader={reader} started={ev.get('started', '-')}"
            if ev.get("atr"):
                yield f"  ATR {ev['atr']}"
            continue
        head = f"#{ev.get('n', '?'):<5} {ev.get('t', 0.0):10.6f}s"
        if ev.get("reset"):
            reason = f" ({ev['reason']})" if ev.get("reason") else ""
            yield f"{head}  RESET{reason}  ATR {ev.get('atr', '')}"
            continue
        c, r = ev.get("c", ""), ev.get("r", "")
        cmd = _hex_bytes(c)
        name = command_name(cmd) if len(cmd) >= 4 else "(malformed)"
        sw_text = r[-4:]
        try:
            meaning = sw_meaning(int(sw_text, 16)) if len(sw_text) == 4 else "no status word"
        except ValueError:
            meaning = "?"
        yield f"{head}  {name:<24} > {_spaced(c)}"
        data = r[:-4]
        lead = f"{'':>19}  {'':<24} < "
        yield f"{lead}{_spaced(data) + ' ' if data else ''}{sw_text}  {meaning}"


def _spaced(text: str) -> str:
    return " ".join(text[i : i + 2] for i in range(0, len(text), 2))
