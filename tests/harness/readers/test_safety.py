"""Safety with real cards: read-only default, PIN counter guard, ADM keys from env/file only."""

import pytest

from harness.readers.safety import (
    AdmKey,
    PinGuard,
    SafetyPolicy,
    WriteRefused,
    load_adm_key,
    parse_adm,
)


class Probe:
    """Answers the safety probes from a table {command hex: response hex} and records them."""

    def __init__(self, answers):
        self.answers = answers
        self.sent = []

    def __call__(self, apdu):
        self.sent.append(apdu.hex().upper())
        return bytes.fromhex(self.answers[apdu.hex().upper()])


VERIFY_PIN1 = bytes.fromhex("0020000108") + b"0000\xff\xff\xff\xff"


@pytest.mark.parametrize("apdu,name", [
    ("00D6000002AABB", "UPDATE BINARY"),
    ("00DC0104021122", "UPDATE RECORD"),
    ("002400011030303030FFFFFFFF31313131FFFFFFFF", "CHANGE PIN PIN1"),
    ("002600010830303030FFFFFFFF", "DISABLE PIN PIN1"),
    ("002800010830303030FFFFFFFF", "ENABLE PIN PIN1"),
    ("002C000110313233343536373830303030FFFFFFFF", "UNBLOCK PIN PIN1"),
    ("A0D6000002AABB", "UPDATE BINARY"),
    ("A02C000110313233343536373830303030FFFFFFFF", "UNBLOCK CHV"),
])
def test_modifying_commands_are_refused_without_allow_write(apdu, name):
    probe = Probe({})
    with pytest.raises(WriteRefused) as err:
        SafetyPolicy().check(bytes.fromhex(apdu), probe)
    assert str(err.value).startswith(f"{name} refused: the card is read-only")
    assert "--allow-write" in str(err.value)
    assert probe.sent == []  # refused before anything reaches the card


@pytest.mark.parametrize("apdu", ["00A40004023F00", "00B0000009", "00B2010400", "80F2000000",
                                  "0088008122" + "10" + "00" * 16 + "10" + "00" * 16, "80C2000003D60100"])
def test_reading_and_terminal_commands_pass(apdu):
    SafetyPolicy().check(bytes.fromhex(apdu), Probe({}))


def test_writes_pass_with_allow_write():
    SafetyPolicy(allow_write=True).check(bytes.fromhex("00D6000002AABB"), Probe({}))


@pytest.mark.parametrize("sw,left", [("63C3", 3), ("63C2", 2)])
def test_verify_runs_with_two_or_more_attempts_left(sw, left):
    probe = Probe({"00200001": sw})
    policy = SafetyPolicy()
    assert policy.attempts_left(VERIFY_PIN1, probe) == left
    policy.check(VERIFY_PIN1, probe)
    assert probe.sent == ["00200001", "00200001"]


@pytest.mark.parametrize("sw,left", [("63C1", 1), ("63C0", 0), ("6983", 0)])
def test_verify_is_refused_with_fewer_than_two_attempts(sw, left):
    with pytest.raises(PinGuard, match=f"only {left} PIN attempt"):
        SafetyPolicy().check(VERIFY_PIN1, Probe({"00200001": sw}))


def test_verify_of_an_already_verified_pin_passes():
    SafetyPolicy().check(VERIFY_PIN1, Probe({"00200001": "9000"}))


def test_verify_is_refused_when_the_card_does_not_report_the_counter():
    with pytest.raises(PinGuard, match="did not report the attempts left for PIN1"):
        SafetyPolicy().check(VERIFY_PIN1, Probe({"00200001": "6A86"}))


def test_adm_verify_is_guarded_on_its_own_reference():
    adm = AdmKey(b"88888888", "test").verify_apdu(0x0A)
    with pytest.raises(PinGuard, match="VERIFY PIN ADM1 refused: only 1"):
        SafetyPolicy().check(adm, Probe({"0020000A": "63C1"}))


def test_unblock_checks_the_puk_counter():
    unblock = bytes.fromhex("002C000110313233343536373830303030FFFFFFFF")
    with pytest.raises(PinGuard, match="only 1 PUK attempt"):
        SafetyPolicy(allow_write=True).check(unblock, Probe({"002C0001": "63C1"}))
    SafetyPolicy(allow_write=True).check(unblock, Probe({"002C0001": "63CA"}))


def test_gsm_chv_counter_comes_from_status():
    # TS 51.011 §9.2.1: byte 19 = CHV1 status (b8 initialised, b4..b1 attempts left)
    status = bytearray(22)
    status[18] = 0x81  # CHV1: 1 attempt left
    status[20] = 0x83  # CHV2: 3 attempts left
    probe = Probe({"A0F2000016": bytes(status).hex() + "9000"})
    with pytest.raises(PinGuard, match="only 1 PIN attempt"):
        SafetyPolicy().check(bytes.fromhex("A020000108") + b"0000\xff\xff\xff\xff", probe)
    SafetyPolicy().check(bytes.fromhex("A020000208") + b"1234\xff\xff\xff\xff", probe)


