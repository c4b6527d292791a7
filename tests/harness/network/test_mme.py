"""Network side: admission, HSS/AuC Milenage vectors, MAC failure and SQN resynchronisation."""

import pytest
from csim.milenage import UsimAuth

from harness.network.mme import (
    AttachAccept,
    AttachReject,
    AttachRequest,
    AuthenticationFailure,
    AuthenticationReject,
    AuthenticationRequest,
    AuthenticationResponse,
    DetachRequest,
    Network,
)
from harness.network.world import World

# TS 35.208 test set 1
K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
IMSI = "208011234567890"
INTL = "901701234567890"


@pytest.fixture
def net():
    n = Network(World.load("europe"))
    n.hss.provision(IMSI, K, OPC)
    n.hss.provision(INTL, K, OPC)
    return n


def usim_answer(usim, challenge):
    rc, data = usim.authenticate(challenge.rand, challenge.autn)
    if rc == 0:
        res = data[2:2 + data[1]]
        return AuthenticationResponse(res)
    if rc == 1:
        return AuthenticationFailure(21, data[2:16])
    return AuthenticationFailure(20)


def register(net, imsi, plmn, usim, rat="4G", area=1):
    msg = net.receive(AttachRequest(imsi, plmn, rat, area))
    rounds = 0
    while isinstance(msg, AuthenticationRequest):
        rounds += 1
        msg = net.receive(usim_answer(usim, msg), imsi=imsi)
    return msg, rounds


def test_home_registration_with_aka():
    net = Network(World.load("europe"))
    net.hss.provision(IMSI, K, OPC)
    accept, rounds = register(net, IMSI, "208-01", UsimAuth(K, OPC))
    assert isinstance(accept, AttachAccept) and rounds == 1
    assert accept.plmn == "208-01" and not accept.roaming and accept.packet
    assert accept.guti[:2] == b"\x0b\xf6" and len(accept.guti) == 12
    assert accept.equivalent_plmns == ("208-02",)
    assert net.registrations[IMSI].plmn == "208-01"


def test_vector_sqn_increases_and_usim_accepts_consecutive_vectors(net):
    usim = UsimAuth(K, OPC)
    for _ in range(3):
        accept, rounds = register(net, IMSI, "208-01", usim)
        assert isinstance(accept, AttachAccept) and rounds == 1
    assert net.hss.lookup(IMSI).sqn >> 5 == 3


def test_roaming_registration_on_partner(net):
    accept, _ = register(net, IMSI, "206-01", UsimAuth(K, OPC))
    assert isinstance(accept, AttachAccept) and accept.roaming


@pytest.mark.parametrize(("imsi", "plmn", "cause"), [
    (IMSI, "206-20", 11),      # BASE has no agreement with 208-01
    (IMSI, "213-03", 13),      # Andorra: roaming not allowed in this location area
    (INTL, "311-480", 15),     # Verizon accepts the international IMSI on 4G only
    (IMSI, "999-99", 11),      # no such operator
])
def test_registration_rejects_with_3gpp_cause(net, imsi, plmn, cause):
    rat = "5G" if plmn == "311-480" else "4G"
    msg = net.receive(AttachRequest(imsi, plmn, rat, 1))
    assert msg == AttachReject(cause)


def test_unknown_subscriber_of_a_known_home_is_imsi_unknown(net):
    assert net.receive(AttachRequest("208010000000000", "208-01", "4G", 1)) == AttachReject(2)


def test_wrong_res_is_authentication_reject(net):
    challenge = net.receive(AttachRequest(IMSI, "208-01", "4G", 1))
    assert isinstance(challenge, AuthenticationRequest)
    assert isinstance(net.receive(AuthenticationResponse(b"\x00" * 8), imsi=IMSI), AuthenticationReject)
    assert IMSI not in net.registrations


def test_usim_ahead_triggers_resync_then_success(net):
    usim = UsimAuth(K, OPC, sqn=(500 << 5))
    accept, rounds = register(net, IMSI, "208-01", usim)
    assert isinstance(accept, AttachAccept)
    assert rounds == 2 and net.hss.resyncs == 1
    assert net.hss.lookup(IMSI).sqn >> 5 == 501


def test_mac_failure_with_other_keys_ends_in_authentication_reject(net):
    usim = UsimAuth(bytes(16), OPC)
    msg, rounds = register(net, IMSI, "208-01", usim)
    assert isinstance(msg, AuthenticationReject) and rounds == 2


def test_auts_with_wrong_mac_s_is_rejected(net):
    challenge = net.receive(AttachRequest(IMSI, "208-01", "4G", 1))
    assert isinstance(challenge, AuthenticationRequest)
    msg = net.receive(AuthenticationFailure(21, bytes(14)), imsi=IMSI)
    assert isinstance(msg, AuthenticationReject)


