"""CREATE FILE, DELETE FILE, RESIZE FILE through Card.transmit (TS 102 222 §6.3, §6.4, §6.10),
in the sequences pySim-shell's own test scripts run on a real card
(tests/pySim-shell_test/file_admin/*.script: create_ef / create_df, resize_ef, delete_file)."""

from __future__ import annotations

from csim import Card


def fcp(*objects: str) -> str:
    body = "".join(objects)
    return "62" + f"{len(body) // 2:02X}" + body


def cmd(cla_ins: str, data: str) -> str:
    return cla_ins + "0000" + f"{len(data) // 2:02X}" + data


ARR_MF_1 = "8B032F0601"  # EF_ARR 2F06 record 1: READ ALW (the hand-built card's rule)
TRANSPARENT_5678 = fcp("82024121", "83025678", "8A0105", ARR_MF_1, "80020017")        # 23 bytes
LINEAR_4321 = fcp("82054221000A0A", "83024321", "8A0105", ARR_MF_1, "80020064")        # 10 x 10
DF_1234 = fcp("82027821", "83021234", "8A0105", ARR_MF_1)


def adm(card, h) -> None:
    assert h.tx(card, b"\x00\x20\x00\x0a\x08" + h.ADM1)[1] == 0x9000


def test_create_resize_delete_transparent_ef(mini, h):
    assert h.tx(mini, cmd("00E0", TRANSPARENT_5678))[1] == 0x6982    # ADM first
    adm(mini, h)
    assert h.tx(mini, cmd("00E0", TRANSPARENT_5678))[1] == 0x9000
    assert mini.selection()["ef"] == "3F00/5678"                      # the new file is current
    assert h.tx(mini, "00B0000017") == (b"\xff" * 23, 0x9000)         # READ ALW per EF_ARR record 1
    assert h.tx(mini, "00D6000003010203")[1] == 0x9000                # UPDATE: ADM, verified
    assert h.tx(mini, cmd("00E0", TRANSPARENT_5678))[1] == 0x6A89     # FID taken
    h.tx(mini, "00A4000C023F00")
    assert h.tx(mini, cmd("80D4", fcp("83025678", "8002002A")))[1] == 0x9000   # resize to 42
    assert mini.read_file("3F00/5678") == b"\x01\x02\x03" + b"\xff" * 39
    assert h.tx(mini, cmd("80D4", fcp("83025678", "80020002")))[1] == 0x9000
    assert mini.read_file("3F00/5678") == b"\x01\x02"
    assert h.tx(mini, cmd("00E4", "5678"))[1] == 0x9000
    assert h.tx(mini, "00A4000C025678")[1] == 0x6A82
    assert "3F00/5678" not in mini.file_paths()
    assert h.tx(mini, cmd("00E4", "5678"))[1] == 0x6A82


def test_create_resize_delete_linear_fixed_ef(mini, h):
    adm(mini, h)
    assert h.tx(mini, cmd("00E0", LINEAR_4321))[1] == 0x9000
    data, sw = h.t0(mini, "00A40004024321")
    assert sw == 0x9000 and bytes.fromhex("82054221000A0A") in data  # 10 records of 10 bytes
    assert h.tx(mini, "00DC01040A" + "11" * 10)[1] == 0x9000
    h.tx(mini, "00A4000C023F00")
    assert h.tx(mini, cmd("80D4", fcp("83024321", "800200C8")))[1] == 0x9000   # 200: 20 records
    recs = mini.records("3F00/4321")
    assert len(recs) == 20 and recs[0] == b"\x11" * 10 and recs[19] == b"\xff" * 10
    assert h.tx(mini, cmd("80D4", fcp("83024321", "80020065")))[1] == 0x6A80   # not whole records
    assert h.tx(mini, cmd("00E4", "4321"))[1] == 0x9000
    assert "3F00/4321" not in mini.file_paths()


def test_create_and_delete_a_df_with_its_files(mini, h):
    adm(mini, h)
    assert h.tx(mini, cmd("00E0", DF_1234))[1] == 0x9000
    assert mini.selection()["df"] == "3F00/1234"
    assert h.tx(mini, cmd("00E0", fcp("82024121", "83026F01", ARR_MF_1, "80020004")))[1] == 0x9000
    assert mini.selection()["ef"] == "3F00/1234/6F01"
    data, sw = h.t0(mini, "00A40004026F01")
    assert sw == 0x9000 and bytes.fromhex("880108") in data          # SFI from the FID's low bits
    assert h.tx(mini, "00A4000C023F00")[1] == 0x9000
    assert h.tx(mini, "00A4000C021234")[1] == 0x9000
    h.tx(mini, "00A4000C023F00")
    assert h.tx(mini, cmd("00E4", "1234"))[1] == 0x9000
    assert not [p for p in mini.file_paths() if p.startswith("3F00/1234")]


