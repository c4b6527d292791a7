"""The bundled profiles' Answer To Reset, read by pyscard's ATR parser (ISO/IEC 7816-3 §8,
historical bytes per ISO/IEC 7816-4 §8.1.1): T=0 with the T=15 global bytes of a UICC
(TS 102 221 §6.3), a correct TCK, and historical bytes that carry no issuer or vendor data."""

from __future__ import annotations

from pathlib import Path

import pytest

from csim import Card

ATR = pytest.importorskip("smartcard.ATR").ATR
CARDS = sorted(Path(__file__).resolve().parents[2].joinpath("fixtures", "cards").glob("*.yaml"))


@pytest.mark.parametrize("profile", CARDS, ids=[p.stem for p in CARDS])
def test_bundled_atr_is_a_uicc_atr_of_our_own(profile):
    card = Card.from_profile(profile)
    atr = ATR(list(card.atr))
    assert atr.TS == 0x3B                                    # direct convention
    assert atr.isT0Supported() and not atr.isT1Supported()
    assert atr.isT15Supported()                              # global interface bytes
    assert atr.TA[2] == 0xC7                                 # T=15 TA: clock stop, classes A, B, C
    assert atr.hasChecksum and atr.checksumOK
    hist = atr.getHistoricalBytes()
    assert hist[0] == 0x80                                   # category: compact-TLV objects follow
    tags, i = [], 1
    while i < len(hist):
        tags.append(hist[i] >> 4)
        i += 1 + (hist[i] & 0x0F)
    assert i == len(hist)
    # card service data (3) and card capabilities (7) only: no issuer's data (5) nor
    # pre-issuing data (6), where a manufacturer names itself
    assert tags == [0x3, 0x7]
    assert card.reset() == card.atr