def test_detach_forgets_registration(net):
    register(net, IMSI, "208-01", UsimAuth(K, OPC))
    assert net.receive(DetachRequest(IMSI, "208-01")) is None
    assert IMSI not in net.registrations


def test_auth_message_without_attach_is_an_error(net):
    with pytest.raises(LookupError):
        net.receive(AuthenticationResponse(b"1234"), imsi=IMSI)


def test_bundled_cards_are_provisioned_from_the_world_subscribers():
    net = Network(World.load("europe"))
    assert net.hss.lookup("208019900000001") is not None  # alphalink-orange, domestic
    assert net.hss.lookup("901709900000001") is not None  # alphalink-orange, international


class _FixedRand:
    """RAND source giving the TS 35.208 test set 1 RAND."""

    def randbytes(self, n):
        return bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")[:n]


def test_auc_vector_matches_ts_35_208_set_1():
    from harness.network.mme import HSS

    hss = HSS(rng=_FixedRand())
    sub = hss.provision(IMSI, K, OPC, sqn=0)
    for seq in (1, 2):
        vec = hss.vector(sub)
        assert sub.sqn == seq << 5  # SEQ + 1, IND 0 (TS 33.102 Annex C.3.2)
        assert vec["rand"] == bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
        assert vec["xres"] == bytes.fromhex("a54211d5e3ba50bf")
        assert vec["ck"] == bytes.fromhex("b40ba9a3c58b2a05bbf0d987b21bf8cb")
        assert vec["ik"] == bytes.fromhex("f769bcd751044604127672711c6d3441")
        assert vec["ak"] == bytes.fromhex("aa689c648370")
        sqn = bytes(a ^ b for a, b in zip(vec["autn"][:6], vec["ak"], strict=True))
        assert int.from_bytes(sqn, "big") == sub.sqn and vec["autn"][6:8] == b"\x80\x00"
    # the USIM with the same keys accepts it (MAC-A right, SQN fresh)
    usim = UsimAuth(K, OPC)
    rc, data = usim.authenticate(vec["rand"], vec["autn"])
    assert rc == 0 and data[:2] == b"\xdb\x08" and data[2:10] == vec["xres"]  # DB L RES ...


def _world_with_card(tmp_path, card_text):
    from harness.network.world import NETWORKS_DIR

    cards = tmp_path / "cards"
    cards.mkdir(exist_ok=True)
    (cards / "card.yaml").write_text(card_text)
    text = (NETWORKS_DIR / "europe.yaml").read_text()
    text = text.replace('subscribers: ["../cards"]', 'subscribers: ["cards"]')
    (tmp_path / "world.yaml").write_text(text)
    return World.load(tmp_path / "world.yaml"), cards / "card.yaml"


def test_a_profile_edited_in_place_reaches_the_next_network(tmp_path):
    import os

    from harness.paths import ROOT

    card = (ROOT / "fixtures" / "cards" / "alphalink-orange-domestic-only.yaml").read_text()
    world, path = _world_with_card(tmp_path, card)
    assert Network(world).hss.lookup("208019900000002").ki == bytes.fromhex("11" * 16)
    path.write_text(card.replace('ki: "' + "1" * 32, 'ki: "' + "3" * 32))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert Network(world).hss.lookup("208019900000002").ki == bytes.fromhex("33" * 16)
    # a profile added to the directory: its IMSI is found by the next lookup
    (path.parent / "other.yaml").write_text(card.replace("208019900000002", "208019900000077"))
    assert Network(world).hss.lookup("208019900000077") is not None
    assert Network(world).hss.lookup("208019900000099") is None


def test_profile_versions_given_by_the_caller_spare_the_file_check(tmp_path, monkeypatch):
    import dataclasses
    import os

    from harness.network import mme as network
    from harness.paths import ROOT

    card = (ROOT / "fixtures" / "cards" / "alphalink-orange-domestic-only.yaml").read_text()
    world, path = _world_with_card(tmp_path, card)
    version = path.stat().st_mtime_ns
    assert Network(world).hss.lookup("208019900000002").ki == bytes.fromhex("11" * 16)
    checked = []
    monkeypatch.setattr(network, "_version", lambda p: checked.append(p) or os.stat(p).st_mtime_ns)
    net = Network(world, profile_versions={str(path): version})
    assert net.hss.lookup("208019900000002").ki == bytes.fromhex("11" * 16) and checked == []
    # the caller has seen a newer version: the profile is read again
    path.write_text(card.replace('ki: "' + "1" * 32, 'ki: "' + "3" * 32))
    os.utime(path, ns=(version, version + 1_000_000))
    net = Network(world, profile_versions={str(path): version + 1_000_000})
    assert net.hss.lookup("208019900000002").ki == bytes.fromhex("33" * 16)
    assert "profile_versions" not in [f.name for f in dataclasses.fields(net)]