def test_refusals_leave_the_tree_alone(mini, h):
    adm(mini, h)
    before = mini.file_paths()
    h.tx(mini, "00A4000C027FF0")
    assert h.tx(mini, cmd("00E4", "6F07"))[1] == 0x6985              # DF_GSM's EF_IMSI shares it
    assert h.tx(mini, cmd("00E0", fcp("82024121", "83027FFF", "80020001")))[1] == 0x6A80
    assert h.tx(mini, cmd("00E0", "8202412183025678"))[1] == 0x6A80  # no FCP template
    assert h.tx(mini, cmd("00E0", fcp("82024121", "83025678", "8002FFFF")))[1] == 0x6A84
    assert h.tx(mini, cmd("00E0", fcp("8200", "83025678", "80020001")))[1] == 0x6A80  # empty descriptor
    assert h.tx(mini, "00E0010003620100")[1] == 0x6A86
    assert h.tx(mini, "00E4000000")[1] == 0x6700
    assert mini.file_paths() == before


def test_the_rest_of_the_card_state_carries_over(mini, h, tmp_path):
    assert h.verify_pin1(mini) == 0x9000
    adm(mini, h)
    assert h.tx(mini, "0070000001") == (b"\x01", 0x9000)
    assert h.tx(mini, "01A4000C027FF0")[1] == 0x9000
    assert h.tx(mini, "01A4000C026F07")[1] == 0x9000
    h.tx(mini, "00A4000C027FF0")
    assert h.tx(mini, cmd("00E0", fcp("82024121", "83026F99", "88 00".replace(" ", ""),
                                       "80020005")))[1] == 0x9000
    assert mini.selection(1)["ef"] == "3F00/7FF0/6F07"                # channel 1 kept its file
    assert mini.pin_status("PIN1")["verified"]
    assert h.tx(mini, "01B0000009") == (h.IMSI, 0x9000)
    mini.save(tmp_path / "card.json")
    back = Card.load(tmp_path / "card.json")
    assert back.read_file("3F00/7FF0/6F99") == b"\xff" * 5
    h.tx(back, "00A4080C047FF06F99")
    assert h.tx(back, "00B0000005")[1] == 0x6982                      # no EF_ARR tag: ADM1 rules


def _fcp_objects():
    from hypothesis import strategies as st

    tag = st.sampled_from([0x80, 0x81, 0x82, 0x83, 0x84, 0x88, 0x8A, 0x8B])
    obj = st.tuples(tag, st.binary(max_size=6)).map(lambda t: bytes([t[0], len(t[1])]) + t[1])
    return st.lists(obj, max_size=6).map(lambda objs: b"".join(objs))


def test_random_administrative_commands_keep_the_card_whole(h):
    """Whatever CREATE / RESIZE / DELETE data an ADM holder sends, the answer is a status word,
    the tree stays one the card can be rebuilt from and the USIM still reads."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=150)
    @given(st.lists(st.tuples(st.sampled_from(["00E0", "80D4", "00E4"]), _fcp_objects(),
                              st.booleans(), st.sampled_from(["3F00", "7FF0", "7F10"])),
                    min_size=1, max_size=8))
    def run(cmds):
        card = Card(h.mini_image(), toolkit=False)
        adm(card, h)
        for cla_ins, body, wrap, df in cmds:
            h.tx(card, "00A4000C02" + df)
            data = (bytes([0x62, len(body)]) + body if wrap else body)[:255] or b"\x00"
            sw = h.tx(card, bytes.fromhex(cla_ins + "0000") + bytes([len(data)]) + data)[1]
            assert sw >> 12 in (6, 9) and sw != 0x6F00, hex(sw)
        Card(card.snapshot(), toolkit=False)
        assert h.tx(card, "00A4080C047FF06FAD")[1] == 0x9000
        assert h.tx(card, "00B0000004")[0] == card.read_file("3F00/7FF0/6FAD")

    run()
