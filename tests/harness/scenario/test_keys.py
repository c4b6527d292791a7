import pytest

from csim.yamlsrc import DataError
from harness.scenario.keys import load_keys

K = "000102030405060708090A0B0C0D0E0F"
OPC = "0F0E0D0C0B0A09080706050403020100"


def test_keys_load_by_imsi_and_never_show_themselves(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text(f"- imsi: '208019900000001'\n  ki: {K}\n  opc: {OPC}\n  mnc_length: 2\n  sqn: 64\n")
    [entry] = load_keys(path)
    assert (entry.imsi, entry.ki, entry.opc, entry.sqn) == ("208019900000001", bytes.fromhex(K),
                                                          bytes.fromhex(OPC), 64)
    assert K not in repr(entry) and K.lower() not in repr(entry)


@pytest.mark.parametrize(("text", "line", "what"), [
    (f"- imsi: '208019900000001'\n  ki: {K[:-2]}\n  opc: {OPC}\n", 2, "ki"),
    (f"- imsi: '208019900000001'\n  ki: {K}\n", 1, "opc"),
    (f"- imsi: '208019900000001'\n  ki: {K}\n  opc: {OPC}\n  pin: 1234\n", 4, "pin"),
    (f"- imsi: '1'\n  ki: {K}\n  opc: {OPC}\n- imsi: '1'\n  ki: {K}\n  opc: {OPC}\n", 4, "twice"),
])
def test_a_wrong_keys_file_says_where(tmp_path, text, line, what):
    path = tmp_path / "keys.yaml"
    path.write_text(text.replace("'1'", "'208019900000001'"))
    with pytest.raises(DataError) as err:
        load_keys(path)
    assert f"{path}:{line}:" in str(err.value) and what in str(err.value)
