"""The LPA's activation code parsing (SGP.22 §4.1): the vectors of pySim's test suite and of the
AlphaLink activation e-mail, and one reason for each malformed part."""

from __future__ import annotations

import pytest

from harness.terminal.lpa import ActivationCode, ActivationCodeError


@pytest.mark.parametrize("text, expected", [
    # pySim tests/unittests/test_esim.py (reference/facts.md §6.1)
    ("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815", ("SMDP.GSMA.COM", "04386-AGYFT-A74Y8-3F815", None, False)),
    ("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$$1", ("SMDP.GSMA.COM", "04386-AGYFT-A74Y8-3F815", None, True)),
    ("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1",
     ("SMDP.GSMA.COM", "04386-AGYFT-A74Y8-3F815", "1.3.6.1.4.1.31746", True)),
    ("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746",
     ("SMDP.GSMA.COM", "04386-AGYFT-A74Y8-3F815", "1.3.6.1.4.1.31746", False)),
    ("1$SMDP.GSMA.COM$$1.3.6.1.4.1.31746", ("SMDP.GSMA.COM", "", "1.3.6.1.4.1.31746", False)),
    # the AlphaLink activation e-mail, as a QR code payload
    ("LPA:1$rsp-0004.oberthur.net$QFSA0-UGXKF-Y00VV-IYPIK$$1",
     ("rsp-0004.oberthur.net", "QFSA0-UGXKF-Y00VV-IYPIK", None, True)),
    ("LPA:1$127.0.0.1:8443$ABC$$1", ("127.0.0.1:8443", "ABC", None, True)),
])
def test_valid_activation_codes(text: str, expected: tuple) -> None:
    ac = ActivationCode.parse(text)
    assert (ac.address, ac.matching_id, ac.oid, ac.cc_required) == expected


@pytest.mark.parametrize("text, part", [
    ("LPA:1$rsp-0004.oberthur.net", "at least 3"),
    ("LPA:1$a.b$C$1.2$1$X", "at most 5"),
    ("LPA:2$rsp-0004.oberthur.net$QFSA0$$1", "AC_Format '2'"),
    ("LPA:1$$QFSA0$$1", "SM-DP+ address ''"),
    ("LPA:1$rsp_0004.oberthur.net$QFSA0$$1", "not a fully qualified domain name"),
    ("LPA:1$rsp.example.com:99999$QFSA0$$1", "port '99999'"),
    ("LPA:1$rsp-0004.oberthur.net$qfsa0-ugxkf$$1", "matching ID 'qfsa0-ugxkf'"),
    ("LPA:1$rsp-0004.oberthur.net$QFSA0$829878$1", "SM-DP+ OID '829878'"),  # the code is never in field 4
    ("LPA:1$rsp-0004.oberthur.net$QFSA0$$829878", "required flag '829878'"),
])
def test_malformed_parts_are_named(text: str, part: str) -> None:
    with pytest.raises(ActivationCodeError, match=part.replace("+", r"\+").replace("$", r"\$")):
        ActivationCode.parse(text)
