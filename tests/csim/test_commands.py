"""Card commands beyond reading and writing, through Card.transmit: ACTIVATE / DEACTIVATE FILE
(TS 102 221 §11.1.14, §11.1.15), TERMINAL CAPABILITY (§11.1.19), INCREASE (§11.1.8,
TS 51.011 §9.2.7)."""

from __future__ import annotations

# the TERMINAL CAPABILITY command lpac sends (driver/apdu/pcsc.c): template A9 with power supply
# (81, empty), extended logical channels (82 01 01) and additional interfaces (83 01 07)
LPAC_TERMINAL_CAPABILITY = "80AA00000AA90881008201018301" + "07"


def fcp_lcsi(card, h, select: str) -> int:
    """Life cycle status integer, FCP tag 8A (TS 102 221 §11.1.1.4.9), of a SELECT's answer."""
    data, sw = h.t0(card, select)
    assert sw == 0x9000
    i = 2
    while i < len(data):
        tag, n = data[i], data[i + 1]
        if tag == 0x8A:
            return data[i + 2]
        i += 2 + n
    raise AssertionError("no tag 8A in the FCP")


def verify_adm(card, h) -> None:
    assert h.tx(card, b"\x00\x20\x00\x0a\x08" + h.ADM1)[1] == 0x9000


def test_deactivate_and_activate_the_current_file(mini_open, h):
    """pySim-shell's deactivate_file / activate_file: 00 04 00 00 on the current EF, then
    00 44 00 00 02 FID; the FCP shows 8A 04 then 8A 05 as in pySim's recorded real-card run
    (tests/pySim-shell_test/file_admin/activate_deactivate_file.ok)."""
    card = mini_open
    assert fcp_lcsi(card, h, "00A40004026F7E") == 0x05
    assert h.tx(card, "0004000000")[1] == 0x6982                 # needs ADM
    verify_adm(card, h)
    assert h.tx(card, "0004000000")[1] == 0x9000
    assert card.selection()["ef"] == "3F00/7FF0/6F7E"
    assert h.tx(card, "00B000000B")[1] == 0x6985                 # deactivated: no READ
    assert h.tx(card, "00D6000001FF")[1] == 0x6985               # nor UPDATE
    assert h.tx(card, "00A4000C026F7E")[1] == 0x6283             # selected file invalidated
    assert fcp_lcsi(card, h, "00A40004026F7E") == 0x04
    assert card.lcsi("3F00/7FF0/6F7E") == 0x04
    assert h.tx(card, "00440000026F7E")[1] == 0x9000
    assert fcp_lcsi(card, h, "00A40004026F7E") == 0x05
    assert h.tx(card, "00B000000B")[1] == 0x9000


def test_a_deactivated_record_ef_refuses_read_update_search_increase(mini_open, h):
    card = mini_open
    verify_adm(card, h)
    for fid in ("6F40", "6F80"):
        assert h.tx(card, "0004000002" + fid)[1] == 0x9000
        assert h.tx(card, "00B2010400")[1] == 0x6985
        assert h.tx(card, "00A2010401FF")[1] == 0x6985
    assert h.tx(card, "803200000101")[1] == 0x6985
    assert h.tx(card, "00DC010304" + "00" * 4)[1] == 0x6985


def test_life_cycle_commands_name_files_as_select_does(mini_open, h):
    card = mini_open
    verify_adm(card, h)
    assert h.tx(card, "00040800047FF06F7E")[1] == 0x9000         # path from the MF
    assert card.lcsi("3F00/7FF0/6F7E") == 0x04
    assert h.tx(card, "0044090002 6F7E".replace(" ", ""))[1] == 0x9000   # path from the current DF
    assert card.lcsi("3F00/7FF0/6F7E") == 0x05
    assert h.tx(card, "00040000022FE2")[1] == 0x6A82             # out of §8.4.1 scope
    assert h.tx(card, "00040001026F7E")[1] == 0x6A86
    assert h.tx(card, "0004000001")[1] == 0x6700                 # Lc without data
    assert card.lcsi("3F00/7FF0/6F7E") == 0x05


def test_life_cycle_survives_save_and_load(mini_open, h, tmp_path):
    from csim import Card

    verify_adm(mini_open, h)
    assert h.tx(mini_open, "00040000026F7E")[1] == 0x9000
    mini_open.save(tmp_path / "card.json")
    back = Card.load(tmp_path / "card.json")
    assert back.lcsi("3F00/7FF0/6F7E") == 0x04
    assert back.lcsi("3F00/7FF0/6F09") == 0x04
    assert back.lcsi("3F00/7FF0/6FAD") == 0x05


def test_terminal_capability_is_accepted(mini, h):
    assert h.tx(mini, LPAC_TERMINAL_CAPABILITY) == (b"", 0x9000)
    assert h.tx(mini, "80AA000003A90200")[1] == 0x6A80          # template length wrong
    assert h.tx(mini, "80AA000002A800")[1] == 0x6A80            # not the A9 template
    assert h.tx(mini, "80AA010002A900")[1] == 0x6A86


def test_increase_adds_to_record_1_of_a_cyclic_ef(mini_open, h):
    """EF_ICI here: records 01010101, 02020202, 03030303; INCREASE by 000001 writes 01010102 as
    the new record 1 and answers it followed by the value added."""
    card = mini_open
    assert h.tx(card, "00A4000C026F80")[1] == 0x9000
    assert h.t0(card, "8032000003000001") == (bytes.fromhex("01010102000001"), 0x9000)
    assert card.records("3F00/7FF0/6F80") == [bytes.fromhex(r) for r in ("01010102", "01010101", "02020202")]
    assert h.tx(card, "00B2010404") == (bytes.fromhex("01010102"), 0x9000)
    assert h.tx(card, "8032000001FF")[1] >> 8 == 0x61
    assert card.read_record("3F00/7FF0/6F80", 1) == bytes.fromhex("01010201")


def test_increase_refusals(mini_open, h):
    card = mini_open
    h.tx(card, "00A4000C026F80")
    for rec in ("FFFFFFFF",):
        card.write_record("3F00/7FF0/6F80", 1, bytes.fromhex(rec))
    before = card.records("3F00/7FF0/6F80")
    assert h.tx(card, "803200000101")[1] == 0x9850               # the sum does not fit
    assert card.records("3F00/7FF0/6F80") == before
    assert h.tx(card, "80320000050000000001")[1] == 0x6700       # longer than a record
    assert h.tx(card, "803201000101")[1] == 0x6A86
    h.tx(card, "00A4000C026F40")
    assert h.tx(card, "803200000101")[1] == 0x6981               # linear fixed
    h.tx(card, "00A4000C026FAD")
    assert h.tx(card, "803200000101")[1] == 0x6981               # transparent


def test_increase_in_the_sim_view(mini_open, h):
    """TS 51.011 §9.2.7: A0 32 00 00 03, the answer by GET RESPONSE after 9Fxx."""
    card = mini_open
    assert h.tx(card, "A0A40000027F20")[1] >> 8 == 0x9F
    assert h.tx(card, "A0A40000023F00")[1] >> 8 == 0x9F
    assert h.tx(card, "A0A40000026F80")[1] == 0x9404             # EF_ICI lives in ADF.USIM only
    h.tx(card, "00A4000C027FF0")
    h.tx(card, "00A4000C026F80")
    data, sw = h.tx(card, "A032000003000002")
    assert sw == 0x9F07
    assert h.tx(card, "A0C0000007") == (bytes.fromhex("01010103000002"), 0x9000)
