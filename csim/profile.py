"""Card profiles: ``fixtures/cards/*.yaml`` -> :class:`Profile` -> :class:`csim.image.CardImage`.

A profile describes one physical card: ICCID, ATR, PINs, service tables, and one or more
IMSI profiles (``domestic``, ``international``...) each with its own IMSI, SPN, PLMN lists
and keys. A multi-IMSI card also carries the roaming applet's configuration (``applet``).

Loading validates the JSON Schema (``csim/schema/card.schema.json``) first, then the
semantic rules of the standards; every error reads ``file:line: what is wrong``.
"""

from __future__ import annotations

import copy
import datetime as _dt
import ipaddress
import json
import os
import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from csim import ef as efs
from csim import encoding as enc
from csim.image import ADM1, ALW, AuthSpec, CardImage, FileSpec, PinSpec
from csim.memo import remember
from csim.yamlsrc import DataError, LineDict, LineList, load, load_schema, validate

SCHEMA_PATH = Path(__file__).with_name("schema") / "card.schema.json"
FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "cards"

# TS 102 223 §8.6: REFRESH command qualifiers by the names profiles use
REFRESH_QUALIFIERS: dict[str, int] = {
    "naa_init_full_fcn": 0x00, "fcn": 0x01, "naa_init_fcn": 0x02, "naa_init": 0x03, "uicc_reset": 0x04,
    "naa_app_reset": 0x05, "naa_session_reset": 0x06, "steering_of_roaming": 0x07,
}

# RID 3GPP + USIM application code (TS 101 220 annex E); the rest is a fictitious provider field
DEFAULT_USIM_AID = "A0000000871002FF33FF018900000001"
DEFAULT_ISIM_AID = "A0000000871004FF33FF018900000001"  # 1004: the ISIM application code
# TS 51.011 §10.3.7 services of the GSM view: CHV1 disable, ADN, SMS, PLMN selector, MSISDN, SPN,
# GPRS, user/operator/HPLMN selector with access technology
DEFAULT_SST = (1, 2, 4, 7, 9, 17, 38, 43, 44, 45)
# MCCs whose networks use 3-digit MNCs (North American Numbering Plan area and Mexico)
THREE_DIGIT_MNC_MCCS = frozenset({"302", "310", "311", "312", "313", "314", "315", "316", "334"})
SPN_MAX_CHARS = 13  # "profil électrique": 13 characters, spaces included (the AlphaLink mobile reference)
UST_MAX = 136
EST_MAX = 8
USIM_PATH = efs.DIRECTORIES["ADF_USIM"]
GSM_PATH = efs.DIRECTORIES["DF_GSM"]


@dataclass
class SpnSpec:
    """EF_SPN contents, TS 31.102 §4.2.12."""

    name: str
    display_plmn_on_home: bool = True
    display_spn_when_roaming: bool = True

    def as_value(self) -> dict[str, Any]:
        return {"name": self.name, "display_plmn_on_home": self.display_plmn_on_home,
                "display_spn_when_roaming": self.display_spn_when_roaming}


@dataclass
class PlmnAct:
    """One entry of a PLMN selector with access technology list (TS 31.102 §4.2.5)."""

    plmn: str
    act: list[str]

    def as_value(self) -> dict[str, Any]:
        return {"plmn": self.plmn, "act": list(self.act)}


@dataclass
class ImsiProfile:
    """One subscription of the card: what the roaming applet swaps in and out."""

    name: str
    imsi: str
    mnc_length: int
    spn: SpnSpec
    ki: bytes
    opc: bytes
    sqn: int = 0
    algorithm: str = "milenage"  # or "usim-test-algorithm" (TS 34.108 §8.1.2, OPc ignored)
    ehplmn: list[str] = field(default_factory=list)
    hplmnwact: list[PlmnAct] = field(default_factory=list)
    oplmnwact: list[PlmnAct] = field(default_factory=list)
    plmnwact: list[PlmnAct] = field(default_factory=list)
    fplmn: list[str] = field(default_factory=list)
    acc: list[int] = field(default_factory=list)

    @property
    def mcc(self) -> str:
        return enc.imsi_plmn(self.imsi, self.mnc_length)[0]

    @property
    def mnc(self) -> str:
        return enc.imsi_plmn(self.imsi, self.mnc_length)[1]

    @property
    def hplmn(self) -> str:
        """The HPLMN derived from the IMSI and the MNC length of EF_AD (TS 23.122 §1.2)."""
        return f"{self.mcc}-{self.mnc}"


@dataclass
class AppletEntry:
    """A row of the roaming applet's country table: ``pattern`` like ``"208-*"``, ``"206-01"``,
    ``"3??-*"`` (``?`` one digit, an MNC of ``*`` any MNC)."""

    pattern: str
    profile: str

    def matches(self, plmn: str) -> bool:
        """Whether the serving PLMN ``"206-01"`` falls under this entry."""
        return plmn_matches(self.pattern, plmn)


@dataclass
class AppletConfig:
    """Configuration of the multi-IMSI roaming applet (the AlphaLink mobile reference,
    "Paramétrage du roaming")."""

    priority: str
    refresh: str
    table: list[AppletEntry]
    default: str | None

    @property
    def refresh_qualifier(self) -> int:
        """REFRESH command qualifier, TS 102 223 §8.6."""
        return REFRESH_QUALIFIERS[self.refresh]


@dataclass
class IsimSpec:
    """ADF.ISIM, TS 31.103 §4.2: private and public user identities, home domain, P-CSCFs."""

    aid: bytes
    label: str
    impi: str
    impu: list[str]
    domain: str
    ist: list[int]
    pcscf: list[dict[str, str]]


