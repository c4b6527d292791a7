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
from pathlib import Path
from typing import Any, Protocol

from csim import ef as efs
from csim.image import CardImage
from csim.profile import Profile, build_image, load_profile, resolve_path
from csim.sw import sw_meaning
from csim.yamlsrc import DataError
from harness.terminal.transport import transmit_t0


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


def add_euicc_arguments(serve: argparse.ArgumentParser) -> None:
    """The ``card serve`` options that put the profiles in one eUICC (GSMA SGP.22) instead."""
    serve.add_argument("--euicc", action="store_true",
                       help="serve one eUICC holding every PROFILE in an ISD-P, the first one enabled")
    serve.add_argument("--curve", choices=("nist", "brainpool"), default="nist",
                       help="curve of the eUICC's test PKI (CI, EUM, eUICC)")
    serve.add_argument("--pki-dir", metavar="DIR",
                       help="use the test PKI in DIR if one of the curve is there (written by `smdp "
                            "serve --pki-dir DIR`), else write a fresh one; and the eUICC's certificate "
                            "and key")


def serve_euicc(args: argparse.Namespace, state: Path | None = None) -> Any:
    """The eUICC of ``card serve --euicc``: the one saved in ``state`` when that file exists
    (``ValueError`` saying what is wrong if it is no saved eUICC), else a fresh test PKI and each
    profile in an ISD-P."""
    from csim.euicc import Euicc
    from csim.euicc.pki import write_credentials

    if state is not None and state.exists():
        euicc = Euicc.load(state)
        creds = euicc.isdr.credentials
        held = ", ".join(f"{p.name} ({'enabled' if p.enabled else 'disabled'})" for p in euicc.isdr.profiles)
        print(f"reader 0 (vpcd port {args.port}): eUICC EID {creds.eid} ({creds.curve}) from state {state}: "
              f"{held or 'no profile'}", flush=True)
        if args.pki_dir:
            _write_pki(args.pki_dir, lambda d: write_credentials(creds, d))
            print(f"eUICC certificate and key written to {args.pki_dir}", flush=True)
        return euicc
    pki, loaded = shared_pki(args.curve, args.pki_dir)
    credentials = pki.euicc_credentials(pki.eid(1))
    euicc = Euicc.seeded(args.profiles, credentials=credentials)
    print(f"reader 0 (vpcd port {args.port}): eUICC EID {credentials.eid} ({args.curve}) with "
          f"{', '.join(args.profiles)}", flush=True)
    if args.pki_dir:
        writers = [] if loaded else [pki.write]
        _write_pki(args.pki_dir, *writers, lambda d: write_credentials(credentials, d))
        print(f"test PKI {'read from' if loaded else 'written to'} {args.pki_dir}", flush=True)
    return euicc


def shared_pki(curve: str, pki_dir: str | None) -> tuple[Any, bool]:
    """The test PKI of ``curve`` that ``--pki-dir`` holds (written there by ``smdp serve`` or
    ``card serve --euicc``, so that the SM-DP+ and the eUICC share one CI) and True; else a fresh
    one and False. Files there that are no such PKI are a :class:`DataError`."""
    from csim.euicc import TestPki

    if pki_dir:
        try:
            pki = TestPki.load(pki_dir, curve) if Path(pki_dir).is_dir() else None
        except (OSError, ValueError) as exc:
            raise DataError("<command line>", None, f"--pki-dir {pki_dir}: {exc}") from None
        if pki is not None:
            return pki, True
    return TestPki.generate(curve), False


def _write_pki(directory: str, *writers: Any) -> None:
    """Each writer's files into ``directory``; a file or a device in the way, or a folder that
    cannot be made, is a :class:`DataError` of the command line."""
    try:
        for write in writers:
            write(directory)
    except OSError as exc:
        raise DataError("<command line>", None, f"--pki-dir {directory}: cannot write the test PKI "
                                                f"there ({exc.strerror or exc})") from None


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
