"""TS 23.122 §4.4.3 PLMN selection order, spec-style cases."""

import random

import pytest

from harness.terminal.plmn_selection import (
    Candidate,
    SimLists,
    add_forbidden,
    automatic,
    available,
    higher_priority_than,
    is_high_quality,
    is_home,
    manual,
    network_list,
    priority_order,
    remove_forbidden,
)

ALL = frozenset({"2G", "3G", "4G", "5G"})


def cands(*rows):
    return [Candidate(p, r, s) for p, r, s in rows]


def order(cs):
    return [(c.plmn, c.rat) for c in cs]


SIM = SimLists(
    hplmn="208-01",
    user=(("234-10", frozenset({"4G"})),),
    operator=(("206-01", frozenset({"4G", "2G"})), ("262-01", ALL)),
    forbidden=("208-10",),
)


def test_hplmn_then_user_then_operator_then_others():
    cs = cands(("262-01", "4G", -80), ("206-01", "2G", -70), ("206-01", "4G", -90),
               ("234-10", "4G", -100), ("208-01", "4G", -105), ("999-99", "4G", -60))
    got = order(priority_order(cs, SIM))
    assert got == [("208-01", "4G"), ("234-10", "4G"), ("206-01", "4G"), ("206-01", "2G"),
                   ("262-01", "4G"), ("999-99", "4G")]


def test_rplmn_comes_first_at_switch_on():
    cs = cands(("208-01", "4G", -90), ("206-01", "4G", -90))
    assert order(priority_order(cs, SIM, rplmn="206-01"))[0] == ("206-01", "4G")


def test_ehplmn_list_replaces_hplmn_in_its_own_order():
    sim = SimLists(hplmn="208-01", ehplmn=("208-02", "208-01"))
    cs = cands(("208-01", "4G", -80), ("208-02", "4G", -100))
    assert order(priority_order(cs, sim)) == [("208-02", "4G"), ("208-01", "4G")]
    assert is_home("208-02", sim) and is_home("208-01", sim) and not is_home("206-01", sim)


def test_hplmnwact_orders_and_limits_home_access_technologies():
    sim = SimLists(hplmn="208-01", hplmn_act=(("208-01", frozenset({"3G", "4G"})),))
    cs = cands(("208-01", "2G", -60), ("208-01", "3G", -80), ("208-01", "4G", -100))
    got = order(priority_order(cs, sim))
    # the listed AcTs, best technology first, then the unlisted 2G among "others"
    assert got == [("208-01", "4G"), ("208-01", "3G"), ("208-01", "2G")]


def test_user_entry_access_technology_restricts_the_entry():
    cs = cands(("234-10", "2G", -60), ("234-10", "4G", -100), ("208-01", "4G", -200 + 100))
    got = order(priority_order(cs, SIM))
    assert got.index(("234-10", "4G")) < got.index(("234-10", "2G"))


def test_other_high_quality_plmns_in_seeded_random_order_then_low_by_signal():
    high = [(f"310-{i:03d}", "4G", -80.0) for i in range(8)]
    low = [("311-480", "4G", -118.0), ("311-481", "4G", -112.0), ("311-482", "2G", -95.0)]
    cs = cands(*high, *low)
    sim = SimLists(hplmn="208-01")
    a = order(priority_order(cs, sim, rng=random.Random(7)))
    b = order(priority_order(cs, sim, rng=random.Random(7)))
    assert a == b  # reproducible
    assert {x for x, _ in a[:8]} == {p for p, _, _ in high}
    assert a[8:] == [("311-482", "2G"), ("311-481", "4G"), ("311-480", "4G")]
    orders = {tuple(order(priority_order(cs, sim, rng=random.Random(s)))[:8]) for s in range(6)}
    assert len(orders) > 1  # random, not sorted


@pytest.mark.parametrize(("rat", "level", "high"), [
    ("2G", -84, True), ("2G", -86, False), ("3G", -95, True), ("3G", -96, False),
    ("4G", -110, True), ("4G", -111, False), ("5G", -110, True),
])
def test_high_quality_thresholds(rat, level, high):
    assert is_high_quality(rat, level) is high


def test_forbidden_plmns_skipped_in_automatic_mode_but_listed_for_manual_search():
    cs = available([("208-10", "4G", -70, 1, 1), ("208-01", "4G", -100, 2, 2)], forbidden=SIM.forbidden)
    assert [c.plmn for c in automatic(cs, SIM)] == ["208-01"]
    assert network_list(cs, SIM) == ["208-01", "208-10"]
    assert [c.forbidden for c in cs if c.plmn == "208-10"] == [True]


def test_automatic_excludes_plmns_already_rejected():
    cs = cands(("262-01", "4G", -80), ("262-02", "4G", -80))
    assert [c.plmn for c in automatic(cs, SimLists(hplmn="208-01"), exclude={"262-01"})] == ["262-02"]


def test_manual_mode_tries_only_the_chosen_network_even_if_forbidden():
    cs = available([("208-10", "4G", -70, 1, 1), ("208-10", "2G", -70, 1, 2), ("208-01", "4G", -60, 2, 3)],
                   forbidden=("208-10",))
    assert order(manual(cs, "208-10")) == [("208-10", "4G"), ("208-10", "2G")]
    assert manual(cs, "206-01") == []


