"""PIN handling through Card.transmit: TS 102 221 §9.5 and §11.1.9-§11.1.13, TS 51.011 §9.2.9-§9.2.13."""

from __future__ import annotations

WRONG = b"9999\xff\xff\xff\xff"


def apdu(ins: int, ref: int, data: bytes = b"", cla: int = 0x00, p3: int | None = None) -> bytes:
    return bytes([cla, ins, 0, ref, len(data) if p3 is None else p3]) + data


def test_verify_status_query_wrong_and_right(mini, h):
    assert h.tx(mini, apdu(0x20, 0x01))[1] == 0x63C3             # no data: retries left
    assert h.tx(mini, apdu(0x20, 0x01, WRONG))[1] == 0x63C2
    assert mini.pin_status("PIN1")["attempts"] == 2
    assert h.tx(mini, apdu(0x20, 0x01, h.PIN1))[1] == 0x9000
    assert mini.pin_status("PIN1") | {} == mini.pin_status(0x01)
    st = mini.pin_status("PIN1")
    assert st["attempts"] == 3 and st["verified"] and not st["blocked"]
    assert h.tx(mini, apdu(0x20, 0x01))[1] == 0x9000             # verified: no data -> 9000


def test_pin_blocks_after_three_failures_and_unblocks_with_puk(mini, h):
    assert [h.tx(mini, apdu(0x20, 0x01, WRONG))[1] for _ in range(3)] == [0x63C2, 0x63C1, 0x63C0]
    assert h.tx(mini, apdu(0x20, 0x01, h.PIN1))[1] == 0x6983      # blocked, even with the right PIN
    assert h.tx(mini, apdu(0x20, 0x01))[1] == 0x63C0              # §11.1.9.1.2: counter even when blocked
    assert mini.pin_status("PIN1")["blocked"]
    new = b"4321\xff\xff\xff\xff"
    assert h.tx(mini, apdu(0x2C, 0x01))[1] == 0x63CA              # 10 PUK tries
    assert h.tx(mini, apdu(0x2C, 0x01, b"00000000" + new))[1] == 0x63C9
    assert h.tx(mini, apdu(0x2C, 0x01, h.PUK1 + new))[1] == 0x9000
    st = mini.pin_status("PIN1")
    assert st["attempts"] == 3 and st["puk_attempts"] == 10 and st["verified"]
    mini.reset()
    assert h.tx(mini, apdu(0x20, 0x01, h.PIN1))[1] == 0x63C2      # the old PIN is gone
    assert h.tx(mini, apdu(0x20, 0x01, new))[1] == 0x9000


def test_puk_blocks_after_ten_failures(mini, h):
    sws = [h.tx(mini, apdu(0x2C, 0x01, b"00000000" + h.PIN1))[1] for _ in range(10)]
    assert sws == [0x63C0 | n for n in range(9, -1, -1)]
    assert h.tx(mini, apdu(0x2C, 0x01, h.PUK1 + h.PIN1))[1] == 0x6983
    assert h.tx(mini, apdu(0x2C, 0x01))[1] == 0x63C0              # the counter, blocked or not
    assert mini.pin_status("PIN1")["puk_blocked"]


def test_unblock_rejects_a_badly_coded_new_pin(mini, h):
    assert h.tx(mini, apdu(0x2C, 0x01, h.PUK1 + b"12\xff\xff\xff\xff\xff\xff"))[1] == 0x6A80
    assert h.tx(mini, apdu(0x2C, 0x01, h.PUK1 + b"12ab\xff\xff\xff\xff"))[1] == 0x6A80


def test_change_pin(mini, h):
    new = b"567890\xff\xff"
    assert h.tx(mini, apdu(0x24, 0x01, WRONG + new))[1] == 0x63C2
    assert h.tx(mini, apdu(0x24, 0x01, h.PIN1 + new))[1] == 0x9000
    assert mini.pin_status("PIN1")["attempts"] == 3
    mini.reset()
    assert h.tx(mini, apdu(0x20, 0x01, new))[1] == 0x9000
    assert h.tx(mini, apdu(0x24, 0x01, h.PIN1))[1] == 0x6700      # needs old + new


