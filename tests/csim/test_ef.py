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


# (key, FID, SFI, services calling for the file, all of them needed) as pySim's ts_31_102.py /
# ts_31_103.py declare them (ADF_USIM, DF_GSM_ACCESS, DF_USIM_5GS, ADF_ISIM): an independent reading
@pytest.mark.parametrize("key, fid, sfi, service, all_services", [
    ("ADF_USIM/EF_PLMNwAcT", 0x6F60, 0x0A, (20,), False),
    ("ADF_USIM/EF_GID1", 0x6F3E, None, (17,), False),
    ("ADF_USIM/EF_GID2", 0x6F3F, None, (18,), False),
    ("ADF_USIM/EF_SPN", 0x6F46, None, (19,), False),
    ("ADF_USIM/EF_ECC", 0x6FB7, 0x01, (), False),
    ("ADF_USIM/EF_FDN", 0x6F3B, None, (2, 89), False),
    ("ADF_USIM/EF_MSISDN", 0x6F40, None, (21,), False),
    ("ADF_USIM/EF_SMSP", 0x6F42, None, (12,), False),
    ("ADF_USIM/EF_SMSS", 0x6F43, None, (10,), False),
    ("ADF_USIM/EF_EST", 0x6F56, 0x05, (2, 6, 34, 35), False),
    ("ADF_USIM/EF_ACL", 0x6F57, None, (35,), False),
    ("ADF_USIM/EF_START_HFN", 0x6F5B, 0x0F, (), False),
    ("ADF_USIM/EF_THRESHOLD", 0x6F5C, 0x10, (), False),
    ("ADF_USIM/EF_OPLMNwAcT", 0x6F61, 0x11, (42,), False),
    ("ADF_USIM/EF_HPLMNwAcT", 0x6F62, 0x13, (43,), False),
    ("ADF_USIM/EF_NETPAR", 0x6FC4, None, (), False),
    ("ADF_USIM/EF_PNN", 0x6FC5, 0x19, (45,), False),
    ("ADF_USIM/EF_OPL", 0x6FC6, 0x1A, (46,), False),  # pySim gives no SFI; TS 31.102's SFI list: 1A
    ("ADF_USIM/EF_SPDI", 0x6FCD, 0x1B, (51,), False),  # likewise 1B
    ("ADF_USIM/EF_EHPLMN", 0x6FD9, 0x1D, (71,), False),
    ("ADF_USIM/EF_EHPLMNPI", 0x6FDB, None, (71, 73), True),
    ("ADF_USIM/EF_EPSLOCI", 0x6FE3, 0x1E, (85,), False),
    ("ADF_USIM/EF_EPSNSC", 0x6FE4, 0x18, (85,), False),
    ("DF_GSM_ACCESS/EF_Kc", 0x4F20, 0x01, (27,), False),
    ("DF_GSM_ACCESS/EF_KcGPRS", 0x4F52, 0x02, (27,), False),
    ("DF_5GS/EF_5GS3GPPLOCI", 0x4F01, 0x01, (122,), False),
    ("DF_5GS/EF_5GSN3GPPLOCI", 0x4F02, 0x02, (122,), False),
    ("DF_5GS/EF_5GS3GPPNSC", 0x4F03, 0x03, (122,), False),
    ("DF_5GS/EF_5GAUTHKEYS", 0x4F05, 0x05, (123,), False),
    ("DF_5GS/EF_UAC_AIC", 0x4F06, 0x06, (126,), False),
    ("DF_5GS/EF_SUCI_Calc_Info", 0x4F07, 0x07, (124,), False),
    ("DF_5GS/EF_OPL5G", 0x4F08, 0x08, (129,), False),
    ("DF_5GS/EF_Routing_Indicator", 0x4F0A, 0x0A, (124,), False),
    ("ADF_ISIM/EF_IMPI", 0x6F02, 0x02, (), False),
    ("ADF_ISIM/EF_DOMAIN", 0x6F03, 0x05, (), False),
    ("ADF_ISIM/EF_IMPU", 0x6F04, 0x04, (), False),
    ("ADF_ISIM/EF_IST", 0x6F07, 0x07, (), False),
])
def test_services_as_pysim_declares_them(key, fid, sfi, service, all_services):
    ef = efs.get(key)
    assert (ef.fid, ef.sfi, ef.service, ef.all_services) == (fid, sfi, service, all_services)


def test_directories_of_adf_usim_and_their_services():
    """TS 31.102 §4.4.3 DF.GSM-ACCESS 5F3B (service 27), §4.4.11 DF.5GS 5FC0 (pySim: any of 122-127,
    129, 130)."""
    assert efs.DIRECTORIES["DF_GSM_ACCESS"] == "3F00/7FF0/5F3B"
    assert efs.DIRECTORIES["DF_5GS"] == "3F00/7FF0/5FC0"
    assert efs.DIRECTORY_SERVICES == {"DF_GSM_ACCESS": (27,),
                                      "DF_5GS": (122, 123, 124, 125, 126, 127, 129, 130)}


def test_lookup_by_path_and_decode_records():
    assert efs.by_path("3f00/7ff0/6f07").key == "ADF_USIM/EF_IMSI"
    assert efs.by_path("3F00/7F20/6F07").link == "ADF_USIM/EF_IMSI"
    assert efs.by_path("3F00/1234") is None
    msisdn = efs.get("ADF_USIM/EF_MSISDN")
    rec = msisdn.encode({"number": "+33612345678", "alpha": ""}, 28)
    assert efs.decode(msisdn, [rec, b"\xff" * 28])[0]["number"] == "+33612345678"
    with pytest.raises(KeyError):
        efs.get("ADF_USIM/EF_NOPE")
