"""Options that bar or allow usages per network (AlphaLink mobile reference, 'AUTRES OPTIONS') and the
terminal's voice domain (TS 23.221 §7.2a; 'LA VOIX SUR LTE (=4G) VoLTE', 'LA VOIX SUR WIFI (VoWIFI)')."""

import pytest

from harness.lines import load_rules
from harness.lines.options import LineOptions, add_option, presentation, refusal
from harness.terminal.voice_domain import VoiceSettings, bearer

CAT = load_rules().options


def _line(network: str, *options: str) -> LineOptions:
    ln = LineOptions(network)
    for o in options:
        assert add_option(CAT, ln, o) is None
    return ln


@pytest.mark.parametrize("country", ["CH", "AD", "US"])
def test_switzerland_and_andorra_are_international(country):
    ln = _line("bouygues", "voice_international_blocked")
    assert "outside the EEA" in refusal(CAT, ln, usage="voice", from_country="FR", to_country=country)


def test_voice_blocking_leaves_eea_and_sms():
    ln = _line("bouygues", "voice_international_blocked")
    assert refusal(CAT, ln, usage="voice", from_country="FR", to_country="NO") is None  # Norway: EEA
    assert refusal(CAT, ln, usage="sms", from_country="FR", to_country="CH") is None


def test_orange_offers_no_international_barring():
    assert "not offered" in add_option(CAT, LineOptions("orange"), "voice_international_blocked")


def test_conference_limits():
    orange, bouygues = _line("orange", "conference"), _line("bouygues", "conference")
    assert refusal(CAT, orange, usage="voice", from_country="FR", to_country="FR", participants=5) is None
    assert refusal(CAT, orange, usage="voice", from_country="BE", to_country="FR", participants=4)
    assert refusal(CAT, bouygues, usage="voice", from_country="FR", to_country="FR", participants=4)


def test_withheld_number():
    assert presentation(_line("orange", "number_withheld")) == "withheld"
    assert presentation(LineOptions("orange")) == "presented"


@pytest.mark.parametrize(
    ("settings", "rat", "ims", "want"),
    [
        (VoiceSettings(volte=True), "4G", True, "volte"),
        (VoiceSettings(volte=True), "4G", False, "cs"),  # overseas departments: no IMS voice
        (VoiceSettings(volte=False), "5G", True, "cs"),
        (VoiceSettings(volte=True), "3G", True, "cs"),
        (VoiceSettings(vowifi=True, wifi=True), None, True, "vowifi"),
        (VoiceSettings(vowifi=True, wifi=False), None, True, None),
        (VoiceSettings(), None, True, None),
    ],
)
def test_voice_domain(settings, rat, ims, want):
    assert bearer(settings, rat, ims) == want


@pytest.mark.parametrize(
    ("rat", "signal", "want"),
    [
        ("4G", -88.0, "volte"),  # high quality: cellular preferred
        ("4G", -110.0, "volte"),  # TS 23.122 §4.4.3.1.1 iv: RSRP >= -110 dBm is high quality
        ("4G", -114.0, "vowifi"),  # the Orange 4G cell near Lille in fixtures/networks/europe.yaml
        ("3G", -96.0, "vowifi"),  # RSCP below -95 dBm
        ("2G", -80.0, "cs"),
    ],
)
def test_vowifi_when_the_serving_cell_is_weak(rat, signal, want):
    assert bearer(VoiceSettings(volte=True, vowifi=True, wifi=True), rat, True, signal) == want


def test_weak_cell_without_vowifi_stays_cellular():
    assert bearer(VoiceSettings(volte=True), "4G", True, -120.0) == "volte"
    assert bearer(VoiceSettings(vowifi=True, wifi=False), "3G", True, -110.0) == "cs"
