"""pySim's own en/decode vectors (``tests/csim/data/pysim_vectors.yaml``) through csim's codecs.

The encoded bytes and what pySim decodes them to are facts recorded by another implementation:
each one must decode to pySim's values and encode back to the same bytes.
"""

from pathlib import Path

import pytest
import yaml

from csim import ef as efs

VECTORS = yaml.safe_load((Path(__file__).parent / "data" / "pysim_vectors.yaml").read_text())


@pytest.mark.parametrize("vector", VECTORS, ids=[f"{v['source']}:{v['hex'][:12]}" for v in VECTORS])
def test_pysim_vector_round_trips(vector):
    ef = efs.get(vector["ef"])
    data = bytes.fromhex(vector["hex"])
    value = ef.decode(data)
    if "expect" in vector:
        assert value == vector["expect"]
    assert ef.encode(value, len(data)) == data


def test_every_declared_ef_with_a_pysim_vector_is_covered():
    assert {v["ef"] for v in VECTORS} >= {"ADF_USIM/EF_MSISDN", "ADF_USIM/EF_AD", "DF_GSM/EF_AD",
                                          "ADF_USIM/EF_SPN", "MF/EF_DIR", "MF/EF_ARR"}
