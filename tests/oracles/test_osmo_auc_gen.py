"""The 3GPP test algorithm (TS 34.108 §8.1.2) against libosmocore's ``osmo-auc-gen -a XOR``.

osmo-auc-gen (Debian's ``libosmocore-utils``, GPL-2.0+) runs as a separate process: its AuC
vectors for random K, RAND and SQN must be the ones csim's AuC (``generate_vector``) computes
and the ones a csim card keyed for the test algorithm answers AUTHENTICATE with; the AUTS a
card sends on a replayed AUTN must be one osmo-auc-gen resolves to the card's SQN_MS.
"""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest
from csim.milenage import UsimAuth, generate_vector

from .conftest import oracle_unavailable

pytestmark = pytest.mark.oracle

ALGORITHM = "usim-test-algorithm"
AMF = "8000"


def osmo_auc_gen(*args: str) -> dict[str, str]:
    """osmo-auc-gen's ``NAME:\\tVALUE`` lines, for the 3G XOR algorithm."""
    binary = shutil.which("osmo-auc-gen")
    if binary is None:
        oracle_unavailable("osmo-auc-gen is not installed (Debian package libosmocore-utils)")
    done = subprocess.run([binary, "-3", "-a", "XOR", *args], capture_output=True, text=True,  # noqa: S603
                          timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    fields = (line.partition(":\t") for line in done.stdout.splitlines())
    return {k.strip(): v.strip() for k, _, v in fields if v}


@pytest.mark.parametrize("seed", range(4))
def test_vectors_and_the_card_agree_with_osmo_auc_gen(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test inputs
    k, rand = rng.randbytes(16), rng.randbytes(16)
    osmo = osmo_auc_gen("-k", k.hex(), "-r", rand.hex(), "-f", AMF, "-s", str(rng.randrange(64, 1 << 40)))
    sqn = int(osmo["SQN"])
    ours = generate_vector(k, None, sqn, bytes.fromhex(AMF), rand, algorithm=ALGORITHM)
    names = {"AUTN": "autn", "RES": "xres", "CK": "ck", "IK": "ik", "SRES": "sres", "Kc": "kc"}
    assert {name: ours[key].hex() for name, key in names.items()} == {name: osmo[name] for name in names}
    card = UsimAuth(k, None, algorithm=ALGORITHM)
    autn = bytes.fromhex(osmo["AUTN"])
    assert card.authenticate(rand, autn, with_kc=True) == (0, bytes.fromhex(
        "db10" + osmo["RES"] + "10" + osmo["CK"] + "10" + osmo["IK"] + "08" + osmo["Kc"]))
    # replayed: AUTS = (SQN_MS xor AK*) || MAC-S, which osmo-auc-gen resolves to the card's SQN_MS
    rc, auts = card.authenticate(rand, autn)
    assert rc == 1
    assert int(osmo_auc_gen("-k", k.hex(), "-r", rand.hex(), "-A", auts[2:].hex())["SQN.MS"]) == sqn