def test_disable_and_enable_pin1(mini, h):
    assert h.tx(mini, apdu(0x28, 0x01, WRONG))[1] == 0x63C2       # ENABLE checks the PIN value
    assert h.tx(mini, apdu(0x28, 0x01, h.PIN1))[1] == 0x9000      # already enabled: stays enabled
    assert mini.pin_status("PIN1")["enabled"] and mini.pin_status("PIN1")["attempts"] == 3
    assert h.tx(mini, apdu(0x26, 0x01, WRONG))[1] == 0x63C2
    assert h.tx(mini, apdu(0x26, 0x01, h.PIN1))[1] == 0x9000
    assert not mini.pin_status("PIN1")["enabled"]
    mini.reset()
    h.tx(mini, "00A4080C047FF06F07")
    assert h.tx(mini, "00B0000009")[1] == 0x9000                  # PIN1 files open
    assert h.tx(mini, apdu(0x20, 0x01))[1] == 0x63C3              # §11.1.9.1.2: counter even when disabled
    assert h.tx(mini, apdu(0x20, 0x01, h.PIN1))[1] == 0x6984      # §11.1.9.1.1: PIN is not disabled
    assert h.tx(mini, apdu(0x24, 0x01, h.PIN1 + h.PIN1))[1] == 0x6984   # §11.1.10.1: likewise
    assert h.tx(mini, apdu(0x26, 0x01, h.PIN1))[1] == 0x6984      # already disabled
    assert mini.pin_status("PIN1")["attempts"] == 3               # none of these counts as a try
    assert h.tx(mini, apdu(0x28, 0x01, h.PIN1))[1] == 0x9000
    mini.reset()
    h.tx(mini, "00A4080C047FF06F07")
    assert h.tx(mini, "00B0000009")[1] == 0x6982


def test_adm_key_and_unknown_references(mini, h):
    assert h.tx(mini, apdu(0x20, 0x0A))[1] == 0x63CA              # ADM1 has 10 tries here
    assert h.tx(mini, apdu(0x20, 0x0A, b"00000000"))[1] == 0x63C9
    assert h.tx(mini, apdu(0x20, 0x0A, h.ADM1))[1] == 0x9000
    assert h.tx(mini, apdu(0x26, 0x0A, h.ADM1))[1] == 0x6985      # ADM keys cannot be disabled
    assert h.tx(mini, apdu(0x2C, 0x0A, h.ADM1 + h.ADM1))[1] == 0x6A88   # no unblock key
    assert h.tx(mini, apdu(0x20, 0x02, h.PIN1))[1] == 0x6A88      # no such key reference
    assert h.tx(mini, bytes([0, 0x20, 1, 1, 8]) + h.PIN1)[1] == 0x6A86   # P1 must be 00
    assert h.tx(mini, apdu(0x20, 0x01, h.PIN1[:6]))[1] == 0x6700
    assert h.tx(mini, apdu(0x20, 0x01, p3=8))[1] == 0x6700         # Lc without data


def test_reset_clears_security_status_but_keeps_counters(mini, h):
    h.tx(mini, apdu(0x20, 0x01, WRONG))
    h.tx(mini, apdu(0x20, 0x81, h.PIN2))
    assert mini.pin_status("PIN2")["verified"]
    mini.reset()
    assert not mini.pin_status("PIN2")["verified"]
    assert mini.pin_status("PIN1")["attempts"] == 2


def test_gsm_chv_commands(mini, h):
    """TS 51.011: 98 04 wrong CHV (attempts left), 98 40 blocked, 98 08 contradiction with CHV status."""
    assert h.tx(mini, apdu(0x20, 0x01, WRONG, cla=0xA0))[1] == 0x9804
    assert h.tx(mini, apdu(0x20, 0x01, h.PIN1, cla=0xA0))[1] == 0x9000
    assert h.tx(mini, apdu(0x20, 0x03, h.PIN1, cla=0xA0))[1] == 0x6B00
    for _ in range(2):
        assert h.tx(mini, apdu(0x20, 0x02, WRONG, cla=0xA0))[1] == 0x9804   # CHV2
    assert h.tx(mini, apdu(0x20, 0x02, WRONG, cla=0xA0))[1] == 0x9804
    assert h.tx(mini, apdu(0x20, 0x02, h.PIN2, cla=0xA0))[1] == 0x9840
    # UNBLOCK CHV: P2 = 00 for CHV1, 02 for CHV2
    assert h.tx(mini, apdu(0x2C, 0x02, h.PUK2 + h.PIN2, cla=0xA0))[1] == 0x9000
    assert h.tx(mini, apdu(0x26, 0x01, h.PIN1, cla=0xA0))[1] == 0x9000      # DISABLE CHV1
    assert h.tx(mini, apdu(0x26, 0x01, h.PIN1, cla=0xA0))[1] == 0x9808
    assert h.tx(mini, apdu(0x20, 0x01, h.PIN1, cla=0xA0))[1] == 0x9808