@dataclass
class Profile:
    name: str
    source: str
    atr: bytes
    iccid: str
    pins: dict[str, PinSpec]
    imsi_profiles: dict[str, ImsiProfile]
    applet: AppletConfig | None
    active: str  # IMSI profile written into the files at build time
    description: str = ""
    provider: str | None = None
    network: str | None = None
    sim_reference: str | None = None
    activation_date: _dt.date | None = None
    msisdn: str | None = None
    languages: list[str] = field(default_factory=lambda: ["fr", "en"])
    hplmn_search_minutes: int = 60
    usim_aid: bytes = bytes.fromhex(DEFAULT_USIM_AID)
    usim_label: str = "USIM"
    ust: list[int] = field(default_factory=list)
    est: list[int] = field(default_factory=list)
    sst: list[int] = field(default_factory=lambda: list(DEFAULT_SST))
    acl: list[str] = field(default_factory=list)
    files: dict[str, Any] = field(default_factory=dict)  # EF key -> decoded contents (``files:``)
    isim: IsimSpec | None = None
    entries: dict[str, int] = field(default_factory=dict)  # ``entries:`` list file -> entries it holds
    aram: list[bytes] | None = None  # ``aram:`` the ARA-M applet's rules (REF-AR-DO contents), or no ARA-M

    def services(self) -> dict[str, list[int]]:
        """The service tables by name (``UST``, ``IST``), as :data:`csim.ef.SERVICE_TABLES` names them."""
        return {"UST": self.ust, "IST": self.isim.ist if self.isim else []}

    @property
    def active_profile(self) -> ImsiProfile:
        return self.imsi_profiles[self.active]

    def sizes(self) -> dict[str, int]:
        """File sizes shared by every IMSI profile, so a profile switch rewrites same-size files:
        the ``entries`` the profile declares, else the file's size in :mod:`csim.ef`."""
        ps = list(self.imsi_profiles.values())
        out = {key: length * self.entries.get(key, default_entries(key))
               for key, (_, length, _, _) in _ENTRIES.items()}
        out["plmnsel"] = 3 * max(8, *(len(_plmnsel(p)) for p in ps))
        return out


# --------------------------------------------------------------------------- loading


def plmn_matches(pattern: str, plmn: str) -> bool:
    """``?`` (or ``*``) matches one digit; an MNC of a single ``*`` matches any MNC."""
    pm, _, pn = pattern.partition("-")
    mcc, _, mnc = plmn.partition("-")

    def same(pat: str, digits: str) -> bool:
        return len(pat) == len(digits) and all(a in ("?", "*", b) for a, b in zip(pat, digits, strict=True))

    return same(pm, mcc) and (pn == "*" or same(pn, mnc))


