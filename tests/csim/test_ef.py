"""Every declared EF round-trips its own test vectors and is consistent with the spec tables."""

import pytest

from csim import ef as efs
from csim.image import ACCESS_CONDITIONS

ALL = efs.all_efs()


@pytest.mark.parametrize("ef", ALL, ids=[e.key for e in ALL])
def test_vectors_round_trip(ef):
    assert ef.vectors, f"{ef.key} declares no test vector"
    for hexval, value in ef.vectors:
        data = bytes.fromhex(hexval)
        assert ef.decode(data) == value
        assert ef.encode(value, len(data)) == data


@pytest.mark.parametrize("ef", ALL, ids=[e.key for e in ALL])
def test_declaration_is_well_formed(ef):
    assert ef.parent in efs.DIRECTORIES
    assert ef.structure in ("transparent", "linear")
    assert ef.read in ACCESS_CONDITIONS and ef.update in ACCESS_CONDITIONS
    assert ef.sfi is None or 1 <= ef.sfi <= 30
    assert ef.spec.startswith("TS ")
    if ef.link is not None:
        target = efs.get(ef.link)
        assert target.structure == ef.structure and target.size == ef.size


def test_paths_and_sfis_are_unique_per_directory():
    assert len({e.path for e in ALL}) == len(ALL)
    for parent in efs.DIRECTORIES:
        sfis = [e.sfi for e in ALL if e.parent == parent and e.sfi is not None]
        assert len(sfis) == len(set(sfis)), parent


@pytest.mark.parametrize("key, fid, sfi, read, update", [
    # TS 31.102 §4.2 file descriptions (FID, SFI, access conditions)
    ("ADF_USIM/EF_IMSI", 0x6F07, 0x07, "PIN1", "ADM1"),
    ("ADF_USIM/EF_SPN", 0x6F46, None, "ALW", "ADM1"),
    ("ADF_USIM/EF_AD", 0x6FAD, 0x03, "ALW", "ADM1"),
    ("ADF_USIM/EF_FPLMN", 0x6F7B, 0x0D, "PIN1", "PIN1"),
    ("ADF_USIM/EF_LOCI", 0x6F7E, 0x0B, "PIN1", "PIN1"),
    ("ADF_USIM/EF_PSLOCI", 0x6F73, 0x0C, "PIN1", "PIN1"),
    ("ADF_USIM/EF_EPSLOCI", 0x6FE3, 0x1E, "PIN1", "PIN1"),
    ("ADF_USIM/EF_UST", 0x6F38, 0x04, "PIN1", "ADM1"),
    ("ADF_USIM/EF_EST", 0x6F56, 0x05, "PIN1", "PIN2"),
    ("ADF_USIM/EF_ACL", 0x6F57, None, "PIN1", "PIN2"),
    ("ADF_USIM/EF_ACC", 0x6F78, 0x06, "PIN1", "ADM1"),
    ("ADF_USIM/EF_PLMNwAcT", 0x6F60, 0x0A, "PIN1", "PIN1"),
    ("ADF_USIM/EF_OPLMNwAcT", 0x6F61, 0x11, "PIN1", "ADM1"),
    ("ADF_USIM/EF_HPLMNwAcT", 0x6F62, 0x13, "PIN1", "ADM1"),
    ("ADF_USIM/EF_EHPLMN", 0x6FD9, 0x1D, "PIN1", "ADM1"),
    ("MF/EF_ICCID", 0x2FE2, 0x02, "ALW", "NEV"),
    ("MF/EF_DIR", 0x2F00, 0x1E, "ALW", "ADM1"),
])
def test_spec_table_entries(key, fid, sfi, read, update):
    ef = efs.get(key)
    assert (ef.fid, ef.sfi, ef.read, ef.update) == (fid, sfi, read, update)


def test_lookup_by_path_and_decode_records():
    assert efs.by_path("3f00/7ff0/6f07").key == "ADF_USIM/EF_IMSI"
    assert efs.by_path("3F00/7F20/6F07").link == "ADF_USIM/EF_IMSI"
    assert efs.by_path("3F00/1234") is None
    msisdn = efs.get("ADF_USIM/EF_MSISDN")
    rec = msisdn.encode({"number": "+33612345678", "alpha": ""}, 28)
    assert efs.decode(msisdn, [rec, b"\xff" * 28])[0]["number"] == "+33612345678"
    with pytest.raises(KeyError):
        efs.get("ADF_USIM/EF_NOPE")
