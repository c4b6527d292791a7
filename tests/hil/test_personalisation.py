"""Personalisation check: the card against the profile it was personalised from."""

from pathlib import Path

import pytest

from harness.readers.pcsc import compare_with_profile, expected_from_profile, read_subscriber
from harness.readers.safety import WriteRefused

pytestmark = pytest.mark.hil


def test_card_matches_its_expected_profile(hil_target, hil_link):
    if hil_target.profile_path is None:
        pytest.skip("no --expect-profile given")
    if hil_target.pin1 is None:
        pytest.skip("PIN1 unknown: set SIMHARNESS_PIN1")
    expected = expected_from_profile(hil_target.profile_path)
    assert compare_with_profile(read_subscriber(hil_link), expected) == []


def test_a_different_profile_is_reported_field_by_field(hil_target, hil_link):
    if hil_target.pin1 is None:
        pytest.skip("PIN1 unknown: set SIMHARNESS_PIN1")
    values = read_subscriber(hil_link)
    others = [p for p in sorted(Path(__file__).resolve().parents[2].glob("fixtures/cards/*.yaml"))
              if expected_from_profile(p)["iccid"] != values["iccid"]]
    if not others:
        pytest.skip("no other bundled profile to compare with")
    problems = compare_with_profile(values, expected_from_profile(others[0]))
    assert any(p.startswith("iccid: card has ") for p in problems)


def test_write_without_allow_write_is_refused(hil_target, hil_link):
    if hil_target.transport.policy.allow_write:
        pytest.skip("--allow-write given")
    hil_link.select_path("3F00/7FF0/6F46")
    with pytest.raises(WriteRefused, match="UPDATE BINARY refused: the card is read-only"):
        hil_target.transport.transmit(bytes.fromhex("00D6000001FF"))
