"""The line rules fixture: electrical profile names by date ("PROFIL ÉLECTRIQUE") and file:line errors."""

from datetime import date

import pytest

from csim.yamlsrc import DataError
from harness.lines import load_rules
from harness.lines.rules import LINES_DIR

RULES = load_rules()


@pytest.mark.parametrize(
    ("network", "sim", "since", "power_ons", "want"),
    [
        ("orange", "pin", date(2023, 6, 12), 2, "Telco Mobile"),
        ("orange", "pin", date(2023, 6, 13), 2, "Orange"),
        ("orange", "esim", date(2024, 9, 18), 2, "Telco Mobile"),
        ("orange", "esim", date(2024, 9, 19), 1, "Orange"),  # no first power-on placeholder on Orange
        ("bouygues", "pin", date(2025, 4, 14), 2, "Telco Mobile"),
        ("bouygues", "pin", date(2025, 4, 15), 2, "Bouygues Tel"),
        ("bouygues", "pin", date(2025, 4, 15), 1, "Mobile"),
    ],
)
def test_electrical_profile(network, sim, since, power_ons, want):
    assert RULES.electrical_profiles[network].shown(sim, since, power_ons) == want


def test_a_bad_window_names_file_and_line(tmp_path):
    text = (LINES_DIR / "alphalink.yaml").read_text()
    bad = text.replace(
        'days: [mon, tue, wed, thu, fri, sat], hours: "07:00-22:00"',
        'days: [mon, tue, wed, thu, fri, sat], hours: "07:00-25:00"',
        1,
    )
    assert bad != text
    path = tmp_path / "alphalink.yaml"
    path.write_text(bad)
    with pytest.raises(DataError, match=r"alphalink\.yaml:\d+: not a time of day: '25:00'"):
        load_rules(path=path)


def test_unknown_day_names_file_and_line(tmp_path):
    text = (
        (LINES_DIR / "alphalink.yaml")
        .read_text()
        .replace("days: [mon, tue, wed, thu, fri]", "days: [mon, tue, wen]", 1)
    )
    path = tmp_path / "alphalink.yaml"
    path.write_text(text)
    with pytest.raises(DataError, match=r"alphalink\.yaml:\d+: unknown day\(s\) \['wen'\]"):
        load_rules(path=path)