def test_subscribers_lists_the_world_directory_and_later_provisioning():
    hss = Network(World.load("europe")).hss
    assert hss.lookup("208019900000001") is not None
    hss.provision(IMSI, K, OPC)
    subs = hss.subscribers
    assert "208019900000001" in subs and "901709900000001" in subs and list(subs)[-1] == IMSI
    assert subs["208019900000001"] is hss.lookup("208019900000001")


def test_rand_stream_is_the_seeded_generator():
    import random

    net = Network(World.load("europe"))
    sub = net.hss.lookup("208019900000001")
    first = net.hss.vector(sub)["rand"]
    ref = random.Random(net.seed)
    assert first == ref.randbytes(16)
    assert net.hss.rng.getstate() == ref.getstate()  # the generator built later is where the stream is
    assert net.hss.vector(sub)["rand"] == ref.randbytes(16)


def test_messages_are_immutable_dataclasses():
    import dataclasses
    import pickle

    req = AttachRequest(IMSI, "208-01", "4G", 1)
    same = AttachRequest(IMSI, "208-01", "4G", 1, 0, True)
    assert req == same and hash(req) == hash(same)
    assert [f.name for f in dataclasses.fields(req)] == ["imsi", "plmn", "rat", "area", "cell_id", "packet"]
    assert dataclasses.replace(req, rat="3G").rat == "3G" and pickle.loads(pickle.dumps(req)) == req
    assert repr(AttachReject(11)) == "AttachReject(cause=11)" and AuthenticationFailure(20).auts is None
    with pytest.raises(AttributeError):
        req.plmn = "208-10"
    assert DetachRequest(IMSI, "208-01") != AttachRequest(IMSI, "208-01", "4G", 1)


def test_challenge_is_accepted_by_the_usim_and_its_xres_is_the_usim_res():
    from harness.network.mme import HSS

    hss = HSS(rng=_FixedRand())
    sub = hss.provision(IMSI, K, OPC, sqn=41 << 5)
    usim = UsimAuth(K, OPC, sqn=41 << 5)
    for seq in (42, 43):
        rand, autn, xres = hss.challenge(sub)
        assert sub.sqn == seq << 5  # SEQ + 1, IND 0 (TS 33.102 Annex C.3.2)
        rc, data = usim.authenticate(rand, autn)
        assert rc == 0 and data[2:10] == xres  # DB L RES ...


def test_a_subclassed_message_is_handled_as_its_base(net):
    class Attach(AttachRequest):
        pass

    challenge = net.receive(Attach(IMSI, "208-01", "4G", 1))
    assert isinstance(challenge, AuthenticationRequest)
    with pytest.raises(TypeError, match="does not handle str"):
        net.receive("hello")


def test_hss_keyed_for_the_test_algorithm():
    """A subscriber keyed for the 3GPP test algorithm (TS 34.108 §8.1.2, the TS.48 profiles'):
    the challenge is the algorithm's (XDOUT = K xor RAND, AUTN = SQN xor XDOUT[3:9] || AMF ||
    XDOUT[:8] xor (SQN || AMF), written here from the clause), the USIM's 16-byte RES registers
    it, and a replay is answered with AUTS the HSS resynchronises on."""
    net = Network(World.load("europe"))
    k = bytes(range(16))
    net.hss.provision(IMSI, k, bytes(16), algorithm="usim-test-algorithm")
    rand, autn, xres = net.hss.challenge(net.hss.lookup(IMSI))
    xdout = bytes(a ^ b for a, b in zip(k, rand, strict=True))
    sqn = (net.hss.lookup(IMSI).sqn).to_bytes(6, "big")
    assert xres == xdout
    assert autn == (bytes(a ^ b for a, b in zip(sqn, xdout[3:9], strict=True)) + b"\x80\x00"
                    + bytes(a ^ b for a, b in zip(xdout[:8], sqn + b"\x80\x00", strict=True)))
    usim = UsimAuth(k, None, sqn=40 << 5, algorithm="usim-test-algorithm")
    accept, rounds = register(net, IMSI, "208-01", usim)
    assert isinstance(accept, AttachAccept) and rounds == 2 and net.hss.resyncs == 1
    assert net.hss.lookup(IMSI).sqn >> 5 == 41