def test_available_keeps_best_usable_cell_per_plmn_rat():
    cs = available([
        ("208-01", "4G", -100, 1, 10), ("208-01", "4G", -90, 2, 11), ("208-01", "4G", -130, 3, 12),
        ("208-01", "5G", -90, 1, 13), ("206-01", "4G", -80, 7, 14),
    ], supported_rats={"2G", "3G", "4G"}, forbidden_areas={("206-01", 7)})
    assert [(c.plmn, c.rat, c.area) for c in cs] == [("208-01", "4G", 2)]


def test_periodic_search_only_returns_higher_priority_listed_plmns():
    cs = cands(("208-01", "4G", -90), ("206-01", "4G", -90), ("206-10", "4G", -60))
    assert [c.plmn for c in higher_priority_than("206-10", cs, SIM)] == ["208-01", "206-01"]
    assert higher_priority_than("208-01", cs, SIM) == []


def test_fplmn_update_uses_free_slot_then_shifts_when_full():
    # TS 31.102 §4.2.16: new PLMN at position n when full, the first one is lost
    assert add_forbidden(["208-10", "", "208-20"], "206-20", 3) == ["208-10", "206-20", "208-20"]
    assert add_forbidden(["a", "b", "c", "d"], "e", 4) == ["b", "c", "d", "e"]
    assert add_forbidden(["208-10"], "208-10", 4) == ["208-10", "", "", ""]
    assert remove_forbidden(["208-10", "206-20"], "208-10") == ["", "206-20"]


def test_random_order_of_item_iv_is_drawn_at_every_selection():
    others = [Candidate(f"262-0{i}", "4G", -70.0) for i in range(1, 7)]
    low = Candidate("262-09", "4G", -120.0)
    sim = SimLists(hplmn="208-01", user=(("262-09", frozenset({"4G"})),))
    rng = random.Random(3)
    orders = [[c.plmn for c in priority_order([*others, low], sim, rng=rng)] for _ in range(4)]
    for order in orders:
        assert order[0] == "262-09"  # item ii first, the high-quality others after it
        assert sorted(order[1:]) == [c.plmn for c in others]
    assert len({tuple(o) for o in orders}) > 1
    # the same seed gives the same sequence of orders (reproducible runs)
    rng = random.Random(3)
    assert orders == [[c.plmn for c in priority_order([*others, low], sim, rng=rng)] for _ in range(4)]


def test_sim_lists_given_as_lists_order_like_tuples():
    cands = [Candidate("206-01", "4G", -90.0), Candidate("206-10", "3G", -80.0),
             Candidate("208-01", "4G", -100.0)]
    as_lists = SimLists(hplmn="208-01", user=[("206-10", frozenset({"3G"}))], ehplmn=["208-01"])
    as_tuples = SimLists(hplmn="208-01", user=(("206-10", frozenset({"3G"})),), ehplmn=("208-01",))
    assert priority_order(cands, as_lists) == priority_order(cands, as_tuples)
    assert [c.plmn for c in priority_order(cands, as_tuples)] == ["208-01", "206-10", "206-01"]


def test_same_candidates_with_other_sim_lists_or_rplmn_are_ordered_again():
    cs = cands(("208-01", "4G", -90), ("234-10", "4G", -90), ("206-01", "4G", -90), ("262-01", "4G", -90))
    assert order(priority_order(cs, SIM))[:2] == [("208-01", "4G"), ("234-10", "4G")]
    other = SimLists(hplmn="208-01", user=(("262-01", ALL),))
    assert order(priority_order(cs, other))[:2] == [("208-01", "4G"), ("262-01", "4G")]
    assert order(priority_order(cs, SIM, rplmn="206-01"))[0] == ("206-01", "4G")
    assert order(priority_order(list(cs), SIM))[:2] == [("208-01", "4G"), ("234-10", "4G")]


def test_item_iv_draws_what_one_shuffle_of_its_plmns_draws():
    sim = SimLists(hplmn="999-99")
    cs = cands(*((f"2{i:02d}-01", "4G", -80) for i in range(6)))
    rng, ref = random.Random(11), random.Random(11)
    for _ in range(3):
        got = [c.plmn for c in priority_order(cs, sim, rng=rng)]
        plmns = sorted(c.plmn for c in cs)
        ref.shuffle(plmns)
        assert got == plmns and rng.getstate() == ref.getstate()
    one = cands(("206-01", "4G", -80))
    priority_order(one, sim, rng=rng)  # a single PLMN: nothing drawn
    assert rng.getstate() == ref.getstate()


def test_orders_of_candidates_alike_but_past_the_first():
    from harness.terminal import plmn_selection as sel

    sim = SimLists(hplmn="208-01")
    first = Candidate("208-01", "4G", -80.0)
    a = (first, Candidate("208-10", "4G", -70.0))
    b = (first, Candidate("208-20", "4G", -70.0))
    assert [c.plmn for c in sel.priority_order(list(a), sim)] == ["208-01", "208-10"]
    assert [c.plmn for c in sel.priority_order(list(b), sim)] == ["208-01", "208-20"]
    assert sel.priority_order(a, sim)[1] is a[1] and sel.automatic(list(b), sim)[1] is b[1]
