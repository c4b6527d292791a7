"""The profile package of every bundled card profile read by pySim's ``saip-tool``.

``saip.encode`` makes the package (TCA eUICC Profile Package §8); pySim's
``contrib/saip-tool.py`` (its own ASN.1 module and file-system templates) reads it as a
separate process, and what it reports must equal the profile YAML as
``csim.profile.load_profile`` reads it, never csim's SAIP decoder:

- ``info``: the ICCID of the header, the USIM's AID (its ADF's dfName) and IMSI, the mandatory
  services with the AKA algorithm;
- ``check``: pySim's structure checks pass;
- ``tree``: the files of the MF and of ADF.USIM with their FIDs, structure and SFI are the files
  of the card the profile makes (``csim.profile.build_image``), plus only the USIM template files
  the package asks not to create (pySim lists a doNotCreate file in its tree);
- ``dump --dump-decoded``: each file's FCP (file size, record length) is the card's; the AKA
  algorithm, K and OPc and the PIN/PUK values are the YAML's.

Where saip-tool refuses a package the case would be ``xfail(strict=True)`` with its words
(``REFUSED``, empty today).
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]
CARDS = sorted(p.stem for p in (ROOT / "fixtures" / "cards").glob("*.yaml"))
# card: saip-tool's own complaint, for a package it still refuses
REFUSED: dict[str, str] = {}
STRUCTURES = {"transparent": "TR", "linear": "LF", "cyclic": "CY"}  # pySim's names
MF, ADF_USIM = "3F00", "3F00/7FF0"
# TS 102 221 §11.1.1.4.3 descriptor byte of an EF, by pySim's structure name
DESCRIPTORS = {"TR": 0x41, "LF": 0x42, "CY": 0x46}
TREE_LINE = re.compile(r"^\s*FsNode(?P<kind>EF|DF|ADF|MF)\((?P<path>[^)]*)\): File\((?P<name>[^,]+), "
                       r"(?P<type>\w+), (?P<fid>[0-9A-F]{4}), SFI=(?P<sfi>None|\d+)\)$")


def _saip_tool(pysim: Any, package: Path, *args: str) -> str:
    """saip-tool on ``package``; its standard output (it must end normally)."""
    run = pysim.run("contrib/saip-tool.py", [str(package), *args],
                    dict(os.environ, PYTHONPATH=str(pysim.src)), timeout=120)
    assert run.returncode == 0, f"saip-tool {' '.join(args)}: {(run.stdout + run.stderr)[-2500:]}"
    return run.stdout


def _dump(text: str) -> dict[str, Any]:
    """``dump --dump-decoded all_pe``: each Profile Element's decoded value by its name (pySim
    pretty-prints Python literals, bytes as hex strings)."""
    out: dict[str, Any] = {}
    for block in re.split(r"^=+ ", text, flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        out.setdefault(name.strip(), ast.literal_eval(body.strip()))
    return out


def _files(pe: dict[str, Any]) -> dict[str, tuple[dict[str, Any] | None, bool]]:
    """The File members of a decoded Profile Element: (their FCP, doNotCreate)."""
    files = {}
    for member, value in pe.items():
        if isinstance(value, list) and all(isinstance(v, tuple) for v in value):
            fcp = next((v[1] for v in value if v[0] == "fileDescriptor"), None)
            files[member] = (fcp, any(v[0] == "doNotCreate" for v in value))
    return files


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from csim.euicc import saip
    from csim.profile import load_profile

    folder = tmp_path_factory.mktemp("packages")
    for name in CARDS:
        (folder / f"{name}.der").write_bytes(saip.encode(load_profile(name)))
    return folder


@pytest.mark.parametrize("card", [pytest.param(c, marks=pytest.mark.xfail(reason=REFUSED[c], strict=True))
                                  if c in REFUSED else c for c in CARDS])
def test_saip_tool_reads_the_package(card: str, pysim: Any, packages: Path) -> None:
    from csim.profile import build_image, load_profile

    profile = load_profile(card)
    active = profile.active_profile
    package = packages / f"{card}.der"

    info = _saip_tool(pysim, package, "info")
    assert re.search(r"^ICCID: (\w+)$", info, re.MULTILINE).group(1).rstrip("f") == profile.iccid
    naa = re.search(r"^NAA usim \((\w+)\)\n\tIMSI: (\d+)$", info, re.MULTILINE)
    assert naa is not None, info
    assert (naa.group(1), naa.group(2)) == (profile.usim_aid.hex(), active.imsi)
    services = re.search(r"^Mandatory Services: (.*)$", info, re.MULTILINE).group(1).split(", ")
    assert "usim" in services and active.algorithm in services, services

    assert "All good!" in _saip_tool(pysim, package, "check")

    dump = _dump(_saip_tool(pysim, package, "dump", "--dump-decoded", "all_pe"))
    # the header names every template the file system elements use (TCA §8.2)
    used = {dump[pe]["templateID"] for pe in ("mf", "usim", "opt-usim") if pe in dump}
    assert used <= set(dump["header"]["eUICC-Mandatory-GFSTEList"]), used
    not_created = {name for pe in ("mf", "usim", "opt-usim")
                   for name, (_, skip) in _files(dump.get(pe, {})).items() if skip}
    tree = {}
    for line in _saip_tool(pysim, package, "tree").splitlines()[1:]:
        m = TREE_LINE.match(line)
        assert m is not None, f"unexpected tree line {line!r}"
        tree[m["path"] if m["kind"] != "ADF" else ADF_USIM] = m
    image = build_image(profile)
    expected = {f.path: f for f in image.files if f.path in (MF, ADF_USIM)
                or (f.kind == "EF" and f.path.rpartition("/")[0] in (MF, ADF_USIM))}
    listed = {path for path, m in tree.items() if m["name"] not in not_created}
    assert listed == set(expected), (sorted(listed - set(expected)), sorted(set(expected) - listed))
    assert tree[ADF_USIM]["path"] == profile.usim_aid.hex()
    for path, spec in expected.items():
        if spec.kind != "EF":
            continue
        m = tree[path]
        # pySim prints the shortEFID byte given in the FCP (SFI in bits b8..b4), None for none
        sfi = str(spec.sfi << 3) if spec.sfi else "None"
        assert (m["type"], m["sfi"]) == (STRUCTURES[spec.structure], sfi), path

    fcps = {fcp["fileID"].upper(): fcp for pe in ("mf", "usim", "opt-usim")
            for fcp, _ in _files(dump.get(pe, {})).values() if fcp and "fileID" in fcp}
    for path, spec in expected.items():
        fcp = fcps[path.rpartition("/")[2]]
        if spec.kind != "EF":
            assert fcp.get("dfName", "") == spec.aid.hex(), path
            continue
        descriptor = bytes.fromhex(fcp["fileDescriptor"])
        size = int(fcp["efFileSize"], 16)
        assert descriptor[0] == DESCRIPTORS[STRUCTURES[spec.structure]], path
        if spec.structure == "transparent":
            assert size == len(spec.data), path
        else:
            assert (int.from_bytes(descriptor[2:4], "big"), size) == (
                spec.record_length, spec.record_length * len(spec.records)), path

    algo = dump["akaParameter"]["algoConfiguration"][1]
    assert algo["algorithmID"] == {"milenage": 1, "usim-test-algorithm": 3}[active.algorithm]
    assert (algo["key"], algo["opc"]) == (bytes(active.ki).hex(), bytes(active.opc).hex())
    pins = {c["keyReference"]: c["pinValue"] for c in dump["pinCodes"]["pinCodes"][1]}
    puks = {c["keyReference"]: c["pukValue"] for c in dump["pukCodes"]["pukCodes"]}
    assert pins == {0x01: profile.pins["pin1"].value.hex(), 0x81: profile.pins["pin2"].value.hex(),
                    0x0A: profile.pins["adm1"].value.ljust(8, b"\xff").hex()}
    assert puks == {0x01: profile.pins["pin1"].puk.ljust(8, b"\xff").hex(),
                    0x81: profile.pins["pin2"].puk.ljust(8, b"\xff").hex()}
