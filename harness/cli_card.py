"""``simharness card info PROFILE`` and ``simharness apdu PROFILE HEX...``.

``card info`` reads every EF of the simulated card (``card.read_file`` / ``card.records``,
bypassing access conditions) and decodes it with the EF table of :mod:`csim.ef`.
``apdu`` sends raw command APDUs to a freshly powered card and prints each response with
the meaning of its status word (TS 102 221 §10.2, TS 51.011 §9.4).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, Protocol

from csim import ef as efs
from csim.image import CardImage
from csim.profile import Profile, build_image, load_profile, resolve_path
from csim.yamlsrc import DataError
from harness.transport import transmit_t0


class FileReader(Protocol):
    def read_file(self, path: str) -> bytes: ...
    def records(self, path: str) -> list[bytes]: ...


class ImageReader:
    """Reads the files of a :class:`CardImage` as the card holds them after personalisation."""

    def __init__(self, image: CardImage) -> None:
        self._files = {f.path: f for f in image.files}

    def _target(self, path: str) -> Any:
        f = self._files[path]
        return self._files[f.link] if f.link and f.link in self._files else f

    def read_file(self, path: str) -> bytes:
        return bytes(self._target(path).data)

    def records(self, path: str) -> list[bytes]:
        return [bytes(r) for r in self._target(path).records]


def _open_card(profile: Profile) -> Any:
    from csim.card import Card  # the compiled card core

    return Card.from_profile(profile.source if profile.source.endswith((".yaml", ".yml")) else profile.name)


def card_contents(profile: Profile, reader: FileReader) -> dict[str, Any]:
    """Every EF of the card, raw and decoded, as JSON-able data."""
    image = build_image(profile)
    files = []
    for spec in image.files:
        if spec.kind != "EF":
            continue
        entry: dict[str, Any] = {
            "path": spec.path, "name": spec.name, "structure": spec.structure, "sfi": spec.sfi,
            "read": spec.read, "update": spec.update, "link": spec.link,
        }
        ef = efs.by_path(spec.path)
        raw: bytes | list[bytes]
        if spec.structure == "transparent":
            raw = reader.read_file(spec.path)
            entry["raw"] = raw.hex().upper()
        else:
            raw = reader.records(spec.path)
            entry["raw"] = [r.hex().upper() for r in raw]
        try:
            entry["decoded"] = efs.decode(ef, raw) if ef else None
        except (ValueError, IndexError, KeyError) as exc:
            entry["decoded"] = None
            entry["error"] = f"cannot decode: {exc}"
        entry["spec"] = ef.spec if ef else None
        files.append(entry)
    dirs = [{"path": f.path, "name": f.name, "aid": f.aid.hex().upper() or None}
            for f in image.files if f.kind != "EF"]
    return {
        "profile": profile.name, "source": profile.source, "atr": profile.atr.hex().upper(),
        "iccid": profile.iccid, "active_profile": profile.active,
        "imsi_profiles": {n: p.imsi for n, p in profile.imsi_profiles.items()},
        "directories": dirs, "files": files,
    }


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _print_info(info: dict[str, Any], raw: bool, stream: Any) -> None:
    header = (f"{info['profile']}  ATR {info['atr']}  ICCID {info['iccid']}  active IMSI profile: "
              f"{info['active_profile']} ({', '.join(f'{k} {v}' for k, v in info['imsi_profiles'].items())})")
    if stream.isatty():
        from rich.console import Console
        from rich.table import Table

        console = Console(file=stream)
        console.print(header, markup=False)
        table = Table(show_lines=False)
        for col in ("path", "EF", "read/update", "contents"):
            table.add_column(col)
        if raw:
            table.add_column("raw")
        for f in info["files"]:
            if f.get("error") or f["structure"] == "transparent":
                contents = f.get("error") or _short(f["decoded"])
            else:
                contents = "\n".join(f"#{n} {_short(v)}" for n, v in enumerate(f["decoded"], 1))
            row = [f["path"], f["name"], f"{f['read']}/{f['update']}", contents]
            if raw:
                row.append(_short(f["raw"]))
            table.add_row(*row)
        console.print(table)
        return
    print(header, file=stream)
    for f in info["files"]:
        head = f"{f['path']:<16} {f['name']:<13} {f['read'] + '/' + f['update']:<10}"
        if f.get("error"):
            print(f"{head} {f['error']}", file=stream)
        elif f["structure"] == "transparent":
            print(f"{head} {_short(f['decoded'])}", file=stream)
        else:
            print(f"{head} {len(f['raw'])} records", file=stream)
            for n, value in enumerate(f["decoded"], 1):
                print(f"{'':<16} #{n:<3} {_short(value)}", file=stream)
        if raw:
            print(f"{'':<16} raw  {_short(f['raw'])}", file=stream)


def cmd_info(args: argparse.Namespace) -> int:
    profile = load_profile(resolve_path(args.profile))
    if args.image:
        reader: FileReader = ImageReader(build_image(profile))
    else:
        reader = _open_card(profile)
    info = card_contents(profile, reader)
    if args.json:
        json.dump(info, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_info(info, args.raw, sys.stdout)
    return 0


# TS 102 221 §10.2.1 and TS 51.011 §9.4: meaning of a status word
_SW_EXACT = {
    0x9000: "normal ending", 0x9300: "SIM Application Toolkit busy",
    0x6200: "warning: no information given, NV memory unchanged", 0x6281: "warning: data may be corrupted",
    0x6282: "warning: end of file/record reached before Le bytes or unsuccessful search",
    0x6283: "warning: selected file invalidated", 0x6285: "warning: file in termination state",
    0x62F1: "warning: more data available",
    0x62F2: "warning: more data available, proactive command pending",
    0x62F3: "warning: response data available", 0x63F1: "warning: more data expected",
    0x63F2: "warning: more data expected, proactive command pending",
    0x6400: "execution error: NV memory unchanged", 0x6500: "execution error: NV memory changed",
    0x6581: "execution error: memory problem", 0x6700: "wrong length",
    0x6800: "function in CLA not supported",
    0x6881: "logical channel not supported", 0x6882: "secure messaging not supported",
    0x6981: "command incompatible with file structure", 0x6982: "security status not satisfied",
    0x6983: "authentication/PIN method blocked", 0x6984: "referenced data invalidated",
    0x6985: "conditions of use not satisfied", 0x6986: "command not allowed (no EF selected)",
    0x6989: "secure channel security not satisfied",
    0x6A80: "incorrect parameters in the data field", 0x6A81: "function not supported",
    0x6A82: "file or application not found", 0x6A83: "record not found", 0x6A84: "not enough memory space",
    0x6A86: "incorrect parameters P1-P2", 0x6A87: "Lc inconsistent with P1-P2",
    0x6A88: "referenced data not found", 0x6B00: "wrong parameter(s) P1-P2",
    0x6D00: "instruction code not supported or invalid", 0x6E00: "class not supported",
    0x6F00: "technical problem, no precise diagnosis",
    0x9850: "INCREASE: maximum value reached",
    0x9862: "authentication error, application specific", 0x9863: "security session or association expired",
    0x9804: "GSM: access condition not fulfilled", 0x9840: "GSM: CHV blocked",
    0x9404: "GSM: file not found",
    0x9408: "GSM: file inconsistent with the command", 0x9402: "GSM: out of range (invalid address)",
}


def sw_meaning(sw: int) -> str:
    """Human meaning of the status word ``sw`` (``0x9000``...)."""
    if sw in _SW_EXACT:
        return _SW_EXACT[sw]
    sw1, sw2 = sw >> 8, sw & 0xFF
    if sw1 == 0x61:
        return f"{sw2} response bytes available (GET RESPONSE)"
    if sw1 == 0x6C:
        return f"wrong Le, {sw2} bytes available"
    if sw1 == 0x91:
        return f"normal ending, proactive command of {sw2} bytes pending (FETCH)"
    if sw1 == 0x92:
        return "normal ending, data transfer session information"
    if sw1 == 0x9F:
        return f"GSM: {sw2} response bytes available (GET RESPONSE)"
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        return f"verification failed, {sw2 & 0x0F} retries left"
    return "unknown status word"


def _parse_apdu(text: str) -> bytes:
    clean = re.sub(r"[\s:]", "", text)
    if not re.fullmatch(r"([0-9A-Fa-f]{2})+", clean) or len(clean) < 8:
        raise DataError("<command line>", None, f"not an APDU in hex (at least CLA INS P1 P2): {text!r}")
    return bytes.fromhex(clean)


def cmd_apdu(args: argparse.Namespace) -> int:
    profile = load_profile(resolve_path(args.profile))
    apdus = [_parse_apdu(a) for a in args.apdus]
    card = _open_card(profile)
    results = []
    for apdu in apdus:
        resp = transmit_t0(card.transmit, apdu) if args.t0 else bytes(card.transmit(apdu))
        sw = int.from_bytes(resp[-2:], "big") if len(resp) >= 2 else -1
        results.append({"command": apdu.hex().upper(), "data": resp[:-2].hex().upper(),
                        "sw": f"{sw:04X}" if sw >= 0 else "",
                        "meaning": sw_meaning(sw) if sw >= 0 else "no status word"})
    if args.json:
        json.dump({"profile": profile.name, "atr": bytes(card.atr).hex().upper(), "exchanges": results},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    tty = sys.stdout.isatty()
    for r in results:
        if tty:
            from rich.console import Console

            console = Console()
            console.print(f"[bold]>[/bold] {r['command']}")
            if r["data"]:
                console.print(f"[bold]<[/bold] {r['data']}")
            console.print(f"[bold]<[/bold] {r['sw']}  [dim]{r['meaning']}[/dim]")
        else:
            print(f"> {r['command']}")
            if r["data"]:
                print(f"< {r['data']}")
            print(f"< {r['sw']}  {r['meaning']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    card = sub.add_parser("card", help="inspect a simulated card",
                          description="Inspect the simulated card built from a profile.")
    card_sub = card.add_subparsers(dest="card_command", required=True, metavar="COMMAND")
    info = card_sub.add_parser("info", help="decoded contents of every EF",
                               description="Decoded contents of every EF, as the card holds them.")
    info.add_argument("profile", metavar="PROFILE",
                      help="card profile: a bundled name (alphalink-orange) or a YAML file")
    info.add_argument("--json", action="store_true", help="JSON output")
    info.add_argument("--raw", action="store_true", help="also print the raw hex contents")
    info.add_argument("--image", action="store_true",
                      help="decode the personalised image without powering the card core")
    info.set_defaults(func=cmd_info)

    apdu = sub.add_parser("apdu", help="send APDUs to a simulated card",
                          description="Send command APDUs (hex) to a freshly powered simulated card.")
    apdu.add_argument("profile", metavar="PROFILE", help="card profile: a bundled name or a YAML file")
    apdu.add_argument("apdus", nargs="+", metavar="HEX", help="command APDUs, e.g. 00A40004023F00")
    apdu.add_argument("--t0", action="store_true",
                      help="answer 61xx/9Fxx with GET RESPONSE and 6Cxx with the right Le, as a T=0 reader")
    apdu.add_argument("--json", action="store_true", help="JSON output")
    apdu.set_defaults(func=cmd_apdu)
