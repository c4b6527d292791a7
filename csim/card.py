"""The simulated UICC/USIM: :class:`Card` = the APDU engine plus profile loading and persistence.

The APDU engine itself (TS 102 221 / TS 31.102 / TS 51.011) lives in :mod:`csim.apdu`; this
module adds what a test bench needs around it: building a card from a profile, attaching the
card's toolkit (TS 102 223), atomic save/load of the whole card state and introspection.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from csim.apdu import CardCore
from csim.image import AuthSpec, CardImage, FileSpec, PinSpec

# files the USIM reads for GET IDENTITY (TS 31.102 §4.2.2, §4.2.18, §4.4.11.8, §4.4.11.11)
_USIM_IMSI, _USIM_AD = "3F00/7FF0/6F07", "3F00/7FF0/6FAD"
_SUCI_CALC_INFO, _ROUTING_INDICATOR = "3F00/7FF0/5FC0/4F07", "3F00/7FF0/5FC0/4F0A"

SAVE_FORMAT = "simharness-card"
#: the largest saved card state read back (a bundled card saves about 30 kB)
MAX_STATE_BYTES = 16 << 20
SAVE_VERSION = 1


class Card(CardCore):
    """A UICC with a USIM application, driven by APDUs through :meth:`transmit`.

    ``Card(image)`` builds the card from a :class:`csim.image.CardImage`;
    :meth:`from_profile` builds it from a card profile (``fixtures/cards/*.yaml`` or a mapping).
    """

    def __init__(self, image: CardImage, profile: Any = None, toolkit: bool = True) -> None:
        super().__init__(image)
        self.image = image
        self.profile = profile
        self.toolkit = _make_toolkit(self, profile) if toolkit else None
        self.applets = _make_applets(profile)

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def from_profile(cls, profile: str | os.PathLike[str] | Mapping[str, Any] | Any) -> Card:
        """Build a card from a profile file, a profile name, a mapping or a loaded Profile."""
        from csim.profile import build_image, load_profile

        prof = load_profile(profile)
        return cls(build_image(prof), profile=prof)

    # --- administrative commands (TS 102 222) -------------------------------------------------

    def administer(self, ins: int, channel: int, data: bytes) -> int:
        """CREATE FILE (E0), DELETE FILE (E4) or RESIZE FILE (D4) on the current DF of ``channel``:
        the card's file tree is rebuilt from its current state with the change (the APDU engine
        calls this once the command's parameters and ADM are checked). Returns the status word."""
        from csim import administrative

        change = {0xE0: administrative.create, 0xE4: administrative.delete,
                  0xD4: administrative.resize}[ins]
        result = change(self.snapshot(), self.selection(channel)["df"], data)
        if isinstance(result, int):
            return result
        image, select = result
        try:
            self.rebuild(image, channel, select)
        except ValueError:
            return administrative.SW_BAD_DATA
        self.image = image
        return 0x9000

    # --- GET IDENTITY (TS 31.102 §7.5) -----------------------------------------------------

    def identity(self, context: int) -> bytes:
        """The SUCI the USIM returns to GET IDENTITY in the SUCI context (the APDU engine calls this
        once services 124 and 125 and PIN1 are checked): TS 33.501 §6.12.2 concealment of the
        IMSI of EF_IMSI (MNC length from EF_AD) with the highest-priority protection scheme of
        DF.5GS/EF_SUCI_Calc_Info and the routing indicator of EF_Routing_Indicator. TS 31.102
        leaves to the card where the USIM keeps its own SUCI calculation information; this card
        keeps it in EF_SUCI_Calc_Info, so an update of that file changes the SUCI."""
        from csim import encoding as enc
        from csim import suci

        imsi = enc.decode_imsi(self.read_file(_USIM_IMSI))
        if imsi is None:
            raise suci.SuciError("EF_IMSI is erased")
        mnc_length = enc.decode_ad(self.read_file(_USIM_AD))["mnc_length"] or 2
        calc_info = enc.decode_suci_calc_info(self.read_file(_SUCI_CALC_INFO))
        return suci.suci(imsi, mnc_length, self.read_file(_ROUTING_INDICATOR)[:2], calc_info)

    # --- introspection ----------------------------------------------------------------------

    @property
    def current_profile(self) -> str | None:
        """Name of the IMSI profile in use (the roaming applet's view, else the profile's)."""
        applet = self._roaming_applet()
        if applet is not None:
            return str(applet.active)
        return getattr(self.profile, "active", None)

    def _roaming_applet(self) -> Any:
        tk = self.toolkit
        if tk is None:
            return None
        for applet in getattr(tk, "applets", ()):
            if hasattr(applet, "active") and hasattr(applet, "switch_count"):
                return applet
        return None

    # --- persistence ------------------------------------------------------------------------

    def snapshot(self) -> CardImage:
        """The card's current state as a :class:`CardImage` (files, PIN counters, keys, SQN)."""
        files: list[FileSpec] = []
        for spec in self.image.files:
            new = dataclasses.replace(spec, lcsi=self.lcsi(spec.path))
            if spec.kind == "EF" and not spec.link:
                contents = self._contents(spec.path)
                if isinstance(contents, list):
                    new.records = contents
                    new.record_length = len(contents[0]) if contents else spec.record_length
                    if spec.structure == "cyclic":
                        new.structure = "cyclic"
                else:
                    new.data = contents
            files.append(new)
        pins: list[PinSpec] = []
        values = {name: (value, puk) for name, value, puk in self.pin_values()}
        for spec in self.image.pins:
            st = self.pin_status(spec.name)
            value, puk = values[spec.name]
            pins.append(dataclasses.replace(
                spec, value=value, puk=puk, attempts=st["attempts"],
                puk_attempts=st["puk_attempts"] if puk is not None else spec.puk_attempts,
                enabled=st["enabled"]))
        auth = None
        if self.auth is not None:
            st = self.auth.state()
            auth = AuthSpec(ki=st["ki"], opc=st["opc"], sqn=st["sqn"], sqn_array=list(st["sqn_array"]),
                            algorithm=st["algorithm"])
        return CardImage(atr=self.atr, files=files, pins=pins, auth=auth)

    def state(self) -> dict[str, Any]:
        """Everything :meth:`from_state` needs to rebuild this card (files, PIN counters, SQN,
        applet state), as JSON values."""
        doc: dict[str, Any] = {
            "format": SAVE_FORMAT,
            "version": SAVE_VERSION,
            "image": _image_to_json(self.snapshot()),
            "auth_limits": None,
            "profile": _profile_source(self.profile),
            "toolkit": self.toolkit.state() if self.toolkit is not None else None,
            "applets": {a.name: a.state() for a in self.applets},
        }
        if self.auth is not None:
            st = self.auth.state()
            doc["auth_limits"] = {"delta": st.get("delta", 0), "limit": st.get("limit", 0)}
        return doc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the card state atomically: temp file in the same directory, fsync, rename."""
        write_atomically(path, json.dumps(self.state(), default=_json_default, indent=1).encode())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Card:
        """Rebuild a card written by :meth:`save` (files, PIN counters, SQN, applet state).

        Only a regular file of at most :data:`MAX_STATE_BYTES` is read
        (:class:`~csim.yamlsrc.DataError` otherwise: a FIFO or a device never hangs the load)."""
        from csim.yamlsrc import read_bytes

        return cls.from_state(json.loads(read_bytes(path, MAX_STATE_BYTES)), str(path))

    @classmethod
    def from_state(cls, doc: Any, where: str = "<state>", profile: Any = None) -> Card:
        """Rebuild a card from its :meth:`state`; ``profile`` (a card profile) when the state names
        none that can still be read."""
        if not isinstance(doc, dict) or [doc.get("format"), doc.get("version")] != [SAVE_FORMAT,
                                                                                    SAVE_VERSION]:
            raise ValueError(f"{where}: not a saved simharness card (format/version)")
        from csim.profile import load_profile

        image = _image_from_json(doc["image"])
        src = doc.get("profile")
        if src is not None:
            try:
                profile = load_profile(src)
            except Exception:  # the profile file changed or vanished: the saved files still rule
                profile = None
        elif isinstance(profile, Mapping):
            profile = load_profile(profile)
        card = cls(image, profile=profile)
        limits = doc.get("auth_limits")
        if limits and card.auth is not None and (limits.get("delta") or limits.get("limit")):
            from csim.milenage import UsimAuth

            card.auth = UsimAuth(**{**card.auth.state(), **limits})
        if card.toolkit is not None and doc.get("toolkit") is not None:
            card.toolkit.restore(doc["toolkit"])
        saved = doc.get("applets") or {}
        for applet in card.applets:
            if applet.name in saved:
                applet.restore(saved[applet.name])
        return card


def write_atomically(path: str | os.PathLike[str], payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that a kill at any moment leaves the old or the new
    content: temp file in the same directory, fsync, rename, fsync of the directory; the temp
    file of a write killed before its rename is removed by the next write."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        stale.unlink(missing_ok=True)  # left by a save killed between its temp file and the rename
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)


def _make_toolkit(card: Card, profile: Any) -> Any:
    """The card's CAT runtime (TS 102 223), with the roaming applet when the profile has an
    ``applet`` section."""
    from csim.toolkit import build

    if profile is None or getattr(profile, "applet", None) is None:
        return build(card)
    from csim.roaming import RoamingApplet

    return build(card, [RoamingApplet.from_profile(card, profile)])


def _make_applets(profile: Any) -> tuple[Any, ...]:
    """The applications without a file system the profile installs: the ARA-M with its rules
    when the profile has an ``aram`` section (GPD_SPE_013)."""
    rules = getattr(profile, "aram", None)
    if rules is None:
        return ()
    from csim.aram import AraM

    return (AraM(rules),)


def _profile_source(profile: Any) -> Any:
    """How to find the profile again at load time (its file), or None."""
    if profile is None:
        return None
    source = getattr(profile, "source", None)
    if isinstance(source, str | os.PathLike) and Path(source).is_file():
        return str(Path(source).resolve())
    from csim.profile import resolve_path

    name = getattr(profile, "name", None)
    if isinstance(name, str) and name and resolve_path(name).is_file():
        return name
    return None


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, bytes | bytearray):
        return {"__hex__": bytes(obj).hex()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def _unhex(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__hex__"}:
            return bytes.fromhex(obj["__hex__"])
        return {k: _unhex(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unhex(v) for v in obj]
    return obj


def _image_to_json(image: CardImage) -> dict[str, Any]:
    """The image as JSON values (bytes as ``{"__hex__": ...}``), as ``dataclasses.asdict`` then a
    JSON round trip would give it, without their deep copies (a card's state was 6 ms, 5 of them
    there: bench/bench_euicc.py, "EnableProfile + Euicc.save")."""
    return _jsonable(image)


_PLAIN = (str, int, bool, float, type(None))


def _jsonable(obj: Any) -> Any:
    kind = type(obj)
    if kind in _PLAIN:
        return obj
    if kind is bytes or kind is bytearray:
        return {"__hex__": obj.hex()}
    if kind is list or kind is tuple:
        return [_jsonable(v) for v in obj]
    if kind is dict:
        return {str(k): _jsonable(v) for k, v in obj.items()}
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(kind):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    if names is None:
        raise TypeError(f"cannot serialise {kind.__name__}")
    return {name: _jsonable(getattr(obj, name)) for name in names}


_FIELDS: dict[type, tuple[str, ...]] = {}  # the field names of each dataclass serialised


def _image_from_json(doc: dict[str, Any]) -> CardImage:
    doc = _unhex(doc)
    files = [FileSpec(**f) for f in doc["files"]]
    pins = [PinSpec(**p) for p in doc["pins"]]
    auth = AuthSpec(**doc["auth"]) if doc.get("auth") else None
    return CardImage(atr=doc["atr"], files=files, pins=pins, auth=auth)