def test_adm_key_from_environment(monkeypatch):
    monkeypatch.setenv("SIMHARNESS_ADM1", "88888888")
    key = load_adm_key()
    assert key.value == b"88888888"
    assert "8888" not in repr(key) and "8888" not in str(key)
    assert key.verify_apdu().hex().upper() == "0020000A08" + b"88888888".hex().upper()


def test_adm_key_from_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SIMHARNESS_ADM1", raising=False)
    path = tmp_path / "adm"
    path.write_text("3838383838383838\n")
    assert load_adm_key(file=path).value == b"88888888"
    monkeypatch.setenv("SIMHARNESS_ADM1_FILE", str(path))
    assert load_adm_key().value == b"88888888"


def test_no_adm_key_configured(monkeypatch):
    monkeypatch.delenv("SIMHARNESS_ADM1", raising=False)
    monkeypatch.delenv("SIMHARNESS_ADM1_FILE", raising=False)
    assert load_adm_key() is None


def test_bad_adm_values_are_rejected_without_echoing_them(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMHARNESS_ADM1", "12ab")
    with pytest.raises(ValueError) as err:
        load_adm_key()
    assert "12ab" not in str(err.value)
    with pytest.raises(ValueError, match="cannot read the ADM key file"):
        load_adm_key(file=tmp_path / "missing")
    for unreadable, why in (("/dev/zero", "not a regular file"), (tmp_path, "a directory")):
        with pytest.raises(ValueError, match=f"cannot read the ADM key file {unreadable}: {why}"):
            load_adm_key(file=unreadable)


def test_adm_formats():
    assert parse_adm("1234") == b"1234\xff\xff\xff\xff"
    assert parse_adm("0102030405060708") == bytes(range(1, 9))
    with pytest.raises(ValueError):
        parse_adm("123456789")


def test_cli_has_no_option_taking_an_adm_value():
    import argparse

    from harness.cli.readers import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    text = " ".join(a.dest for a in _all_actions(parser))
    assert "adm" not in text.lower()


def _all_actions(parser):
    import argparse

    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_actions(sub)


# --- what a scenario may do to a card in a reader


def _select(fid: int) -> bytes:
    return bytes([0x00, 0xA4, 0x00, 0x0C, 0x02, fid >> 8, fid & 0xFF])


UPDATE_LOCI = bytes.fromhex("00D600000B") + bytes(11)


def _never(apdu: bytes) -> bytes:
    raise AssertionError("no probe expected")


def test_terminal_files_are_written_only_with_the_flag():
    from harness.readers.safety import ScenarioWritePolicy

    for allowed in (False, True):
        policy = ScenarioWritePolicy(allow_terminal_writes=allowed)
        policy.observe(_select(0x6F7E), b"\x90\x00")
        if allowed:
            policy.check(UPDATE_LOCI, _never)
        else:
            with pytest.raises(WriteRefused, match=r"EF_LOCI \(6F7E\) refused.*--allow-terminal-writes"):
                policy.check(UPDATE_LOCI, _never)


def test_personalisation_is_never_written_and_a_failed_select_keeps_the_file():
    from harness.readers.safety import ScenarioWritePolicy

    policy = ScenarioWritePolicy(allow_terminal_writes=True)
    policy.observe(_select(0x6F07), b"\x90\x00")  # EF_IMSI
    policy.observe(_select(0x6F7E), b"\x6A\x82")  # LOCI absent: IMSI stays selected
    with pytest.raises(WriteRefused, match="EF_IMSI.*personalisation"):
        policy.check(UPDATE_LOCI, _never)
    policy.observe(_select(0x6F7E), b"\x91\x10")  # a proactive command pending is a normal ending
    policy.check(UPDATE_LOCI, _never)


def test_writes_by_sfi_and_other_files_and_commands_are_refused():
    from harness.readers.safety import ScenarioWritePolicy

    policy = ScenarioWritePolicy(allow_terminal_writes=True)
    with pytest.raises(WriteRefused, match="SFI"):
        policy.check(bytes.fromhex("00D68B000B") + bytes(11), _never)  # UPDATE BINARY, SFI 0B
    policy.observe(_select(0x6F42), b"\x90\x00")  # EF_SMSP
    with pytest.raises(WriteRefused, match="does not write this file"):
        policy.check(bytes.fromhex("00DC0104") + b"\x01\xff", _never)
    with pytest.raises(WriteRefused):
        policy.check(bytes.fromhex("0024000110") + b"1234" + b"\xff" * 4 + b"5678" + b"\xff" * 4, _never)
