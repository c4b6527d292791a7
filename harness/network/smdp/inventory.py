"""What the SM-DP+ holds for an operator: its rules (``fixtures/smdp/PROVIDER.yaml``), the profile
orders with their matching IDs and confirmation codes (ES2+.DownloadOrder / ConfirmOrder, GSMA
SGP.22 §5.3.1-§5.3.2), the profile each order downloads, and the device types by TAC
(``fixtures/devices.yaml``)."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csim.encoding import encode_iccid
from csim.memo import once
from csim.profile import Profile, load_profile
from csim.yamlsrc import load
from harness.paths import FIXTURES

# profile order states (SGP.22 §3.1.1 and the ES2+ states of §5.3): released (downloadable),
# downloaded (the bound package went out), installed / error (the install notification), deleted
# (the delete notification), unavailable (the confirmation code disabled), cancelled (ES2+
# CancelOrder: the line's SIM was swapped away)
STATES = ("released", "downloaded", "installed", "error", "deleted", "unavailable", "cancelled")

_RULES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "provider",
        "address",
        "matching_id",
        "confirmation_code",
        "reinstall_after_delete",
        "one_device",
        "profile_types",
        "devices",
    ],
    "properties": {
        "provider": {"type": "string"},
        "address": {"type": "string", "pattern": "^[A-Za-z0-9.:-]+$"},
        "matching_id": {
            "type": "object",
            "additionalProperties": False,
            "required": ["groups", "length"],
            "properties": {
                "groups": {"type": "integer", "minimum": 1, "maximum": 8},
                "length": {"type": "integer", "minimum": 1, "maximum": 8},
            },
        },
        "confirmation_code": {
            "type": "object",
            "additionalProperties": False,
            "required": ["digits", "tries"],
            "properties": {
                "digits": {"type": "integer", "minimum": 4, "maximum": 8},
                "tries": {"type": "integer", "minimum": 1, "maximum": 9},
            },
        },
        "reinstall_after_delete": {"type": "boolean"},
        "one_device": {"type": "boolean"},
        "profile_types": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["template", "service_provider", "name"],
                "properties": {
                    "template": {"type": "string"},
                    "service_provider": {"type": "string", "maxLength": 32},
                    "name": {"type": "string", "maxLength": 64},
                },
            },
        },
        "devices": {
            "type": "object",
            "additionalProperties": False,
            "required": ["compatible", "refused_classes"],
            "properties": {
                "compatible": {"type": "array", "items": {"type": "string"}},
                "refused_classes": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}
_DEVICES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["devices"],
    "properties": {
        "devices": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "class", "imei"],
                "properties": {
                    "name": {"type": "string"},
                    "class": {"enum": ["phone", "watch", "tablet", "secondary"]},
                    "imei": {"type": "string", "pattern": "^[0-9]{14,16}$"},
                },
            },
        }
    },
}


@dataclass(frozen=True)
class Device:
    """A terminal: its name, its class and its IMEI (TAC = the first eight digits)."""

    name: str
    kind: str
    imei: str

    @property
    def tac(self) -> str:
        return self.imei[:8]


@dataclass(frozen=True)
class ProfileType:
    template: str
    service_provider: str
    name: str


@dataclass(frozen=True)
class SmdpRules:
    """The operator's rules the SM-DP+ applies (see the fixture's quotes)."""

    provider: str
    address: str
    matching_groups: int
    matching_length: int
    cc_digits: int
    cc_tries: int
    reinstall_after_delete: bool
    one_device: bool
    profile_types: dict[str, ProfileType]
    compatible: frozenset[str]
    refused_classes: frozenset[str]


_cache: dict[Any, Any] = {}


def load_rules(provider: str = "alphalink", path: str | Path | None = None) -> SmdpRules:
    """The SM-DP+ rules of ``provider`` (``fixtures/smdp/PROVIDER.yaml``), errors as ``file:line``."""
    src = Path(path) if path else FIXTURES / "smdp" / f"{provider}.yaml"
    return once(_cache, ("rules", src), lambda _: _rules(src), 8)


def _rules(src: Path) -> SmdpRules:
    doc = load(src, _RULES_SCHEMA)
    cc, mid, dev = doc["confirmation_code"], doc["matching_id"], doc["devices"]
    return SmdpRules(
        provider=doc["provider"],
        address=doc["address"],
        matching_groups=mid["groups"],
        matching_length=mid["length"],
        cc_digits=cc["digits"],
        cc_tries=cc["tries"],
        reinstall_after_delete=doc["reinstall_after_delete"],
        one_device=doc["one_device"],
        profile_types={
            n: ProfileType(t["template"], t["service_provider"], t["name"])
            for n, t in doc["profile_types"].items()
        },
        compatible=frozenset(dev["compatible"]),
        refused_classes=frozenset(dev["refused_classes"]),
    )


def load_devices(path: str | Path | None = None) -> dict[str, Device]:
    """The terminals of ``fixtures/devices.yaml`` by name."""
    src = Path(path) if path else FIXTURES / "devices.yaml"
    return once(_cache, ("devices", src), lambda _: _devices(src), 8)


def _devices(src: Path) -> dict[str, Device]:
    doc = load(src, _DEVICES_SCHEMA)
    out: dict[str, Device] = {}
    for i, d in enumerate(doc["devices"]):
        if d["name"] in out:
            raise doc["devices"].error(i, f"device {d['name']!r} listed twice")
        out[d["name"]] = Device(d["name"], d["class"], d["imei"])
    return out


@dataclass
class ProfileOrder:
    """One downloadable profile: its matching ID (AC_Token), confirmation code, state and the eUICC
    it is bound to once a download started (SGP.22 §3.1.1)."""

    matching_id: str
    iccid: str
    network: str
    line: str | None
    profile: Profile
    confirmation_code: str | None
    tries_left: int
    state: str = "released"
    eid: str | None = None

    def metadata(self, kind: ProfileType, notification_address: str) -> dict[str, Any]:
        """StoreMetadataRequest (SGP.22 §5.5.3): ICCID, names, class operational, and notifications
        of install, enable, disable and delete to this SM-DP+ (§2.4.6)."""
        return {
            "iccid": encode_iccid(self.iccid),
            "serviceProviderName": kind.service_provider,
            "profileName": kind.name,
            "profileClass": 2,
            "notificationConfigurationInfo": [
                {
                    "profileManagementOperation": (bytes([0x80 >> n]), n + 1),
                    "notificationAddress": notification_address,
                }
                for n in range(4)
            ],
        }


def esim_profile(template: str, iccid: str) -> Profile:
    """The subscription an eSIM carries: the ``template`` card's (PLMN, SPN, PINs), its own ICCID,
    an IMSI of the template's PLMN ending with the ICCID's serial, and keys drawn from the ICCID
    (reproducible runs)."""
    base = once(_cache, ("template", template), lambda _: load_profile(template), 8)  # never mutated
    sub = base.active_profile
    plmn_digits = 3 + sub.mnc_length
    serial = iccid[:-1][-(15 - plmn_digits) :]
    digest = hashlib.sha256(b"simharness eSIM keys " + iccid.encode()).digest()
    new = dataclasses.replace(sub, imsi=sub.imsi[:plmn_digits] + serial, ki=digest[:16], opc=digest[16:])
    return dataclasses.replace(
        base, name=f"esim-{iccid}", iccid=iccid, imsi_profiles={base.active: new}, applet=None
    )


class Codes:
    """Matching IDs and confirmation codes, drawn from a seeded generator: never the same twice."""

    def __init__(self, rules: SmdpRules, seed: int = 0) -> None:
        self.rules = rules
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test codes, not secrets
        self.used: set[str] = set()

    def matching_id(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        while True:
            mid = "-".join(
                "".join(self.rng.choice(alphabet) for _ in range(self.rules.matching_length))
                for _ in range(self.rules.matching_groups)
            )
            if mid not in self.used:
                self.used.add(mid)
                return mid

    def confirmation_code(self) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(self.rules.cc_digits))


__all__ = [
    "Codes",
    "Device",
    "ProfileOrder",
    "ProfileType",
    "STATES",
    "SmdpRules",
    "esim_profile",
    "load_devices",
    "load_rules",
]
