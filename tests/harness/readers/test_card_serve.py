"""``simharness card serve`` keeps the card state through a SIGKILL, refuses bad options in one
line, logs the reader's connections; ``reader read`` says why files could not be read.

The served card runs in its own process (``python -m harness.cli card serve``) inside the
network namespace of the private pcscd, and is killed with a real ``kill -9``.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from harness.terminal.link import UiccLink

from csim import Card
from harness.cli.main import main
from harness.readers.pcsc import PcscTransport, wait_for_card, wait_for_no_card
from harness.readers.safety import SafetyPolicy

FPLMN = "3F00/7FF0/6F7B"
VERIFY_PIN1 = bytes.fromhex("0020000108") + b"0000\xff\xff\xff\xff"


def _serve(pcscd_service, state, *extra):
    netns = ["nsenter", f"--net=/proc/{pcscd_service.process.pid}/ns/net"] if pcscd_service.isolate else []
    cmd = [*netns, sys.executable, "-m", "harness.cli", "card", "serve", "alphalink-orange",
           "--state", str(state), "--port", str(pcscd_service.port + 1), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_card(1, timeout=20)
    except BaseException:
        proc.kill()
        raise
    return proc


def test_the_state_survives_kill_9_right_after_an_update(pcscd_service, tmp_path):
    state = tmp_path / "state"
    proc = _serve(pcscd_service, state)
    new = bytes.fromhex("02F810") + bytes.fromhex("FFFFFF") * 3  # 208-01 forbidden, 3 free entries
    with PcscTransport(1, policy=SafetyPolicy(allow_write=True)) as t:
        link = UiccLink(t)
        assert t.transmit(VERIFY_PIN1)[-2:] == b"\x90\x00"
        link.select_path(FPLMN)
        assert t.transmit(bytes([0x00, 0xD6, 0, 0, len(new)]) + new)[-2:] == b"\x90\x00"
        os.kill(proc.pid, signal.SIGKILL)  # at once: no clean stop, no save on exit
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    saved = state / "alphalink-orange.state"
    assert Card.load(saved).read_file(FPLMN) == new
    wait_for_no_card(1)

    # a save killed between its temp file and the rename leaves one: the next save removes it
    stale = state / ".alphalink-orange.state.k1ll3d.tmp"
    stale.write_text("{")
    proc = _serve(pcscd_service, state)
    try:
        with PcscTransport(1) as t:
            link = UiccLink(t)
            assert t.transmit(VERIFY_PIN1)[-2:] == b"\x90\x00"
            assert link.read_binary(FPLMN) == new
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert sorted(p.name for p in state.iterdir()) == ["alphalink-orange.state"]
    assert f"state {saved}" in out
    assert "reader connected (card inserted)" in out and "reader disconnected (card removed)" in out
    assert f"state saved to {saved}" in out
    wait_for_no_card(1)


ISDR_SELECT = bytes.fromhex("01A4040010A0000005591010FFFFFFFF8900000100")


def _es10(t, request: bytes) -> bytes:
    """One ES10 request to the ISD-R on channel 1 (STORE DATA, one block); the transport fetches
    the answer with GET RESPONSE."""
    resp = t.transmit(bytes([0x81, 0xE2, 0x91, 0x00, len(request)]) + request)
    assert resp[-2:] == b"\x90\x00", resp.hex()
    return resp[:-2]


def _isdr(t) -> None:
    assert t.transmit(bytes.fromhex("0070000001")) == b"\x01\x90\x00"  # MANAGE CHANNEL: channel 1
    assert t.transmit(ISDR_SELECT)[-2:] == b"\x90\x00"


def test_the_euicc_state_survives_kill_9_right_after_set_nickname(pcscd_service, tmp_path):
    """``card serve --euicc --state DIR``: SetNickname (SGP.22 §5.7.18) is saved before it is
    answered, so a kill -9 right after keeps it; served again from DIR/euicc.state, the same
    eUICC (EID) lists the nickname."""
    from csim.euicc import Euicc

    state = tmp_path / "state"
    nickname = b"pro"
    set_nickname = bytes.fromhex("BF2911" "5A0A983310990000000010F2" "9003") + nickname  # alphalink-orange
    proc = _serve(pcscd_service, state, "--euicc")
    with PcscTransport(1, policy=SafetyPolicy(allow_write=True)) as t:
        _isdr(t)
        assert _es10(t, set_nickname) == bytes.fromhex("BF2903800100")
        os.kill(proc.pid, signal.SIGKILL)  # at once: no clean stop, no save on exit
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    saved = Euicc.load(state / "euicc.state")
    assert [(p.name, p.nickname, p.enabled) for p in saved.isdr.profiles] == [
        ("alphalink-orange", "pro", True)]
    wait_for_no_card(1)

    proc = _serve(pcscd_service, state, "--euicc")
    try:
        with PcscTransport(1, policy=SafetyPolicy(allow_write=True)) as t:  # STORE DATA is INS E2
            _isdr(t)
            listed = _es10(t, bytes.fromhex("BF2D065C045A909F70"))
            eid = _es10(t, bytes.fromhex("BF3E035C015A"))
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    # ProfileInfo of alphalink-orange: ICCID, state enabled, the nickname (SGP.22 §5.7.15)
    assert listed == bytes.fromhex("BF2D19A017E3155A0A983310990000000010F29F7001019003") + nickname
    assert eid == bytes.fromhex("BF3E125A10") + bytes.fromhex(saved.isdr.credentials.eid)
    assert f"from state {state / 'euicc.state'}" in out
    wait_for_no_card(1)


def test_a_state_file_that_is_no_euicc_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "euicc.state").write_bytes(b'{"format": "simharness-card", "version": 1}')
    assert main(["card", "serve", "--euicc", "alphalink-orange", "--state", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {tmp_path / 'euicc.state'}: not a saved eUICC (format/version); move it away to "
                   "start again from alphalink-orange\n")


@pytest.mark.parametrize("content", [
    b'{"format": "simharness-card", "ver', b"[]", b'{"format": "simharness-card", "version": 1, "image": {}}',
    b"\xff\xfe\x00garbage", b"",
])
def test_a_state_file_that_is_no_card_is_one_line_and_exit_2(tmp_path, capsys, content):
    (tmp_path / "alphalink-orange.state").write_bytes(content)
    assert main(["card", "serve", "alphalink-orange", "--state", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {tmp_path / 'alphalink-orange.state'}: not a saved card state (")
    assert "Traceback" not in err


@pytest.mark.parametrize(("make", "why"), [
    (lambda p: os.mkfifo(p), "not a regular file (a FIFO, socket or device is not read)"),
    (lambda p: os.symlink("/dev/zero", p), "not a regular file (a FIFO, socket or device is not read)"),
    (lambda p: os.symlink("/proc/self/mem", p), "cannot read: Input/output error"),
    (lambda p: os.symlink(p.name, p), "cannot read: Too many levels of symbolic links"),
    (lambda p: p.mkdir(), "a directory, not a file"),
], ids=["fifo", "dev-zero", "proc-self-mem", "link-loop", "directory"])
def test_a_state_file_that_cannot_be_read_is_one_line_and_exit_2_without_hanging(tmp_path, capsys, make, why):
    state = tmp_path / "alphalink-orange.state"
    make(state)
    assert main(["card", "serve", "alphalink-orange", "--state", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {state}: {why}; move it away to start again from alphalink-orange\n"


@pytest.mark.parametrize("port", ["99999", "0", "http", "65535"])
def test_a_bad_port_is_one_line_and_exit_2(port, capsys):
    assert main(["card", "serve", "alphalink-orange", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --port {port}: not a TCP port from 1 to 65534\n"


def test_a_state_directory_that_cannot_be_written_is_one_line_and_exit_2(capsys):
    assert main(["card", "serve", "alphalink-orange", "--state", "/proc/simharness-state"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --state /proc/simharness-state: cannot save the card state there (")
    assert len(err.splitlines()) == 1


def test_a_state_that_is_a_file_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    assert main(["card", "serve", "alphalink-orange", "--state", str(tmp_path / "f")]) == 2
    assert capsys.readouterr().err == f"error: --state {tmp_path / 'f'}: not a directory\n"


def test_reader_read_without_pin1_exits_1_and_says_why(serve_card, monkeypatch, capsys):
    serve_card(Card.from_profile("alphalink-orange"))
    monkeypatch.delenv("SIMHARNESS_PIN1", raising=False)
    assert main(["reader", "read", "--reader", "1"]) == 1
    captured = capsys.readouterr()
    assert "iccid" in captured.out  # what could be read is still shown
    err = captured.err.strip()
    assert err.startswith("error: ") and "files could not be read (imsi" in err
    assert "SW 6982" in err and "set SIMHARNESS_PIN1" in err
    monkeypatch.setenv("SIMHARNESS_PIN1", "0000")
    started = time.monotonic()
    assert main(["reader", "read", "--reader", "1"]) == 0
    assert capsys.readouterr().err == ""
    assert time.monotonic() - started < 30
