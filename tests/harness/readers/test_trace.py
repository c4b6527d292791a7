"""APDU trace files: masking of PIN/PUK/ADM and keys, and the pretty-printer."""

import json
import os

from harness.readers.trace import Tracer, command_name, format_events, mask_command, read_trace, sw_meaning


def test_pin_values_are_masked():
    verify = bytes.fromhex("0020000108") + b"1234\xff\xff\xff\xff"
    assert mask_command(verify) == "0020000108" + "*" * 16
    unblock = bytes.fromhex("002C000110") + b"12345678" + b"0000\xff\xff\xff\xff"
    assert mask_command(unblock) == "002C000110" + "*" * 32
    assert mask_command(bytes.fromhex("00200001")) == "00200001"
    assert mask_command(bytes.fromhex("00B0000009")) == "00B0000009"


def test_authenticate_keys_are_masked_also_after_get_response(tmp_path):
    res, ck, ik = bytes.fromhex("A1A2A3A4A5A6A7A8"), bytes(range(0x10, 0x20)), bytes(range(0x20, 0x30))
    data = b"\xdb\x08" + res + b"\x10" + ck + b"\x10" + ik
    path = tmp_path / "t.jsonl"
    with Tracer(path, reader="r", atr=b"\x3b\x00") as tr:
        auth = bytes.fromhex("008800812210") + bytes(16) + b"\x10" + bytes(16)
        tr.exchange(auth, b"\x61" + bytes([len(data)]))
        tr.exchange(bytes([0, 0xC0, 0, 0, len(data)]), data + b"\x90\x00")
        tr.exchange(bytes.fromhex("00B0000009"), bytes(range(9)) + b"\x90\x00")
    events = list(read_trace(path))
    assert events[0]["reader"] == "r" and events[0]["atr"] == "3B00"
    r = events[2]["r"]
    assert r.startswith("DB08A1A2A3A4A5A6A7A810" + "*" * 32 + "10" + "*" * 32)
    assert r.endswith("9000")
    assert ck.hex().upper() not in path.read_text()
    assert events[3]["r"] == "0001020304050607089000"  # masking stops after the keys


def test_gsm_authentication_kc_is_masked(tmp_path):
    path = tmp_path / "t.jsonl"
    with Tracer(path) as tr:
        tr.exchange(bytes.fromhex("A08800001000112233445566778899AABBCCDDEEFF"), b"\x9f\x0c")
        tr.exchange(bytes.fromhex("A0C000000C"), bytes.fromhex("11223344") + bytes(range(8)) + b"\x90\x00")
    assert json.loads(path.read_text().splitlines()[2])["r"] == "11223344" + "*" * 16 + "9000"


def test_command_names_and_status_words():
    assert command_name(bytes.fromhex("00A40004023F00")) == "SELECT"
    assert command_name(bytes.fromhex("0020000A08")) == "VERIFY PIN ADM1"
    assert command_name(bytes.fromhex("80C2000010")) == "ENVELOPE"
    assert command_name(bytes.fromhex("A088000010")) == "RUN GSM ALGORITHM"
    assert sw_meaning(0x9000) == "normal ending"
    assert sw_meaning(0x6A82) == "file or application not found"
    assert sw_meaning(0x63C2) == "verification failed, 2 attempt(s) left"
    assert sw_meaning(0x611C) == "28 response bytes available (GET RESPONSE)"
    assert sw_meaning(0x911F) == "normal ending, proactive command pending (31 bytes)"
    assert sw_meaning(0x6C09) == "wrong Le: the exact length is 9"


def test_pretty_print_shows_names_and_meanings(tmp_path):
    path = tmp_path / "t.jsonl"
    with Tracer(path, reader="Virtual PCD 00 00") as tr:
        tr.exchange(bytes.fromhex("00A4000C026F07"), bytes.fromhex("6A82"), 0.0002)
        tr.reset(bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5"))
        tr.exchange(bytes.fromhex("0020000108") + b"0000\xff\xff\xff\xff", bytes.fromhex("63C2"))
    lines = list(format_events(read_trace(path)))
    text = "\n".join(lines)
    assert "reader=Virtual PCD 00 00" in lines[0]
    assert "SELECT" in text and "> 00 A4 00 0C 02 6F 07" in text
    assert "6A82  file or application not found" in text
    assert "RESET  ATR 3B9F96801FC78031A073BE21136743200718000001A5" in text
    assert "VERIFY PIN PIN1" in text and "** ** ** **" in text and "30 30" not in text
    assert "63C2  verification failed, 2 attempt(s) left" in text


def test_trace_command_prints_the_file(tmp_path, capsys):
    path = tmp_path / "t.jsonl"
    with Tracer(path) as tr:
        tr.exchange(bytes.fromhex("80F2000000"), bytes.fromhex("9000"))
    import argparse

    from harness.cli.readers import cmd_trace

    assert cmd_trace(argparse.Namespace(file=str(path))) == 0
    out = capsys.readouterr().out
    assert "STATUS" in out and "normal ending" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert cmd_trace(argparse.Namespace(file=str(bad))) == 2
    assert f"{bad}:1: not a trace line" in capsys.readouterr().err


def test_trace_of_what_is_no_trace_file_is_one_line_and_exit_2_without_hanging(tmp_path, capsys):
    from harness.cli.main import main

    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    (tmp_path / "binary.jsonl").write_bytes(b'{"trace": 1}\n\xff\xfe\n')
    (tmp_path / "long.jsonl").write_bytes(b"x" * 70_000 + b"\n")
    cases = {
        "/dev/zero": "/dev/zero: not a regular file (a FIFO, socket or device is not read)",
        str(fifo): f"{fifo}: not a regular file (a FIFO, socket or device is not read)",
        "/proc/self/mem": "/proc/self/mem: cannot read: Input/output error",
        str(tmp_path / "binary.jsonl"): f"{tmp_path / 'binary.jsonl'}:2: not a trace line: not ASCII text",
        str(tmp_path / "long.jsonl"):
            f"{tmp_path / 'long.jsonl'}:1: not a trace line: longer than 65536 bytes",
    }
    for path, why in cases.items():
        assert main(["trace", path]) == 2
        assert capsys.readouterr().err == f"error: {why}\n"
