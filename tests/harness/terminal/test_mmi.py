"""MMI strings (TS 22.030 §6.5.2, Annex B and C), as the AlphaLink mobile reference prints them."""

import pytest

from harness.terminal.mmi import Dialled, MmiError, MmiRequest, parse


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("**61*0700000000*11#", MmiRequest("registration", "61", "0700000000", "11")),
        ("**62*0700000000*11#", MmiRequest("registration", "62", "0700000000", "11")),
        (
            "**67* 0700000000 *11#",
            MmiRequest("registration", "67", "0700000000", "11"),
        ),  # as printed, with spaces
        ("**61*+33700000000*11*25#", MmiRequest("registration", "61", "+33700000000", "11", 25)),
        ("*#61#", MmiRequest("interrogation", "61")),
        ("##61#", MmiRequest("erasure", "61")),
        ("##002#", MmiRequest("erasure", "002")),
        ("##004#", MmiRequest("erasure", "004")),
        ("*21#", MmiRequest("activation", "21")),
        ("#21#", MmiRequest("deactivation", "21")),
        ("888", Dialled("888")),
        ("+33 6 07 07 88 88", Dialled("+33607078888")),
    ],
)
def test_parse(text, want):
    assert parse(text) == want


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("**61*0700000000*11*45#", "5..30"),
        ("**61*0700000000*99#", "Annex C"),
        ("**61*07AB*11#", "neither"),
        ("*61", "neither"),
    ],
)
def test_refused(text, why):
    with pytest.raises(MmiError, match=why.replace(".", r"\.")):
        parse(text)
