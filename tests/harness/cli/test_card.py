"""``simharness card info`` and ``simharness apdu``."""

import json

import pytest

from harness.cli.main import main


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def by_path(info):
    return {f["path"]: f for f in info["files"]}


def test_card_info_image_json(capsys):
    info = run_json(capsys, "card", "info", "alphalink-orange", "--image", "--json")
    files = by_path(info)
    assert info["active_profile"] == "domestic"
    assert files["3F00/7FF0/6F07"]["decoded"] == "208019900000001"
    assert files["3F00/7FF0/6F07"]["raw"] == "082980109900000010"
    assert files["3F00/2FE2"]["decoded"] == "8933019900000000012"
    assert files["3F00/7FF0/6F46"]["decoded"]["name"] == "Orange"
    assert files["3F00/7FF0/6FAD"]["decoded"]["mnc_length"] == 2
    hplmn = [{"plmn": "208-01", "act": ["ngran", "eutran", "utran", "gsm"]}]
    assert files["3F00/7FF0/6F62"]["decoded"] == hplmn
    assert files["3F00/7FF0/6F7B"]["decoded"] == ["208-10", "208-15", "208-20"]
    assert files["3F00/7FF0/6F40"]["decoded"][0]["number"] == "+33700000000001"
    assert files["3F00/7F20/6F07"]["link"] == "3F00/7FF0/6F07"
    assert files["3F00/2F00"]["decoded"][0]["aid"].startswith("A0000000871002")
    assert all("error" not in f for f in info["files"])


def test_card_info_plain_text(capsys):
    assert main(["card", "info", "alphalink-bouygues", "--image", "--raw"]) == 0
    out = capsys.readouterr().out
    imsi_line = next(line for line in out.splitlines() if line.startswith("3F00/7FF0/6F07"))
    assert "EF_IMSI" in imsi_line and "PIN1/ADM1" in imsi_line and "208209900000001" in imsi_line
    assert '"name": "Bouygues Tel"' in out
    assert "raw  082980029900000010" in out


def test_card_info_reads_through_the_card(capsys):
    pytest.importorskip("csim.card")
    from_card = run_json(capsys, "card", "info", "csl-sim-duo", "--json")
    from_image = run_json(capsys, "card", "info", "csl-sim-duo", "--image", "--json")
    assert by_path(from_card).keys() == by_path(from_image).keys()
    for path, f in by_path(from_card).items():
        assert f["decoded"] == by_path(from_image)[path]["decoded"], path
    assert by_path(from_card)["3F00/7FF0/6F07"]["decoded"] == "234509900000101"


def test_apdu_command(capsys):
    pytest.importorskip("csim.card")
    assert main(["apdu", "alphalink-orange", "00A4000C02 3F00", "00A4080C047FF06F07", "00B0000009",
                 "0020000108 31323334FFFFFFFF"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "> 00A4000C023F00"
    assert lines[1] == "< 9000  normal ending"
    assert "< 6982  security status not satisfied" in lines  # EF_IMSI needs PIN1
    assert lines[-1] == "< 63C2  verification failed, 2 attempt(s) left"


def test_apdu_json_with_t0(capsys):
    pytest.importorskip("csim.card")
    out = run_json(capsys, "apdu", "alphalink-orange", "00A40004023F00", "--t0", "--json")
    ex = out["exchanges"][0]
    assert ex["sw"] == "9000" and ex["data"].startswith("62")
    assert out["atr"] == "3B9796801FC78031E073FE211BBF"


def test_bad_input_is_an_error(capsys, tmp_path):
    assert main(["apdu", "alphalink-orange", "00A4XYZ"]) == 2
    assert "not an APDU in hex" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\natr: 3B00\niccid: '1'\n", encoding="utf-8")
    assert main(["card", "info", str(bad), "--image"]) == 2
    assert f"{bad}:1:" in capsys.readouterr().err




def test_a_pki_dir_that_cannot_be_written_is_one_line_and_exit_2(capsys):
    assert main(["card", "serve", "--euicc", "alphalink-orange", "--pki-dir", "/proc/simharness/pki"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: <command line>: --pki-dir /proc/simharness/pki: cannot write the test PKI there "
                   "(No such file or directory)\n")