def resolve_path(name_or_path: str | Path) -> Path:
    """A bare name (``"alphalink-orange"``) is looked up in ``fixtures/cards/``."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or len(p.parts) > 1:
        return p
    return FIXTURES_DIR / f"{p.name}.yaml"


def bundled_profiles() -> list[str]:
    """Names of the profiles shipped in ``fixtures/cards/``."""
    return sorted(p.stem for p in FIXTURES_DIR.glob("*.yaml"))


def _to_line_tree(obj: Any, source: str) -> Any:
    if isinstance(obj, Mapping):
        out = LineDict((k, _to_line_tree(v, source)) for k, v in obj.items())
        out.source = source
        return out
    if isinstance(obj, list | tuple):
        lst = LineList(_to_line_tree(v, source) for v in obj)
        lst.source = source
        return lst
    return obj


def load_profile(spec: str | Path | Mapping[str, Any] | Profile) -> Profile:
    """Load and validate a card profile from a path, a bare bundled name or a mapping.

    A file is parsed and validated once per version (path, modification time, size); every
    call returns a fresh copy of the validated profile, so callers never share mutable data.
    """
    if isinstance(spec, Profile):
        return spec
    if not isinstance(spec, Mapping):
        return _load_file(resolve_path(spec))
    if not isinstance(spec, LineDict):
        return _load_mapping(spec)
    validate(spec, load_schema(SCHEMA_PATH), spec.source)
    return _build_profile(spec)


# --------------------------------------------------------------------------- caching
#
# Parsing and validating a profile costs milliseconds; a test suite builds a card per test.
# Validated profiles are kept per file version, and what is derived from a profile (the card
# image, the IMSI-dependent files) per profile contents: the derived data are reused only while
# the profile still equals the copy they were computed from, and handed out as fresh copies.

_ATOMS = (str, bytes, int, float, bool, type(None), _dt.date, frozenset)
_by_file: dict[str, tuple[int, int, Profile, dict[str, Any]]] = {}
_derived: dict[int, tuple[weakref.ref[Profile], Profile, dict[str, Any]]] = {}


def _fresh(obj: Any) -> Any:
    """A copy of ``obj`` sharing no mutable part with it (immutable leaves are shared)."""
    if isinstance(obj, _ATOMS):
        return obj
    cls = type(obj)
    if cls is list:
        return [_fresh(v) for v in obj]
    if cls is dict:
        return {k: _fresh(v) for k, v in obj.items()}
    if cls is tuple:
        return tuple(_fresh(v) for v in obj)
    if is_dataclass(obj) and hasattr(obj, "__dict__") and not hasattr(cls, "__slots__"):
        new = object.__new__(cls)
        new.__dict__.update({k: _fresh(v) for k, v in obj.__dict__.items()})
        return new
    return copy.deepcopy(obj)


def _forget(key: int, ref: weakref.ref[Profile]) -> None:
    entry = _derived.get(key)
    if entry is not None and entry[0] is ref:
        del _derived[key]


def _attach(profile: Profile, reference: Profile, cache: dict[str, Any]) -> None:
    key = id(profile)
    ref = weakref.ref(profile, lambda r, k=key: _forget(k, r))
    _derived[key] = (ref, reference, cache)


def derived_cache(profile: Profile) -> dict[str, Any]:
    """Cache of data derived from ``profile``, valid while it equals its reference copy."""
    entry = _derived.get(id(profile))
    if entry is not None and entry[0]() is profile and entry[1] == profile:
        return entry[2]
    cache: dict[str, Any] = {}
    _attach(profile, _fresh(profile), cache)
    return cache


def _parse_file(path: Path) -> Profile:
    doc = load(path, load_schema(SCHEMA_PATH))
    if not isinstance(doc, LineDict):
        raise DataError(str(path), None, "a card profile is a mapping")
    return _build_profile(doc)


#: canonical JSON of a profile mapping -> its validated profile and derived-data cache: a profile
#: package installed again (the same download in every scenario) was 4.7 of the 6 ms of its card
#: build in validation and profile building (bench/bench_euicc.py, "SAIP decode + card build")
_by_mapping: dict[str, tuple[Profile, dict[str, Any]]] = {}


def _load_mapping(spec: Mapping[str, Any]) -> Profile:
    """A profile from a plain mapping, validated once per distinct content; a fresh copy each call."""
    try:
        key = json.dumps(spec, sort_keys=True)
    except (TypeError, ValueError):  # not JSON data: validated each time (and refused there)
        key = None
    hit = _by_mapping.get(key) if key is not None else None
    if hit is None:
        source = str(spec.get("name", "<mapping>"))
        doc = _to_line_tree(spec, f"<profile {source}>")
        validate(doc, load_schema(SCHEMA_PATH), doc.source)
        hit = (_build_profile(doc), {})
        if key is not None:
            remember(_by_mapping, key, hit, 256)
    profile = _fresh(hit[0])
    _attach(profile, hit[0], hit[1])
    return profile


def _load_file(path: Path) -> Profile:
    try:
        st = os.stat(path)
    except OSError:
        return _parse_file(path)  # the loader reports the missing file
    key = os.path.abspath(path)
    hit = _by_file.get(key)
    if hit is None or hit[0] != st.st_mtime_ns or hit[1] != st.st_size:
        hit = (st.st_mtime_ns, st.st_size, _parse_file(path), {})
        _by_file[key] = hit
    reference, cache = hit[2], hit[3]
    profile = _fresh(reference)
    _attach(profile, reference, cache)
    return profile


def _copy_file_spec(spec: FileSpec) -> FileSpec:
    new = object.__new__(FileSpec)
    new.__dict__.update(spec.__dict__)  # bytes/str/int fields are immutable
    new.records = list(spec.records)
    return new


def _copy_image(image: CardImage) -> CardImage:
    return CardImage(atr=image.atr, files=[_copy_file_spec(f) for f in image.files],
                     pins=[_fresh(p) for p in image.pins], auth=_fresh(image.auth))


def _hex(doc: LineDict, key: str) -> bytes:
    text = re.sub(r"\s+", "", str(doc[key]))
    if len(text) % 2:
        raise doc.error(key, f"{key}: odd number of hex digits")
    return bytes.fromhex(text)


def _check_atr(doc: LineDict) -> bytes:
    """ISO/IEC 7816-3 §8: TS, T0, interface bytes, historical bytes, TCK when a protocol other
    than T=0 is indicated (XOR of T0..TCK is 0)."""
    atr = _hex(doc, "atr")

    def bad(msg: str) -> DataError:
        return doc.error("atr", f"atr: {msg}")

    if len(atr) < 2 or atr[0] not in (0x3B, 0x3F):
        raise bad("TS must be 3B (direct) or 3F (inverse convention)")
    k = atr[1] & 0x0F
    y, i, protocols = atr[1] >> 4, 2, set()
    while True:
        for bit in (0x1, 0x2, 0x4):
            if y & bit:
                i += 1
        if y & 0x8:
            if i >= len(atr):
                raise bad("truncated in the interface bytes")
            td = atr[i]
            i += 1
            protocols.add(td & 0x0F)
            y = td >> 4
        else:
            break
    if i > len(atr):
        raise bad("truncated in the interface bytes")
    need_tck = bool(protocols - {0})
    expected = i + k + (1 if need_tck else 0)
    if len(atr) != expected:
        what = "with TCK " if need_tck else ""
        raise bad(f"{len(atr)} bytes, but T0 and the interface bytes announce {expected} {what}"
                  f"({k} historical bytes)")
    if need_tck:
        x = 0
        for b in atr[1:]:
            x ^= b
        if x:
            raise bad(f"wrong TCK {atr[-1]:02X}, expected {atr[-1] ^ x:02X}")
    if len(atr) > 33:
        raise bad("longer than 33 bytes")
    return atr


def _pin(doc: LineDict, name: str) -> PinSpec:
    node = doc[name]
    key_ref = {"pin1": 0x01, "pin2": 0x81, "adm1": 0x0A}[name]
    value = str(node["value"])
    if name == "adm1":
        if re.fullmatch(r"\d{8}", value):
            raw = value.encode("ascii")
        elif re.fullmatch(r"[0-9A-Fa-f]{16}", value):
            raw = bytes.fromhex(value)
        else:
            raise node.error("value", "adm1: ADM key is 8 digits or 16 hex digits")
        tries = int(node.get("attempts", 3))
        return PinSpec(name="ADM1", key_ref=key_ref, value=raw, puk=None, attempts=tries, max_attempts=tries)
    if not re.fullmatch(r"\d{4,8}", value):
        raise node.error("value", f"{name}: a PIN is 4 to 8 digits")
    puk = str(node["puk"])
    if not re.fullmatch(r"\d{8}", puk):
        raise node.error("puk", f"{name}: a PUK is 8 digits")
    tries = int(node.get("attempts", 3))
    puk_tries = int(node.get("puk_attempts", 10))
    # TS 102 221 §9.5.1: PIN values are ASCII digits padded with FF to 8 bytes
    return PinSpec(name=name.upper(), key_ref=key_ref, value=value.encode().ljust(8, b"\xff"),
                   puk=puk.encode(), attempts=tries, max_attempts=3 if tries <= 3 else tries,
                   puk_attempts=puk_tries, max_puk_attempts=10 if puk_tries <= 10 else puk_tries,
                   enabled=bool(node.get("enabled", True)))


def _plmn_list(node: LineDict, key: str) -> list[str]:
    items = node.get(key, [])
    seen: set[str] = set()
    for idx, p in enumerate(items):
        if p in seen:
            raise items.error(idx, f"{key}: {p} is listed twice")
        seen.add(p)
    return list(items)


def _plmn_act_list(node: LineDict, key: str) -> list[PlmnAct]:
    items = node.get(key, [])
    out, seen = [], set()
    for idx, item in enumerate(items):
        if item["plmn"] in seen:
            raise items.error(idx, f"{key}: {item['plmn']} is listed twice")
        seen.add(item["plmn"])
        if not item["act"]:
            raise item.error("act", f"{key}: {item['plmn']} has no access technology")
        out.append(PlmnAct(item["plmn"], list(item["act"])))
    return out


def _imsi_profile(name: str, node: LineDict) -> ImsiProfile:
    imsi = str(node["imsi"])
    if not re.fullmatch(r"\d{6,15}", imsi):
        raise node.error("imsi", f"profiles/{name}/imsi: an IMSI is 6 to 15 digits, got {imsi!r}")
    mnc_length = int(node["mnc_length"])
    mcc = imsi[:3]
    if mcc in THREE_DIGIT_MNC_MCCS and mnc_length != 3:
        raise node.error("mnc_length", f"profiles/{name}/mnc_length: MCC {mcc} uses 3-digit MNCs")
    if mcc[0] == "2" and mnc_length != 2:
        raise node.error("mnc_length", f"profiles/{name}/mnc_length: MCC {mcc} (Europe) uses 2-digit MNCs")
    spn_node = node["spn"]
    spn_name = str(spn_node["name"])
    if len(spn_name) > SPN_MAX_CHARS:
        raise spn_node.error("name", f"profiles/{name}/spn/name: {spn_name!r} has {len(spn_name)} "
                                     f"characters, the electrical profile allows {SPN_MAX_CHARS}")
    try:
        enc.gsm7_encode(spn_name)
        enc.encode_spn(spn_name)
    except ValueError as exc:
        raise spn_node.error("name", f"profiles/{name}/spn/name: {exc}") from None
    spn = SpnSpec(spn_name, bool(spn_node.get("display_plmn_on_home", True)),
                  bool(spn_node.get("display_spn_when_roaming", True)))
    acc = list(node.get("acc", []))
    if 10 in acc:
        raise node["acc"].error(acc.index(10), f"profiles/{name}/acc: access class 10 is not stored "
                                                "on a USIM (TS 31.102 §4.2.15)")
    p = ImsiProfile(
        name=name, imsi=imsi, mnc_length=mnc_length, spn=spn,
        ki=bytes.fromhex(node["ki"]), opc=bytes.fromhex(node["opc"]), sqn=int(node.get("sqn", 0)),
        algorithm=str(node.get("algorithm", "milenage")),
        ehplmn=_plmn_list(node, "ehplmn"), hplmnwact=_plmn_act_list(node, "hplmnwact"),
        oplmnwact=_plmn_act_list(node, "oplmnwact"), plmnwact=_plmn_act_list(node, "plmnwact"),
        fplmn=_plmn_list(node, "fplmn"), acc=acc,
    )
    homes = {p.hplmn, *p.ehplmn}
    for idx, entry in enumerate(p.hplmnwact):
        if entry.plmn not in homes:
            raise node["hplmnwact"].error(
                idx, f"profiles/{name}/hplmnwact: {entry.plmn} is neither the HPLMN {p.hplmn} of the IMSI "
                     "nor an EHPLMN")
    for idx, plmn in enumerate(p.fplmn):
        if plmn in homes:
            raise node["fplmn"].error(idx, f"profiles/{name}/fplmn: the home network {plmn} "
                                           "cannot be forbidden")
    return p


def _services(doc: LineDict, key: str, maximum: int) -> list[int]:
    items = doc.get(key, [])
    for idx, n in enumerate(items):
        if not 1 <= n <= maximum:
            raise items.error(idx, f"{key}: service {n} is outside 1..{maximum}")
        if n in items[:idx]:
            raise items.error(idx, f"{key}: service {n} is listed twice")
    return sorted(items)


# what a profile declares outside ``files:`` that only a service of EF_UST calls for (TS 31.102 §4.2.8)
_DECLARED_FILES = {"msisdn": "ADF_USIM/EF_MSISDN", "est": "ADF_USIM/EF_EST", "acl": "ADF_USIM/EF_ACL"}
_DECLARED_PROFILE_FILES = {"ehplmn": "ADF_USIM/EF_EHPLMN", "plmnwact": "ADF_USIM/EF_PLMNwAcT",
                           "oplmnwact": "ADF_USIM/EF_OPLMNwAcT", "hplmnwact": "ADF_USIM/EF_HPLMNwAcT",
                           "spn": "ADF_USIM/EF_SPN"}


# EF_EST services (TS 31.102 §4.2.47) -> (name, the EF_UST service that makes it available)
_EST_SERVICES = {1: ("FDN", 2), 2: ("BDN", 6), 3: ("ACL", 35)}


def _needs(ef: efs.EF) -> str:
    """``EF_MSISDN needs UST service 21``: the services that call for ``ef`` and its directory."""
    gates = efs.DIRECTORY_SERVICES.get(ef.parent)
    if gates and not ef.service:
        return f"{ef.parent} needs UST service {' or '.join(map(str, gates))} (TS 31.102 §4.4)"
    joiner = " and " if ef.all_services else " or "
    table = efs.SERVICE_TABLES[ef.parent]
    clause = "TS 31.103 §4.2.7" if table == "IST" else "TS 31.102 §4.2.8"
    return f"{ef.name} needs {table} service {joiner.join(map(str, ef.service))} ({clause})"


def _check_services(doc: LineDict, tables: dict[str, list[int]]) -> None:
    """A file the profile fills must be one its service tables call for, and a service EF_EST
    activates must be available in EF_UST: enabled means both (TS 31.102 §4.2.47)."""
    for key, ef_key in _DECLARED_FILES.items():
        if doc.get(key) and not _called_for(tables, efs.get(ef_key)):
            raise doc.error(key, f"{key}: {_needs(efs.get(ef_key))}")
    for name, node in doc["profiles"].items():
        for key, ef_key in _DECLARED_PROFILE_FILES.items():
            if node.get(key) and not _called_for(tables, efs.get(ef_key)):
                raise node.error(key, f"profiles/{name}/{key}: {_needs(efs.get(ef_key))}")
    isim = doc.get("isim")
    if isim is not None and isim.get("pcscf") and not _called_for(tables, efs.get("ADF_ISIM/EF_PCSCF")):
        raise isim.error("pcscf", f"isim/pcscf: {_needs(efs.get('ADF_ISIM/EF_PCSCF'))}")
    for idx, n in enumerate(doc.get("est", [])):
        name, ust = _EST_SERVICES.get(n, (None, None))
        if ust is not None and ust not in tables["UST"]:
            raise doc["est"].error(idx, f"est: service {n} ({name}) is activated while UST service {ust} is "
                                        "not available: it cannot be enabled (TS 31.102 §4.2.47)")


def _called_for(tables: dict[str, list[int]], ef: efs.EF) -> bool:
    """Whether the service tables (EF_UST TS 31.102 §4.2.8, EF_IST TS 31.103 §4.2.7) call for
    ``ef`` and its directory."""
    table = efs.SERVICE_TABLES.get(ef.parent)
    if table is None:
        return True
    services = tables[table]
    gates = efs.DIRECTORY_SERVICES.get(ef.parent)
    if gates and not any(s in services for s in gates):
        return False
    return ef.called_for(services)


# ``entries:`` keys -> (EF under ADF.USIM, bytes per entry, smallest number of entries the spec
# allows, clause)
_ENTRIES = {"fplmn": ("EF_FPLMN", 3, 4, "TS 31.102 §4.2.16"),
            "ehplmn": ("EF_EHPLMN", 3, 1, "TS 31.102 §4.2.84"),
            "plmnwact": ("EF_PLMNwAcT", 5, 8, "TS 31.102 §4.2.5"),
            "oplmnwact": ("EF_OPLMNwAcT", 5, 8, "TS 31.102 §4.2.53"),
            "hplmnwact": ("EF_HPLMNwAcT", 5, 1, "TS 31.102 §4.2.54")}


def default_entries(key: str) -> int:
    """How many entries the list file of ``entries:`` key ``key`` holds when the profile does not
    say: its default size in :mod:`csim.ef` (EF_FPLMN 12 bytes, 4 PLMNs)."""
    name, length, _, _ = _ENTRIES[key]
    return efs.get(f"ADF_USIM/{name}").size // length


def _entries(doc: LineDict) -> dict[str, int]:
    """``entries:``: how many PLMN entries each list file holds (else :func:`default_entries`);
    no IMSI profile may list more: a transparent file's size is fixed when the card is made
    (TS 102 221 §11.1.3: UPDATE BINARY never grows a file)."""
    node = doc.get("entries", {})
    for key, count in node.items():
        name, _, low, spec = _ENTRIES[key]
        if count < low:
            raise node.error(key, f"entries/{key}: {name} holds at least {low} entries ({spec})")
    for key, (name, _, _, _) in _ENTRIES.items():
        count = node.get(key, default_entries(key))
        for pname, pnode in doc["profiles"].items():
            if len(pnode.get(key, [])) > count:
                why = (f"entries/{key}" if key in node
                       else f"its default size; declare entries: {{{key}: N}} for a larger file")
                raise pnode.error(key, f"profiles/{pname}/{key}: {len(pnode[key])} entries, {name} holds "
                                       f"{count} ({why})")
    return dict(node)


def _isim(doc: LineDict) -> IsimSpec | None:
    """``isim:``: ADF.ISIM of TS 31.103 §4.2."""
    node = doc.get("isim")
    if node is None:
        return None
    aid_text = node.get("aid", DEFAULT_ISIM_AID)
    if not aid_text.upper().startswith("A0000000871004") or not 7 <= len(aid_text) // 2 <= 16 \
            or len(aid_text) % 2:
        raise node.error("aid", "isim/aid: an ISIM AID is A0000000871004 followed by up to 9 bytes")
    pcscf = []
    for idx, address in enumerate(node.get("pcscf", [])):
        try:
            kind = "ipv4" if ipaddress.ip_address(address).version == 4 else "ipv6"
        except ValueError:
            kind = "fqdn"
            if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", address):
                raise node["pcscf"].error(
                    idx, f"isim/pcscf: {address!r} is neither an IP address nor an FQDN") from None
        pcscf.append({"address": address, "type": kind})
    return IsimSpec(aid=bytes.fromhex(aid_text), label=node.get("label", "ISIM"), impi=node["impi"],
                    impu=list(node["impu"]), domain=node["domain"], ist=_services(node, "ist", 255),
                    pcscf=pcscf)


def _aram(doc: LineDict) -> list[bytes] | None:
    """``aram:``: the ARA-M applet (GPD_SPE_013) and its access rules, each checked as a REF-AR-DO."""
    node = doc.get("aram")
    if node is None:
        return None
    from csim.aram import TlvError, ref_ar_do

    rules = []
    for idx, rule in enumerate(node.get("rules", [])):
        try:
            rules.append(ref_ar_do(rule))
        except (TlvError, ValueError, UnicodeEncodeError) as exc:
            raise node["rules"].error(idx, f"aram/rules/{idx}: {exc}") from None
    return rules


def _files(doc: LineDict, tables: dict[str, list[int]]) -> dict[str, Any]:
    """``files:``: EF key -> contents in the decoded shape of the EF's codec, checked against the
    EF table (known EF, service on, contents that encode within the spec's size range)."""
    node = doc.get("files", {})
    out: dict[str, Any] = {}
    for key, value in node.items():
        try:
            ef = efs.get(key)
        except KeyError as exc:
            raise node.error(key, f"files: {exc.args[0]}") from None
        if ef.parent == "ADF_ISIM" and "isim" not in doc:
            raise node.error(key, f"files/{key}: the card has no ADF.ISIM (no 'isim' section)")
        if not _called_for(tables, ef):
            raise node.error(key, f"files/{key}: {_needs(ef)}")
        if key not in DEFAULTS:
            raise node.error(key, f"files/{key}: written from the profile's other keys, not declared here")
        values = value if ef.structure == "linear" else [value]
        if ef.structure == "linear" and not isinstance(value, list):
            raise node.error(key, f"files/{key}: {ef.name} is a linear fixed file, give a list of records")
        try:
            fit_size(ef, values)
        except ValueError as exc:
            raise node.error(key, f"files/{key}: {exc}") from None
        out[key] = value
    return out


def fit_size(ef: efs.EF, values: list[Any]) -> int:
    """The smallest size (record length) in the spec's range of ``ef`` that holds every value."""
    low, high = ef.size_range
    error = ""
    for size in range(low, (high or 255) + 1):
        try:
            for v in values:
                ef.encode(v, size)
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            error = str(exc)  # AttributeError: a hex string where the codec takes decoded fields
            continue
        return size
    raise ValueError(f"does not fit {ef.name} ({low} to {high or 255} bytes, {ef.spec}): {error}")


# contents of the files a profile may declare under ``files:``, when it does not
DEFAULTS: dict[str, Any] = {
    "DF_TELECOM/EF_ADN": [None] * 10,
    "DF_TELECOM/EF_SMS": [{"status": "free", "tpdu": None}] * 10,
    # TS 51.011 §10.5.6: parameter indicators FF, no parameter present
    "DF_TELECOM/EF_SMSP": ["FF" * 28],
    "DF_TELECOM/EF_SMSS": "00FF",  # TS 51.011 §10.5.7: last TP-MR 00, memory capacity available
    "ADF_USIM/EF_GID1": "FF",
    "ADF_USIM/EF_GID2": "FF",
    # TS 22.101 §10.1.1: the ME treats 112 and 911 as emergency numbers with or without EF_ECC
    "ADF_USIM/EF_ECC": [None] * 5,
    "ADF_USIM/EF_FDN": [None] * 10,
    # START values under THRESHOLD (TS 33.102 §6.4.8), as on the cards of pySim's test vectors
    "ADF_USIM/EF_START_HFN": {"start_cs": 0xF00000, "start_ps": 0xF00000},
    "ADF_USIM/EF_THRESHOLD": {"max_start": 0xF01000},
    "ADF_USIM/EF_NETPAR": "FF" * 16,
    "ADF_USIM/EF_PNN": [None],
    "ADF_USIM/EF_OPL": [None],
    "ADF_USIM/EF_SPDI": [],
    "ADF_USIM/EF_EPSNSC": ["FF" * 54],
    "DF_GSM_ACCESS/EF_Kc": {"kc": None, "cksn": 7},
    "DF_GSM_ACCESS/EF_KcGPRS": {"kc": None, "cksn": 7},
    "DF_5GS/EF_5GS3GPPLOCI": {"guti": None, "plmn": None, "tac": 0xFFFFFE, "status": "not_updated"},
    "DF_5GS/EF_5GSN3GPPLOCI": {"guti": None, "plmn": None, "tac": 0xFFFFFE, "status": "not_updated"},
    "DF_5GS/EF_5GS3GPPNSC": ["FF" * 57],
    "DF_5GS/EF_5GSN3GPPNSC": ["FF" * 57],
    "DF_5GS/EF_5GAUTHKEYS": "FF" * 68,
    "DF_5GS/EF_UAC_AIC": "00000000",
    # TS 31.102 §4.4.11.8: protection scheme identifier list holding the null scheme only
    "DF_5GS/EF_SUCI_Calc_Info": {"prot_scheme_id_list": [{"priority": 0, "identifier": 0, "key_index": 0}],
                                 "hnet_pubkey_list": []},
    "DF_5GS/EF_OPL5G": [None],
    "DF_5GS/EF_Routing_Indicator": "F0FFFFFF",  # TS 31.102 §4.4.11.11: routing indicator 0
    "DF_GSM/EF_ECC": [],
    "DF_GSM/EF_Kc": {"kc": None, "cksn": 7},
    "DF_GSM/EF_KcGPRS": {"kc": None, "cksn": 7},
}


def _applet(doc: LineDict, names: set[str]) -> AppletConfig | None:
    if "applet" not in doc:
        if len(names) > 1:
            raise doc.error("profiles",
                            "profiles: a card with several IMSI profiles needs an 'applet' section")
        return None
    node = doc["applet"]
    if node["priority"] not in names:
        raise node.error("priority", f"applet/priority: no IMSI profile named {node['priority']!r}")
    table, default = [], None
    rows = node["table"]
    for idx, row in enumerate(rows):
        if default is not None:
            raise rows.error(idx, "applet/table: the default entry must be the last one")
        target = row.get("profile", row.get("default"))
        if target not in names:
            raise rows.error(idx, f"applet/table: no IMSI profile named {target!r}")
        if "default" in row:
            default = target
        else:
            table.append(AppletEntry(row["plmn"], target))
    return AppletConfig(priority=node["priority"], refresh=node.get("refresh", "naa_init_full_fcn"),
                        table=table, default=default)


def _activation_date(doc: LineDict) -> _dt.date | None:
    if "activation_date" not in doc:
        return None
    value = doc["activation_date"]
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise doc.error("activation_date", f"activation_date: {value!r} is not a YYYY-MM-DD date") from None


def _build_profile(doc: LineDict) -> Profile:
    atr = _check_atr(doc)
    iccid = str(doc["iccid"])
    if not 19 <= len(iccid) <= 20:
        raise doc.error("iccid", f"iccid: {len(iccid)} digits, an ICCID has 19 or 20 (check digit included)")
    if not enc.luhn_valid(iccid):
        raise doc.error("iccid", f"iccid: wrong Luhn check digit {iccid[-1]}, "
                                 f"expected {enc.luhn_digit(iccid[:-1])}")
    msisdn = doc.get("msisdn")
    if msisdn is not None:
        digits = msisdn.lstrip("+")
        if not 3 <= len(digits) <= 15:
            raise doc.error("msisdn", "msisdn: an E.164 number has 3 to 15 digits")
    pins = {n: _pin(doc["pins"], n) for n in ("pin1", "pin2", "adm1")}
    profiles = {name: _imsi_profile(name, node) for name, node in doc["profiles"].items()}
    owner: dict[str, str] = {}  # IMSI -> the IMSI profile carrying it
    for name, node in doc["profiles"].items():
        imsi = profiles[name].imsi
        if imsi in owner:
            raise node.error("imsi", f"profiles/{name}/imsi: {imsi} is already the IMSI of profile "
                                     f"{owner[imsi]!r}; the network could not tell the two apart")
        owner[imsi] = name
    applet = _applet(doc, set(profiles))
    active = applet.priority if applet else next(iter(profiles))
    usim = doc.get("usim", {})
    aid_text = usim.get("aid", DEFAULT_USIM_AID)
    if not aid_text.upper().startswith("A0000000871002") or not 7 <= len(aid_text) // 2 <= 16 \
            or len(aid_text) % 2:
        raise usim.error("aid", "usim/aid: a USIM AID is A0000000871002 followed by up to 9 bytes")
    minutes = int(doc.get("hplmn_search_minutes", 60))
    if minutes % 6:
        raise doc.error("hplmn_search_minutes",
                        "hplmn_search_minutes: a multiple of 6 minutes (TS 31.102 §4.2.6)")
    ust = _services(doc, "ust", UST_MAX)
    est = _services(doc, "est", EST_MAX)
    sst = _services(doc, "sst", 64) if "sst" in doc else list(DEFAULT_SST)
    acl = list(doc.get("acl", []))
    for idx, apn in enumerate(acl):
        try:
            enc.encode_apn(apn)
        except (ValueError, UnicodeEncodeError) as exc:
            raise doc["acl"].error(idx, f"acl: {exc}") from None
    isim = _isim(doc)
    tables = {"UST": ust, "IST": isim.ist if isim else []}
    _check_services(doc, tables)
    files = _files(doc, tables)
    if "sim_reference" in doc and not doc["sim_reference"].strip():
        raise doc.error("sim_reference", "sim_reference: empty")
    return Profile(
        name=doc["name"], source=doc.source, atr=atr, iccid=iccid, pins=pins, imsi_profiles=profiles,
        applet=applet, active=active, description=doc.get("description", ""), provider=doc.get("provider"),
        network=doc.get("network"), sim_reference=doc.get("sim_reference"),
        activation_date=_activation_date(doc), msisdn=msisdn,
        languages=list(doc.get("languages", ["fr", "en"])),
        hplmn_search_minutes=minutes, usim_aid=bytes.fromhex(aid_text), usim_label=usim.get("label", "USIM"),
        ust=ust, est=est, sst=sst, acl=acl, files=files, isim=isim, entries=_entries(doc), aram=_aram(doc),
    )


# --------------------------------------------------------------------------- image


def _plmnsel(p: ImsiProfile) -> list[str]:
    """EF_PLMNsel (TS 51.011 §10.3.4) for the GSM view: user then operator preferences."""
    out: list[str] = []
    for e in (*p.plmnwact, *p.oplmnwact):
        if e.plmn not in out:
            out.append(e.plmn)
    return out


def _profile_values(profile: Profile, p: ImsiProfile) -> dict[str, Any]:
    """Decoded contents of the EFs that depend on the IMSI profile, keyed like :data:`csim.ef.EFS`."""
    ad = {"mnc_length": p.mnc_length}
    spn = p.spn.as_value()
    out = {
        "EF_IMSI": p.imsi, "EF_AD": ad, "EF_SPN": spn, "EF_ACC": p.acc, "EF_FPLMN": p.fplmn,
        "EF_HPLMNwAcT": [e.as_value() for e in p.hplmnwact],
        "EF_OPLMNwAcT": [e.as_value() for e in p.oplmnwact],
        "EF_PLMNwAcT": [e.as_value() for e in p.plmnwact],
    }
    values = {f"ADF_USIM/{k}": v for k, v in out.items()}
    values["ADF_USIM/EF_EHPLMN"] = p.ehplmn
    values.update({f"DF_GSM/{k}": v for k, v in out.items()})
    values["DF_GSM/EF_PLMNsel"] = _plmnsel(p)
    return values


_SIZE_KEYS = {"EF_FPLMN": "fplmn", "EF_EHPLMN": "ehplmn", "EF_HPLMNwAcT": "hplmnwact",
              "EF_OPLMNwAcT": "oplmnwact", "EF_PLMNwAcT": "plmnwact", "EF_PLMNsel": "plmnsel"}


def _size(profile: Profile, ef: efs.EF, value: Any = None) -> int:
    """File size (transparent) or record length (linear fixed) of ``ef`` on this card."""
    if ef.link in DEFAULTS and ef.key not in DEFAULTS:
        ef = efs.get(ef.link)  # ADF_USIM/EF_SMSP is DF_TELECOM/EF_SMSP
    if ef.key in DEFAULTS or ef.parent == "ADF_ISIM":
        return fit_size(ef, value if ef.structure == "linear" else [value])
    if ef.name == "EF_LP":
        return max(ef.size, len(value))
    if ef.name in _SIZE_KEYS:
        return profile.sizes()[_SIZE_KEYS[ef.name]]
    if ef.name in ("EF_PL", "EF_LI"):
        return max(ef.size, 2 * len(profile.languages))
    if ef.name == "EF_ACL":
        return max(ef.size, len(enc.encode_acl(profile.acl, 255).rstrip(b"\xff")) + 8)
    if ef.name == "EF_SST":
        return max(ef.size, (max(profile.sst, default=1) + 3) // 4)
    return ef.size


def profile_files(profile: Profile, name: str) -> dict[str, bytes]:
    """New contents of the EFs that depend on the IMSI profile ``name``, path -> bytes.

    Covers EF_IMSI, EF_AD, EF_SPN, EF_EHPLMN, EF_HPLMNwAcT, EF_OPLMNwAcT, EF_PLMNwAcT,
    EF_FPLMN, EF_ACC under ADF_USIM (``3F00/7FF0/...``) and their DF_GSM counterparts
    (``3F00/7F20/...``, plus EF_PLMNsel); sizes equal those of :func:`build_image`.
    """
    if name not in profile.imsi_profiles:
        raise KeyError(f"no IMSI profile {name!r} in {profile.name} (has {', '.join(profile.imsi_profiles)})")
    cache = derived_cache(profile)
    key = f"files:{name}"
    out = cache.get(key)
    if out is None:
        out = {}
        for k, value in _profile_values(profile, profile.imsi_profiles[name]).items():
            ef = efs.get(k)
            if _included(profile, ef):
                out[ef.path] = ef.encode(value, _size(profile, ef))
        cache[key] = out
    return dict(out)


def profile_auth(profile: Profile, name: str) -> AuthSpec:
    """Subscriber keys of the IMSI profile ``name``."""
    p = profile.imsi_profiles[name]
    return AuthSpec(ki=p.ki, opc=p.opc, sqn=p.sqn, algorithm=p.algorithm)


def _static_values(profile: Profile) -> dict[str, Any]:
    no_loc = {"tmsi": None, "plmn": None, "lac": 0xFFFE, "rfu": 0xFF, "status": "not_updated"}
    no_ps = {"ptmsi": None, "ptmsi_signature": None, "plmn": None, "lac": 0xFFFE, "rac": 0xFF,
             "status": "not_updated"}
    no_eps = {"guti": None, "plmn": None, "tac": 0xFFFE, "status": "not_updated"}
    msisdn = {"number": profile.msisdn, "alpha": ""} if profile.msisdn else None
    no_keys = {"ksi": 7, "ck": None, "ik": None}
    values = {
        "MF/EF_DIR": [{"aid": profile.usim_aid.hex().upper(), "label": profile.usim_label}]
        + ([{"aid": profile.isim.aid.hex().upper(), "label": profile.isim.label}] if profile.isim else []),
        "MF/EF_ICCID": profile.iccid,
        "MF/EF_PL": profile.languages,
        "DF_TELECOM/EF_MSISDN": [msisdn],
        "ADF_USIM/EF_LI": profile.languages,
        "ADF_USIM/EF_KEYS": no_keys,
        "ADF_USIM/EF_KEYSPS": no_keys,
        "ADF_USIM/EF_HPPLMN": {"minutes": profile.hplmn_search_minutes},
        "ADF_USIM/EF_UST": profile.ust,
        "ADF_USIM/EF_MSISDN": [msisdn],
        "ADF_USIM/EF_EST": profile.est,
        "ADF_USIM/EF_ACL": profile.acl,
        "ADF_USIM/EF_PSLOCI": no_ps,
        "ADF_USIM/EF_LOCI": no_loc,
        "ADF_USIM/EF_EHPLMNPI": "all",
        "ADF_USIM/EF_EPSLOCI": no_eps,
        "DF_GSM/EF_LP": enc.gsm_languages(profile.languages),
        "DF_GSM/EF_HPPLMN": {"minutes": profile.hplmn_search_minutes},
        "DF_GSM/EF_SST": profile.sst,
        "DF_GSM/EF_LOCIGPRS": no_ps,
        "DF_GSM/EF_LOCI": no_loc,
        "DF_GSM/EF_Phase": "phase2+",
    }
    if profile.isim:
        isim = profile.isim
        values.update({"ADF_ISIM/EF_IMPI": isim.impi, "ADF_ISIM/EF_DOMAIN": isim.domain,
                       "ADF_ISIM/EF_IMPU": isim.impu, "ADF_ISIM/EF_IST": isim.ist,
                       "ADF_ISIM/EF_PCSCF": isim.pcscf or [None],
                       "ADF_ISIM/EF_AD": {"mnc_length": None}})
    values.update(DEFAULTS)
    values.update(profile.files)
    return values


def _arr_rule(read: str, update: str) -> list[dict[str, Any]]:
    """Expanded access rule: READ/SEARCH, UPDATE, DEACTIVATE+ACTIVATE (ADM1)."""
    if read == update:
        rules = [{"ops": ["read", "update"], "condition": read}]
    else:
        rules = [{"ops": ["read"], "condition": read}, {"ops": ["update"], "condition": update}]
    return rules + [{"ops": ["deactivate", "activate"], "condition": ADM1}]


def _included(profile: Profile, ef: efs.EF) -> bool:
    """A card holds exactly the files its EF_UST calls for (TS 31.102 §4.2.8); an EF linked to
    another exists with it."""
    if ef.link is not None and not _included(profile, efs.get(ef.link)):
        return False
    if ef.parent == "ADF_ISIM" and profile.isim is None:
        return False
    return _called_for(profile.services(), ef)


def build_image(spec: Profile | str | Path | Mapping[str, Any]) -> CardImage:
    """The complete file tree, PINs and keys of the card, the priority IMSI profile active."""
    profile = load_profile(spec)
    cache = derived_cache(profile)
    image = cache.get("image")
    if image is None:
        image = cache["image"] = _build_image(profile)
    return _copy_image(image)


def _build_image(profile: Profile) -> CardImage:
    values = _static_values(profile)
    values.update(_profile_values(profile, profile.active_profile))
    chosen = [ef for ef in efs.all_efs() if _included(profile, ef)]
    rules: list[tuple[str, str]] = [(ALW, ADM1)]  # record 1: directories
    for ef in chosen:
        if (ef.read, ef.update) not in rules:
            rules.append((ef.read, ef.update))
    arr_records = [_arr_rule(r, u) for r, u in rules]
    values["MF/EF_ARR"] = arr_records
    values["ADF_USIM/EF_ARR"] = arr_records
    values["ADF_ISIM/EF_ARR"] = arr_records

    files: list[FileSpec] = [
        FileSpec(path="3F00", kind="MF", name="MF", arr_record=1),
        FileSpec(path=efs.DIRECTORIES["DF_TELECOM"], kind="DF", name="DF_TELECOM", arr_record=1),
        FileSpec(path=GSM_PATH, kind="DF", name="DF_GSM", arr_record=1),
        FileSpec(path=USIM_PATH, kind="ADF", name="ADF_USIM", aid=profile.usim_aid, arr_record=1),
    ]
    if profile.isim:
        files.append(FileSpec(path=efs.DIRECTORIES["ADF_ISIM"], kind="ADF", name="ADF_ISIM",
                              aid=profile.isim.aid, arr_record=1))
    files += [FileSpec(path=efs.DIRECTORIES[name], kind="DF", name=name, arr_record=1)
              for name, services in efs.DIRECTORY_SERVICES.items() if any(s in profile.ust for s in services)]
    for ef in chosen:
        value = values[ef.key] if ef.key in values else values[ef.link]  # a linked EF shows its target
        spec_kw: dict[str, Any] = {
            "path": ef.path, "kind": "EF", "name": ef.name, "sfi": ef.sfi, "read": ef.read,
            "update": ef.update, "arr_record": rules.index((ef.read, ef.update)) + 1,
            "link": efs.get(ef.link).path if ef.link else None,
        }
        if ef.structure == "transparent":
            spec_kw["data"] = ef.encode(value, _size(profile, ef, value))
        else:
            length = _size(profile, ef, value)
            spec_kw.update(structure="linear", record_length=length, records=[ef.encode(v,
            length) for v in value])
        files.append(FileSpec(**spec_kw))
    pins = [profile.pins["pin1"], profile.pins["pin2"], profile.pins["adm1"]]
    return CardImage(atr=profile.atr, files=files, pins=pins, auth=profile_auth(profile, profile.active))
