"""csim.Card around the core: the toolkit it attaches (TS 102 223) and file writes by path."""

from __future__ import annotations

import pytest

from csim import Card
from csim import profile as profiles
from csim.toolkit import Toolkit


def test_write_files_writes_each_in_order_with_write_file_rules(h):
    card = Card(h.mini_image(), toolkit=False)
    ad = "3F00/7FF0/6FAD"
    size = len(card.read_file(ad))
    card.write_files([(ad, b"\x01"), ("3F00/7FF0/6F7E", b"\xca\xfe"), (ad, b"\x80\x00")])
    assert card.read_file(ad) == b"\x80\x00" + b"\xff" * (size - 2)
    assert card.read_file("3F00/7FF0/6F7E")[:2] == b"\xca\xfe"
    with pytest.raises(ValueError):
        card.write_files([(ad, b"\x00" * (size + 1))])
    with pytest.raises(LookupError):
        card.write_files([("3F00/7FF0/6FFF", b"\x00")])


def test_toolkit_with_the_roaming_applet_from_the_profile():
    profile = profiles.load_profile("alphalink-orange")
    card = Card(profiles.build_image(profile), profile=profile)
    assert isinstance(card.toolkit, Toolkit)
    assert [a.name for a in card.toolkit.applets] == ["roaming"]
    assert card.current_profile == profile.active
    assert Card(profiles.build_image(profile), profile=profile, toolkit=False).toolkit is None
