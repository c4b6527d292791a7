"""The scenario plugin's card-target options reach the session's :class:`CardTarget`."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(("flags", "expected"), [([], False), (["--pin-attempts-ok"], True)])
def test_pin_attempts_ok_reaches_the_card_target(pytester: pytest.Pytester, flags: list[str],
                                                 expected: bool) -> None:
    pytester.makepyfile(f"""
        from harness.pytest_plugins.scenarios import card_target

        def test_target(request):
            target = card_target(request.config)
            assert target.pin_attempts_ok is {expected}
            assert target.allow_terminal_writes is False
    """)
    result = pytester.runpytest_subprocess(*flags, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
