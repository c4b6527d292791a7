import pytest

from csim.sw import sw_meaning


@pytest.mark.parametrize("sw, text", [
    (0x9000, "normal ending"),
    (0x6A82, "file or application not found"),
    (0x611A, "26 response bytes available"),
    (0x6C09, "the exact length is 9"),
    (0x9112, "proactive command pending (18 bytes)"),
    (0x63C2, "2 attempt(s) left"),
    (0x63C0, "0 attempt(s) left"),
    (0x9F22, "34 response bytes available (GSM"),
    (0x9862, "authentication error"),
    (0x6A89, "file ID already exists"),
    (0x6800, "function in CLA not supported"),
    (0x9804, "access condition not fulfilled"),
    (0x1234, "unknown status word"),
])
def test_sw_meaning(sw, text):
    assert text in sw_meaning(sw)
