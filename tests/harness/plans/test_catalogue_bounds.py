"""A provider file's durations and dates: one a clock cannot hold is a ``file:line`` error."""

import pytest

from csim.yamlsrc import DataError
from harness.paths import FIXTURES
from harness.plans.catalogue import Catalogue


@pytest.mark.parametrize(("value", "message"), [
    ("99999999999999999999999w", "recharge_delay: '99999999999999999999999w' is too long a duration"),
    (".inf", "'.inf' is not a finite number"),
    ("2022-02-30", "impossible date '2022-02-30' (day is out of range for month)"),
])
def test_recharge_delay_out_of_bounds_names_its_line(tmp_path, value, message):
    text = (FIXTURES / "plans" / "alphalink.yaml").read_text(encoding="utf-8")
    assert "\nrecharge_delay: 30min" in text
    path = tmp_path / "alphalink.yaml"
    bad = text.replace("\nrecharge_delay: 30min", f"\nrecharge_delay: {value}", 1)
    path.write_text(bad, encoding="utf-8")
    line = text[: text.index("\nrecharge_delay:")].count("\n") + 2
    with pytest.raises(DataError) as info:
        Catalogue([path])
    assert str(info.value) == f"{path}:{line}: {message}"
