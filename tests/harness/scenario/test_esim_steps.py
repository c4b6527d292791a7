"""eSIM steps: load-time errors name the file and line; a run's eSIM traffic is reproducible."""

from __future__ import annotations

import textwrap

import pytest

from csim.yamlsrc import DataError
from harness.paths import ROOT
from harness.scenario import loader as scenario
from harness.scenario.runner import run
from harness.scenario.session import Session

HEAD = "name: t\ncard: alphalink-orange\nworld: europe\nstart: '2026-03-04T10:00'\nsteps:\n"


@pytest.mark.parametrize("steps, line, message", [
    ("  - insert_euicc: {device: Nokia 3310}\n", 6, "unknown device 'Nokia 3310'"),
    ("  - insert_euicc: {device: iPhone 13, profiles: [nowhere-card]}\n", 6, "profile 'nowhere-card'"),
    ("  - insert_euicc: {device: iPhone 13}\n  - download_esim: {activation_code: 'LPA:1$x_y$ABC'}\n", 7,
     "not a fully qualified domain name"),
    ("  - insert_euicc: {device: iPhone 13}\n  - download_esim: {activation_code: 'LPA:2$a.b$ABC'}\n", 7,
     "AC_Format '2'"),
    ("  - download_esim: {confirmation_code: maybe}\n", 6, "confirmation_code 'maybe'"),
    ("  - download_esim: {code: '123456'}\n", 6, "'code' was unexpected"),
    ("  - enable_esim: {iccid: '12ab'}\n", 6, "does not match"),
    ("  - expect: {esim_order: {state: gone}}\n", 6, "esim_order/state"),
])
def test_bad_esim_steps_are_refused_with_file_and_line(tmp_path, steps: str, line: int, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + textwrap.dedent(steps))
    with pytest.raises(DataError) as info:
        scenario.load_file(path)
    assert info.value.line == line, str(info.value)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_an_esim_run_is_the_same_apdu_for_apdu_each_time() -> None:
    """The served replay compares runs byte for byte: certificates, challenges, one-time keys and
    signatures of a scenario are drawn from its seed (RFC 6979 signatures)."""
    scn, = scenario.load_file(ROOT / "scenarios" / "esim" / "01_activation_email_journey.yaml")
    logs = []
    for _ in range(2):
        session = Session.for_scenario(scn)
        assert run(scn, session).passed
        logs.append([e.data for e in session.log.of_kind("apdu")])
    assert len(logs[0]) > 50 and logs[0] == logs[1]


def test_the_activation_information_sent_again_carries_the_same_codes() -> None:
    scn, = scenario.load_file(ROOT / "scenarios" / "esim" / "16_activation_information_sent_again.yaml")
    session = Session.for_scenario(scn)
    assert run(scn, session).passed
    emails = [e.data for e in session.log.of_kind("esim_activation_email")]
    sms = [e.data for e in session.log.of_kind("esim_activation_sms")]
    assert [e["to"] for e in emails] == ["old@example.fr", "emailcontact@email.fr"]
    assert emails[0]["activation_code"] == emails[1]["activation_code"]
    assert sms[0]["text"] == sms[1]["text"] and sms[0]["text"][-6:].isdigit()
