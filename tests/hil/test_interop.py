"""An independent PC/SC client reads the card: pcsc-tools' ``scriptor`` replays an APDU script
and its raw responses decode to the values our own reader shows."""

import os
import re
import shutil
import subprocess

import pytest
from harness.terminal.link import UiccLink

from csim import ef
from harness.readers.pcsc import read_ef

pytestmark = pytest.mark.hil

READS = ["MF/EF_ICCID", "ADF_USIM/EF_SPN", "ADF_USIM/EF_AD"]
PIN_READS = ["ADF_USIM/EF_IMSI", "ADF_USIM/EF_FPLMN", "ADF_USIM/EF_UST"]


def _script(link, keys, pin):
    lines = ["reset"]
    aid = link.usim_aid()
    for key in keys:
        spec = ef.get(key)
        size = link.select_path(spec.path).size
        lines.append("00 A4 00 0C 02 3F 00")
        if spec.parent == "ADF_USIM":
            lines.append(f"00 A4 04 0C {len(aid):02X} " + aid.hex(" ").upper())
        if key == PIN_READS[0] and pin is not None:
            lines.append("00 20 00 01 08 " + pin.hex(" ").upper())
        lines.append(f"00 A4 00 0C 02 {spec.fid >> 8:02X} {spec.fid & 0xFF:02X}")
        lines.append(f"00 B0 00 00 {size:02X}")
    return "\n".join(lines) + "\n"


def _responses(output):
    """Data of the READ BINARY responses in scriptor's output (``< xx .. 90 00 : ...``)."""
    out, last_cmd, reply = [], [], None
    for line in output.splitlines():
        if line.startswith("> "):
            last_cmd = line[2:].split()
        elif line.startswith("< "):
            reply = [] if last_cmd[:2] == ["00", "B0"] else None
            line = line[2:]
        if reply is not None and not line.startswith(">"):
            reply += re.findall(r"\b[0-9A-F]{2}\b", line.split(":")[0])
            if ":" in line:  # scriptor wraps long responses; the status text ends them
                assert reply[-2:] == ["90", "00"], line
                out.append(bytes.fromhex("".join(reply[:-2])))
                reply = None
    return out


def test_scriptor_reads_the_same_values_as_our_decoder(hil_target, hil_link, tmp_path):
    if shutil.which("scriptor") is None:
        pytest.skip("pcsc-tools (scriptor) is not installed")
    keys = list(READS)
    pin = None
    if hil_target.served and hil_target.pin1 is not None:  # never write a real card's PIN to disk
        keys += PIN_READS
        pin = hil_target.pin1
    script = tmp_path / "read.scriptor"
    script.write_text(_script(hil_link, keys, pin))
    run = subprocess.run(["scriptor", "-r", hil_target.reader, str(script)], capture_output=True,
                         text=True, timeout=60, env=dict(os.environ))
    assert run.returncode == 0, run.stderr
    raw = _responses(run.stdout)
    assert len(raw) == len(keys), run.stdout
    ours = UiccLink(hil_target.transport)
    hil_target.transport.reset()  # scriptor reset the card; start clean
    if pin is not None:
        assert ours.verify_pin(pin) == 0x9000
    for key, data in zip(keys, raw, strict=True):
        assert ef.decode(ef.get(key), data) == read_ef(ours, key), key
