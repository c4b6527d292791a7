"""Card.save / Card.load: the state survives a round trip, and a failed save leaves the old file."""

from __future__ import annotations

import json
import os

import pytest
from csim.milenage import generate_vector

from csim import Card


def test_round_trip_keeps_files_pins_and_sqn(tmp_path, h):
    card = Card(h.mini_image(), toolkit=False)
    h.verify_pin1(card)
    h.tx(card, "00A4080C047FF06F7E")
    h.tx(card, "00D6000004CAFEBABE")
    h.tx(card, "00A4000C026F80")
    h.tx(card, "00DC000304AABBCCDD")                                # cyclic rotation
    h.tx(card, b"\x00\x20\x00\x81\x08" + b"0000\xff\xff\xff\xff")    # PIN2 counter 2
    h.tx(card, b"\x00\x2c\x00\x01\x10" + b"00000000" + h.PIN1)      # PUK1 counter 9
    v = generate_vector(h.K1, h.OPC1, 0x1234 << 5 | 3, b"\x80\x00", bytes(16))
    h.tx(card, "00A4000C027FF0")
    assert h.t0(card, b"\x00\x88\x00\x81\x22\x10" + bytes(16) + b"\x10" + v["autn"])[1] == 0x9000
    path = tmp_path / "card.json"
    card.save(path)
    back = Card.load(path)
    assert back.read_file("3F00/7FF0/6F7E")[:4] == bytes.fromhex("CAFEBABE")
    assert back.read_file("3F00/7F20/6F7E") == back.read_file("3F00/7FF0/6F7E")   # link kept
    assert back.records("3F00/7FF0/6F80") == card.records("3F00/7FF0/6F80")
    assert back.records("3F00/7FF0/6F80")[0] == bytes.fromhex("AABBCCDD")
    assert back.pin_status("PIN2")["attempts"] == 2
    assert back.pin_status("PIN1")["puk_attempts"] == 9
    assert not back.pin_status("PIN1")["verified"]                 # security status is not saved
    assert back.auth.state() == card.auth.state()
    assert back.auth.sqn == 0x1234 << 5 | 3
    # the SQN really is enforced after the reload: a replay is a sync failure
    h.verify_pin1(back)
    h.tx(back, "00A4000C027FF0")
    data, sw = h.t0(back, b"\x00\x88\x00\x81\x22\x10" + bytes(16) + b"\x10" + v["autn"])
    assert data[:2] == b"\xdc\x0e"


def test_changed_pin_value_survives(tmp_path, h):
    card = Card(h.mini_image(), toolkit=False)
    new = b"7777\xff\xff\xff\xff"
    assert h.tx(card, b"\x00\x24\x00\x01\x10" + h.PIN1 + new)[1] == 0x9000
    assert h.tx(card, b"\x00\x26\x00\x81\x08" + h.PIN2)[1] == 0x9000
    card.save(tmp_path / "c.json")
    back = Card.load(tmp_path / "c.json")
    assert h.verify_pin1(back, new) == 0x9000
    assert not back.pin_status("PIN2")["enabled"]


def test_profile_card_round_trip_with_toolkit(tmp_path, orange, h):
    _, sw = h.tx(orange, "801000001E" + "FF" * 30)
    pending = orange.proactive_pending
    orange.save(tmp_path / "o.json")
    back = Card.load(tmp_path / "o.json")
    assert back.toolkit is not None
    assert back.toolkit.state() == orange.toolkit.state()
    assert back.proactive_pending == pending
    assert back.current_profile == orange.current_profile
    for path in orange.file_paths():
        if path.count("/") >= 1 and path.split("/")[-1][0] in "26":
            assert back._contents(path) == orange._contents(path), path


def test_save_replaces_atomically_and_a_crash_keeps_the_old_file(tmp_path, monkeypatch, h):
    card = Card(h.mini_image(), toolkit=False)
    path = tmp_path / "card.json"
    card.save(path)
    before = path.read_bytes()
    card.write_file("3F00/7FF0/6FAD", b"\x01\x02\x03\x04")

    def crash(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        card.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]    # no temp file left behind
    monkeypatch.undo()
    card.save(path)
    assert Card.load(path).read_file("3F00/7FF0/6FAD") == b"\x01\x02\x03\x04"


def test_save_crash_during_write_keeps_the_old_file(tmp_path, monkeypatch, h):
    card = Card(h.mini_image(), toolkit=False)
    path = tmp_path / "card.json"
    card.save(path)
    before = path.read_bytes()

    def crash(fd):
        raise OSError("power cut")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError):
        card.save(path)
    assert path.read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1


def test_load_rejects_foreign_files(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError):
        Card.load(p)
